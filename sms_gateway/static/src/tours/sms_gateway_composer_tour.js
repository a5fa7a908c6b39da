/** @odoo-module **/

import { registry } from "@web/core/registry";
import { typing } from "@sms_gateway/tours/sms_gateway_tour_utils";

/**
 * Contacts list > select contacts > Action > Send SMS > type a message key by key, with an accent, a
 * Backspace and an emoji > the counter follows each key and the recap the typing, before the field is
 * left > Send > the SMS are in SMS > History and the send in SMS > Sends.
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
        // typed as a person types: real key events sent by the browser (tests/test_sms_tour.py), no change event
        { trigger: ".modal .o_field_sms_gateway_body textarea", run: "click" },
        ...typing([{ type: "Bonjour" }]),
        // the counter follows every key, the textarea still focused: 7 + " STOP 36608" = 18 characters, GSM-7
        { trigger: ".modal .o_field_sms_gateway_body textarea:focus" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_chars:contains('18')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_encoding:contains('GSM-7')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_remaining:contains('142')" },
        // ç is not GSM-7: the SMS switches to UCS-2 (70 a part); a typo erased with Backspace
        ...typing([{ type: " ça va!" }, { key: "Backspace" }]),
        { trigger: ".modal .o_field_sms_gateway_body textarea:focus" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_chars:contains('24')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_encoding:contains('UCS-2')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_remaining:contains('46')" },
        // an emoji inserted as an input method or a paste does (one surrogate pair, one input event)
        ...typing([{ insert: " 😀" }]),
        // exact counter: 15 + " STOP 36608" = 26 characters, UCS-2, the emoji takes 2 units: 70 - 27 = 43 left
        { trigger: ".modal .o_field_sms_gateway_body textarea:focus" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_chars:contains('26')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_encoding:contains('UCS-2')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_segments:contains('1')" },
        { trigger: ".modal .o_sms_gateway_counter .o_sms_gateway_remaining:contains('43')" },
        // the recap (computed by the server) follows once the typing pauses, still without leaving the field
        { trigger: ".modal .o_sms_gateway_preview:contains('Bonjour ça va 😀 STOP 36608')" },
        { trigger: ".modal .o_field_sms_gateway_body textarea:focus" },
        { trigger: ".modal .o_sms_gateway_mention:contains('STOP 36608')" },
        // recap
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
