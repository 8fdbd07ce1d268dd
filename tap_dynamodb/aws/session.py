"""AWS sessions and credentials: static keys, profiles, boto3's default chain, Stitch's assume-role flow.

Credentials come, in order, from static keys in the config, a named profile, or botocore's
default chain. When `account_id` and `role_name` are set (Stitch's config), the tap assumes
`arn:aws:iam::<account_id>:role/<role_name>` with the external id, first through the proxy
role when one is configured, and the credentials refresh themselves before they expire so
that a sync longer than the role's session keeps going.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import botocore.session
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError, ProfileNotFound
from botocore.session import Session

from ..errors import TapError
from ..logs import MASKER
from ..settings import Config

LOGGER = logging.getLogger("tap_dynamodb")
ROLE_SESSION_NAME = "tap-dynamodb"
ROLE_SESSION_SECONDS = 3600

StsClientFactory = Callable[[Session, Config], Any]


def role_arn(account_id: str, role_name: str) -> str:
    """The IAM role ARN Stitch's config describes; dashes in the account id are dropped."""
    return f"arn:aws:iam::{account_id.replace('-', '')}:role/{role_name}"


def _base_session(config: Config) -> Session:
    """A botocore session (boto3's own layer adds nothing here but import time)."""
    try:
        session = botocore.session.Session(profile=config.aws_profile)
        session.get_scoped_config()  # an unknown profile fails here, not at the first request
        if config.aws_access_key_id:
            session.set_credentials(
                config.aws_access_key_id, config.aws_secret_access_key or "", config.aws_session_token
            )
        session.set_config_variable("region", config.region_name)
        return session
    except ProfileNotFound:
        raise TapError(
            f"AWS profile {config.aws_profile!r} (config key aws_profile) is not in ~/.aws/config or ~/.aws/credentials"
        ) from None


def _assume_role_refresher(sts_client: Any, arn: str, external_id: Optional[str]) -> Callable[[], dict[str, str]]:
    """A function that assumes the role and returns credentials in botocore's refresh format."""

    def refresh() -> dict[str, str]:
        params: dict[str, Any] = {
            "RoleArn": arn,
            "RoleSessionName": ROLE_SESSION_NAME,
            "DurationSeconds": ROLE_SESSION_SECONDS,
        }
        if external_id:
            params["ExternalId"] = external_id
        LOGGER.info("Assuming role %s", arn)
        try:
            creds = sts_client.assume_role(**params)["Credentials"]
        except ClientError as exc:
            raise TapError(
                f"cannot assume role {arn}: {exc.response['Error'].get('Code')}: "
                f"{exc.response['Error'].get('Message', '')}; check the role's trust policy "
                "and the external id"
            ) from None
        MASKER.add([creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]])
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    return refresh


def sts_client_for(session: Session, config: Config) -> Any:
    """The STS client a role is assumed with (tests hand in stubbed ones instead)."""
    return session.create_client("sts", region_name=config.region_name)


def _session_for_role(
    parent: Session, config: Config, arn: str, external_id: Optional[str], sts_client: StsClientFactory = sts_client_for
) -> Session:
    sts = sts_client(parent, config)
    refresh = _assume_role_refresher(sts, arn, external_id)
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="sts-assume-role"
    )
    session = botocore.session.Session()
    session._credentials = credentials  # type: ignore[attr-defined]  # botocore's way to use credentials made elsewhere
    session.set_config_variable("region", config.region_name)
    return session


def make_session(config: Config, sts_client: StsClientFactory = sts_client_for) -> Session:
    """The session every client is made from, with Stitch's role chain applied."""
    session = _base_session(config)
    if config.proxy_account_id and config.proxy_role_name:
        session = _session_for_role(
            session, config, role_arn(config.proxy_account_id, config.proxy_role_name), None, sts_client
        )
    if config.account_id and config.role_name:
        session = _session_for_role(
            session, config, role_arn(config.account_id, config.role_name), config.external_id, sts_client
        )
    return session
