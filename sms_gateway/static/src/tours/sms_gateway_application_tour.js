/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openSmsMenu, typing } from "@sms_gateway/tours/sms_gateway_tour_utils";

/**
 * An SMS manager lets another application send SMS, the newcomer's path: SMS > Configuration >
 * Applications > New, the name typed, the user found by typing and picked, Save, Generate a key: Odoo's
 * dialog shows the key once; the tour hands it to the test (tests/test_sms_application_tour.py), which
 * sends an SMS with it over HTTP. Data: the SMS user "Guichet en ligne", a sandbox account, credit.
 */
registry.category("web_tour.tours").add("sms_gateway_application_tour", {
    url: "/odoo",
    steps: () => {
        let key;
        return [
            ...openSmsMenu("sms_gateway_menu_config", "sms_gateway_application_menu"),
            { trigger: ".o_list_view .o_list_button_add", run: "click" },
            { trigger: ".o_form_view .o_field_widget[name='name'] input", run: "click" },
            ...typing([{ type: "Portail citoyen" }]),
            { trigger: ".o_form_view .o_field_widget[name='user_id'] input", run: "click" },
            ...typing([{ type: "Guichet" }]),
            { trigger: ".o-autocomplete--dropdown-item:contains('Guichet en ligne')", run: "click" },
            { trigger: ".o_form_view .o_field_widget[name='user_id'] input:value('Guichet en ligne')" },
            { trigger: ".o_form_view .o_form_button_save", run: "click" },
            { trigger: ".o_breadcrumb .active:contains('Portail citoyen')" },
            { trigger: ".o_form_view:not(:has(.o_form_button_save:visible))" },
            { trigger: ".o_form_view .o_statusbar_buttons button:contains('Generate a key')", run: "click" },
            // Odoo's own dialog, the key shown once
            {
                trigger: ".modal .o_field_widget[name='key'] span:not(:empty)",
                run() {
                    key = this.anchor.textContent.trim();
                    console.log(`sms_gateway:apikey:${key}`);
                },
            },
            { trigger: ".modal button:contains('Done')", run: "click" },
            { trigger: "body:not(:has(.modal))" },
            // the application now shows the start of that key, and offers to replace or revoke it
            {
                trigger: ".o_form_view .o_field_widget[name='key_index']",
                run() {
                    const shown = this.anchor.textContent.trim();
                    if (!key || shown !== `${key.slice(0, 8)}…`) {
                        throw new Error(`The application shows "${shown}", not the start of the key of the dialog`);
                    }
                },
            },
            { trigger: ".o_form_view .o_statusbar_buttons button:contains('Replace the key')" },
            { trigger: ".o_form_view .o_statusbar_buttons button:contains('Revoke the key')" },
        ];
    },
});

/**
 * The SMS the application sent (tests/test_sms_application_tour.py) in SMS > History, with the
 * application's name as its origin, once although the application sent its request twice.
 */
registry.category("web_tour.tours").add("sms_gateway_application_history_tour", {
    url: "/odoo",
    steps: () => [
        ...openSmsMenu("sms_sms_menu_history"),
        {
            trigger: ".o_list_view .o_data_row td[name='origin_label']:contains('Portail citoyen')",
            run() {
                const rows = document.querySelectorAll(".o_list_view .o_data_row");
                if (rows.length !== 1) {
                    throw new Error(`${rows.length} SMS in the history, one expected`);
                }
            },
        },
        { trigger: ".o_list_view .o_data_row td[name='number']:contains('+33612345678')", run: "click" },
        { trigger: ".o_form_view .o_field_widget[name='application_id']:contains('Portail citoyen')" },
    ],
});
