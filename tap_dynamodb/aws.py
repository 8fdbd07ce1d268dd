"""AWS sessions and clients: credentials, Stitch's assume-role flow, retries and timeouts.

Credentials come, in order, from static keys in the config, a named profile, or boto3's
default chain. When `account_id` and `role_name` are set (Stitch's config), the tap assumes
`arn:aws:iam::<account_id>:role/<role_name>` with the external id, first through the proxy
role when one is configured, and the credentials refresh themselves before they expire so
that a sync longer than the role's session keeps going.
"""

from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from functools import cached_property
from typing import Callable, Iterator, Optional

import botocore.session
from botocore.session import Session
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (BotoCoreError, ClientError, ConnectionClosedError, ConnectTimeoutError,
                                 EndpointConnectionError, NoCredentialsError, PartialCredentialsError,
                                 ProfileNotFound, ReadTimeoutError)

from .config import Config
from .errors import TapError
from .logs import MASKER
from . import wire
from .report import install_request_timers

LOGGER = logging.getLogger("tap_dynamodb")
ROLE_SESSION_NAME = "tap-dynamodb"
ROLE_SESSION_SECONDS = 3600

# Error codes that mean "the credentials are wrong or may not do this": retrying cannot help.
AUTH_ERRORS = {"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
               "AccessDenied", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
               "MissingAuthenticationTokenException", "IncompleteSignatureException"}


# Error codes botocore retries; when one still ends a call, the retry budget is spent.
RETRYABLE_ERRORS = {"ProvisionedThroughputExceededException", "ThrottlingException", "Throttling",
                    "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
                    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
                    "500", "502", "503", "504"}
RETRIES_SPENT = ("; retries ran out (config key max_attempts); run again later and it resumes from the "
                 "last STATE")


def role_arn(account_id: str, role_name: str) -> str:
    """The IAM role ARN Stitch's config describes; dashes in the account id are dropped."""
    return f"arn:aws:iam::{account_id.replace('-', '')}:role/{role_name}"


def _base_session(config: Config) -> Session:
    """A botocore session (boto3's own layer adds nothing here but import time: s3transfer and
    resource models cost about 1 µs per item of a 100k-item sync)."""
    try:
        session = botocore.session.Session(profile=config.aws_profile)
        session.get_scoped_config()  # an unknown profile fails here, not at the first request
        if config.aws_access_key_id:
            session.set_credentials(config.aws_access_key_id, config.aws_secret_access_key,
                                    config.aws_session_token)
        session.set_config_variable("region", config.region_name)
        return session
    except ProfileNotFound:
        raise TapError(f"AWS profile {config.aws_profile!r} (config key aws_profile) is not in "
                       "~/.aws/config or ~/.aws/credentials") from None


def _assume_role_refresher(sts_client, arn: str, external_id: Optional[str]) -> Callable[[], dict]:
    """A function that assumes the role and returns credentials in botocore's refresh format."""

    def refresh() -> dict:
        params = {"RoleArn": arn, "RoleSessionName": ROLE_SESSION_NAME, "DurationSeconds": ROLE_SESSION_SECONDS}
        if external_id:
            params["ExternalId"] = external_id
        LOGGER.info("Assuming role %s", arn)
        try:
            creds = sts_client.assume_role(**params)["Credentials"]
        except ClientError as exc:
            raise TapError(f"cannot assume role {arn}: {exc.response['Error'].get('Code')}: "
                           f"{exc.response['Error'].get('Message', '')}; check the role's trust policy "
                           "and the external id") from None
        MASKER.add([creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]])
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

    return refresh


def sts_client_for(session: Session, config: Config):
    """The STS client a role is assumed with (tests hand in stubbed ones instead)."""
    return session.create_client("sts", region_name=config.region_name)


