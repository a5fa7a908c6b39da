# The composer's part of the sending rules: the kind of SMS it sends, "Send at", and what the recap says about
# the sending window and the cap per recipient (models/sms_sms_rules.py applies them when the SMS are queued).

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_datetime, formatLang

# "Monday 7 December 2026, 08:00" (babel pattern, in the user's language and time zone)
DATE_FORMAT = "EEEE d MMMM y, HH:mm"


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    sms_kind = fields.Selection(
        [("functional", "Functional"), ("marketing", "Marketing")],
        "Kind of SMS",
        compute="_compute_sms_kind",
        store=True,
        readonly=False,
        help="Marketing SMS wait for the company's sending window; functional ones (reminders, one-to-one "
        "messages) leave at once.",
    )
    sms_send_at = fields.Datetime("Send at", help="Leave empty to send now. Credit is reserved when you schedule.")
    sms_cap_count = fields.Integer("Over the cap per recipient", compute="_compute_sms_rules_recap")
    sms_rules_recap = fields.Text("Sending rules", compute="_compute_sms_rules_recap")

    @api.depends("composition_mode")
    def _compute_sms_kind(self):
        company = self.env.company
        automated = self.env.context.get("sms_gateway_automated")
        for composer in self:
            if composer.composition_mode == "mass" and not automated:
                composer.sms_kind = company.sms_mass_kind or "marketing"
            else:
                composer.sms_kind = "functional"  # automated actions, one-to-one sends

    @api.depends("sms_cap_count")
    def _compute_sms_cost(self):
        # the cost, and the reservation of a send in the background, leave out the recipients over the cap
        return super()._compute_sms_cost()

    @api.depends(
        "sms_kind",
        "sms_send_at",
        "sms_valid_count",
        "composition_mode",
        "res_model",
        "res_ids",
        "res_domain",
        "sms_gateway_active",
    )
    def _compute_sms_rules_recap(self):
        Sms = self.env["sms.sms"]
        now = fields.Datetime.now()
        for composer in self:
            company = composer.sms_company_id.sudo()
            lines, cap_count = [], 0
            if composer.sms_gateway_active:
                leaves_at = composer._sms_rules_leaves_at(now)
                if leaves_at > now:
                    lines.append(
                        _(
                            "Scheduled: it will be sent on %(date)s.",
                            date=format_datetime(self.env, leaves_at, dt_format=DATE_FORMAT),
                        )
                    )
                opening = Sms._gateway_window_opening(company, leaves_at, composer.sms_kind or "functional")
                if opening:
                    lines.append(
                        _(
                            "Outside the sending window of marketing SMS: it will leave on %(date)s.",
                            date=format_datetime(self.env, opening, dt_format=DATE_FORMAT),
                        )
                    )
                cap_count = composer._sms_rules_cap_count(leaves_at)
                if cap_count:
                    lines.append(
                        _(
                            "%(count)s recipient(s) already reached the cap per recipient: they will not receive "
                            "this SMS and it is not charged for them.",
                            count=formatLang(self.env, cap_count, digits=0),
                        )
                    )
            composer.sms_cap_count = cap_count
            composer.sms_rules_recap = "\n".join(lines) or False

    def _sms_rules_leaves_at(self, now=None):
        """When this send leaves: its "Send at" when in the future, else now."""
        now = now or fields.Datetime.now()
        return self.sms_send_at if self.sms_send_at and self.sms_send_at > now else now

    def _sms_rules_cap_count(self, now):
        """Valid recipients of this send whose number already reached the company's cap (one query)."""
        return len(self._sms_rules_capped(now))

    def _sms_rules_capped(self, now, analysis=None):
        """The valid recipients of this send that the company's cap per recipient refuses at ``now``: record
        ids of a mass send (from its recipients ``analysis`` when given), positions among the valid numbers
        otherwise. Counted as the queue applies the cap (``sms.sms._gateway_cap_refusals``), one query."""
        self.ensure_one()
        company = self.sms_company_id.sudo()
        if not (company.sms_cap_per_day or company.sms_cap_per_week):
            return []
        if self.composition_mode == "mass" and self.res_model:
            analysis = analysis or self._sms_gateway_recipients()
            keys = analysis["valid"]
            numbers = [analysis["info"][res_id]["sanitized"] for res_id in keys]
        else:
            numbers = [number for number in self._sms_gateway_single_numbers() if number]
            keys = list(range(len(numbers)))
        refusals = self.env["sms.sms"]._gateway_cap_refusals(company, numbers, now)
        return [keys[position] for position in sorted(refusals)]

    def _sms_gateway_charged_count(self):
        return max(super()._sms_gateway_charged_count() - self.sms_cap_count, 0)

    def _sms_gateway_charged_ids(self, analysis):
        capped = set(self._sms_rules_capped(self._sms_rules_leaves_at(), analysis))
        return [res_id for res_id in super()._sms_gateway_charged_ids(analysis) if res_id not in capped]

    # ------------------------------------------------------------
    # Sending: the kind travels with the SMS, a scheduled send is prepared at its time
    # ------------------------------------------------------------
    def _sms_rules_scheduled(self):
        return bool(self.sms_send_at and self.sms_send_at > fields.Datetime.now())

    def _action_send_sms(self):
        if self.sms_send_at and self.sms_gateway_active and not self.env.context.get("sms_gateway_automated"):
            if self.composition_mode != "mass" or not self.res_model:
                raise UserError(_("Only a send to a list of recipients can be scheduled. Nothing was sent."))
        return super(SmsComposer, self.with_context(sms_kind=self.sms_kind or "functional"))._action_send_sms()

    def _prepare_mass_sms(self, records, sms_record_values):
        composer = self.with_context(sms_kind=self.sms_kind or self.env.context.get("sms_kind") or "functional")
        return super(SmsComposer, composer)._prepare_mass_sms(records, sms_record_values)

    def _sms_gateway_in_background(self):
        """A scheduled send is always recorded and prepared in the background, at its time."""
        if self.composition_mode == "mass" and self.res_model and self.sms_gateway_active:
            if self._sms_rules_scheduled():
                return True
        return super()._sms_gateway_in_background()

    def _sms_gateway_send_in_background(self):
        result = super()._sms_gateway_send_in_background()
        batch = self.sms_send_batch_id.sudo()
        batch.composer_values = {**(batch.composer_values or {}), "sms_kind": self.sms_kind or "marketing"}
        if self._sms_rules_scheduled():
            batch.scheduled_at = self.sms_send_at
            self.env.ref("sms_gateway.ir_cron_sms_gateway_prepare_sends").sudo()._trigger(at=self.sms_send_at)
            result["params"]["message"] = _(
                "Your send to %(count)s recipients is scheduled for %(date)s, %(cost)s SMS reserved: you can "
                "cancel it until then.",
                count=formatLang(self.env, self.sms_valid_count, digits=0),
                date=format_datetime(self.env, self.sms_send_at, dt_format=DATE_FORMAT),
                cost=formatLang(self.env, self.sms_credit_needed, digits=0),
            )
        return result
