/** @odoo-module **/

import { registry } from "@web/core/registry";
import { ProgressBarField, progressBarField } from "@web/views/fields/progress_bar/progress_bar_field";
import { onMounted, onWillUnmount } from "@odoo/owl";

// How often a send being prepared or sent is read again while someone looks at it.
export const REFRESH_MS = 2000;

/**
 * The progress bar of a send (SMS > Sends): while the send is being prepared or sent, the record is read
 * again every few seconds, so prepared / sent / failed / remaining move while the user watches.
 */
export class SmsSendProgress extends ProgressBarField {
    setup() {
        super.setup();
        onMounted(() => {
            this.timer = setInterval(() => this.refresh(), REFRESH_MS);
        });
        onWillUnmount(() => clearInterval(this.timer));
    }

    async refresh() {
        const record = this.props.record;
        if (!["preparing", "queued"].includes(record.data.state) || record.dirty || document.hidden) {
            return;
        }
        await record.load();
    }
}

export const smsSendProgress = { ...progressBarField, component: SmsSendProgress };

registry.category("fields").add("sms_send_progress", smsSendProgress);