def _session_for_role(parent: Session, config: Config, arn: str, external_id: Optional[str],
                      sts_client: Callable = sts_client_for) -> Session:
    sts = sts_client(parent, config)
    refresh = _assume_role_refresher(sts, arn, external_id)
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="sts-assume-role")
    session = botocore.session.Session()
    session._credentials = credentials  # how botocore lets a session use credentials made elsewhere
    session.set_config_variable("region", config.region_name)
    return session


def make_session(config: Config, sts_client: Callable = sts_client_for) -> Session:
    """The session every client is made from, with Stitch's role chain applied."""
    session = _base_session(config)
    if config.proxy_account_id and config.proxy_role_name:
        session = _session_for_role(session, config, role_arn(config.proxy_account_id, config.proxy_role_name), None,
                                    sts_client)
    if config.assumes_role:
        session = _session_for_role(session, config, role_arn(config.account_id, config.role_name),
                                    config.external_id, sts_client)
    return session


class Clients:
    """The DynamoDB and DynamoDB Streams clients of one run, made once and shared by threads.

    botocore clients are thread-safe, so parallel scan segments share one client; its
    connection pool is sized for them.
    """

    def __init__(self, config: Config, session: Optional[Session] = None):
        self.config = config
        self._session = session
        self._pool_size = max(16, config.scan_segments or 0) + 4

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = make_session(self.config)
        return self._session

    def _client_config(self) -> BotoConfig:
        return BotoConfig(
            connect_timeout=min(self.config.request_timeout, 60),
            read_timeout=self.config.request_timeout,
            # total_max_attempts counts the first try too, as the max_attempts config key does.
            retries={"total_max_attempts": self.config.max_attempts, "mode": "standard"},
            max_pool_connections=self._pool_size,
            user_agent_extra="tap-dynamodb",
        )

    def _make(self, service: str):
        try:
            client = self.session.create_client(service, endpoint_url=self.config.endpoint_url,
                                         region_name=self.config.region_name, config=self._client_config())
        except (NoCredentialsError, PartialCredentialsError):
            raise TapError(NO_CREDENTIALS) from None
        wire.install(client)
        install_retry_logging(client, self.config.max_attempts)
        install_request_timers(client)
        return client

    @cached_property
    def dynamodb(self):
        return self._make("dynamodb")

    @cached_property
    def streams(self):
        return self._make("dynamodbstreams")


RETRY_CAUSE = "tap_dynamodb_retry_cause"
TRUNCATED = "response body cut short"
MAX_BACKOFF_SECONDS = 20


def attempt_failure(response=None, caught_exception=None) -> Optional[str]:
    """Why an attempt failed, in a few words (None when it succeeded)."""
    if caught_exception is not None:
        return type(caught_exception).__name__
    if response is None:
        return None
    http_response, parsed = response
    status = getattr(http_response, "status_code", 0)
    if status < 300:
        return None if wire.body_complete(http_response.headers, http_response.content) else TRUNCATED
    code = (parsed or {}).get("Error", {}).get("Code")
    return f"HTTP {status} {code}" if code and code != str(status) else f"HTTP {status}"


UNREACHABLE_ATTEMPTS = 3
"""Attempts before giving up on an endpoint that has never answered (see install_retry_logging)."""


