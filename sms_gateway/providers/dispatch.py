"""Dispatch, the part without the ORM: a dispatch run, concurrent sending, what to do with a failure.

:class:`DispatchRun` holds what one run of the queue shares: one connector (one keep-alive HTTP session)
and one thread pool per account, closed when the run ends, and whether the run commits.

:func:`send_all` splits the messages into chunks of ``connector.batch_size``,
sends the chunks from a bounded thread pool that shares the connector's
``requests.Session`` (its connection pool is sized so that every thread reuses
a keep-alive connection), optionally paces the calls with a token bucket, and
returns exactly one :class:`SendResult` per message, in the input order.
"""

import logging
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from requests.adapters import HTTPAdapter

from .base import (
    FAILURE_ACCOUNT,
    FAILURE_CREDIT,
    FAILURE_SERVER,
    FAILURE_UNCERTAIN,
    TRANSIENT_FAILURES,
    SendResult,
    _lt,
)

_logger = logging.getLogger(__name__)


class RateLimiter:
    """A token bucket shared by threads: ``rate`` calls per second, refilled
    continuously, holding at most ``burst`` tokens (1 by default, i.e. the
    calls are evenly spaced, never more than ``rate`` in any one-second
    window). Waiting happens outside the lock."""

    def __init__(self, rate, burst=1):
        rate = float(rate)
        if rate <= 0:
            raise ValueError("rate_limit must be a positive number of requests per second")
        self.rate = rate
        self.burst = max(1.0, float(burst))
        self._tokens = self.burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self):
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            # Take the token now, even if it makes the bucket negative: the
            # deficit is the time this caller has to wait for its turn.
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
        return wait


def _size_connection_pool(session, max_concurrency):
    """Mount adapters whose pool keeps ``max_concurrency`` connections per
    host, so that every thread reuses a keep-alive connection instead of
    opening (and discarding) its own. Adapters that are already large enough
    are kept; the retry policy of replaced adapters is kept."""
    for prefix in ("https://", "http://"):
        current = session.adapters.get(prefix)
        if isinstance(current, HTTPAdapter) and getattr(current, "_pool_maxsize", 0) >= max_concurrency:
            continue
        kwargs = {"pool_connections": 10, "pool_maxsize": max_concurrency}
        if isinstance(current, HTTPAdapter):
            kwargs["max_retries"] = current.max_retries
        session.mount(prefix, HTTPAdapter(**kwargs))


def _chunk_results(chunk, results, error=None):
    """One result per message of ``chunk`` (in order) out of what ``send``
    returned: missing or malformed results become ``sms_server`` failures;
    ``error``: the (secret-free) text of what ``send`` raised instead."""
    if error is not None:
        message = str(_lt("Connector error while sending: %(error)s", error=error))
        return [SendResult(m.ref, failure_type=FAILURE_SERVER, error_message=message) for m in chunk]
    by_ref = {}
    for result in results if isinstance(results, (list, tuple)) else ():
        if isinstance(result, SendResult):
            by_ref.setdefault(result.ref, []).append(result)
    out = []
    for message in chunk:
        found = by_ref.get(message.ref)
        if found:
            out.append(found.pop(0))
        else:
            out.append(
                SendResult(
                    message.ref,
                    failure_type=FAILURE_SERVER,
                    error_message=str(_lt("The connector returned no result for this message")),
                )
            )
    return out


def send_all(connector, messages, max_concurrency=8, rate_limit=None, executor=None):
    """Send ``messages`` (list of :class:`OutgoingSms`) with ``connector``.

    :param max_concurrency: maximum number of ``send`` calls in flight.
    :param rate_limit: optional maximum number of ``send`` calls (one
        provider request each) per second, shared by all threads.
    :param executor: optional ``ThreadPoolExecutor`` (of ``max_concurrency``
        workers) reused across calls, e.g. for all the batches of a dispatch
        run: starting the threads again for every batch is costly.
    :return: list of :class:`SendResult`, one per message, in input order.
        Never raises because of a connector: a chunk whose ``send`` raises
        gets an ``sms_server`` failure for each of its messages.
    """
    messages = list(messages)
    if not messages:
        return []
    max_concurrency = max(1, int(max_concurrency or 1))
    size = max(1, int(connector.batch_size or 1))
    chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
    limiter = RateLimiter(rate_limit) if rate_limit else None

    # Create the session here, in this thread: the lazy property is not
    # thread-safe, and all threads must share the same pool.
    session = connector.session
    _size_connection_pool(session, max_concurrency)
    workers = min(max_concurrency, len(chunks))

    def send_chunk(chunk):
        try:
            if limiter:
                limiter.acquire()
            return _chunk_results(chunk, connector.send(chunk))
        except Exception as e:  # never lose a message
            # the exception's text and traceback may carry a credential (a URL, a body): masked before kept
            _logger.warning(
                "SMS connector %s raised while sending %d message(s):\n%s",
                connector.code,
                len(chunk),
                connector.redact(traceback.format_exc()),
            )
            text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            return _chunk_results(chunk, None, error=connector.redact(text))

    if workers == 1:
        per_chunk = [send_chunk(chunk) for chunk in chunks]
    elif executor is not None:
        per_chunk = list(executor.map(send_chunk, chunks))
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms_dispatch") as executor:
            per_chunk = list(executor.map(send_chunk, chunks))
    return [result for results in per_chunk for result in results]


