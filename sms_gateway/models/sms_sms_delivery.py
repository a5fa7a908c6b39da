"""Delivery reports: the provider tells us, later, whether each SMS reached the phone.

Reports come pushed to the webhook of the account (``controllers/main.py``) or pulled by a cron from the
providers that only have a pull API (``fetch_delivery_reports``). Either way they end here, in
``_gateway_apply_delivery_reports``, which only moves SMS forward: ``pending`` (sent) to ``sent`` (delivered)
or to a delivery error. A report seen twice, or a late "sent" after "delivered", changes nothing.
"""

import logging
import threading
from datetime import timedelta

from odoo import api, fields, models

from ..providers.base import PROVIDERS, ProviderError

_logger = logging.getLogger(__name__)

# How long after sending the pull cron still asks for the delivery status of an SMS.
DLR_PULL_DAYS = 3
DLR_PULL_LIMIT = 5000


class SmsSms(models.Model):
    _inherit = "sms.sms"

    delivery_date = fields.Datetime("Delivery report on", readonly=True, copy=False)

    @api.model
    def _gateway_apply_delivery_reports(self, account, reports):
        """Apply ``reports`` (list of ``providers.base.DeliveryReport``) to the SMS of ``account``.

        :return: the SMS the reports are about (changed or not); an SMS of another account is never found.
        """
        provider_ids = list({str(report.provider_id) for report in reports if report.provider_id})
        if not provider_ids:
            return self.browse()
        found = self.sudo().search(
            [("gateway_account_id", "=", account.id), ("provider_message_id", "in", provider_ids)]
        )
        by_provider_id = {}
        for sms in found:
            by_provider_id.setdefault(sms.provider_message_id, sms)
        delivered = self.sudo().browse()
        failed = {}  # (failure_type, message) -> sms
        settled = set()  # the first final report of an SMS wins, also within one payload
        for report in reports:
            sms = by_provider_id.get(str(report.provider_id))
            # Only an SMS handed to the provider and not settled yet moves; "pending" reports say nothing new.
            if not sms or sms.state != "pending" or sms.id in settled or report.state == "pending":
                continue
            settled.add(sms.id)
            if report.state == "sent":
                delivered |= sms
            elif report.state == "error":
                key = (report.failure_type or "sms_not_delivered", report.error_message or False)
                failed[key] = failed.get(key, self.sudo().browse()) | sms
        now = fields.Datetime.now()
        if delivered:
            delivered.write({"state": "sent", "delivery_date": now, "failure_type": False, "error_message": False})
            delivered.sms_tracker_id._action_update_from_sms_state("sent")
        for (failure_type, message), sms_records in failed.items():
            sms_records.write(
                {"state": "error", "failure_type": failure_type, "error_message": message, "delivery_date": now}
            )
            sms_records.sms_tracker_id._action_update_from_provider_error(failure_type.removeprefix("sms_"))
        found._api_wake_callbacks()
        return found

    @api.model
    def _cron_gateway_fetch_delivery_reports(self):
        """Pull the delivery status of recently sent SMS (``DLR_PULL_DAYS``) from every active account whose
        connector has a pull API (``fetch_delivery_reports(provider_ids, since=None)``: ASPSMS, SFR DMC), also
        when it pushes reports too: a pushed report that never arrived is caught up this way."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        accounts = self.env["sms.gateway.account"].sudo().search([("active", "=", True)])
        since = fields.Datetime.now() - timedelta(days=DLR_PULL_DAYS)
        for account in accounts:
            provider_class = PROVIDERS.get(account.provider)
            if not provider_class or not hasattr(provider_class, "fetch_delivery_reports"):
                continue
            pending = self.sudo().search(
                [
                    ("gateway_account_id", "=", account.id),
                    ("state", "=", "pending"),
                    ("provider_message_id", "!=", False),
                    ("sent_date", ">=", since),
                ],
                order="sent_date",
                limit=DLR_PULL_LIMIT,
            )
            if not pending:
                continue
            connector = account._get_connector()
            try:
                # ``since``: the oldest SMS asked about, for the providers that pull by date (SFR)
                reports = connector.fetch_delivery_reports(
                    pending.mapped("provider_message_id"), since=pending[0].sent_date
                )
            except ProviderError as error:
                _logger.info("Delivery reports of SMS account %s unavailable: %s", account.id, error)
                continue
            finally:
                connector.close()
            updated = self._gateway_apply_delivery_reports(account, reports)
            _logger.info(
                "Pulled %s delivery report(s) for %s SMS of account %s", len(reports), len(updated), account.id
            )
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # one provider at a time
