from odoo import _, api, fields, models

QUEUED_STATES = ("outgoing", "process")
SENT_STATES = ("pending", "sent")
FAILED_STATES = ("error", "canceled")


class SmsSendBatch(models.Model):
    """One "Send SMS" action: the SMS it queued, who sent them, what it cost and how far the queue is."""

    _name = "sms.send.batch"
    _description = "SMS send"
    _order = "id DESC"

    name = fields.Char("Label", required=True, readonly=True)
    user_id = fields.Many2one("res.users", "Sent by", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", "Company", required=True, readonly=True, index=True)
    gateway_account_id = fields.Many2one("sms.gateway.account", "Provider account", readonly=True)
    res_model = fields.Char("Document model", readonly=True)
    res_model_description = fields.Char("Documents", readonly=True)
    body = fields.Text("Message", readonly=True)
    recipient_count = fields.Integer("Selected", readonly=True)
    valid_count = fields.Integer("Valid recipients", readonly=True)
    invalid_count = fields.Integer("Invalid or missing numbers", readonly=True)
    duplicate_count = fields.Integer("Duplicates", readonly=True)
    blacklist_count = fields.Integer("Blacklisted or opted out", readonly=True)
    segment_min = fields.Integer("Segments per SMS (min)", readonly=True)
    segment_max = fields.Integer("Segments per SMS (max)", readonly=True)
    credit_total = fields.Integer("Total cost (SMS units)", readonly=True)
    sms_ids = fields.One2many("sms.sms", "send_batch_id", "SMS", readonly=True)
    sms_count = fields.Integer("SMS count", compute="_compute_progress")
    queued_count = fields.Integer("Queued", compute="_compute_progress")
    sent_count = fields.Integer("Sent", compute="_compute_progress")
    failed_count = fields.Integer("Failed or canceled", compute="_compute_progress")
    progress = fields.Float("Progress (%)", compute="_compute_progress")
    state = fields.Selection(
        [("queued", "Sending"), ("done", "Done")], "Status", compute="_compute_progress", search="_search_state"
    )

    def _compute_progress(self):
        counts = {}
        if self.ids:
            groups = (
                self.env["sms.sms"]
                .sudo()
                ._read_group([("send_batch_id", "in", self.ids)], ["send_batch_id", "state"], ["__count"])
            )
            for batch, state, count in groups:
                counts.setdefault(batch.id, {})[state] = count
        for batch in self:
            by_state = counts.get(batch.id, {})
            batch.sms_count = sum(by_state.values())
            batch.queued_count = sum(by_state.get(state, 0) for state in QUEUED_STATES)
            batch.sent_count = sum(by_state.get(state, 0) for state in SENT_STATES)
            batch.failed_count = sum(by_state.get(state, 0) for state in FAILED_STATES)
            batch.progress = (
                100.0 * (batch.sms_count - batch.queued_count) / batch.sms_count if batch.sms_count else 100.0
            )
            batch.state = "queued" if batch.queued_count else "done"

    @api.model
    def _search_state(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(_("Unsupported search on the send status."))
        queued = self.env["sms.sms"].sudo()._search([("state", "in", QUEUED_STATES), ("send_batch_id", "!=", False)])
        with_queue = [("sms_ids", "any", [("id", "in", queued)])]
        wants_queued = (value == "queued") == (operator == "=")
        return with_queue if wants_queued else ["!", *with_queue]

    def action_open_sms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_gateway.sms_sms_action_history")
        action.update(
            {
                "domain": [("send_batch_id", "=", self.id)],
                "context": {"create": False},
                "name": self.name,
            }
        )
        return action
