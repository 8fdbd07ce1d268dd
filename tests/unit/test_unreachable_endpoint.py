"""A refused connection gets UNREACHABLE_ATTEMPTS tries while the endpoint has never answered the
client, and the whole max_attempts budget once it has (then it is a blip, not a wrong endpoint).

A throwaway HTTP server on loopback answers as DynamoDB answers an unknown table, and is then
shut down, so its port refuses connections."""

from __future__ import annotations

import http.server
import logging
import threading

import pytest
from botocore.exceptions import EndpointConnectionError

from devtools.dynamodb_local import free_port
from tap_dynamodb.aws import Clients, retries
from tap_dynamodb.aws.api import TableNotFound
from tap_dynamodb.settings import parse_config

MAX_ATTEMPTS = 4


class _NoSuchTable(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}'
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


def _client(endpoint: str):
    config = parse_config(
        {
            "region_name": "us-east-1",
            "endpoint_url": endpoint,
            "aws_access_key_id": "k",
            "aws_secret_access_key": "s",
            "max_attempts": MAX_ATTEMPTS,
            "request_timeout": 2,
        }
    )
    return Clients(config).dynamodb


def _retries(caplog) -> list:
    return [r.getMessage() for r in caplog.records if "retrying, attempt" in r.getMessage()]


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch):
    """botocore sleeps between attempts; the attempts, not the waiting, are what is tested."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)


def test_an_endpoint_that_never_answered_gets_a_few_attempts(caplog):
    client = _client(f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.WARNING, logger="tap_dynamodb"), pytest.raises(EndpointConnectionError):
        client.describe_table("t")
    assert len(_retries(caplog)) == retries.UNREACHABLE_ATTEMPTS - 1


def test_an_endpoint_that_has_answered_gets_the_whole_budget(caplog):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoSuchTable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = _client(f"http://127.0.0.1:{server.server_address[1]}")
    with pytest.raises(TableNotFound):
        client.describe_table("t")  # an answer, even an error, proves the endpoint right
    server.shutdown()
    server.server_close()

    with caplog.at_level(logging.WARNING, logger="tap_dynamodb"), pytest.raises(EndpointConnectionError):
        client.describe_table("t")
    logged = _retries(caplog)
    assert len(logged) == MAX_ATTEMPTS - 1 and logged[-1].endswith(f"attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS}")
