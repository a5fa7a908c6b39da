/** @odoo-module **/

import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useDebounced } from "@web/core/utils/timing";
import { useEffect, useState } from "@odoo/owl";
import { SmsWidget, smsWidget } from "@sms/components/sms_widget/fields_sms_widget";
import { countSms, toGsm7 } from "@sms_gateway/js/sms_segments";

/**
 * Body of the SMS composer: Odoo's sms_widget (textarea, emojis, placeholders) with an exact
 * GSM 03.38 / UCS-2 counter (extension table, surrogate pairs) computed by countSms, the JS twin of
 * tools/sms_segments.py that bills the SMS. The count is the one of the SMS as it leaves: accents replaced
 * when the company asks for it, opt-out mention appended to mass sends.
 */
export class SmsGatewayBody extends SmsWidget {
    static template = "sms_gateway.SmsGatewayBody";

    setup() {
        super.setup();
        // What the person is typing: Odoo writes the textarea into the record only on change (blur), so the
        // counter reads the textarea on every input (no server call) and the record follows shortly after the
        // typing pauses, for the recap (preview, cost) computed by the server.
        this.typing = useState({ text: null, basis: null });
        const commitTyping = useDebounced(() => this.commitTyping(), 400);
        useEffect(
            (textarea) => {
                if (!textarea) {
                    return;
                }
                const onInput = () => {
                    this.typing.basis = this.recordData[this.props.name] || "";
                    this.typing.text = textarea.value;
                    commitTyping();
                };
                textarea.addEventListener("input", onInput);
                return () => textarea.removeEventListener("input", onInput);
            },
            () => [this.textareaRef.el]
        );
    }

    async commitTyping() {
        const textarea = this.textareaRef.el;
        if (textarea && textarea.value !== (this.recordData[this.props.name] || "")) {
            await this.props.record.update({ [this.props.name]: textarea.value });
        }
    }

    get recordData() {
        return this.props.record.data;
    }
    get currentValue() {
        const value = this.recordData[this.props.name] || "";
        const { text, basis } = this.typing;
        // the typed text until the record holds it; a change made elsewhere (template, emoji, placeholder) wins
        return text !== null && (value === basis || value === text) ? text : value;
    }
    get typedText() {
        const value = this.currentValue;
        return this.recordData.sms_replace_accents ? toGsm7(value) : value;
    }
    get finalText() {
        let text = this._getValueForSmsCounts(this.typedText);
        const mention = (this.recordData.sms_optout_mention || "").trim();
        if (mention && text.trim() && !text.trimEnd().endsWith(mention)) {
            text = `${text.trimEnd()} ${mention}`;
        }
        return text;
    }
    get smsCount() {
        return countSms(this.finalText);
    }
    get optoutMention() {
        return (this.recordData.sms_optout_mention || "").trim();
    }
    get maxLength() {
        return this.recordData.sms_max_length || 0;
    }
    get typedLength() {
        return Array.from(this.typedText).length;
    }
    get overLimit() {
        return this.maxLength && this.typedLength > this.maxLength;
    }
    // Odoo's counter getters, kept exact for code that reads them
    get encoding() {
        return this.smsCount.encoding;
    }
    get nbrChar() {
        return this.smsCount.chars;
    }
    get nbrSMS() {
        return this.smsCount.segments;
    }
    get counterTitle() {
        return _t("Segments: 160 characters (153 each when split) in GSM-7, 70 (67) in UCS-2; € [ ] { } ~ ^ | \\ count twice in GSM-7.");
    }
}

export const smsGatewayBody = {
    ...smsWidget,
    component: SmsGatewayBody,
};

registry.category("fields").add("sms_gateway_body", smsGatewayBody);
