import re
from ast import literal_eval
from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, split_every
from odoo.tools.misc import formatLang

from ..tools.sms_segments import count_sms, to_gsm7

_ID_RE = re.compile(r"\d+")
# SMS created per sms.sms.create() call when queueing a mass send
CREATE_CHUNK = 5000
# recipients named in the recap when some numbers are invalid or missing
INVALID_NAMES_SHOWN = 10


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    res_domain = fields.Text(
        "Recipients domain",
        help='All the records matching this domain receive the SMS (a list\'s "select all"), '
        "instead of the ids of Document IDs.",
    )
    # company settings and the account that sends
    sms_company_id = fields.Many2one("res.company", "SMS company", compute="_compute_sms_gateway")
    sms_gateway_account_id = fields.Many2one("sms.gateway.account", "Provider account", compute="_compute_sms_gateway")
    sms_gateway_active = fields.Boolean("Sent through a provider account", compute="_compute_sms_gateway")
    sms_max_length = fields.Integer("Maximum length", compute="_compute_sms_gateway")
    sms_optout_mention = fields.Char("Opt-out mention", compute="_compute_sms_gateway")
    sms_replace_accents = fields.Boolean("Replace accents", compute="_compute_sms_gateway")
    sms_admin_forbidden = fields.Boolean("Administrator may not send", compute="_compute_sms_gateway")
    sms_can_top_up = fields.Boolean("Can top up", compute="_compute_sms_gateway")
    # recipients
    sms_recipient_count = fields.Integer("Recipients selected", compute="_compute_sms_recipient_stats")
    sms_valid_count = fields.Integer("Valid recipients", compute="_compute_sms_recipient_stats")
    sms_invalid_count = fields.Integer("Invalid numbers", compute="_compute_sms_recipient_stats")
    sms_missing_count = fields.Integer("Missing numbers", compute="_compute_sms_recipient_stats")
    sms_duplicate_count = fields.Integer("Duplicates", compute="_compute_sms_recipient_stats")
    sms_blacklist_count = fields.Integer("Blacklisted or opted out", compute="_compute_sms_recipient_stats")
    sms_invalid_names = fields.Text("Recipients without a valid number", compute="_compute_sms_recipient_stats")
    # message and cost
    sms_final_body = fields.Text("SMS as sent", compute="_compute_sms_cost")
    sms_encoding = fields.Char("Encoding", compute="_compute_sms_cost")
    sms_body_length = fields.Integer("Message length", compute="_compute_sms_cost")
    sms_body_dynamic = fields.Boolean("Rendered per recipient", compute="_compute_sms_cost")
    sms_segment_count = fields.Integer("SMS per recipient", compute="_compute_sms_cost")
    sms_segment_min = fields.Integer("SMS per recipient (min)", compute="_compute_sms_cost")
    sms_segment_max = fields.Integer("SMS per recipient (max)", compute="_compute_sms_cost")
    sms_credit_needed = fields.Integer("This send will cost", compute="_compute_sms_cost")
    sms_credit_balance = fields.Integer("You have", compute="_compute_sms_cost")
    sms_credit_after = fields.Integer("Balance after this send", compute="_compute_sms_cost")
    sms_credit_sufficient = fields.Boolean("Enough credit", compute="_compute_sms_cost")
    sms_send_problem = fields.Text("Why this send is refused", compute="_compute_sms_cost")
    sms_send_batch_id = fields.Many2one("sms.send.batch", "Send", readonly=True)

    # ------------------------------------------------------------
    # Defaults and selection
    # ------------------------------------------------------------
    @api.model
    def default_get(self, fields_list):
        result = super().default_get(fields_list)
        context = self.env.context
        active_domain = context.get("active_domain")
        active_ids = context.get("active_ids") or []
        limit = int(self.env["ir.config_parameter"].sudo().get_param("web.active_ids_limit", 20000))
        if (
            "res_domain" in fields_list
            and active_domain is not None
            and not result.get("res_id")
            and result.get("res_model")
            and result.get("res_model") == context.get("active_model")
            and len(active_ids) >= limit
        ):
            # "Select all" beyond the web client's cap: the list's domain is the selection, not the ids.
            result["res_domain"] = repr(active_domain)
            result["res_ids"] = False
        return result

    def _sms_gateway_domain(self):
        self.ensure_one()
        if self.res_domain:
            return literal_eval(self.res_domain)
        if self.res_ids:
            return [("id", "in", self._sms_gateway_res_ids())]
        return [("id", "=", self.res_id)]

    def _sms_gateway_res_ids(self):
        """The ids of ``res_ids``, parsed without ``literal_eval`` (which refuses large selections)."""
        return [int(res_id) for res_id in _ID_RE.findall(self.res_ids or "")]

    @api.depends("res_model", "res_id", "res_ids", "res_domain")
    def _compute_res_ids_count(self):
        for composer in self:
            if composer.res_model and composer.res_domain:
                composer.res_ids_count = self.env[composer.res_model].search_count(composer._sms_gateway_domain())
            else:
                composer.res_ids_count = len(composer._sms_gateway_res_ids()) if composer.res_ids else 0

    def _get_records(self):
        if self.res_model and self.res_domain:
            return self.env[self.res_model].search(self._sms_gateway_domain()).with_context(mail_notify_author=True)
        if self.res_model and self.res_ids:
            records = self.env[self.res_model].browse(self._sms_gateway_res_ids())
            return records.with_context(mail_notify_author=True)
        return super()._get_records()

    # ------------------------------------------------------------
    # Recipients
    # ------------------------------------------------------------
    def _sms_gateway_fast_path(self):
        """res.partner recipients are analysed in SQL from their stored sanitized number."""
        return self.res_model == "res.partner" and not self.number_field_name

    def _sms_gateway_recipients(self, records=None):
        """Recipients analysis of a mass or list send, in the selection's order.

        :return dict: ``info`` {id: {'sanitized', 'number', 'partner'}}, ``order`` [ids], and the id lists
            ``valid`` (unique, not blacklisted: the charged ones), ``invalid``, ``missing``, ``duplicate``,
            ``blacklist``, ``optout``.
        """
        self.ensure_one()
        if records is None:
            records = self._get_records()
        if records is None:
            records = self.env["res.partner"]
        if self._sms_gateway_fast_path():
            info, order = self._sms_gateway_partner_info(records)
        else:
            info = records._sms_get_recipients_info(
                force_field=self.number_field_name, partner_fallback=not self.comment_single_recipient
            )
            order = records.ids
        sanitized_numbers = {values["sanitized"] for values in info.values() if values["sanitized"]}
        blacklisted = set()
        if self.mass_use_blacklist and sanitized_numbers:
            rows = self.env.execute_query(
                SQL(
                    "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)",
                    list(sanitized_numbers),
                )
            )
            blacklisted = {row[0] for row in rows}
        optout = set(self._get_optout_record_ids(records, info)) if records else set()
        result = {
            "info": info,
            "order": order,
            "valid": [],
            "invalid": [],
            "missing": [],
            "duplicate": [],
            "blacklist": [],
        }
        seen = set()
        for res_id in order:
            values = info[res_id]
            sanitized = values["sanitized"]
            if not sanitized:
                result["invalid" if values["number"] else "missing"].append(res_id)
            elif sanitized in blacklisted or res_id in optout:
                result["blacklist"].append(res_id)
            elif sanitized in seen:
                result["duplicate"].append(res_id)
            else:
                seen.add(sanitized)
                result["valid"].append(res_id)
        result["blacklisted_ids"] = {res_id for res_id in result["blacklist"] if res_id not in optout}
        result["optout_ids"] = optout
        return result

    def _sms_gateway_partner_info(self, partners):
        """``_sms_get_recipients_info`` for contacts, from ``phone_sanitized`` in one query."""
        Partner = self.env["res.partner"]
        partner_ids = partners.ids
        if not partner_ids:
            return {}, []
        Partner.flush_model(["phone_sanitized", "mobile", "phone"])
        query = Partner._search([("id", "in", partner_ids)])
        table = query.table
        rows = self.env.execute_query(
            query.select(
                SQL.identifier(table, "id"),
                SQL.identifier(table, "phone_sanitized"),
                SQL.identifier(table, "mobile"),
                SQL.identifier(table, "phone"),
            )
        )
        info = {
            res_id: {
                "sanitized": sanitized or False,
                "number": sanitized or mobile or phone or False,
                "partner_id": res_id,
            }
            for res_id, sanitized, mobile, phone in rows
        }
        return info, [res_id for res_id in partner_ids if res_id in info]

    @api.depends(
        "res_model", "res_id", "res_ids", "res_domain", "composition_mode", "number_field_name", "sanitized_numbers"
    )
    def _compute_recipients(self):
        fast = self.filtered(lambda c: c.composition_mode == "mass" and c._sms_gateway_fast_path())
        super(SmsComposer, self - fast)._compute_recipients()
        for composer in fast:
            records = composer._get_records()
            info, _order = composer._sms_gateway_partner_info(records)
            composer.recipient_valid_count = sum(1 for values in info.values() if values["sanitized"])
            composer.recipient_invalid_count = len(info) - composer.recipient_valid_count

    @api.depends(
        "res_model",
        "res_id",
        "res_ids",
        "res_domain",
        "composition_mode",
        "number_field_name",
        "mass_use_blacklist",
        "recipient_single_number_itf",
        "sanitized_numbers",
    )
    def _compute_sms_recipient_stats(self):
        for composer in self:
            stats = dict.fromkeys(("recipient", "valid", "invalid", "missing", "duplicate", "blacklist"), 0)
            names = False
            if composer.composition_mode == "mass" and composer.res_model:
                analysis = composer._sms_gateway_recipients()
                stats.update({key: len(analysis[key]) for key in ("valid", "invalid", "missing", "duplicate")})
                stats["blacklist"] = len(analysis["blacklist"])
                stats["recipient"] = len(analysis["order"])
                bad_ids = (analysis["invalid"] + analysis["missing"])[:INVALID_NAMES_SHOWN]
                if bad_ids:
                    records = self.env[composer.res_model].browse(bad_ids)
                    names = ", ".join(records.mapped("display_name"))
                    more = stats["invalid"] + stats["missing"] - len(bad_ids)
                    if more:
                        names = _("%(names)s and %(count)s more", names=names, count=more)
            else:
                numbers = composer._sms_gateway_single_numbers()
                stats["recipient"] = len(numbers)
                stats["valid"] = sum(1 for number in numbers if number)
                stats["invalid"] = stats["recipient"] - stats["valid"]
            composer.update(
                {
                    "sms_recipient_count": stats["recipient"],
                    "sms_valid_count": stats["valid"],
                    "sms_invalid_count": stats["invalid"],
                    "sms_missing_count": stats["missing"],
                    "sms_duplicate_count": stats["duplicate"],
                    "sms_blacklist_count": stats["blacklist"],
                    "sms_invalid_names": names,
                }
            )

    def _sms_gateway_single_numbers(self):
        """Sanitized numbers (False when invalid) of a send to numbers or to documents (comment mode)."""
        self.ensure_one()
        if self.composition_mode == "numbers" or (self.composition_mode == "comment" and self.sanitized_numbers):
            if self.sanitized_numbers:
                return self.sanitized_numbers.split(",")
            return [self.recipient_single_number_itf or self.recipient_single_number or False]
        if self.comment_single_recipient:
            return [self.recipient_single_number_itf or self.recipient_single_number or False]
        records = self._get_records()
        if not records:
            return []
        info = records._sms_get_recipients_info(force_field=self.number_field_name)
        return [info[res_id]["sanitized"] for res_id in records.ids]

    # ------------------------------------------------------------
    # Message and cost
    # ------------------------------------------------------------
    @api.depends("composition_mode")
    @api.depends_context("company", "uid")
    def _compute_sms_gateway(self):
        company = self.env.company
        account = self.env["sms.gateway.account"]._get_for_company(company)
        user = self.env.user
        # no query: the xmlid lookup is cached (``env.ref`` would check that the user exists), only with an account
        admin_forbidden = bool(
            account
            and company.sms_forbid_admin
            and user.id == self.env["ir.model.data"]._xmlid_to_res_id("base.user_admin", raise_if_not_found=False)
        )
        for composer in self:
            composer.update(
                {
                    "sms_company_id": company,
                    "sms_gateway_account_id": account,
                    "sms_gateway_active": bool(account),
                    "sms_max_length": company.sms_max_length if account else 0,
                    "sms_optout_mention": (
                        company.sms_optout_mention if account and composer.composition_mode == "mass" else False
                    ),
                    "sms_replace_accents": bool(account and company.sms_replace_accents),
                    "sms_admin_forbidden": admin_forbidden,
                    "sms_can_top_up": user.has_group("sms_gateway.group_sms_manager"),
                }
            )

    def _sms_gateway_finalize_body(self, body):
        """The SMS as it leaves: accents replaced (company option), opt-out mention appended (mass sends)."""
        body = body or ""
        if self.sms_replace_accents:
            body = to_gsm7(body)
        mention = (self.sms_optout_mention or "").strip()
        if mention and body.strip() and not body.rstrip().endswith(mention):
            body = f"{body.rstrip()} {mention}"
        return body

    def _sms_gateway_body_is_dynamic(self):
        return bool(self.body) and ("{{" in self.body or (self.template_id and self.body == self.template_id.body))

    def _sms_gateway_render(self, records):
        """Bodies per record, before finalization; raise a UserError naming the records that fail."""
        try:
            return super()._prepare_body_values(records)
        except Exception as error:
            failing = self.env[records._name]
            for record in records[:1000]:
                try:
                    super()._prepare_body_values(record)
                except Exception:
                    failing |= record
            raise UserError(
                _(
                    "The message could not be written for %(count)s recipient(s) (%(names)s): %(error)s\n"
                    "Nothing was sent.",
                    count=len(failing) or len(records),
                    names=", ".join(failing[:INVALID_NAMES_SHOWN].mapped("display_name")) or "-",
                    error=error,
                )
            ) from error

    def _prepare_body_values(self, records):
        if not self.sms_gateway_active:
            return super()._prepare_body_values(records)
        if self._sms_gateway_body_is_dynamic():
            bodies = self._sms_gateway_render(records)
        else:
            bodies = dict.fromkeys(records.ids, self.body or "")
        finalized = {}
        cache = {}
        for res_id, body in bodies.items():
            if body not in cache:
                cache[body] = self._sms_gateway_finalize_body(body)
            finalized[res_id] = cache[body]
        return finalized

    @api.depends(
        "body",
        "template_id",
        "composition_mode",
        "sms_valid_count",
        "sms_gateway_account_id",
        "sms_optout_mention",
        "sms_replace_accents",
        "sms_max_length",
    )
    def _compute_sms_cost(self):
        for composer in self:
            final_body = composer._sms_gateway_finalize_body(composer.body)
            count = count_sms(final_body)
            segments_min = segments_max = count.segments
            needed = count.segments * composer._sms_gateway_charged_count()
            problem = False
            dynamic = composer.composition_mode == "mass" and composer._sms_gateway_body_is_dynamic()
            if dynamic and composer.sms_valid_count:
                try:
                    bodies = composer._sms_gateway_valid_bodies()
                except UserError as error:
                    bodies, problem = {}, error.args[0]
                segments = [count_sms(body).segments for body in bodies.values()]
                if segments:
                    segments_min, segments_max, needed = min(segments), max(segments), sum(segments)
            account = composer.sms_gateway_account_id
            per_segment = (account.credits_per_segment or 1) if account else 1
            needed *= per_segment
            # the ledger that pays: the company's own, or its structure's pool
            balance = composer.sms_company_id.sudo()._sms_credit_company().sms_credit_balance if account else 0
            composer.update(
                {
                    "sms_final_body": final_body,
                    "sms_encoding": count.encoding,
                    "sms_body_length": len(composer._sms_gateway_typed_body()),
                    "sms_body_dynamic": dynamic,
                    "sms_segment_count": segments_max,
                    "sms_segment_min": segments_min,
                    "sms_segment_max": segments_max,
                    "sms_credit_needed": needed,
                    "sms_credit_balance": balance,
                    "sms_credit_after": balance - needed,
                    "sms_credit_sufficient": not account or needed <= balance,
                }
            )
            composer.sms_send_problem = problem or (composer._sms_gateway_problems() or [False])[0]

    def _sms_gateway_typed_body(self, body=None):
        body = self.body if body is None else body
        body = body or ""
        return to_gsm7(body) if self.sms_replace_accents else body

    def _sms_gateway_valid_bodies(self):
        """Finalized bodies of the charged recipients of a mass send."""
        analysis = self._sms_gateway_recipients()
        records = self.env[self.res_model].browse(self._sms_gateway_charged_ids(analysis))
        return self._prepare_body_values(records)

    def _sms_gateway_charged_count(self):
        """How many recipients this send is charged for: the valid ones, less those the sending rules leave
        out (sms_composer_rules.py)."""
        return self.sms_valid_count

    def _sms_gateway_charged_ids(self, analysis):
        """The records of a mass send charged for, from its recipients ``analysis``."""
        return analysis["valid"]

    # ------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------
    def _sms_gateway_problems(self):
        """Reasons why this send must be refused, in the order the user should fix them (translated)."""
        self.ensure_one()
        problems = []
        if self.sms_admin_forbidden:
            problems.append(
                _(
                    "SMS cannot be sent from the shared administrator account: log in with your own account "
                    "so that every send is traceable to a person."
                )
            )
        if not (self.body or "").strip():
            problems.append(_("Your message is empty: type the text of the SMS."))
        elif self.sms_max_length and self.sms_body_length > self.sms_max_length:
            problems.append(
                _(
                    "Your message has %(length)s characters; your company limits SMS to %(limit)s characters.",
                    length=self.sms_body_length,
                    limit=self.sms_max_length,
                )
            )
        max_recipients = self._sms_gateway_max_recipients()
        if self.composition_mode == "mass" and self.sms_recipient_count > max_recipients:
            problems.append(
                _(
                    "This send has %(count)s recipients; a send may have at most %(max)s: split it, or ask an "
                    "administrator to raise the limit (SMS settings).",
                    count=formatLang(self.env, self.sms_recipient_count, digits=0),
                    max=formatLang(self.env, max_recipients, digits=0),
                )
            )
        if self.composition_mode == "mass" and not self.sms_valid_count:
            if self.sms_blacklist_count and not (self.sms_invalid_count or self.sms_missing_count):
                problems.append(_("Every selected recipient is blacklisted or opted out: nobody would receive it."))
            else:
                problems.append(_("None of the selected recipients has a valid phone number."))
        elif self.sms_gateway_active and self.sms_credit_needed > self.sms_credit_balance:
            problems.append(
                _(
                    "Insufficient credit: this send needs %(needed)s SMS, your balance is %(balance)s SMS.",
                    needed=formatLang(self.env, self.sms_credit_needed, digits=0),
                    balance=formatLang(self.env, self.sms_credit_balance, digits=0),
                )
            )
        return problems

    @api.model
    def _sms_gateway_max_recipients(self):
        return int(self.env["ir.config_parameter"].sudo().get_param("sms_gateway.max_recipients", 1000000))

    def _sms_gateway_in_background(self):
        """Whether this send is recorded at once and its SMS prepared in the background: a mass send to more
        recipients than ``sms_gateway.background_send_threshold`` (1,000), which a request could not queue
        within a production worker's time limits."""
        threshold = int(self.env["ir.config_parameter"].sudo().get_param("sms_gateway.background_send_threshold", 1000))
        return (
            self.composition_mode == "mass"
            and self.res_model
            and self.sms_gateway_active
            and self.sms_recipient_count > threshold
        )

    def _sms_gateway_check_send(self):
        self.ensure_one()
        self.env["sms.sms"]._sms_check_send_rights()
        if self.composition_mode == "mass" and self._sms_gateway_body_is_dynamic() and self.res_model:
            self._sms_gateway_render(self._get_records())  # names the recipients it fails for
        problems = self._sms_gateway_problems()
        if problems:
            raise UserError("\n".join([*problems, _("Nothing was sent.")]))
        if self.composition_mode == "mass":
            bodies = self._sms_gateway_valid_bodies() if self._sms_gateway_body_is_dynamic() else {}
            if self.sms_max_length:
                for body in bodies.values():
                    typed = self._sms_gateway_typed_body(body)
                    mention = (self.sms_optout_mention or "").strip()
                    length = len(typed) - (len(mention) + 1 if mention and typed.endswith(mention) else 0)
                    if length > self.sms_max_length:
                        raise UserError(
                            _(
                                "Your message has %(length)s characters for some recipients; your company limits "
                                "SMS to %(limit)s characters. Nothing was sent.",
                                length=length,
                                limit=self.sms_max_length,
                            )
                        )

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------
    def action_send_sms(self):
        if self.env.context.get("sms_gateway_automated"):
            # server action or automation rule: no interactive check may break the triggering transaction
            self._action_send_sms()
            return False
        if not self.sms_gateway_active:
            return super().action_send_sms()
        self._sms_gateway_check_send()
        if self._sms_gateway_in_background():
            return self._sms_gateway_send_in_background()
        super().action_send_sms()
        batch = self.sms_send_batch_id
        message = _(
            "%(count)s SMS queued, %(cost)s SMS charged: follow them in SMS > Sends.",
            count=batch.sms_count - batch.failed_count,
            cost=batch.credit_total,
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": message,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_send_sms_mass_now(self):
        if self.sms_gateway_active:
            self._sms_gateway_check_send()
        return super().action_send_sms_mass_now()

    def _action_send_sms(self):
        self.env["sms.sms"]._sms_check_send_rights()
        origin = self.env.context.get("sms_origin") or _("Manual send")
        composer = self.with_context(sms_origin=origin)
        if not self.sms_gateway_active:
            return super(SmsComposer, composer)._action_send_sms()
        if self.sms_admin_forbidden:
            raise UserError(self._sms_gateway_problems()[0])
        if self.composition_mode == "numbers":
            self.body = self._sms_gateway_finalize_body(self.body)
        batch = self._sms_gateway_create_batch(origin)
        composer = composer.with_context(sms_send_batch_id=batch.id)
        result = super(SmsComposer, composer)._action_send_sms()
        charged = self.env["sms.sms"].sudo()._read_group([("send_batch_id", "=", batch.id)], [], ["credit_charged:sum"])
        batch.credit_total = charged[0][0] or 0
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()
        self.sms_send_batch_id = batch
        return result

    def _sms_gateway_send_in_background(self):
        """Record the send (recipients frozen to the current selection, settings, the whole cost reserved as
        one ledger row) and leave the SMS to the preparation job; open the send to follow its progress."""
        self.env["sms.sms"]._sms_check_send_rights()
        origin = self.env.context.get("sms_origin") or _("Manual send")
        batch = self._sms_gateway_create_batch(origin)
        domain = self._sms_gateway_domain()
        # recipients added after the send (a "select all" domain) are not part of it
        last = self.env[self.res_model].search(domain, order="id desc", limit=1)
        batch.sudo().write(
            {
                "preparation": "preparing",
                "res_domain": repr([*domain, ("id", "<=", last.id)]),
                "composer_values": {
                    "body": self.body,
                    "template_id": self.template_id.id,
                    "mass_keep_log": self.mass_keep_log,
                    "mass_use_blacklist": self.mass_use_blacklist,
                    "number_field_name": self.number_field_name,
                    "lang": self.env.lang,
                    "origin": origin,
                },
            }
        )
        self.env["sms.credit.move"]._reserve_send(batch.sudo(), self.sms_credit_needed)
        batch._trigger_preparation()
        self.sms_send_batch_id = batch
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "Your send to %(count)s recipients is being prepared, %(cost)s SMS reserved: follow it here.",
                    count=formatLang(self.env, self.sms_valid_count, digits=0),
                    cost=formatLang(self.env, self.sms_credit_needed, digits=0),
                ),
                "next": {
                    "type": "ir.actions.act_window",
                    "res_model": "sms.send.batch",
                    "res_id": batch.id,
                    "views": [(False, "form")],
                    "target": "current",
                },
            },
        }

    def _sms_gateway_create_batch(self, origin):
        self.ensure_one()
        label = _("%(origin)s: %(body)s", origin=origin, body=(self.body or "").strip()[:40])
        return (
            self.env["sms.send.batch"]
            .sudo()
            .create(
                {
                    "name": label,
                    "user_id": self.env.user.id,
                    "company_id": self.sms_company_id.id,
                    "gateway_account_id": self.sms_gateway_account_id.id,
                    "res_model": self.res_model,
                    "res_model_description": self.res_model_description,
                    "body": self.sms_final_body,
                    "recipient_count": self.sms_recipient_count,
                    "valid_count": self.sms_valid_count,
                    "invalid_count": self.sms_invalid_count + self.sms_missing_count,
                    "duplicate_count": self.sms_duplicate_count,
                    "blacklist_count": self.sms_blacklist_count,
                    "segment_min": self.sms_segment_min,
                    "segment_max": self.sms_segment_max,
                }
            )
        )

    def action_sms_top_up(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Top up SMS credit"),
            "res_model": "sms.credit.move",
            "view_mode": "form",
            "views": [(self.env.ref("sms_gateway.sms_credit_move_view_form").id, "form")],
            "target": "new",
            "context": {
                "default_company_id": self.sms_company_id.id,
                "default_move_type": "topup",
            },
        }

    def action_sms_open_invalid(self):
        """The recipients whose number is invalid or missing, to fix them."""
        self.ensure_one()
        if self._sms_gateway_fast_path():
            domain = [*self._sms_gateway_domain(), ("phone_sanitized", "=", False)]
        else:
            analysis = self._sms_gateway_recipients()
            domain = [("id", "in", analysis["invalid"] + analysis["missing"])]
        return {
            "type": "ir.actions.act_window",
            "name": _("Recipients without a valid number"),
            "res_model": self.res_model,
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": domain,
            "target": "current",
        }

    def _get_optout_record_ids(self, records, recipients_info):
        """Numbers that opted out by SMS (a STOP reply, the provider's unsubscribe: models/sms_inbound.py) are
        skipped by every mass send, also with *Use blacklist* unticked."""
        optout = set(super()._get_optout_record_ids(records, recipients_info))
        numbers = {values["sanitized"] for values in recipients_info.values() if values.get("sanitized")}
        if self.mass_use_blacklist or not numbers:  # with the blacklist, they are skipped as blacklisted
            return list(optout)
        self.env["phone.blacklist"].flush_model(["number", "active", "sms_optout_inbound_id"])
        rows = self.env.execute_query(
            SQL(
                "SELECT number FROM phone_blacklist WHERE active AND sms_optout_inbound_id IS NOT NULL"
                " AND number = ANY(%s)",
                list(numbers),
            )
        )
        stopped = {row[0] for row in rows}
        optout |= {res_id for res_id, values in recipients_info.items() if values.get("sanitized") in stopped}
        return list(optout)

    # ------------------------------------------------------------
    # Mass mode
    # ------------------------------------------------------------
    def _prepare_mass_sms_values(self, records):
        if not (self.sms_gateway_active and self._sms_gateway_fast_path()):
            return super()._prepare_mass_sms_values(records)
        analysis = self._sms_gateway_recipients(records)
        all_bodies = self._prepare_body_values(records)
        reasons = dict.fromkeys(analysis["invalid"], "sms_number_format")
        reasons.update(dict.fromkeys(analysis["missing"], "sms_number_missing"))
        reasons.update(dict.fromkeys(analysis["duplicate"], "sms_duplicate"))
        reasons.update(dict.fromkeys(analysis["optout_ids"], "sms_optout"))
        reasons.update(dict.fromkeys(analysis["blacklisted_ids"], "sms_blacklist"))
        info = analysis["info"]
        result = {}
        for res_id in analysis["order"]:
            failure_type = reasons.get(res_id, "")
            values = info[res_id]
            result[res_id] = {
                "body": all_bodies[res_id],
                "failure_type": failure_type,
                "number": values["sanitized"] or values["number"],
                "partner_id": res_id,
                "state": "canceled" if failure_type else "outgoing",
                "uuid": uuid4().hex,
            }
        return result

    def _action_send_sms_mass(self, records=None):
        if not self.sms_gateway_active:
            return super()._action_send_sms_mass(records)
        records = records if records is not None else self._get_records()
        # the chatter logs of a mass send written set-based (mail.thread._message_log_batch, ours)
        return super()._action_send_sms_mass(records.with_context(sms_gateway_log_copies=True))

    def _prepare_mass_sms(self, records, sms_record_values):
        if not self.sms_gateway_active:
            return super()._prepare_mass_sms(records, sms_record_values)
        # numbers were sanitized to E.164 by the recipients analysis: sms.sms need not parse them again
        Sms = self.env["sms.sms"].sudo().with_context(sms_gateway_numbers_e164=True)
        sms_ids = []
        vals_list = [
            {**sms_record_values[res_id], "send_res_id": res_id}
            for res_id in records.ids
            if res_id in sms_record_values
        ]
        if self.env.context.get("sms_gateway_prepaid_send"):
            self._sms_gateway_skip_sent_numbers(vals_list, self.env.context["sms_gateway_prepaid_send"])
        for chunk in split_every(CREATE_CHUNK, vals_list, list):
            created = Sms._gateway_create_many(chunk)
            sms_ids.extend(created.ids)
            created.flush_recordset()
            created.invalidate_recordset()
        return Sms.browse(sms_ids)

    @api.model
    def _sms_gateway_skip_sent_numbers(self, vals_list, batch_id):
        """A send prepared in chunks: a number an earlier chunk already queued is a duplicate (as within one
        chunk), never a second SMS."""
        numbers = list({vals["number"] for vals in vals_list if vals.get("state", "outgoing") == "outgoing"})
        if not numbers:
            return
        rows = self.env.execute_query(
            SQL(
                "SELECT number FROM sms_sms WHERE send_batch_id = %s AND number = ANY(%s) AND state != 'canceled'",
                batch_id,
                numbers,
            )
        )
        queued = {row[0] for row in rows}
        for vals in vals_list:
            if vals.get("number") in queued and vals.get("state", "outgoing") == "outgoing":
                vals.update(state="canceled", failure_type="sms_duplicate")
