"""A tiny threaded HTTP server on 127.0.0.1 that provider emulators build on.

Each emulator subclasses :class:`ProviderEmulator` and implements
``handle(request) -> EmulatorResponse``. The server keeps every request it
received (``received``), can add latency to every answer and can be switched
into failure modes (``mode``) by tests and benchmarks:

* ``"ok"``: the provider's documented behaviour (default);
* ``"http500"``: answer 500 with an HTML page;
* ``"timeout"``: sleep ``hang_seconds`` before answering;
* ``"drop"``: close the connection without answering;
* ``"echo"``: answer 400 with an error page that echoes the request (its credentials included), as some
  providers' front servers do.

``reset()`` forgets what a test did to the server (mode, queued answers, recorded requests);
``reset_state()`` puts the provider's side (its credit, the messages it took, its test settings) back to
how the emulator was built.
"""

import html
import json
import math
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

# The real Session.send, before Odoo's test patch (which raises timeouts below 10 s to 10 s); no import of
# odoo.tests here (it logs an error outside test mode, and bench/ uses the emulators too).
_super_send = getattr(sys.modules.get("odoo.tests.common"), "_super_send", requests.Session.send)


def segments(text, unicode):
    """How many SMS parts ``text`` takes: 160 GSM-7 characters in one, 153 per part beyond (UCS-2: 70, 67)."""
    single, multi = (70, 67) if unicode else (160, 153)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


@dataclass
class EmulatorRequest:
    method: str
    path: str
    query: dict  # name -> first value
    headers: dict
    body: bytes
    form: dict = field(default_factory=dict)  # parsed urlencoded body (first values)
    json: object = None  # parsed JSON body, or None

    @property
    def params(self):
        """Query and form values merged (form wins)."""
        return {**self.query, **self.form}


@dataclass
class EmulatorResponse:
    status: int = 200
    body: object = b""  # bytes, str, or any JSON-serialisable object
    content_type: str | None = None
    headers: dict = field(default_factory=dict)

    def encode(self):
        body, ctype = self.body, self.content_type
        if isinstance(body, bytes):
            return body, ctype or "application/octet-stream"
        if isinstance(body, str):
            return body.encode(), ctype or "text/plain; charset=utf-8"
        return json.dumps(body).encode(), ctype or "application/json"


def _echo_page(method, path, headers, body):
    """An error page that shows the request it answers: its credentials first (the header, the query, the
    body), as a front server's debug page would."""
    shown = " ".join(
        [
            headers.get("authorization", ""),
            headers.get("api-key", ""),
            f"{method} {path}",
            body.decode("utf-8", "replace"),
        ]
    )
    return f"<html><body><h1>400 Bad Request</h1><pre>{html.escape(shown)}</pre></body></html>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers
    server_version = "SmsProviderEmulator/1.0"

    def log_message(self, *args):  # keep test output clean
        pass

    def _serve(self):
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        ctype = headers.get("content-type", "")
        form, body_json = {}, None
        if "application/x-www-form-urlencoded" in ctype:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        elif "json" in ctype and raw:
            try:
                body_json = json.loads(raw)
            except ValueError:
                body_json = None
        request = EmulatorRequest(self.command, parsed.path, query, headers, raw, form, body_json)
        emulator.record(request)
        if emulator.latency:
            time.sleep(emulator.latency)
        mode = emulator.mode
        if mode == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if mode == "timeout":
            time.sleep(emulator.hang_seconds)
        if mode == "http500":
            response = EmulatorResponse(
                500, "<html><body><h1>500 Internal Server Error</h1></body></html>", "text/html"
            )
        elif mode == "echo":
            emulator.last_echo = _echo_page(self.command, self.path, headers, raw)
            response = EmulatorResponse(400, emulator.last_echo, "text/html")
        else:
            response = emulator.take_forced() or emulator.handle(request)
        payload, content_type = response.encode()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _tracked_serve(self):
        emulator = self.server.emulator
        emulator.request_started()
        try:
            self._serve()
        finally:
            emulator.request_finished()

    do_GET = do_POST = do_PUT = _tracked_serve


class ProviderEmulator:
    """Base class: start()/stop(), ``url``, ``received``, ``latency``, ``mode``, and the provider's own
    ``credits`` (None: unlimited) and ``messages`` (what it took), reset by ``reset_state()``."""

    api_path = ""  # where the provider's API lives below the server's root (``api_url``)

    def __init__(self, latency=0.0, credits=None):
        self.latency = latency
        self.hang_seconds = 5.0
        self.initial_credits = credits
        self.in_flight = 0  # requests being served right now
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()  # the provider's side: credits, messages...
        self._server = None
        self._thread = None
        self.reset()
        self.reset_state()

    # -- lifecycle ----------------------------------------------------------
    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self._server.emulator = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self):
        """The base URL a connector is given to talk to this emulator."""
        return self.url + self.api_path

    # -- bookkeeping --------------------------------------------------------
    def record(self, request):
        with self._lock:
            self.received.append(request)

    def reset(self):
        """Back to the documented behaviour (mode "ok", no queued answer) with no request recorded."""
        with self._lock:
            self.mode = "ok"
            self.forced = []  # answers given instead of handle(), first in first out (see answer_next)
            self.received = []
            self.last_echo = ""  # the last page of the "echo" mode
            self.max_in_flight = self.in_flight  # highest simultaneous in_flight seen since start/reset

    def reset_state(self):
        """The provider's side as the emulator was built: its credit and no message taken. Emulators with
        more state (test settings, other records) extend it."""
        with self._state_lock:
            self.credits = self.initial_credits
            self.messages = {}

    def take_credits(self, cost):
        """Charge ``cost`` to ``credits`` (None: unlimited); False, and nothing charged, when less is left.
        Call it with ``_state_lock`` held, with the message's recording."""
        if self.credits is None:
            return True
        if self.credits < cost:
            return False
        self.credits -= cost
        return True

    def request_started(self):
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def request_finished(self):
        with self._lock:
            self.in_flight -= 1

    def answer_next(self, response, times=1):
        """Give ``response`` (an :class:`EmulatorResponse`) to the next
        ``times`` requests instead of the documented answer: for odd answers
        (invalid JSON, empty body, HTML page, unexpected status...)."""
        with self._lock:
            self.forced.extend([response] * times)

    def take_forced(self):
        with self._lock:
            return self.forced.pop(0) if self.forced else None

    def handle(self, request):
        raise NotImplementedError


class LoopbackSession(requests.Session):
    """A ``requests.Session`` for connector tests: it only talks to the
    loopback interface and keeps the caller's timeout as is (Odoo's test
    patch of ``Session.send`` raises any timeout below 10 s to 10 s, which
    makes timeout tests slow)."""

    def send(self, request, **kwargs):
        host = urllib.parse.urlsplit(request.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise requests.exceptions.ConnectionError(f"Only loopback requests in tests (was {request.url})")
        return _super_send(self, request, **kwargs)
