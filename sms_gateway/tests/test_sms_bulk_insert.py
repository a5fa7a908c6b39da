"""The set-based creation of a mass send's SMS and chatter logs (tools/bulk_insert.py) writes exactly the rows
the ORM writes, and gives way to the ORM when another addon overrides ``create``."""

from unittest.mock import patch

from markupsafe import Markup

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..tools import bulk_insert
from .common import SmsGatewayCase

PACKAGE = "odoo.addons.sms_gateway"
# what differs between two otherwise equal rows, whoever created them
PER_ROW = {"id", "uuid", "create_date", "write_date", "res_id", "partner_id", "number", "send_res_id"}


@tagged("post_install", "-at_install")
class TestSmsBulkInsert(SmsGatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        france = cls.env.ref("base.fr")
        cls.partners = cls.env["res.partner"].create(
            [{"name": f"Bulk {index}", "mobile": f"+3361234{index:04d}", "country_id": france.id} for index in range(6)]
        )
        cls.topup(cls.company_a, 100)

    def rows(self, table, ids):
        self.env.flush_all()
        self.env.cr.execute(f"SELECT * FROM {table} WHERE id IN %s ORDER BY id", (tuple(ids),))
        columns = [column.name for column in self.env.cr.description]
        return [dict(zip(columns, row, strict=True)) for row in self.env.cr.fetchall()]

    def mass_send(self, partners, body="Réunion jeudi {{ object.name }}"):
        composer = (
            self.env(user=self.user_a)["sms.composer"]
            .with_context(
                active_model="res.partner",
                active_ids=partners.ids,
                default_composition_mode="mass",
                default_mass_keep_log=True,
                default_res_ids=partners.ids,
            )
            .create({"body": body})
        )
        composer.action_send_sms()
        return composer.sms_send_batch_id.sudo().sms_ids.sorted("id")

    def test_copied_sms_rows_equal_the_orm_rows(self):
        Sms = self.env["sms.sms"].with_user(self.user_a).with_company(self.company_a).sudo()
        values = [
            {"number": f"+3361234{index:04d}", "partner_id": partner.id, "body": "Rappel", "state": "outgoing"}
            for index, partner in enumerate(self.partners)
        ]
        by_orm = Sms.create([dict(vals) for vals in values])
        copied = Sms._gateway_create_many([dict(vals) for vals in values])
        self.assertEqual(len(copied), 6)
        self.assertEqual(copied.mapped("number"), by_orm.mapped("number"))
        self.assertEqual(len(set(copied.mapped("uuid"))), 6, "each SMS its own uuid")
        orm_rows, copied_rows = self.rows("sms_sms", by_orm.ids), self.rows("sms_sms", copied.ids)
        for orm_row, copied_row in zip(orm_rows, copied_rows, strict=True):
            for column, value in orm_row.items():
                if column not in PER_ROW and column != "credit_move_id":
                    self.assertEqual(copied_row[column], value, column)
        self.assertEqual(copied.mapped("credit_charged"), [1] * 6)
        self.assertEqual(len(copied.credit_move_id), 1, "one reservation for the six")
        self.assertEqual(copied.credit_move_id.quantity, -6)
        self.assertEqual(self.balance(self.company_a), 100 - 12)

    def test_sms_credit_refused_for_some_rows_is_copied_too(self):
        """A chunk the credit covers only in part: the reserved rows and the refused ones (other columns)."""
        self.env["sms.credit.move"].create(
            {"company_id": self.company_a.id, "move_type": "adjustment", "quantity": -95, "note": "5 left"}
        )
        Sms = self.env["sms.sms"].with_company(self.company_a).sudo()
        values = [{"number": f"+3361234{index:04d}", "body": "Rappel", "state": "outgoing"} for index in range(8)]
        sms = Sms._gateway_create_many(values)
        self.assertEqual(sms.mapped("state"), ["outgoing"] * 5 + ["error"] * 3)
        self.assertEqual(sms.mapped("failure_type"), [False] * 5 + ["sms_credit"] * 3)
        self.assertEqual(sms.mapped("credit_charged"), [1] * 5 + [0] * 3)
        self.assertEqual(sms[5:].mapped("credit_move_id"), self.env["sms.credit.move"])
        self.assertIn("Insufficient credit", sms[7].error_message)
        self.assertEqual(self.balance(self.company_a), 0)

    def test_mass_send_logs_each_record_like_odoo(self):
        sms = self.mass_send(self.partners)
        self.assertEqual(len(sms), 6)
        self.assertEqual(sms.mapped("body"), [f"Réunion jeudi {partner.name}" for partner in self.partners])
        logs = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "in", self.partners.ids), ("message_type", "=", "sms")],
            order="id",
        )
        self.assertEqual(logs.mapped("res_id"), self.partners.ids, "one log per contact, in order")
        self.assertEqual(
            [str(body) for body in logs.mapped("body")],
            [str(Markup("<p>Réunion jeudi %s</p>") % partner.name) for partner in self.partners],
        )
        self.assertEqual(set(logs.mapped("author_id")), {self.user_a.partner_id})
        self.assertEqual(set(logs.mapped("subtype_id")), {self.env.ref("mail.mt_note")})
        first, others = self.rows("mail_message", logs[:1].ids), self.rows("mail_message", logs[1:].ids)
        for row in others:
            for column in ("author_id", "message_type", "subtype_id", "is_internal", "model", "email_from"):
                self.assertEqual(row[column], first[0][column], column)
        # what the contact's chatter shows, through the ORM that the copies skipped
        self.assertIn("Réunion jeudi Bulk 3", str(self.partners[3].message_ids[:1].body))

    def test_a_markup_body_is_escaped_once(self):
        self.partners[1].name = "Bulk <b>&</b>"
        self.mass_send(self.partners[:3])
        log = self.env["mail.message"].search([("model", "=", "res.partner"), ("res_id", "=", self.partners[1].id)])
        self.assertIn("Bulk &lt;b&gt;&amp;&lt;/b&gt;", str(log.body))
        self.assertNotIn("&amp;lt;", str(log.body), "escaped once")

    def test_an_unknown_create_override_gives_way_to_the_orm(self):
        """Another addon overriding create: the rows go through the ORM (nothing it does is skipped)."""
        never = AssertionError("copied")
        with (
            patch.object(bulk_insert, "KNOWN_CREATE_MODULES", ("odoo.models",)),
            patch(f"{PACKAGE}.models.sms_sms.insert_row_copies", side_effect=never) as sms_copies,
            patch(f"{PACKAGE}.models.mail_thread.insert_row_copies", side_effect=never) as log_copies,
        ):
            self.assertFalse(bulk_insert.can_copy_rows(self.env["sms.sms"], ["number"]))
            sms = self.mass_send(self.partners)
        sms_copies.assert_not_called()
        log_copies.assert_not_called()
        self.assertEqual(len(sms), 6)
        logs = self.env["mail.message"].search_count(
            [("model", "=", "res.partner"), ("res_id", "in", self.partners.ids), ("message_type", "=", "sms")]
        )
        self.assertEqual(logs, 6)

    def test_only_plain_stored_fields_can_vary(self):
        Sms = self.env["sms.sms"]
        self.assertTrue(bulk_insert.can_copy_rows(Sms, ["number", "partner_id", "state"]))
        self.assertFalse(bulk_insert.can_copy_rows(Sms, ["error_display"]), "computed, not stored")
        self.assertFalse(bulk_insert.can_copy_rows(self.env["mail.message"], ["partner_ids"]), "relation table")

    def test_a_stored_computed_field_of_a_varied_column_refuses_the_copy(self):
        """The copies would keep the first row's computed value: contacts' commercial entity follows the parent."""
        Partner = self.env["res.partner"]
        with patch.object(bulk_insert, "KNOWN_CREATE_MODULES", ("odoo.",)):
            self.assertTrue(bulk_insert.can_copy_rows(Partner, ["comment"]))
            self.assertFalse(bulk_insert.can_copy_rows(Partner, ["parent_id"]))

    def test_a_mass_send_copies_the_rows(self):
        """The fast path is the one taken: one ORM row, the others copied, for the SMS and for the logs."""
        with (
            patch(f"{PACKAGE}.models.sms_sms.insert_row_copies", wraps=bulk_insert.insert_row_copies) as sms_copies,
            patch(f"{PACKAGE}.models.mail_thread.insert_row_copies", wraps=bulk_insert.insert_row_copies) as logs,
        ):
            self.mass_send(self.partners)
        self.assertEqual([len(call.args[1]) for call in sms_copies.call_args_list], [5])
        self.assertEqual([len(call.args[1]) for call in logs.call_args_list], [5])

    def test_a_create_of_many_sms_copies_them_with_the_same_checks(self):
        """``sms.sms.create`` with many values (an automated action, an import) takes the same path; numbers are
        normalised and refused as one by one."""
        numbers = [f"+3361234{index:04d}" for index in range(60)]
        numbers[10] = "06 12 34 99 99"  # national: normalised
        numbers[20] = "+33123"  # too short: refused
        with patch(f"{PACKAGE}.models.sms_sms.insert_row_copies", wraps=bulk_insert.insert_row_copies) as copies:
            sms = (
                self.env["sms.sms"]
                .with_company(self.company_a)
                .sudo()
                .create([{"number": number, "body": "Rappel"} for number in numbers])
            )
        self.assertEqual([len(call.args[1]) for call in copies.call_args_list], [59])
        self.assertEqual(sms[10].number, "+33612349999")
        self.assertEqual((sms[20].state, sms[20].failure_type), ("error", "sms_number_format"))
        self.assertEqual(sms[21].number, numbers[21])
        self.assertEqual(sms.filtered(lambda s: s.state == "outgoing").mapped("credit_charged"), [1] * 59)
        self.assertEqual(self.balance(self.company_a), 100 - 59)

    def test_the_e164_shortcut_agrees_with_odoo_normaliser(self):
        """Numbers already in E.164 form are checked with one parse instead of Odoo's two: same verdicts."""
        from odoo.addons.phone_validation.tools import phone_validation

        def odoo_verdict(number):
            try:
                return phone_validation.phone_format(number, None, None, force_format="E164")
            except UserError:
                return False

        Sms = self.env["sms.sms"]
        numbers = [
            "+33612345678", "+33187654321", "+33012345678", "+3361234567", "+14155552671", "+12125550123",
            "+447911123456", "+390612345678", "+3906123", "+4915123456789", "+999123456789", "+262692123456",
            "+590690123456", "+687751234", "+3225551234", "+41791234567", "+8613800138000", "+100000000",
        ]  # fmt: skip
        for number in numbers:
            self.assertEqual(Sms._gateway_format_number(number, "FR"), odoo_verdict(number), number)
