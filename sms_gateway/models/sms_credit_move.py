import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools.locking import select_skip_locked

_logger = logging.getLogger(__name__)

# SMS still waiting for the provider: their credit is reserved, not settled.
PENDING_STATES = ("outgoing", "process")


class SmsCreditMove(models.Model):
    """One row of a company's SMS credit ledger, and the ledger's operations.

    Invariants:

    * a company's balance is the sum of ``quantity`` over its rows: top-ups, refunds and positive
      adjustments add, consumption takes; rows are never edited afterwards, so the balance cannot drift;
    * credit is **reserved** when an SMS is queued (a ``consumption`` row in state ``reserved``, one per
      company and create batch), **settled** (``done``) once none of its SMS waits for the provider, and
      **refunded** (a ``refund`` row) for the SMS that were not sent;
    * every withdrawal takes the company's credit lock first (``_lock_credit``): the balance never goes
      below zero, whatever runs at once.

    The outbox (``sms.sms``) calls ``_reserve_sms_vals`` / ``_reserve_sms`` when SMS are queued,
    ``_settle_sms`` and ``_refund_sms`` when the provider answered, ``_settle_answered`` at the end of
    each dispatch run.
    """

    _name = "sms.credit.move"
    _description = "SMS Credit Move"
    _order = "date desc, id desc"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True, default=lambda self: self.env.company
    )
    move_type = fields.Selection(
        [
            ("topup", "Top-up"),
            ("consumption", "Consumption"),
            ("refund", "Refund"),
            ("adjustment", "Manual adjustment"),
            ("allocation", "Allocation"),
        ],
        string="Type",
        required=True,
        default="topup",
    )
    state = fields.Selection(
        [("reserved", "Reserved"), ("done", "Done")],
        required=True,
        default="done",
        help="Consumption stays reserved while its SMS wait for the provider's answer.",
    )
    quantity = fields.Integer("SMS units", required=True, help="Positive adds credit, negative takes it.")
    user_id = fields.Many2one("res.users", "User", default=lambda self: self.env.user, readonly=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    sms_id = fields.Many2one("sms.sms", "SMS", index="btree_not_null", ondelete="set null", readonly=True)
    sms_count = fields.Integer("Number of SMS", readonly=True, help="Number of SMS this move is for.")
    reference = fields.Char(readonly=True)
    counterpart_company_id = fields.Many2one(
        "res.company",
        "Allocated from / to",
        readonly=True,
        help="An allocation: the other company of the pair of rows (the structure or its member).",
    )
    member_company_id = fields.Many2one(
        "res.company",
        "Sent by",
        index="btree_not_null",
        readonly=True,
        help="The company whose SMS this consumption is for (a member drawing on its structure's pool is charged "
        "on the structure's ledger).",
    )
    note = fields.Char()

    @api.constrains("move_type", "quantity")
    def _check_quantity_sign(self):
        for move in self:
            if move.move_type in ("topup", "refund") and move.quantity <= 0:
                raise ValidationError(_("A top-up or a refund must add a positive number of SMS."))
            if move.move_type == "consumption" and move.quantity > 0:
                raise ValidationError(_("A consumption must take credit, not add it."))
            if move.move_type in ("adjustment", "allocation") and not move.quantity:
                raise ValidationError(_("An adjustment must change the balance."))

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                if vals.get("move_type", "topup") not in ("topup", "adjustment"):
                    raise UserError(_("Only top-ups and manual adjustments can be recorded by hand."))
        # A manual withdrawal is checked under the same lock as SMS reservations.
        for company_id in {v.get("company_id") or self.env.company.id for v in vals_list if v.get("quantity", 0) < 0}:
            company = self.env["res.company"].browse(company_id)
            needed = -sum(
                v["quantity"]
                for v in vals_list
                if (v.get("company_id") or self.env.company.id) == company_id
                and v.get("quantity", 0) < 0
                and v.get("move_type") != "consumption"
            )
            if needed and needed > self._lock_credit(company):
                raise UserError(
                    _(
                        "This adjustment would take the SMS balance of %(company)s below zero.",
                        company=company.display_name,
                    )
                )
        moves = super().create(vals_list)
        credited = moves.filtered(lambda m: m.quantity > 0 and m.move_type in ("topup", "adjustment", "allocation"))
        if credited:
            credited.company_id.sudo()._sms_credit_added()
        return moves

    def write(self, vals):
        if not self.env.su and set(vals) - {"note"}:
            raise UserError(_("Credit moves cannot be changed; record an adjustment instead."))
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            raise UserError(_("Credit moves cannot be deleted; record an adjustment instead."))
        return super().unlink()

    # ------------------------------------------------------------------
    # Balances and the company lock
    # ------------------------------------------------------------------
    @api.model
    def _balances(self, companies):
        """``({company: balance}, {company: reserved})`` of ``companies`` (reserved as a positive number)."""
        moves = self.sudo()
        domain = [("company_id", "in", companies.ids)]
        balances = dict(moves._read_group(domain, ["company_id"], ["quantity:sum"]))
        reserved = dict(moves._read_group([*domain, ("state", "=", "reserved")], ["company_id"], ["quantity:sum"]))
        return balances, {company: -quantity for company, quantity in reserved.items()}

    @api.model
    def _lock_credit(self, company):
        """Lock the credit of ``company`` until the end of the transaction and return its balance
        (see ``sms.credit.lock`` for why a bumped row rather than a plain lock)."""
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            """INSERT INTO sms_credit_lock (company_id, version) VALUES (%s, 1)
                ON CONFLICT (company_id) DO UPDATE SET version = sms_credit_lock.version + 1""",
            (company.id,),
            log_exceptions=False,  # a serialization failure here is expected and retried by Odoo
        )
        cr.execute("SELECT COALESCE(SUM(quantity), 0) FROM sms_credit_move WHERE company_id = %s", (company.id,))
        return cr.fetchone()[0]

    @api.model
    def _lock_credits(self, companies):
        """Lock the credit of several companies, always in the order of their ids (two allocations between
        the same companies never wait for each other in a cycle), and return ``{company id: balance}``."""
        return {company.id: self._lock_credit(company) for company in companies.sorted("id")}

    # ------------------------------------------------------------------
    # Allocations between a structure and its members
    # ------------------------------------------------------------------
    @api.model
    def _allocate(self, giver, receiver, quantity, note=False):
        """Move ``quantity`` SMS units from ``giver`` to ``receiver`` (one a branch of the other: a structure
        allocating to a member, or taking unspent credit back)."""
        return self._allocate_many(giver, {receiver: quantity}, note=note, reverse=False)

    @api.model
    def _allocate_many(self, structure, quantities, note=False, reverse=False):
        """Allocate ``{member: quantity}`` from ``structure`` to its members (``reverse``: take it back from
        them) in one transaction: a pair of rows per member (out of the giver, into the receiver), under the
        credit locks of every company involved taken in id order, never taking a giver below zero. Raise a
        UserError, nothing written, on a bad amount, a company outside the structure or a short balance.
        Rights are the caller's business (``sms.credit.allocation`` checks them)."""
        Company = self.env["res.company"].sudo()
        structure = structure.sudo()
        members = Company.browse([member.id for member in quantities])
        if not members:
            raise UserError(_("Choose at least one member to allocate SMS credit to."))
        for member, quantity in quantities.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise UserError(
                    _(
                        "An allocation is a whole, positive number of SMS (%(quantity)s for %(company)s). "
                        "Nothing was allocated.",
                        quantity=quantity,
                        company=member.name,
                    )
                )
        outside = members.filtered(lambda m: not m._sms_is_member_of(structure))
        if outside:
            raise UserError(
                _(
                    "%(companies)s are not members (branches) of %(structure)s. Nothing was allocated.",
                    companies=", ".join(outside.mapped("name")),
                    structure=structure.name,
                )
            )
        balances = self._lock_credits(structure | members)
        quantity_of = {member.id: quantity for member, quantity in quantities.items()}
        if reverse:
            short = [m for m in members if quantity_of[m.id] > balances[m.id]]
            if short:
                raise UserError(
                    _(
                        "%(company)s has %(balance)s SMS left that it has not spent or reserved: %(quantity)s cannot "
                        "be taken back. Nothing was taken back.",
                        company=short[0].name,
                        balance=balances[short[0].id],
                        quantity=quantity_of[short[0].id],
                    )
                )
        else:
            total = sum(quantity_of.values())
            if total > balances[structure.id]:
                raise UserError(
                    _(
                        "%(structure)s has %(balance)s SMS: allocating %(total)s would take it below zero. "
                        "Nothing was allocated.",
                        structure=structure.name,
                        balance=balances[structure.id],
                        total=total,
                    )
                )
        vals_list = []
        for member in members:
            quantity = quantity_of[member.id]
            giver, receiver = (member, structure) if reverse else (structure, member)
            reference = (
                _("Credit taken back from %(company)s", company=member.name)
                if reverse
                else _("Credit allocated to %(company)s", company=member.name)
            )
            common = {"move_type": "allocation", "reference": reference, "note": note}
            vals_list.append(
                {**common, "company_id": giver.id, "counterpart_company_id": receiver.id, "quantity": -quantity}
            )
            vals_list.append(
                {**common, "company_id": receiver.id, "counterpart_company_id": giver.id, "quantity": quantity}
            )
        moves = self.sudo().create(vals_list)
        (structure if not reverse else members)._sms_check_low_balance()
        return moves

    # ------------------------------------------------------------------
    # Reserve (when SMS are queued)
    # ------------------------------------------------------------------
    @api.model
    def _sms_cost(self, segments, credits_per_segment):
        """Credit one SMS costs: its segments (at least one) at the account's price of a segment."""
        return max(segments or 0, 1) * credits_per_segment

    @api.model
    def _split_credit(self, company, costs, member=None):
        """Lock the credit of ``company`` and take the ``(key, cost)`` items in order: those it covers are
        reserved, the others refused. With ``member`` (the company the SMS are sent for, ``company`` paying),
        its quotas and the current user's are checked first, under the same lock: over one of them, every
        item is refused with the quota's message. Returns ``{cost: [keys]}`` reserved and
        ``{error message: [keys]}`` refused."""
        available = self._lock_credit(company)
        costs = list(costs)
        if member is not None:
            quota_problem = member._sms_quota_problem(sum(cost for _key, cost in costs))
            if quota_problem:
                return {}, {quota_problem: [key for key, _cost in costs]}
        reserved_by_cost = {}
        refused_by_message = {}
        for key, cost in costs:
            if cost <= available:
                available -= cost
                reserved_by_cost.setdefault(cost, []).append(key)
            else:
                message = _(
                    "Insufficient credit: %(needed)s SMS needed, %(available)s available",
                    needed=cost,
                    available=available,
                )
                refused_by_message.setdefault(message, []).append(key)
        return reserved_by_cost, refused_by_message

    @api.model
    def _create_reservation(self, company, reserved_by_cost, reference, sms_id=False, member=None):
        """The one reserved consumption move of a create batch (or of a reservation) of ``company``, for the
        SMS of ``member`` (the sending company, when it draws on ``company``'s pool)."""
        return self.sudo().create(
            {
                "company_id": company.id,
                "member_company_id": (member or company).id,
                "move_type": "consumption",
                "state": "reserved",
                "quantity": -sum(cost * len(keys) for cost, keys in reserved_by_cost.items()),
                "sms_count": sum(len(keys) for keys in reserved_by_cost.values()),
                "sms_id": sms_id,
                "reference": reference,
            }
        )

    @api.model
    def _reserve_sms_vals(self, vals_list):
        """Reserve the credit of SMS about to be created, on their values: in order, per company, under the
        company's lock, one consumption move per company; the cost or the refusal ("Insufficient credit",
        uncharged) is written in the values, so the rows are inserted charged or refused, never updated
        right after. Values without a company are left to ``_reserve_sms`` after the create.

        :return: None when no SMS goes through the gateway, else what ``_reserve_sms_created`` needs.
        """
        self._charge_prepaid_send(vals_list)
        by_company = {}
        late = []
        for index, vals in enumerate(vals_list):
            if not vals.get("gateway_account_id") or vals.get("state", "outgoing") != "outgoing":
                continue
            if vals.get("credit_move_id"):
                continue  # paid by the reservation of its send (_charge_prepaid_send)
            if vals.get("company_id"):
                by_company.setdefault(vals["company_id"], []).append(index)
            else:
                late.append(index)
        if not by_company and not late:
            return None
        Account = self.env["sms.gateway.account"].sudo()
        Company = self.env["res.company"].sudo()
        per_segment = {}
        moves = []
        refused = {}
        # the paying company of each sender (itself, or its structure's pool), locked in id order
        payer_of = {company_id: Company.browse(company_id)._sms_credit_company() for company_id in by_company}
        for company_id, indexes in sorted(by_company.items(), key=lambda item: (payer_of[item[0]].id, item[0])):
            costs = []
            for index in indexes:
                vals = vals_list[index]
                account_id = vals["gateway_account_id"]
                if account_id not in per_segment:
                    per_segment[account_id] = Account.browse(account_id).credits_per_segment
                costs.append((index, self._sms_cost(vals.get("sms_segment_count"), per_segment[account_id])))
            company = Company.browse(company_id)
            payer = payer_of[company_id]
            # quotas (the member's on its pool, the user's): a send over them is refused whole, uncharged
            reserved_by_cost, refused_by_message = self._split_credit(payer, costs, member=company)
            if reserved_by_cost:
                first = min(index for keys in reserved_by_cost.values() for index in keys)
                move = self._create_reservation(
                    payer, reserved_by_cost, vals_list[first].get("origin_label"), member=company
                )
                for cost, keys in reserved_by_cost.items():
                    for index in keys:
                        vals_list[index].update(credit_charged=cost, credit_move_id=move.id, credit_company_id=payer.id)
                moves.append((move, [index for keys in reserved_by_cost.values() for index in keys]))
                company._sms_after_reservation(-move.quantity)
            for message, keys in refused_by_message.items():
                for index in keys:
                    vals_list[index].update(state="error", failure_type="sms_credit", error_message=message)
            if refused_by_message:
                refused[company_id] = refused_by_message
        return {"moves": moves, "refused": refused, "late": late}

    # ------------------------------------------------------------------
    # A big send: its whole cost reserved when it is sent, its SMS prepared later
    # ------------------------------------------------------------------
    @api.model
    def _reserve_send(self, batch, cost):
        """Reserve the whole ``cost`` of ``batch`` (an ``sms.send.batch`` about to be prepared) as one
        ledger row, under the company's lock; raise a UserError, nothing reserved, when the credit is short
        (a send never runs short half-way)."""
        member = batch.company_id
        company = member._sms_credit_company()
        available = self._lock_credit(company)
        quota_problem = member._sms_quota_problem(cost)
        if quota_problem:
            raise UserError(_("%(problem)s Nothing was sent.", problem=quota_problem))
        if cost > available:
            raise UserError(
                _(
                    "Insufficient credit: this send needs %(needed)s SMS, your balance is %(balance)s SMS. "
                    "Nothing was sent.",
                    needed=cost,
                    balance=available,
                )
            )
        move = self.sudo().create(
            {
                "company_id": company.id,
                "member_company_id": member.id,
                "move_type": "consumption",
                "state": "reserved",
                "quantity": -cost,
                "sms_count": batch.valid_count,
                "reference": batch.name,
            }
        )
        batch.sudo().write({"credit_move_id": move.id, "credit_reserved": cost})
        member._sms_after_reservation(cost)
        return move

    @api.model
    def _charge_prepaid_send(self, vals_list):
        """SMS being prepared for a send whose cost was reserved up front (context ``sms_gateway_prepaid_send``)
        are charged to that reservation, as far as it goes; the rest is reserved as usual."""
        batch_id = self.env.context.get("sms_gateway_prepaid_send")
        if not batch_id:
            return
        batch = self.env["sms.send.batch"].sudo().browse(batch_id)
        move = batch.credit_move_id
        if not move:
            return
        left = batch.credit_reserved - batch.credit_used
        per_segment = {}
        used = 0
        for vals in vals_list:
            account_id = vals.get("gateway_account_id")
            if not account_id or vals.get("state", "outgoing") != "outgoing" or vals.get("send_batch_id") != batch.id:
                continue
            if account_id not in per_segment:
                per_segment[account_id] = self.env["sms.gateway.account"].sudo().browse(account_id).credits_per_segment
            cost = self._sms_cost(vals.get("sms_segment_count"), per_segment[account_id])
            if cost <= left - used:
                vals.update(credit_charged=cost, credit_move_id=move.id, credit_company_id=move.company_id.id)
                used += cost
        if used:
            batch.credit_used += used

    @api.model
    def _release_send_reservation(self, batch):
        """At the end of a send's preparation: give back what its reservation holds beyond what its SMS use
        (recipients gone or deduplicated since the send, a cancellation), and settle the reservation."""
        move = batch.credit_move_id
        if not move:
            return
        unused = batch.credit_reserved - batch.credit_used
        if unused > 0:
            self.sudo().create(
                {
                    "company_id": move.company_id.id,
                    "member_company_id": batch.company_id.id,
                    "user_id": move.user_id.id or self.env.uid,  # the sender's quota, not the cron's
                    "move_type": "refund",
                    "quantity": unused,
                    "reference": _("Refund: credit of %(send)s not used", send=batch.name),
                }
            )
            batch.credit_reserved = batch.credit_used
        # one query, however many SMS the send has: settled once none of them waits for the provider
        self.env["sms.sms"].flush_model(["state", "credit_move_id"])
        self.env.cr.execute(
            "SELECT 1 FROM sms_sms WHERE credit_move_id = %s AND state IN %s LIMIT 1", (move.id, PENDING_STATES)
        )
        if not self.env.cr.fetchone() and move.state == "reserved":
            move.sudo().state = "done"

    @api.model
    def _reserve_sms_created(self, sms, reservation):
        """After ``_reserve_sms_vals``: ``sms`` are the created SMS, in the order of the values. Links a
        single SMS to its move, reserves the late ones and tells the SMS managers (low balance, refusals)."""
        for move, indexes in reservation["moves"]:
            if len(indexes) == 1:
                move.sms_id = sms._ids[indexes[0]]
        for company_id, refused_by_message in reservation["refused"].items():
            ids_by_message = {
                message: [sms._ids[index] for index in indexes] for message, indexes in refused_by_message.items()
            }
            refused = sms.browse([sms_id for ids in ids_by_message.values() for sms_id in ids])
            refused.sms_tracker_id._action_update_from_sms_state("error", failure_type="sms_credit")
            _logger.info("SMS refused for insufficient credit in company %s: %s", company_id, ids_by_message)
        if reservation["late"]:
            late = sms.browse([sms._ids[index] for index in reservation["late"]])
            self._reserve_sms(late.filtered(lambda s: s.state == "outgoing"))
        self._alert_managers(sms)

    @api.model
    def _reserve_sms(self, sms):
        """Reserve the credit of queued SMS records (resends, SMS whose company was set after their create,
        SMS claimed unpaid), in order, per company; those over a quota (all of the company's, as for a new
        send) or whose cost the paying company cannot cover end in error, uncharged."""
        for member, company_sms in sms.grouped("company_id").items():
            company = member._sms_credit_company()
            reserved_by_cost, refused_by_message = self._split_credit(
                company,
                (
                    (s.id, self._sms_cost(s.sms_segment_count, s.gateway_account_id.credits_per_segment))
                    for s in company_sms
                ),
                member=member,
            )
            reserved = sms.browse([sms_id for ids in reserved_by_cost.values() for sms_id in ids])
            if reserved:
                move = self._create_reservation(
                    company,
                    reserved_by_cost,
                    reserved[:1].origin_label,
                    sms_id=reserved.id if len(reserved) == 1 else False,
                    member=member,
                )
                for cost, ids in reserved_by_cost.items():
                    sms.browse(ids).write(
                        {"credit_charged": cost, "credit_move_id": move.id, "credit_company_id": company.id}
                    )
            for message, ids in refused_by_message.items():
                refused = sms.browse(ids)
                refused.write({"state": "error", "failure_type": "sms_credit", "error_message": message})
                refused.sms_tracker_id._action_update_from_sms_state("error", failure_type="sms_credit")
            if refused_by_message:
                _logger.info("SMS refused for insufficient credit in company %s: %s", company.id, refused_by_message)

    @api.model
    def _alert_managers(self, sms):
        """After ``sms`` were reserved: refusals for lack of credit and a low balance reach the SMS managers
        (once, see ``res.company``)."""
        if not sms:
            return
        # one aggregate, not the fields of every SMS: a big send's copied rows are not in the cache
        sms.flush_recordset(["gateway_account_id", "failure_type", "credit_charged", "company_id", "credit_company_id"])
        self.env.cr.execute(
            """SELECT company_id, COALESCE(credit_company_id, company_id),
                      COUNT(*) FILTER (WHERE failure_type = 'sms_credit'), BOOL_OR(credit_charged > 0)
                 FROM sms_sms WHERE id = ANY(%s) AND gateway_account_id IS NOT NULL GROUP BY 1, 2""",
            (list(sms._ids),),
        )
        refused_counts = {}
        charged_company_ids = []
        for company_id, payer_id, refused_count, charged in self.env.cr.fetchall():
            if refused_count:
                refused_counts[company_id] = refused_counts.get(company_id, 0) + refused_count
            if charged:
                # the ledger that paid: a member's own, or its structure's pool (a pool member's own balance is unused)
                charged_company_ids.append(payer_id)
        for company_id, refused_count in refused_counts.items():
            self.env["res.company"].browse(company_id)._sms_notify_credit_shortage(refused_count)
        self.env["res.company"].browse(set(charged_company_ids))._sms_check_low_balance()

    # ------------------------------------------------------------------
    # Settle and refund (when the provider answered)
    # ------------------------------------------------------------------
    @api.model
    def _refund_sms(self, sms, reference):
        """Give back the credit of SMS that were not sent (one refund move per company)."""
        charged = sms.filtered("credit_charged")
        # back to the ledger that paid (a structure's pool), for the member that sent, and for the user the
        # reservation counted (not whoever runs the queue: the refund gives their monthly quota back)
        by_payer = charged.grouped(
            lambda s: (s.credit_company_id or s.company_id, s.company_id, s.credit_move_id.user_id)
        )
        for (company, member, user), company_sms in by_payer.items():
            self.sudo().create(
                {
                    "company_id": company.id,
                    "member_company_id": member.id,
                    "user_id": user.id or self.env.uid,
                    "move_type": "refund",
                    "quantity": sum(company_sms.mapped("credit_charged")),
                    "sms_count": len(company_sms),
                    "sms_id": company_sms.id if len(company_sms) == 1 else False,
                    "reference": reference,
                }
            )
        charged.write({"credit_charged": 0})
        self._settle_sms(sms)

    @api.model
    def _settle_sms(self, sms):
        """Mark the reservations of ``sms`` done once none of their SMS waits for the provider any more: one
        statement for the whole batch, whatever its size (the partial index ``sms_sms_gateway_pending_move_index``
        makes the "still pending" test a probe, not a scan of the reservation's SMS)."""
        if not sms:
            return self.browse()
        sms.flush_model(["state", "credit_move_id"])
        self.env["sms.send.batch"].flush_model(["preparation", "credit_move_id"])
        self.env.cr.execute(
            """UPDATE sms_credit_move m SET state = 'done', write_uid = %s, write_date = (now() at time zone 'UTC')
                WHERE m.id IN (SELECT credit_move_id FROM sms_sms WHERE id = ANY(%s) AND credit_move_id IS NOT NULL)
                  AND m.state = 'reserved'
                  AND NOT EXISTS (SELECT 1 FROM sms_sms s WHERE s.credit_move_id = m.id AND s.state IN %s)
                  -- a big send still being prepared: more SMS are coming on its reservation
                  AND NOT EXISTS (SELECT 1 FROM sms_send_batch b
                                   WHERE b.credit_move_id = m.id AND b.preparation = 'preparing')
            RETURNING m.id""",
            (self.env.uid, list(sms._ids), PENDING_STATES),
        )
        settled = self.browse([row[0] for row in self.env.cr.fetchall()])
        # written in SQL: the cache must not keep "reserved"
        settled.invalidate_recordset(["state", "write_uid", "write_date"])
        return settled

    @api.model
    def _settle_answered(self, retry_serialization=False):
        """Settle every reservation whose SMS all got an answer. Runs in parallel each settle what their
        own snapshot shows, so the last SMS of a reservation shared by two runs could be left "reserved" by
        both: every dispatch run ends with this pass, in a fresh transaction, which sees the work of the
        runs that finished before it. Moves another run holds are skipped (it settles them)."""
        self.flush_model()
        rows = select_skip_locked(
            self.env.cr,
            """SELECT m.id FROM sms_credit_move m
                WHERE m.state = 'reserved' AND m.move_type = 'consumption'
                  AND NOT EXISTS (SELECT 1 FROM sms_sms s WHERE s.credit_move_id = m.id AND s.state IN %s)
                  AND NOT EXISTS (SELECT 1 FROM sms_send_batch b
                                   WHERE b.credit_move_id = m.id AND b.preparation = 'preparing')
                  FOR UPDATE OF m SKIP LOCKED""",
            (PENDING_STATES,),
            retry=retry_serialization,
        )
        moves = self.sudo().browse([row[0] for row in rows])
        moves.write({"state": "done"})
        return moves