def install_retry_logging(client, max_attempts: int) -> None:
    """Log one WARNING per retry botocore makes: operation, attempt and the cause.

    botocore's standard retry mode decides on `needs-retry` whether (and after which
    exponential, jittered delay) to try again, and builds a new request for each retry.
    We note the cause of every failed attempt on `needs-retry` and log it when the retry's
    request is created, so a retry is logged exactly once and only when it really happens.
    A 200 answer whose body was cut short (the connection dropped mid-response; urllib3 does
    not check Content-Length) is retried too: botocore would otherwise parse it as an empty
    page, and a Scan would end early without a word.

    An endpoint that refuses connections (or whose name does not resolve) before it has ever
    answered this client is given UNREACHABLE_ATTEMPTS attempts, not max_attempts: that is a
    wrong endpoint_url or a DynamoDB Local that is not running, and the full budget of backoffs
    kept people waiting about a minute for the error line. Once the endpoint has answered, a
    refused connection is a blip and gets the full budget.
    """
    service = client.meta.service_model.service_id.hyphenize()
    name = client.meta.service_model.service_id
    answered = False  # True from this client's first HTTP answer of any status

    def note_cause(request_dict, response=None, caught_exception=None, attempts=1, **_ignored) -> None:
        nonlocal answered
        answered = answered or response is not None
        if isinstance(caught_exception, EndpointConnectionError) and not answered \
                and attempts >= min(UNREACHABLE_ATTEMPTS, max_attempts):
            raise caught_exception  # no retry: the caller turns it into "cannot connect to ..."
        request_dict["context"][RETRY_CAUSE] = attempt_failure(response, caught_exception)

    def log_retry(request, operation_name=None, **_ignored) -> None:
        context = getattr(request, "context", None) or {}
        attempt = context.get("retries", {}).get("attempt", 1)
        if attempt > 1:
            LOGGER.warning("%s %s failed (%s); retrying, attempt %d of %d", name, operation_name,
                           context.get(RETRY_CAUSE) or "unknown cause", attempt, max_attempts)

    def retry_truncated_body(response=None, attempts=1, **_ignored) -> Optional[float]:
        if response is None or attempts >= max_attempts or attempt_failure(response) != TRUNCATED:
            return None
        return random.random() * min(2 ** (attempts - 1), MAX_BACKOFF_SECONDS)  # as botocore's backoff

    client.meta.events.register_first(f"needs-retry.{service}", note_cause, unique_id="tap-dynamodb-retry-cause")
    client.meta.events.register_first(f"needs-retry.{service}", retry_truncated_body,
                                      unique_id="tap-dynamodb-retry-truncated")
    client.meta.events.register(f"request-created.{service}", log_retry, unique_id="tap-dynamodb-retry-log")


NO_CREDENTIALS = ("no AWS credentials found: set aws_access_key_id and aws_secret_access_key, aws_profile, "
                  "or account_id/role_name/external_id in the config, or configure boto3's default chain")


def error_code(exc: BaseException) -> Optional[str]:
    """The AWS error code of a ClientError, else None."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


@contextmanager
def aws_errors(doing: str, endpoint: Optional[str] = None) -> Iterator[None]:
    """Turn botocore's exceptions raised inside the block into one actionable TapError line."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise describe_aws_error(exc, doing, endpoint) from None


def describe_aws_error(exc: BaseException, doing: str, endpoint: Optional[str] = None) -> TapError:
    """Turn a botocore exception into a one-line TapError that says what to do."""
    code = error_code(exc)
    if code in AUTH_ERRORS:
        message = exc.response.get("Error", {}).get("Message", "")
        return TapError(f"AWS refused the credentials while {doing} ({code}: {message}); check the access "
                        "keys, profile or role in the config and the IAM policy")
    if code in RETRYABLE_ERRORS:
        return TapError(f"DynamoDB kept failing while {doing} ({code}){RETRIES_SPENT}")
    if code:
        message = exc.response.get("Error", {}).get("Message", "")
        return TapError(f"AWS error while {doing}: {code}: {message}")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        where = endpoint or "the AWS endpoint"
        return TapError(f"cannot connect to {where} while {doing}; check endpoint_url/region_name and the network")
    if isinstance(exc, ReadTimeoutError):
        return TapError(f"DynamoDB did not answer within request_timeout while {doing}; raise request_timeout "
                        "or retry later")
    if isinstance(exc, ConnectionClosedError):
        return TapError(f"DynamoDB kept closing the connection while {doing}{RETRIES_SPENT}")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return TapError(NO_CREDENTIALS)
    if isinstance(exc, BotoCoreError):
        return TapError(f"AWS client error while {doing}: {exc}")
    return TapError(f"error while {doing}: {exc}")
