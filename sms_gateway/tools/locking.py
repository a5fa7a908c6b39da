import logging
import random
import threading
import time

import psycopg2

_logger = logging.getLogger(__name__)


def select_skip_locked(cr, query, args, retry=False, attempts=5):
    """Run a ``SELECT ... FOR UPDATE SKIP LOCKED`` and return its rows.

    Under REPEATABLE READ a row another run updates and commits while the query scans raises a
    serialization failure. With ``retry`` (a committing run, at the start of its transaction: nothing of
    ours is lost) the transaction is rolled back and the query tried again on a fresh snapshot; without it
    (a caller's transaction) the failure is raised, for Odoo to retry the request.
    """
    for attempt in range(attempts):
        try:
            cr.execute(query, args, log_exceptions=not retry)
            return cr.fetchall()
        except psycopg2.errors.SerializationFailure:
            if not retry or attempt == attempts - 1:
                raise
            cr.rollback()
            time.sleep(random.uniform(0.01, 0.05))
    return []


def write_apart(env, query, args):
    """Run one small UPDATE in a short transaction of its own (durable at once, never waiting long) and
    return the rows it returned, or None when it could not run. Used for flags that concurrent runs and
    workers share (alerts sent, account cool-down): inside the long dispatch transactions two runs would
    collide on the row and a serialization failure would lose results.

    Under a test the transaction may not be left (its data would be invisible there, and it is never
    committed): the query runs in a savepoint of it, as stock Odoo's queues decide by the same flag."""
    if getattr(threading.current_thread(), "testing", False):
        with env.cr.savepoint(flush=False):
            env.cr.execute(query, args)
            return env.cr.fetchall() if env.cr.description else []
    try:
        with env.registry.cursor() as cr:
            cr.execute("SET LOCAL lock_timeout = '2s'")
            cr.execute(query, args, log_exceptions=False)
            return cr.fetchall() if cr.description else []
    except Exception:  # best effort: never lose the results of a dispatch for it
        _logger.info("Could not run %s in a separate transaction", query.split()[0:3], exc_info=True)
        return None
