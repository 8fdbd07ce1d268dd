"""The one retry policy of every AWS call: botocore's standard mode plus three rules of ours.

botocore's "standard" retry mode retries throttling, 5xx answers and connection errors with
exponential, jittered backoff up to `max_attempts` (the config key, first try included). On
its `needs-retry` event we add:

- a 200 answer whose body was cut short (the connection dropped mid-response; urllib3 does
  not check Content-Length) is retried like a 5xx: botocore would otherwise parse it as an
  empty page, and a Scan would end early without a word;
- the Streams API's LimitExceededException (too many calls per shard per second) gets a
  longer budget, LIMIT_EXCEEDED_ATTEMPTS_FACTOR × max_attempts, since waiting always cures it;
- a TLS handshake that fails (SSLError: an https:// endpoint on a plain-HTTP port, or a
  certificate the machine does not trust) is not retried at all: it is configuration;
- an endpoint that refuses connections (or whose name does not resolve) before it has ever
  answered this client is given UNREACHABLE_ATTEMPTS attempts, not max_attempts: that is a
  wrong endpoint_url or a DynamoDB Local that is not running, and the full budget of backoffs
  kept people waiting about a minute for the error line. Once the endpoint has answered, a
  refused connection is a blip and gets the full budget.

Every retry that really happens is logged once, as a WARNING with the operation, the attempt,
its budget and the cause.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Optional

from botocore.config import Config as BotoConfig
from botocore.exceptions import EndpointConnectionError, SSLError

from ..settings import Config
from . import wire

LOGGER = logging.getLogger("tap_dynamodb")

RETRY_CAUSE = "tap_dynamodb_retry_cause"
RETRY_BUDGET = "tap_dynamodb_retry_budget"
TRUNCATED = "response body cut short"
MAX_BACKOFF_SECONDS = 20
UNREACHABLE_ATTEMPTS = 3
"""Attempts before giving up on an endpoint that has never answered."""
LIMIT_EXCEEDED = "LimitExceededException"
LIMIT_EXCEEDED_ATTEMPTS_FACTOR = 3


def client_config(config: Config, pool_size: int) -> BotoConfig:
    """botocore's settings for every client: timeouts, the standard retry mode, the connection pool."""
    return BotoConfig(
        connect_timeout=min(config.request_timeout, 60),
        read_timeout=config.request_timeout,
        # total_max_attempts counts the first try too, as the max_attempts config key does.
        retries={"total_max_attempts": config.max_attempts, "mode": "standard"},
        max_pool_connections=pool_size,
        user_agent_extra="tap-dynamodb",
    )


def attempt_failure(
    response: Optional[tuple[Any, Any]] = None,
    caught_exception: Optional[BaseException] = None,
    streaming: bool = False,
) -> Optional[str]:
    """Why an attempt failed, in a few words (None when it succeeded).

    A streaming answer (S3's GetObject) is not checked for a cut-off body here: reading it to
    check would consume it; its reader checks the length itself (botocore's StreamingBody)."""
    if caught_exception is not None:
        return type(caught_exception).__name__
    if response is None:
        return None
    http_response, parsed = response
    status = getattr(http_response, "status_code", 0)
    if status < 300:
        if streaming:
            return None
        return None if wire.body_complete(http_response.headers, http_response.content) else TRUNCATED
    code = (parsed or {}).get("Error", {}).get("Code")
    return f"HTTP {status} {code}" if code and code != str(status) else f"HTTP {status}"


def _error_code(response: Optional[tuple[Any, Any]]) -> Optional[str]:
    if response is None:
        return None
    code = (response[1] or {}).get("Error", {}).get("Code")
    return str(code) if code else None


def _streaming(operation: Any) -> bool:
    return bool(getattr(operation, "has_streaming_output", False))


def backoff_delay(attempts: int) -> float:
    """Full-jitter exponential backoff, as botocore's standard mode computes it."""
    return random.random() * min(2 ** (attempts - 1), MAX_BACKOFF_SECONDS)


def budget_for(response: Optional[tuple[Any, Any]], max_attempts: int) -> int:
    """Attempts this failure may take: longer for the Streams API's rate limit, else max_attempts."""
    if _error_code(response) == LIMIT_EXCEEDED:
        return max_attempts * LIMIT_EXCEEDED_ATTEMPTS_FACTOR
    return max_attempts


def install_retry_policy(client: Any, max_attempts: int) -> None:
    """Register our retry rules and the retry log on a botocore client (see the module docstring)."""
    service = client.meta.service_model.service_id.hyphenize()
    name = client.meta.service_model.service_id
    answered = False  # True from this client's first HTTP answer of any status

    def note_cause(
        request_dict: dict[str, Any],
        response: Any = None,
        caught_exception: Any = None,
        attempts: int = 1,
        operation: Any = None,
        **_ignored: Any,
    ) -> None:
        nonlocal answered
        answered = answered or response is not None
        if isinstance(caught_exception, SSLError):
            raise caught_exception  # a TLS handshake that failed is configuration: retrying cannot help
        unreachable = isinstance(caught_exception, EndpointConnectionError) and not answered
        if unreachable and attempts >= min(UNREACHABLE_ATTEMPTS, max_attempts):
            raise caught_exception  # no retry: the caller turns it into "cannot connect to ..."
        request_dict["context"][RETRY_CAUSE] = attempt_failure(response, caught_exception, _streaming(operation))
        request_dict["context"][RETRY_BUDGET] = (
            min(UNREACHABLE_ATTEMPTS, max_attempts) if unreachable else budget_for(response, max_attempts)
        )

    def retry_beyond_botocore(
        response: Any = None, attempts: int = 1, operation: Any = None, **_ignored: Any
    ) -> Optional[float]:
        """A delay for the failures botocore would not retry (or not as long); None leaves it to botocore."""
        if response is None:
            return None
        if attempt_failure(response, None, _streaming(operation)) == TRUNCATED and attempts < max_attempts:
            return backoff_delay(attempts)
        if _error_code(response) == LIMIT_EXCEEDED and max_attempts <= attempts < budget_for(response, max_attempts):
            return backoff_delay(attempts)
        return None

    def log_retry(request: Any, operation_name: Optional[str] = None, **_ignored: Any) -> None:
        context = getattr(request, "context", None) or {}
        attempt = context.get("retries", {}).get("attempt", 1)
        if attempt > 1:
            LOGGER.warning(
                "%s %s failed (%s); retrying, attempt %d of %d",
                name,
                operation_name,
                context.get(RETRY_CAUSE) or "unknown cause",
                attempt,
                context.get(RETRY_BUDGET) or max_attempts,
            )

    client.meta.events.register_first(f"needs-retry.{service}", note_cause, unique_id="tap-dynamodb-retry-cause")
    client.meta.events.register_first(
        f"needs-retry.{service}", retry_beyond_botocore, unique_id="tap-dynamodb-retry-beyond-botocore"
    )
    client.meta.events.register(f"request-created.{service}", log_retry, unique_id="tap-dynamodb-retry-log")
