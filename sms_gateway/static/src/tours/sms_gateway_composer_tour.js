/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * Contacts list > select contacts > Action > Send SMS > type a message with an accent and an emoji >
 * exact counter and recap > Send > the SMS are in SMS > History and the send in SMS > Sends.
 * Data (tests/test_sms_tour.py): 2 "Tour" contacts with valid mobiles, 228 SMS of credit,
 * opt-out mention "STOP 36608".
 */
registry.category("web_tour.tours").add("sms_gateway_composer_tour", {
    url: "/odoo/action-contacts.action_contacts",
    steps: () => [
        { trigger: ".o_switch_view.o_list", run: "click" },
        { trigger: ".o_list_view .o_data_row:contains('Tour Alice') .o_list_record_selector input", run: "click" },
        { trigger: ".o_list_view .o_data_row:contains('Tour Bruno') .o_list_record_selector input", run: "click" },
        { trigger: ".o_control_panel .o_cp_action_menus button", run: "click" },
        { trigger: ".o-dropdown--menu .o-dropdown-item:contains('Send SMS')", run: "click" },
        {
            trigger: ".modal .o_field_sms_gateway_body textarea",
            run({ anchor }) {
                // typed as one input: the emoji is a surrogate pair that per-key typing would split
                anchor.value = "Bonjour ça va 😀";
                anchor.dispatchEvent(new InputEvent("input", { bubbles: true }));
                anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        // exact counter: 15 + " STOP 36608" = 26 characters, UCS-2, the emoji takes 2 units: 70 - 27 = 43 left
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_chars:contains('26')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_encoding:contains('UCS-2')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_segments:contains('1')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_remaining:contains('43')" },
        { trigger: ".modal .o_sms_gateway_mention:contains('STOP 36608')" },
        // recap
        { trigger: ".modal .o_sms_gateway_preview:contains('Bonjour ça va 😀 STOP 36608')" },
        { trigger: ".modal .o_sms_recipient_count:contains('2')" },
        { trigger: ".modal .o_sms_valid_count:contains('2')" },
        { trigger: ".modal .o_sms_segment_count:contains('1')" },
        { trigger: ".modal .o_sms_credit_balance:contains('228')" },
        { trigger: ".modal .o_sms_credit_needed:contains('2')" },
        { trigger: ".modal .o_sms_credit_after:contains('226')" },
        {
            trigger: ".modal .o_sms_gateway_recap",
            run() {
                console.log("sms_gateway:screenshot");
            },
        },
        { trigger: "body.o_sms_gateway_screenshot_done" },
        { trigger: ".modal .o_sms_gateway_send", run: "click" },
        { trigger: "body:not(:has(.modal))" },
        { trigger: ".o_notification:contains('2 SMS queued')" },
        { trigger: ".o_navbar_apps_menu button", run: "click" },
        { trigger: ".o_app[data-menu-xmlid='sms_gateway.sms_gateway_menu_root']", run: "click" },
        { trigger: ".o_menu_sections [data-menu-xmlid='sms_gateway.sms_sms_menu_history']", run: "click" },
        { trigger: ".o_list_view .o_data_row:contains('Tour Alice'):contains('Manual send')" },
        { trigger: ".o_list_view .o_data_row:contains('Tour Bruno'):contains('Manual send')" },
        { trigger: ".o_menu_sections [data-menu-xmlid='sms_gateway.sms_send_batch_menu']", run: "click" },
        { trigger: ".o_list_view .o_data_row:contains('Bonjour ça va')" },
    ],
});
