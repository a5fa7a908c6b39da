from odoo.tests import tagged

from odoo.addons.sms_gateway.providers.base import _lt

from .common import SmsGatewayCase


@tagged("post_install", "-at_install")
class TestSmsI18n(SmsGatewayCase):
    """The French translation (i18n/fr.po) loads and reaches what users read: errors, menus, labels, views."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["sms_gateway"], ["fr_FR"], overwrite=True)
        cls.env = cls.env(context=dict(cls.env.context, lang="fr_FR"))
        cls.partner_a.lang = "fr_FR"

    def test_insufficient_credit_error_in_french(self):
        self.topup(self.company_a, 1)
        self.account_a.credits_per_segment = 3
        sms = self.queue_sms(self.company_a, "+33612345678")
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_credit"))
        self.assertEqual(sms.error_message, "Crédit insuffisant : 3 SMS requis, solde de 1 SMS")
        self.assertEqual(sms.error_display, "Crédit insuffisant : 3 SMS requis, solde de 1 SMS")
        self.assertEqual(self.env["sms.sms"]._gateway_failure_messages()["sms_credit"], "Crédit insuffisant")

    def test_composer_recap_in_french(self):
        composer = (
            self.env(user=self.user_a)["sms.composer"]
            .with_context(
                lang="fr_FR",
                active_model="res.partner",
                active_ids=self.partner_a.ids,
                default_composition_mode="mass",
                default_res_ids=self.partner_a.ids,
            )
            .create({"body": "Rappel : réunion des parents jeudi à 18h."})
        )
        self.assertEqual(composer.sms_credit_balance, 0)
        self.assertIn(
            "Crédit insuffisant : cet envoi nécessite 1 SMS, votre solde est de 0 SMS.", composer.sms_send_problem
        )
        arch = composer.get_views([(False, "form")])["views"]["form"]["arch"]
        for text in ("Récapitulatif avant envoi", "Votre SMS :", "Vous disposez de", "Cet envoi vous coûtera"):
            self.assertIn(text, arch)

    def test_menus_actions_and_groups_in_french(self):
        self.assertEqual(self.env.ref("sms_gateway.sms_sms_menu_history").name, "Historique")
        self.assertEqual(self.env.ref("sms_gateway.sms_send_batch_menu").name, "Envois")
        self.assertEqual(self.env.ref("sms_gateway.sms_gateway_account_menu").name, "Comptes fournisseurs SMS")
        self.assertEqual(self.env.ref("sms_gateway.sms_sms_action_history").name, "Historique des SMS")
        self.assertEqual(self.env.ref("sms_gateway.group_sms_manager").name, "Gestionnaire")

    def test_field_labels_and_selections_in_french(self):
        env = self.env
        self.assertEqual(env["sms.sms"]._fields["credit_charged"].get_description(env)["string"], "Coût (en SMS)")
        self.assertEqual(
            env["res.config.settings"]._fields["sms_optout_mention"].get_description(env)["string"],
            "Mention de désinscription des SMS",
        )
        description = env["sms.gateway.account"].fields_get(["provider", "sender"], ["string", "selection"])
        self.assertEqual(description["sender"]["string"], "Expéditeur")
        self.assertEqual(description["provider"]["string"], "Fournisseur")
        self.assertEqual(dict(description["provider"]["selection"])["generic_http"], "Passerelle HTTP générique")
        move_types = dict(env["sms.credit.move"].fields_get(["move_type"], ["selection"])["move_type"]["selection"])
        self.assertEqual(move_types["topup"], "Réapprovisionnement")

    def test_connector_messages_in_french(self):
        # Connector messages are lazy (_lt, module sms_gateway): they are read from the po file itself.
        self.assertEqual(
            _lt("Provider unreachable: %(error)s", error="DNS")._translate("fr_FR"),
            "Fournisseur injoignable : DNS",
        )

    def test_history_error_from_connector_in_company_language(self):
        # The queue runs without a user language: the connector writes in the company's language.
        self.company_a.partner_id.lang = "fr_FR"
        self.topup(self.company_a, 5)
        self.account_a.write(
            {"provider": "aspsms", "username": "key", "password": "pw", "base_url": "http://127.0.0.1:9", "timeout": 1}
        )
        self.env["ir.config_parameter"].sudo().set_param("sms_gateway.max_attempts", 1)
        sms = self.queue_sms(self.company_a, "+33612345678")
        self.env["sms.sms"].with_context(lang="en_US").sudo()._process_queue()  # nothing listens on port 9
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_server"))
        self.assertEqual(sms.error_message, "Fournisseur injoignable : connexion refusée")

    def test_nested_connector_messages_in_french(self):
        # These _lt() are nested in the arguments of another _lt() in the connectors (base.py, sfr_dmc.py), where
        # Odoo's term export does not see them; naming them here gets them exported (from this file) into the .pot,
        # which Odoo merges into fr.po when loading it: a msgid missing from the .pot is not translated.
        self.assertEqual(_lt("empty body")._translate("fr_FR"), "corps vide")
        self.assertEqual(_lt("status")._translate("fr_FR"), "statut")
