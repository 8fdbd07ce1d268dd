"""AWS sessions and clients: credentials, Stitch's assume-role flow, retries and timeouts.

Credentials come, in order, from static keys in the config, a named profile, or boto3's
default chain. When `account_id` and `role_name` are set (Stitch's config), the tap assumes
`arn:aws:iam::<account_id>:role/<role_name>` with the external id, first through the proxy
role when one is configured, and the credentials refresh themselves before they expire so
that a sync longer than the role's session keeps going.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError,
                                 NoCredentialsError, PartialCredentialsError, ProfileNotFound, ReadTimeoutError)

from .config import Config
from .errors import TapError
from . import wire
from .report import install_request_timers

LOGGER = logging.getLogger("tap_dynamodb")
ROLE_SESSION_NAME = "tap-dynamodb"
ROLE_SESSION_SECONDS = 3600

# Error codes that mean "the credentials are wrong or may not do this": retrying cannot help.
AUTH_ERRORS = {"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
               "AccessDenied", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
               "MissingAuthenticationTokenException", "IncompleteSignatureException"}


def role_arn(account_id: str, role_name: str) -> str:
    """The IAM role ARN Stitch's config describes; dashes in the account id are dropped."""
    return f"arn:aws:iam::{account_id.replace('-', '')}:role/{role_name}"


def _base_session(config: Config) -> boto3.Session:
    try:
        if config.aws_access_key_id:
            return boto3.Session(aws_access_key_id=config.aws_access_key_id,
                                 aws_secret_access_key=config.aws_secret_access_key,
                                 aws_session_token=config.aws_session_token,
                                 region_name=config.region_name)
        if config.aws_profile:
            return boto3.Session(profile_name=config.aws_profile, region_name=config.region_name)
        return boto3.Session(region_name=config.region_name)
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
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

    return refresh


def _session_for_role(parent: boto3.Session, config: Config, arn: str, external_id: Optional[str]) -> boto3.Session:
    sts = parent.client("sts", region_name=config.region_name)
    refresh = _assume_role_refresher(sts, arn, external_id)
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="sts-assume-role")
    core = botocore.session.get_session()
    core._credentials = credentials  # botocore's documented way to hand a session ready credentials
    core.set_config_variable("region", config.region_name)
    return boto3.Session(botocore_session=core, region_name=config.region_name)


def make_session(config: Config) -> boto3.Session:
    """The session every client is made from, with Stitch's role chain applied."""
    session = _base_session(config)
    if config.proxy_account_id and config.proxy_role_name:
        session = _session_for_role(session, config, role_arn(config.proxy_account_id, config.proxy_role_name), None)
    if config.assumes_role:
        session = _session_for_role(session, config, role_arn(config.account_id, config.role_name),
                                    config.external_id)
    return session


class Clients:
    """The DynamoDB and DynamoDB Streams clients of one run, made once and shared by threads.

    botocore clients are thread-safe, so parallel scan segments share one client; its
    connection pool is sized for them.
    """

    def __init__(self, config: Config, session: Optional[boto3.Session] = None):
        self.config = config
        self._session = session
        self._pool_size = max(16, config.scan_segments or 0) + 4
        self._dynamodb = None
        self._streams = None

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = make_session(self.config)
        return self._session

    def _client_config(self) -> BotoConfig:
        return BotoConfig(
            connect_timeout=min(self.config.request_timeout, 60),
            read_timeout=self.config.request_timeout,
            retries={"max_attempts": self.config.max_attempts, "mode": "standard"},
            max_pool_connections=self._pool_size,
            user_agent_extra="tap-dynamodb",
        )

    def _make(self, service: str):
        try:
            client = self.session.client(service, endpoint_url=self.config.endpoint_url,
                                         region_name=self.config.region_name, config=self._client_config())
        except (NoCredentialsError, PartialCredentialsError):
            raise TapError(NO_CREDENTIALS) from None
        wire.install(client)
        install_request_timers(client)
        return client

    @property
    def dynamodb(self):
        if self._dynamodb is None:
            self._dynamodb = self._make("dynamodb")
        return self._dynamodb

    @property
    def streams(self):
        if self._streams is None:
            self._streams = self._make("dynamodbstreams")
        return self._streams


NO_CREDENTIALS = ("no AWS credentials found: set aws_access_key_id and aws_secret_access_key, aws_profile, "
                  "or account_id/role_name/external_id in the config, or configure boto3's default chain")


def error_code(exc: BaseException) -> Optional[str]:
    """The AWS error code of a ClientError, else None."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def describe_aws_error(exc: BaseException, doing: str, endpoint: Optional[str] = None) -> TapError:
    """Turn a botocore exception into a one-line TapError that says what to do."""
    code = error_code(exc)
    if code in AUTH_ERRORS:
        message = exc.response.get("Error", {}).get("Message", "")
        return TapError(f"AWS refused the credentials while {doing} ({code}: {message}); check the access "
                        "keys, profile or role in the config and the IAM policy")
    if code:
        message = exc.response.get("Error", {}).get("Message", "")
        return TapError(f"AWS error while {doing}: {code}: {message}")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        where = endpoint or "the AWS endpoint"
        return TapError(f"cannot connect to {where} while {doing}; check endpoint_url/region_name and the network")
    if isinstance(exc, ReadTimeoutError):
        return TapError(f"DynamoDB did not answer within request_timeout while {doing}; raise request_timeout "
                        "or retry later")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return TapError(NO_CREDENTIALS)
    if isinstance(exc, BotoCoreError):
        return TapError(f"AWS client error while {doing}: {exc}")
    return TapError(f"error while {doing}: {exc}")
