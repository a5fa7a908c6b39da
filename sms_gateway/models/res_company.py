import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..tools.locking import write_apart

_logger = logging.getLogger(__name__)


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_credit_balance = fields.Integer(
        "SMS balance", compute="_compute_sms_credit_balance", help="SMS units this company can still spend."
    )
    sms_credit_reserved = fields.Integer(
        "SMS reserved", compute="_compute_sms_credit_balance", help="SMS units held by queued SMS."
    )
    sms_gateway_account_ids = fields.One2many("sms.gateway.account", "company_id", "SMS provider accounts")
    sms_low_balance_threshold = fields.Integer(
        "Low SMS balance alert", help="SMS managers are alerted once when the balance falls below this number."
    )
    sms_history_retention_days = fields.Integer(
        "Keep SMS history (days)",
        default=730,
        help="Older SMS are deleted by a daily cleanup. 0 keeps them forever.",
    )
    # Composer settings (Send SMS recap)
    sms_max_length = fields.Integer(
        "SMS maximum length",
        help="Maximum number of characters a user may type in a message (the opt-out mention is not counted). "
        "0: no limit.",
    )
    sms_optout_mention = fields.Char(
        "SMS opt-out mention",
        help="Appended to every mass SMS (e.g. STOP 36608); shown in the preview and counted in length and cost.",
    )
    sms_replace_accents = fields.Boolean(
        "Replace accents missing from GSM-7",
        help="Replace accented letters the GSM-7 alphabet lacks (ç, ê, ô...) by plain letters, so that a message "
        "does not switch to the costlier unicode encoding.",
    )
    sms_forbid_admin = fields.Boolean(
        "Forbid sending from the administrator account",
        help="SMS cannot be sent from the shared administrator account, so that every send is traceable to a person.",
    )
    # Replies and STOP (models/sms_inbound.py)
    sms_stop_keywords = fields.Char(
        "SMS stop keywords",
        default="STOP, STOP SMS, STOPSMS, ARRET, ARRÊT, ARRET SMS, DESABONNER, DÉSABONNER, DESINSCRIRE, UNSUBSCRIBE",
        help="A reply whose whole text is one of these words (comma-separated; case and accents ignored) "
        "blacklists the number that sent it.",
    )
    sms_start_keywords = fields.Char(
        "SMS start keywords",
        default="START, UNSTOP",
        help="A reply whose whole text is one of these words lifts the opt-out this company's SMS made.",
    )
    sms_start_allowed = fields.Boolean(
        "START lifts an SMS opt-out", default=True, help="A START reply takes the number off the blacklist again."
    )
    sms_optout_confirm = fields.Boolean(
        "Confirm opt-outs by SMS", help="Send one SMS to a number that just opted out (it costs one SMS)."
    )
    sms_optout_confirm_text = fields.Char(
        "Opt-out confirmation text", help="Leave empty for: You will not receive SMS from <company> any more."
    )
    sms_reply_window_days = fields.Integer(
        "SMS reply window (days)",
        default=30,
        help="A reply is posted on the record of the last SMS sent to its number from the same account within "
        "this many days; older or unknown ones go to the SMS Inbox.",
    )
    sms_low_balance_alerted = fields.Boolean(
        "Low SMS balance alert sent",
        readonly=True,
        copy=False,
        help="Set when SMS managers were alerted that the balance fell below the threshold; cleared when a "
        "top-up raises it above again.",
    )
    sms_credit_shortage_date = fields.Date(
        "SMS refused for lack of credit on",
        readonly=True,
        copy=False,
        help="Day the SMS managers were last told that SMS were refused for insufficient credit.",
    )

    # Sending rules (models/sms_sms_rules.py): sending window, cap per recipient, pseudonymised history
    sms_window_enabled = fields.Boolean(
        "Sending window for marketing SMS",
        help="Marketing SMS (mass sends) queued outside the window wait for its next opening.",
    )
    sms_window_start = fields.Float("Window opens at", default=8.0)
    sms_window_end = fields.Float("Window closes at", default=22.0)
    sms_window_days = fields.Selection(
        [("mon_fri", "Monday to Friday"), ("mon_sat", "Monday to Saturday"), ("every_day", "Every day")],
        "Sending days",
        default="mon_fri",
        required=True,
    )
    sms_window_holidays = fields.Boolean(
        "No marketing SMS on French public holidays",
        default=True,
        help="Including Easter Monday, Ascension and Whit Monday, computed for every year.",
    )
    sms_window_tz = fields.Selection(_tz_get, "Window time zone", default="Europe/Paris", required=True)
    sms_window_scope = fields.Selection(
        [("marketing", "Marketing SMS only"), ("all", "Every SMS")],
        "SMS that wait for the window",
        default="marketing",
        required=True,
        help="Functional SMS (automated reminders, one-to-one sends, API calls marked functional) are exempt "
        "unless every SMS must wait.",
    )
    sms_mass_kind = fields.Selection(
        [("marketing", "Marketing"), ("functional", "Functional")],
        "Mass sends are",
        default="marketing",
        required=True,
        help="The kind the composer proposes for a send to a list of recipients (the sender can change it).",
    )
    sms_cap_per_day = fields.Integer(
        "SMS per number per day",
        help="At most this many SMS to the same number per day, every origin counted. 0: no limit.",
    )
    sms_cap_per_week = fields.Integer(
        "SMS per number per week",
        help="At most this many SMS to the same number per week (Monday to Sunday), every origin counted. 0: no limit.",
    )
    sms_pseudonymize_days = fields.Integer(
        "Pseudonymise SMS after (days)",
        default=183,
        help="Older SMS keep their company, account, origin, segments, cost and state, but lose their number "
        "(masked), text and contact. 0: never.",
    )

    @api.constrains("sms_window_start", "sms_window_end", "sms_cap_per_day", "sms_cap_per_week")
    def _check_sms_sending_rules(self):
        for company in self:
            if not (0 <= company.sms_window_start < company.sms_window_end <= 24):
                raise ValidationError(_("The sending window must open before it closes, between 00:00 and 24:00."))
            if company.sms_cap_per_day < 0 or company.sms_cap_per_week < 0:
                raise ValidationError(_("A cap per recipient cannot be negative."))

    @api.constrains("sms_pseudonymize_days", "sms_history_retention_days")
    def _check_sms_pseudonymize_days(self):
        for company in self:
            if company.sms_pseudonymize_days < 0 or company.sms_history_retention_days < 0:
                raise ValidationError(_("History periods cannot be negative."))

    def _compute_sms_credit_balance(self):
        balances, reserved = self.env["sms.credit.move"]._balances(self)
        for company in self:
            company.sms_credit_balance = balances.get(company, 0)
            company.sms_credit_reserved = reserved.get(company, 0)

    # ------------------------------------------------------------------
    # Credit alerts for SMS managers: low balance (once per episode) and SMS refused for lack of credit
    # (once a day or until the next top-up), never once per SMS. The alert state lives on the company and
    # is flipped with one atomic UPDATE in a short transaction of its own: whichever send crosses the line
    # first notifies, the others (other workers, other servers) see it done.
    # ------------------------------------------------------------------
    def _sms_gateway_managers(self):
        self.ensure_one()
        group = self.env.ref("sms_gateway.group_sms_manager", raise_if_not_found=False)
        if not group:
            return self.env["res.users"]
        return group.sudo().users.filtered(
            lambda u: u.active and not u.share and self in u.company_ids and (u.email or u.partner_id.email)
        )

    def _sms_flip_alert(self, query, args):
        """Run ``query`` (an UPDATE ... RETURNING id) on its own; True when it changed the row."""
        rows = write_apart(self.env, query, args)
        self.invalidate_recordset(["sms_low_balance_alerted", "sms_credit_shortage_date"])
        return bool(rows)

    def _sms_check_low_balance(self):
        """Alert the SMS managers once when the balance is below the threshold; re-arm the alert once it is
        back above (after a top-up)."""
        companies = self.sudo().filtered(lambda c: c.sms_low_balance_threshold > 0)
        if not companies:
            return
        companies.invalidate_recordset(["sms_credit_balance", "sms_credit_reserved", "sms_low_balance_alerted"])
        for company in companies:
            balance = company.sms_credit_balance
            if balance < company.sms_low_balance_threshold:
                if not company.sms_low_balance_alerted and company._sms_flip_alert(
                    """UPDATE res_company SET sms_low_balance_alerted = TRUE
                        WHERE id = %s AND sms_low_balance_alerted IS NOT TRUE RETURNING id""",
                    (company.id,),
                ):
                    company._sms_notify_managers(
                        _("Low SMS balance: %(company)s", company=company.name),
                        _(
                            "The SMS balance of %(company)s is %(balance)s, below the alert threshold of "
                            "%(threshold)s. Top up soon: SMS are refused once the balance is exhausted.",
                            company=company.name,
                            balance=balance,
                            threshold=company.sms_low_balance_threshold,
                        ),
                        extra_users=company._sms_structure_managers(),  # a member's structure is told too
                    )
            elif company.sms_low_balance_alerted:
                company._sms_flip_alert(
                    """UPDATE res_company SET sms_low_balance_alerted = FALSE
                        WHERE id = %s AND sms_low_balance_alerted RETURNING id""",
                    (company.id,),
                )

    def _sms_notify_credit_shortage(self, count):
        """SMS were refused for insufficient credit: tell the managers, at most once a day (and again after a
        top-up)."""
        today = fields.Date.context_today(self)
        for company in self.sudo():
            if company._sms_flip_alert(
                """UPDATE res_company SET sms_credit_shortage_date = %s
                    WHERE id = %s AND (sms_credit_shortage_date IS NULL OR sms_credit_shortage_date < %s)
                RETURNING id""",
                (today, company.id, today),
            ):
                company._sms_notify_managers(
                    _("SMS refused for insufficient credit: %(company)s", company=company.name),
                    _(
                        "%(count)s SMS of %(company)s were not sent: insufficient SMS credit (balance "
                        "%(balance)s). They are in the SMS history with the error 'Insufficient credit'; top "
                        "up, then resend them. You are told once a day while this lasts.",
                        count=count,
                        company=company.name,
                        balance=company.sms_credit_balance,
                    ),
                )

    def _sms_notify_managers(self, subject, text, extra_users=None):
        """One e-mail and one Odoo notification to the SMS managers of the company (and ``extra_users``)."""
        self.ensure_one()
        managers = self._sms_gateway_managers() | (extra_users or self.env["res.users"])
        _logger.info("SMS credit alert for company %s to %s manager(s): %s", self.id, len(managers), subject)
        if not managers:
            return
        body = Markup("<p>%s</p>") % text
        odoobot = self.env.ref("base.partner_root")
        email_from = self.email_formatted or odoobot.email_formatted
        self.env["mail.mail"].sudo().create(
            {
                "subject": subject,
                "body_html": body,
                "email_from": email_from,
                "recipient_ids": [(6, 0, managers.partner_id.ids)],
                "auto_delete": True,
            }
        )
        # and one to-do per manager, on the account that sends for the company (where they act: top up, check)
        account = self.env["sms.gateway.account"]._get_for_company(self)
        if account:
            account = account.with_context(mail_activity_quick_update=True)  # the e-mail above is enough
            # only for those who can open the account (a shared one belongs to the structure)
            for manager in managers.filtered(lambda u: account.company_id in u.company_ids):
                account.activity_schedule(
                    "mail.mail_activity_data_warning", summary=subject, note=body, user_id=manager.id
                )

    def _sms_credit_added(self):
        """A top-up or a positive adjustment: the low-balance alert re-arms above the threshold, and a
        shortage episode ends (the next refusal is told again)."""
        self._sms_check_low_balance()
        for company in self.filtered("sms_credit_shortage_date"):
            company._sms_flip_alert(
                """UPDATE res_company SET sms_credit_shortage_date = NULL
                    WHERE id = %s AND sms_credit_shortage_date IS NOT NULL RETURNING id""",
                (company.id,),
            )
