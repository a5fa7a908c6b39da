/** @odoo-module **/

import { registry } from "@web/core/registry";
import { openSmsMenu, typing } from "@sms_gateway/tours/sms_gateway_tour_utils";

/**
 * The SMS manager of a structure shares its credit (issue 11): SMS > Federation > Allocate credit, two
 * members picked with the mouse, the quantity typed key by key, the recap, Allocate; the members' balances in
 * SMS > Federation > Members, the structure's own balance down in the allocation dialog opened again.
 * Data (tests/test_sms_federation_tour.py, FederationCase): the Syndicat des écoles with 100 SMS and its three
 * schools, none with credit of its own.
 */
registry.category("web_tour.tours").add("sms_gateway_federation_tour", {
    url: "/odoo",
    steps: () => [
        ...openSmsMenu("sms_gateway_menu_federation", "sms_credit_allocation_menu"),
        { trigger: ".modal .o_field_widget[name='structure_id'] input:value('Syndicat des écoles')" },
        { trigger: ".modal .o_field_widget[name='balance_before']:contains('100')" },
        // the members, picked with the mouse in the drop-down of the field
        { trigger: ".modal .o_field_widget[name='member_ids'] input", run: "click" },
        { trigger: ".o-autocomplete--dropdown-item:contains('École de snowboard')", run: "click" },
        { trigger: ".modal .o_field_widget[name='member_ids'] .o_tag:contains('École de snowboard')" },
        { trigger: ".modal .o_field_widget[name='member_ids'] input", run: "click" },
        { trigger: ".o-autocomplete--dropdown-item:contains('École de ski')", run: "click" },
        { trigger: ".modal .o_field_widget[name='member_ids'] .o_tag:contains('École de ski')" },
        { trigger: ".modal .o_field_widget[name='member_count']:contains('2')" },
        // the quantity typed key by key over the 0 that is there: End, Backspace, 3, 0
        { trigger: ".modal .o_field_widget[name='quantity'] input", run: "click" },
        ...typing([{ key: "End" }, { key: "Backspace" }, { type: "30" }]),
        { trigger: ".modal .o_field_widget[name='quantity'] input:value('30')" },
        // leaving the field (a click in the note) updates the recap
        { trigger: ".modal .o_field_widget[name='note'] input", run: "click" },
        { trigger: ".modal .o_field_widget[name='total']:contains('60')" },
        { trigger: ".modal .o_field_widget[name='balance_after']:contains('40')" },
        { trigger: ".modal .modal-footer button:contains('Allocate')", run: "click" },
        { trigger: ".o_notification:contains('60 SMS allocated to 2 member(s).')" },
        { trigger: "body:not(:has(.modal))" },
        // the members' screen: 30 each for the two, nothing for the third
        ...openSmsMenu("sms_gateway_menu_federation", "sms_federation_member_menu"),
        { trigger: ".o_list_view .o_data_row:contains('École de snowboard') td[name='sms_credit_balance']:contains('30')" },
        { trigger: ".o_list_view .o_data_row:contains('École de ski') td[name='sms_credit_balance']:contains('30')" },
        { trigger: ".o_list_view .o_data_row:contains('École nordique') td[name='sms_credit_balance']:contains('0')" },
        // the structure's balance went down by the 60 SMS allocated
        ...openSmsMenu("sms_gateway_menu_federation", "sms_credit_allocation_menu"),
        { trigger: ".modal .o_field_widget[name='balance_before']:contains('40')" },
        { trigger: ".modal .modal-footer button:contains('Cancel')", run: "click" },
        { trigger: "body:not(:has(.modal))" },
    ],
});
