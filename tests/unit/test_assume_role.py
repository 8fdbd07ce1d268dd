"""Stitch's assume-role flow in aws.py, against STS clients stubbed with botocore's Stubber
(no network): the role ARN, the external id, proxy-role chaining and refresh before expiry."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from tap_dynamodb.aws.session import ROLE_SESSION_NAME, ROLE_SESSION_SECONDS, make_session, role_arn
from tap_dynamodb.errors import TapError
from tap_dynamodb.settings import parse_config

BASE = {"region_name": "us-east-1", "aws_access_key_id": "AKIABASEKEY", "aws_secret_access_key": "base-secret"}


def sts_answer(key: str, expires_in: dt.timedelta) -> dict:
    return {
        "Credentials": {
            "AccessKeyId": key,
            "SecretAccessKey": f"{key}-secret",
            "SessionToken": f"{key}-token",
            "Expiration": dt.datetime.now(dt.timezone.utc) + expires_in,
        }
    }


def assume_params(arn: str, external_id=None) -> dict:
    params = {"RoleArn": arn, "RoleSessionName": ROLE_SESSION_NAME, "DurationSeconds": ROLE_SESSION_SECONDS}
    if external_id:
        params["ExternalId"] = external_id
    return params


class StubbedSts:
    """Hands out stubbed STS clients, one per role hop, and notes whose credentials asked for each."""

    def __init__(self, *answers_per_hop):
        self.stubbers, self.callers, self._answers = [], [], list(answers_per_hop)

    def __call__(self, session, config):
        self.callers.append(session.get_credentials().get_frozen_credentials().access_key)
        client = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y").client(
            "sts", region_name=config.region_name
        )
        stubber = Stubber(client)
        for params, answer in self._answers.pop(0):
            stubber.add_response("assume_role", answer, params)
        stubber.activate()
        self.stubbers.append(stubber)
        return client

    def assert_all_called(self):
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


def frozen(session):
    return session.get_credentials().get_frozen_credentials()


def test_role_arn_is_built_from_account_id_without_dashes_and_role_name():
    config = parse_config(dict(BASE, account_id="1234-5678-9012", role_name="stitch_dynamodb", external_id="ext"))
    assert role_arn(config.account_id, config.role_name) == "arn:aws:iam::123456789012:role/stitch_dynamodb"
    assert role_arn("1234-5678-9012", "r") == "arn:aws:iam::123456789012:role/r"


def test_assume_role_passes_the_external_id_and_uses_the_role_credentials():
    arn = "arn:aws:iam::123456789012:role/stitch_dynamodb"
    sts = StubbedSts([(assume_params(arn, "ext-42"), sts_answer("ASIAROLE00000001", dt.timedelta(hours=1)))])
    config = parse_config(dict(BASE, account_id="1234-5678-9012", role_name="stitch_dynamodb", external_id="ext-42"))
    session = make_session(config, sts_client=sts)
    assert frozen(session).access_key == "ASIAROLE00000001"
    assert frozen(session).token == "ASIAROLE00000001-token"
    assert sts.callers == ["AKIABASEKEY"]
    sts.assert_all_called()


def test_proxy_role_is_assumed_first_and_the_target_role_through_it():
    proxy_arn, target_arn = "arn:aws:iam::210987654321:role/hop", "arn:aws:iam::123456789012:role/reader"
    sts = StubbedSts(
        [(assume_params(proxy_arn), sts_answer("ASIAPROXY0000002", dt.timedelta(hours=1)))],
        [(assume_params(target_arn, "ext"), sts_answer("ASIATARGET000003", dt.timedelta(hours=1)))],
    )
    config = parse_config(
        dict(
            BASE,
            proxy_account_id="2109-8765-4321",
            proxy_role_name="hop",
            account_id="123456789012",
            role_name="reader",
            external_id="ext",
        )
    )
    session = make_session(config, sts_client=sts)
    assert sts.callers == ["AKIABASEKEY", "ASIAPROXY0000002"], "the target role is assumed with the proxy role's keys"
    assert frozen(session).access_key == "ASIATARGET000003"
    sts.assert_all_called()


def test_credentials_refresh_before_they_expire():
    arn = "arn:aws:iam::123456789012:role/reader"
    sts = StubbedSts(
        [
            (assume_params(arn, "ext"), sts_answer("ASIAFIRST0000004", dt.timedelta(minutes=5))),
            (assume_params(arn, "ext"), sts_answer("ASIASECOND000005", dt.timedelta(hours=1))),
        ]
    )
    config = parse_config(dict(BASE, account_id="123456789012", role_name="reader", external_id="ext"))
    session = make_session(config, sts_client=sts)
    # Five minutes left is inside botocore's refresh window: the next use assumes the role again,
    # still before the first credentials expire.
    assert frozen(session).access_key == "ASIASECOND000005"
    assert frozen(session).access_key == "ASIASECOND000005"  # an hour left: no third call
    sts.assert_all_called()


def test_credentials_with_time_left_are_not_refreshed():
    arn = "arn:aws:iam::123456789012:role/reader"
    sts = StubbedSts([(assume_params(arn, "ext"), sts_answer("ASIAONLY00000006", dt.timedelta(hours=1)))])
    config = parse_config(dict(BASE, account_id="123456789012", role_name="reader", external_id="ext"))
    session = make_session(config, sts_client=sts)
    for _ in range(3):
        assert frozen(session).access_key == "ASIAONLY00000006"
    sts.assert_all_called()


def test_a_refused_assume_role_is_one_actionable_error():
    arn = "arn:aws:iam::123456789012:role/reader"

    def refusing_sts(session, config):
        client = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y").client("sts", region_name="us-east-1")
        stubber = Stubber(client)
        stubber.add_client_error(
            "assume_role",
            "AccessDenied",
            "not authorized to perform sts:AssumeRole",
            expected_params=assume_params(arn, "wrong"),
        )
        stubber.activate()
        return client

    config = parse_config(dict(BASE, account_id="123456789012", role_name="reader", external_id="wrong"))
    with pytest.raises(
        TapError,
        match=r"cannot assume role arn:aws:iam::123456789012:role/reader: AccessDenied.*"
        r"trust policy and the external id",
    ):
        make_session(config, sts_client=refusing_sts)