class DispatchRun:
    """One run of the SMS queue: a context manager holding a connector and a thread pool per account
    (created on first use with ``connector(key, factory, max_concurrency)``), closed on exit.

    :param auto_commit: whether the run commits its claims and results as it goes (the queue cron), or
        stays inside its caller's transaction (tests). Decided once, where the run starts.
    """

    def __init__(self, auto_commit=False):
        self.auto_commit = bool(auto_commit)
        # {id: row} of the SMS read with the lock taken again after their claim, until they are sent
        self.claimed_rows = {}
        self._connectors = {}
        self._executors = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    @property
    def connectors(self):
        """``{key: connector}`` of the accounts this run has sent through."""
        return dict(self._connectors)

    def connector(self, key, factory, max_concurrency=1):
        """The connector of account ``key`` for this run; ``factory()`` builds it on first use (and may
        raise, e.g. for a provider whose connector is not installed)."""
        if key not in self._connectors:
            self._connectors[key] = factory()
            # one thread pool per account and run: starting threads for every batch costs more than the batch
            self._executors[key] = ThreadPoolExecutor(
                max_workers=max(1, int(max_concurrency or 1)), thread_name_prefix="sms_dispatch"
            )
        return self._connectors[key]

    def send(self, key, messages, max_concurrency=1, rate_limit=None):
        """:func:`send_all` through the connector of ``key`` (already built by :meth:`connector`)."""
        return send_all(
            self._connectors[key],
            messages,
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
            executor=self._executors[key],
        )

    def commit(self, cr):
        """Commit ``cr`` when the run commits (claims before the provider calls, results after them)."""
        if self.auto_commit:
            cr.commit()  # pylint: disable=invalid-commit  # a committing run: the queue cron

    def close(self):
        for executor in self._executors.values():
            executor.shutdown(wait=True)
        for connector in self._connectors.values():
            connector.close()
        self._executors.clear()
        self._connectors.clear()


# Failures that tell about the account rather than the SMS: the account cools down, the next one takes over.
ACCOUNT_FAILURES = frozenset({FAILURE_ACCOUNT, FAILURE_CREDIT})
FAILOVER_FAILURES = frozenset(TRANSIENT_FAILURES | ACCOUNT_FAILURES)
RETRY, FAILOVER, ASK, FINAL = "retry", "failover", "ask", "final"


def next_step(failure_type, attempt_count, max_attempts, can_fail_over, can_ask=False):
    """What to do with an SMS whose attempt ``attempt_count`` (1 for the first) failed with
    ``failure_type``: hand it to another account of its company (``FAILOVER``, when one is usable), try
    again later (``RETRY``, transient failures), ask the provider later whether it got it (``ASK``: the
    request may have reached the provider, whose connector can be asked), or end it in error (``FINAL``;
    an SMS that may have been sent and cannot be asked about ends "uncertain", never resent, never handed
    to another account). No attempt is made past ``max_attempts``."""
    if failure_type == FAILURE_UNCERTAIN:
        return ASK if can_ask and attempt_count < max_attempts else FINAL
    if attempt_count >= max_attempts:
        return FINAL
    if failure_type in FAILOVER_FAILURES and can_fail_over:
        return FAILOVER
    if failure_type in TRANSIENT_FAILURES:
        return RETRY
    return FINAL


def retry_delay(base_delay, attempt_count, jitter=1.0):
    """Seconds before the next try after attempt ``attempt_count``: exponential backoff (``base_delay``,
    x2, x4...) times ``jitter`` (callers pass a random factor in [0.75, 1.25])."""
    return base_delay * 2 ** max(attempt_count - 1, 0) * jitter


def needs_cooldown(failure_types, all_failed):
    """Whether the account that gave these failures should be skipped for a while: it refused the account
    (credentials, provider credit), or every SMS of the call failed on the server side or got no answer.
    Never for failures about one recipient."""
    failure_types = set(failure_types)
    return bool(failure_types & ACCOUNT_FAILURES) or (
        all_failed and bool(failure_types) and failure_types <= TRANSIENT_FAILURES | {FAILURE_UNCERTAIN}
    )
