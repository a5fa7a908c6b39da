"""Concurrent sending through one connector (plain Python, no ORM).

:func:`send_all` splits the messages into chunks of ``connector.batch_size``,
sends the chunks from a bounded thread pool that shares the connector's
``requests.Session`` (its connection pool is sized so that every thread reuses
a keep-alive connection), optionally paces the calls with a token bucket, and
returns exactly one :class:`SendResult` per message, in the input order.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from requests.adapters import HTTPAdapter

from .base import FAILURE_SERVER, SendResult, _lt

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
    returned: missing or malformed results become ``sms_server`` failures."""
    if error is not None:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        message = str(_lt("Connector error while sending: %(error)s", error=text))
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
    size = max(1, int(getattr(connector, "batch_size", 1) or 1))
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
            _logger.warning(
                "SMS connector %s raised while sending %d message(s)", connector.code, len(chunk), exc_info=True
            )
            return _chunk_results(chunk, None, error=e)

    if workers == 1:
        per_chunk = [send_chunk(chunk) for chunk in chunks]
    elif executor is not None:
        per_chunk = list(executor.map(send_chunk, chunks))
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms_dispatch") as executor:
            per_chunk = list(executor.map(send_chunk, chunks))
    return [result for results in per_chunk for result in results]
