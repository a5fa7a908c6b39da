from odoo.tests import HttpCase, tagged

from .common import tour_signals
from .test_sms_federation import FederationCase


@tagged("post_install", "-at_install")
class TestSmsFederationTour(FederationCase, HttpCase):
    """Issue 11's screens in a real browser: the structure's SMS manager allocates credit to two members with
    the mouse and the keyboard, then sees their balances and its own; a member's SMS user has no such menu."""

    def test_allocation_tour(self):
        with tour_signals():
            self.start_tour("/odoo", "sms_gateway_federation_tour", login=self.structure_manager.login)
        self.assertEqual(self.balance(self.school_alloc), 30)
        self.assertEqual(self.balance(self.school_own), 30)
        self.assertEqual(self.balance(self.school_pool), 0)
        self.assertEqual(self.balance(self.structure), 40)
        moves = self.env["sms.credit.move"].search([("company_id", "=", self.structure.id), ("quantity", "<", 0)])
        self.assertEqual(sorted(moves.mapped("quantity")), [-30, -30])
        self.assertEqual(moves.user_id, self.structure_manager)

    def test_allocation_menu_for_structure_managers_only(self):
        menu = self.env.ref("sms_gateway.sms_credit_allocation_menu")
        Menu = self.env["ir.ui.menu"]
        self.assertIn(menu.id, Menu.with_user(self.structure_manager)._visible_menu_ids())
        for user in (self.member_user, self.pool_user):
            with self.subTest(user=user.login):
                visible = Menu.with_user(user)._visible_menu_ids()
                self.assertNotIn(menu.id, visible)
                # what the web client gets: no allocation menu anywhere in the SMS app
                menus = Menu.with_user(user).load_menus(debug=False)
                self.assertNotIn(menu.id, menus)
                self.assertIn(self.env.ref("sms_gateway.sms_gateway_menu_root").id, menus)
