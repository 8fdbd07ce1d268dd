"""A fault-injecting HTTP proxy between the tap and DynamoDB Local (a test double of AWS's bad days).

It is a real HTTP/1.1 server on 127.0.0.1 that forwards every request to DynamoDB Local over
real HTTP and, at a configurable seeded rate, answers instead the way DynamoDB does when it
is in trouble:

- ``throughput``: HTTP 400 ProvisionedThroughputExceededException (DynamoDB's JSON error body,
  ``x-amzn-ErrorType`` header, ``application/x-amz-json-1.0``, ``x-amz-crc32``);
- ``throttling``: HTTP 400 ThrottlingException;
- ``http500``: HTTP 500 InternalServerError;
- ``http503``: HTTP 503 ServiceUnavailable;
- ``drop``: the real answer's headers and half its body, then the connection is closed;
- ``timeout``: the real answer, but only after ``timeout_delay`` seconds (past the tap's
  read timeout).

Faults rotate through ``kinds`` so that every kind occurs once the rate has fired
``len(kinds)`` times. A ``rule(operation, n)`` can force an answer for targeted tests: a
fault kind, one of the ERROR_ANSWERS codes (AccessDenied...), ``"pass"`` or None (random).

With ``fake_sts=True`` it also answers STS AssumeRole (query protocol, XML) with made-up
credentials, so that the assume-role flow runs end to end without leaving the machine.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import urllib.parse
import uuid
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
CORAL_SERVICE = "com.amazon.coral.service#"
CORAL_AVAILABILITY = "com.amazon.coral.availability#"

RETRYABLE_FAULTS = ("throughput", "throttling", "http500", "http503", "drop", "timeout")

# kind -> (HTTP status, __type, message), as DynamoDB answers them.
ERROR_ANSWERS = {
    "throughput": (
        400,
        DYNAMODB_ERROR_PREFIX + "ProvisionedThroughputExceededException",
        (
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API."
        ),
    ),
    "throttling": (400, CORAL_AVAILABILITY + "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "http500": (500, DYNAMODB_ERROR_PREFIX + "InternalServerError", "Internal server error"),
    "http503": (503, CORAL_SERVICE + "ServiceUnavailableException", "Service Unavailable"),
    "access_denied": (
        400,
        CORAL_SERVICE + "AccessDeniedException",
        (
            "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: dynamodb:{op} "
            "on resource: arn:aws:dynamodb:us-east-1:123456789012:table/*"
        ),
    ),
    "unrecognized_client": (
        400,
        CORAL_SERVICE + "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    "resource_not_found": (400, DYNAMODB_ERROR_PREFIX + "ResourceNotFoundException", "Requested resource not found"),
    "validation": (400, CORAL_SERVICE + "ValidationException", "1 validation error detected"),
    # DynamoDB Streams: too many calls per shard per second
    "limit_exceeded": (400, DYNAMODB_ERROR_PREFIX + "LimitExceededException", "Rate exceeded for shard"),
}

STS_RESPONSE = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>{access_key}</AccessKeyId>
      <SecretAccessKey>{secret_key}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLEROLEID:{session}</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/role/{session}</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>
</AssumeRoleResponse>
"""


class FaultProxy:
    """Start with ``with FaultProxy(upstream) as proxy:``; point the tap at ``proxy.url``."""

    def __init__(
        self,
        upstream: str,
        rate: float = 0.1,
        seed: int = 7,
        kinds=RETRYABLE_FAULTS,
        timeout_delay: float = 3.0,
        rule: Optional[Callable[[str, int], Optional[str]]] = None,
        fake_sts: bool = False,
    ):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.rate = rate
        self.kinds = tuple(kinds)
        self.timeout_delay = timeout_delay
        self.rule = rule
        self.fake_sts = fake_sts
        self.sts_calls: list = []
        self.sts_credentials: list = []
        self.sts_expiration = "2099-01-01T00:00:00Z"
        self.log: list = []  # (operation, answer) per request, answer "ok" or a fault kind
        self._rng = random.Random(seed)
        self._rotation = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fault-proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def counts(self) -> Counter:
        """How many requests got each answer ("ok" or a fault kind)."""
        with self._lock:
            return Counter(answer for _, answer in self.log)

    def operations(self, answer: Optional[str] = None) -> list:
        with self._lock:
            return [op for op, a in self.log if answer is None or a == answer]

    def choose(self, operation: str) -> str:
        """The answer for the next request: "ok" or a fault kind."""
        with self._lock:
            number = len(self.log)
            answer = self.rule(operation, number) if self.rule else None
            if answer is None and self.kinds and self._rng.random() < self.rate:
                answer = self.kinds[self._rotation % len(self.kinds)]
                self._rotation += 1
            if answer is None or answer == "pass":
                answer = "ok"
            self.log.append((operation, answer))
            return answer

    def forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple:
        """Send the request to DynamoDB Local; (status, headers list, body)."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def sts_answer(self, params: dict) -> bytes:
        """A made-up AssumeRole answer; the credentials are remembered for the test to look for."""
        with self._lock:
            self.sts_calls.append(params)
            n = len(self.sts_calls)
            creds = {
                "access_key": f"ASIAFAKEROLEKEY{n:05d}",
                "secret_key": f"fakeRoleSecret{uuid.uuid4().hex}",
                "token": f"fakeRoleSessionToken{uuid.uuid4().hex}{uuid.uuid4().hex}",
            }
            self.sts_credentials.append(creds)
        return STS_RESPONSE.format(
            expiration=self.sts_expiration, session=params.get("RoleSessionName", "s"), request_id=uuid.uuid4(), **creds
        ).encode()


def _handler_for(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            if proxy.fake_sts and not target and b"Action=AssumeRole" in body:
                params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                self._send(200, [("Content-Type", "text/xml")], proxy.sts_answer(params))
                return
            operation = target.rsplit(".", 1)[-1] or "?"
            answer = proxy.choose(operation)
            if answer in ERROR_ANSWERS:
                self._send_error(answer, operation)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            status, upstream_headers, payload = proxy.forward("POST", self.path, headers, body)
            upstream_headers = [
                (k, v)
                for k, v in upstream_headers
                if k.lower() not in ("connection", "transfer-encoding", "content-length")
            ]
            if answer == "drop":
                self._send_partial(status, upstream_headers, payload)
            elif answer == "timeout":
                time.sleep(proxy.timeout_delay)
                self._send(status, upstream_headers, payload, quiet=True)
            else:
                self._send(status, upstream_headers, payload)

        def _send_error(self, kind: str, operation: str) -> None:
            status, error_type, message = ERROR_ANSWERS[kind]
            payload = json.dumps({"__type": error_type, "message": message.format(op=operation)}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
                ("x-amz-crc32", str(zlib.crc32(payload))),
                ("x-amzn-ErrorType", error_type.rsplit("#", 1)[-1] + ":"),
            ]
            self._send(status, headers, payload)

        def _send(self, status: int, headers: list, payload: bytes, quiet: bool = False) -> None:
            try:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                if not quiet:
                    raise
                self.close_connection = True

        def _send_partial(self, status: int, headers: list, payload: bytes) -> None:
            """Promise the whole body, send half of it, and hang up."""
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return Handler
