/** @odoo-module **/

/**
 * Steps shared by the tours of sms_gateway (their tests are in sms_gateway/tests/).
 */

/** Steps that have the test type ``actions`` into the focused field with real key events (``type_keys`` in
 * tests/common.py): ``{type: "text"}`` key by key, ``{insert: "text"}`` at once (emoji, paste),
 * ``{key: "Backspace"}`` (or "Enter", "End"). */
export function typing(actions) {
    return [
        {
            trigger: "body:not(.o_sms_gateway_typing)",
            run() {
                document.body.classList.add("o_sms_gateway_typing");
                console.log(`sms_gateway:keys:${JSON.stringify(actions)}`);
            },
        },
        { trigger: "body:not(.o_sms_gateway_typing)" },
    ];
}

/** Steps that open an SMS menu as a person does: the apps menu, SMS, then ``section`` of the top bar and,
 * when it is a drop-down, its ``item`` (xml ids of the menus, without the module). */
export function openSmsMenu(section, item) {
    const steps = [
        { trigger: ".o_navbar_apps_menu button", run: "click" },
        { trigger: ".o_app[data-menu-xmlid='sms_gateway.sms_gateway_menu_root']", run: "click" },
        { trigger: `.o_menu_sections [data-menu-xmlid='sms_gateway.${section}']`, run: "click" },
    ];
    if (item) {
        steps.push({ trigger: `.o-dropdown--menu [data-menu-xmlid='sms_gateway.${item}']`, run: "click" });
    }
    return steps;
}
