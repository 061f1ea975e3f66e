"""An HTTP proxy in front of Flink's REST API that loses or delays chosen answers.

The fault campaign points the reconcile's connection at it. A rule names a method and a path
pattern; the matching request is forwarded to Flink (so Flink *acts* on it) and then its answer
is lost (the connection is closed without a response) or delayed, as many times as the rule says.
That is what a client sees when a network or a load balancer drops a response, or when Flink is
slow to answer: the outcome of the request is unknown to the caller, though it happened.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "content-encoding",  # httpx hands over the decoded body
}


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    times: int
    delay: float | None = None  # None: lose the answer; else answer after this many seconds
    # Also fault every later request that repeats the body of one this rule took: a client's
    # retries of that request meet the same fault, however many it makes.
    retries: bool = False
    bodies: set[bytes] = field(default_factory=set)

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if method != self.method or not self.path.fullmatch(path.split("?", 1)[0]):
            return False
        return self.times > 0 or body in self.bodies


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.events: list[str] = []  # what the proxy did to which request, in order
        self.requests: list[tuple[str, str]] = []  # (method, path without query) of every request
        self.timed: list[tuple[float, str]] = []  # (time.monotonic(), path) of every request
        self.down_until = 0.0  # an outage refuses every request until then (time.monotonic())
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=120)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _handle(self) -> None:
                proxy.forward(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def lose(self, method: str, path: str, times: int = 1) -> None:
        """Forward the next ``times`` matching requests, then drop their answers."""
        with self._lock:
            self.rules.append(Rule(method, re.compile(path), times))

    def delay(self, method: str, path: str, seconds: float, times: int = 1, retries: bool = False) -> None:
        """Forward the next ``times`` matching requests, then answer ``seconds`` later; ``retries``:
        every repeat of one of them (same body: the client's retries) is answered late too."""
        with self._lock:
            self.rules.append(Rule(method, re.compile(path), times, seconds, retries))

    def outage(self, seconds: float) -> None:
        """For ``seconds`` from now every request is refused (closed before it reaches Flink): a
        network partition or a load balancer down. Flink does nothing of what is asked meanwhile."""
        with self._lock:
            self.down_until = time.monotonic() + seconds

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.events.clear()

    def _take(self, method: str, path: str, body: bytes = b"") -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, body):
                    if body not in rule.bodies:
                        rule.times -= 1
                    if rule.retries:
                        rule.bodies.add(body)
                    return rule
        return None

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if time.monotonic() < self.down_until:
            handler.close_connection = True  # refused: nothing forwarded, nothing answered
            return
        with self._lock:
            self.requests.append((handler.command, path))
            self.timed.append((time.monotonic(), path))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        try:
            answer = self._client.request(
                handler.command, self.upstream + handler.path, headers=headers, content=body
            )
        except httpx.HTTPError:  # Flink is down: its caller sees what it would see, no answer
            handler.close_connection = True
            return
        rule = self._take(handler.command, handler.path, body)
        if rule is not None and rule.delay is None:
            self.events.append(f"lost the answer to {handler.command} {handler.path} ({answer.status_code})")
            handler.close_connection = True  # closed without a response: the caller cannot tell what happened
            return
        if rule is not None and rule.delay is not None:
            self.events.append(f"delayed the answer to {handler.command} {handler.path} by {rule.delay:g} s")
            time.sleep(rule.delay)
        try:
            handler.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(answer.content)))
            handler.end_headers()
            handler.wfile.write(answer.content)
        except OSError:  # the caller gave up waiting (a delay past its timeout)
            handler.close_connection = True
