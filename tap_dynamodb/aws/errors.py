"""AWS errors → one actionable line: the one table of error codes and what each means for the user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSLError,
)

from ..errors import TapError

# The credentials may not do this: retrying cannot help.
ACCESS_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
# The credentials are wrong or may not do this.
AUTH_ERRORS = ACCESS_DENIED | {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
}
# Codes botocore retries; when one still ends a call, the retry budget is spent.
RETRYABLE_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "LimitExceededException",
        "500",
        "502",
        "503",
        "504",
    }
)
NOT_FOUND = "ResourceNotFoundException"
VALIDATION = "ValidationException"
# DynamoDB Streams
TRIMMED = "TrimmedDataAccessException"
EXPIRED_ITERATOR = "ExpiredIteratorException"
LIMIT_EXCEEDED = "LimitExceededException"

RETRIES_SPENT = "; retries ran out (config key max_attempts); run again later and it resumes from the last STATE"
NO_CREDENTIALS = (
    "no AWS credentials found: set aws_access_key_id and aws_secret_access_key, aws_profile, "
    "or account_id/role_name/external_id in the config, or configure boto3's default chain"
)


def error_code(exc: BaseException) -> Optional[str]:
    """The AWS error code of a ClientError, else None."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def error_message(exc: BaseException) -> str:
    """The AWS error message of a ClientError, else ''."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))
    return ""


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
        return TapError(
            f"AWS refused the credentials while {doing} ({code}: {error_message(exc)}); check the access "
            "keys, profile or role in the config and the IAM policy"
        )
    if code in RETRYABLE_ERRORS:
        return TapError(f"DynamoDB kept failing while {doing} ({code}){RETRIES_SPENT}")
    if code:
        return TapError(f"AWS error while {doing}: {code}: {error_message(exc)}")
    if isinstance(exc, SSLError):
        where = endpoint or "the AWS endpoint"
        return TapError(
            f"the TLS handshake with {where} failed while {doing}: if the endpoint speaks plain HTTP "
            "(DynamoDB Local does), write http:// in endpoint_url; otherwise point AWS_CA_BUNDLE at the "
            "CA that signed its certificate"
        )
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        where = endpoint or "the AWS endpoint"
        return TapError(f"cannot connect to {where} while {doing}; check endpoint_url/region_name and the network")
    if isinstance(exc, ReadTimeoutError):
        return TapError(
            f"DynamoDB did not answer within request_timeout while {doing}; raise request_timeout or retry later"
        )
    if isinstance(exc, ConnectionClosedError):
        return TapError(f"DynamoDB kept closing the connection while {doing}{RETRIES_SPENT}")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return TapError(NO_CREDENTIALS)
    if isinstance(exc, BotoCoreError):
        return TapError(f"AWS client error while {doing}: {exc}")
    return TapError(f"error while {doing}: {exc}")
