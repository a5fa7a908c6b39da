"""Small PostgreSQL helpers for the suites that run real Odoo processes (``tests_faults/``, ``tests_install/``)."""

import psycopg2


def psql(db, query, args=()):
    """Run ``query`` on ``db`` (127.0.0.1) in its own committed transaction; return its rows, if any."""
    with psycopg2.connect(dbname=db, host="127.0.0.1") as conn, conn.cursor() as cr:
        cr.execute(query, args)
        rows = cr.fetchall() if cr.description else None
    conn.close()
    return rows
