def migrate(cr, version):
    """18.0.1.1.0: the company credit lock is the ORM model ``sms.credit.lock`` (dropped on uninstall); the
    table the ledger created with raw SQL before goes. Its rows are only version counters: nothing to keep."""
    cr.execute("DROP TABLE IF EXISTS sms_gateway_credit_lock")
