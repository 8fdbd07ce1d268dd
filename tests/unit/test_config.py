"""parse_config: Stitch's config works unchanged; every bad value is one TapError naming its key."""

from __future__ import annotations

import logging

import pytest

from tap_dynamodb.errors import TapError
from tap_dynamodb.settings import parse_config

STITCH_CONFIG = {  # the shape Stitch's tap-dynamodb 1.4 is run with
    "account_id": "1234-5678-9012",
    "role_name": "stitch_dynamodb",
    "external_id": "stitch-external-id-0001",
    "region_name": "us-east-1",
    "use_local_dynamo": "false",
    "request_timeout": "",
}


@pytest.fixture(autouse=True)
def no_region_from_environment(monkeypatch):
    """Keep the tests independent of the shell's AWS settings."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)


def test_stitch_config_is_accepted_unchanged():
    config = parse_config(dict(STITCH_CONFIG))
    assert config.region_name == "us-east-1"
    assert config.account_id == "123456789012"  # dashes dropped for the role ARN
    assert config.role_name == "stitch_dynamodb"
    assert config.external_id == "stitch-external-id-0001"
    assert config.assumes_role
    assert config.endpoint_url is None
    assert config.request_timeout == 300  # Stitch's default
    assert "stitch-external-id-0001" in config.secrets()


@pytest.mark.parametrize("flag", [True, "true", "True", " TRUE "])
def test_use_local_dynamo_true_means_localhost_8000(flag):
    config = parse_config({"region_name": "us-east-1", "use_local_dynamo": flag})
    assert config.endpoint_url == "http://localhost:8000"


@pytest.mark.parametrize("flag", [False, "false", "", None])
def test_use_local_dynamo_false_means_aws(flag):
    assert parse_config({"region_name": "us-east-1", "use_local_dynamo": flag}).endpoint_url is None


def test_explicit_endpoint_url_wins_over_use_local_dynamo():
    config = parse_config(
        {"region_name": "us-east-1", "use_local_dynamo": True, "endpoint_url": "http://127.0.0.1:9999"}
    )
    assert config.endpoint_url == "http://127.0.0.1:9999"


@pytest.mark.parametrize("value", [0, "0", "", None, "missing"])
def test_request_timeout_zero_empty_or_missing_is_300(value):
    raw = {"region_name": "us-east-1"}
    if value != "missing":
        raw["request_timeout"] = value
    assert parse_config(raw).request_timeout == 300


@pytest.mark.parametrize("value, expected", [(30, 30), ("45", 45), ("2.5", 2.5), (0.5, 0.5)])
def test_request_timeout_numbers_and_string_numbers(value, expected):
    assert parse_config({"region_name": "us-east-1", "request_timeout": value}).request_timeout == expected


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("scan_page_size", "7", 7),
        ("scan_page_size", 25, 25),
        ("scan_segments", "3", 3),
        ("scan_segments", "auto", None),
        ("consistent_read", "true", True),
        ("consistent_read", False, False),
    ],
)
def test_string_numbers_and_booleans_are_accepted(key, value, expected):
    assert getattr(parse_config({"region_name": "us-east-1", key: value}), key) == expected


def test_unknown_keys_that_resemble_no_setting_get_one_warning_line(caplog):
    raw = {
        "region_name": "eu-west-1",
        "some_future_key": {"x": 1},
        "tables": ["a*"],
        "start_date": "2020-01-01",
        "_meltano_internal": 1,
    }
    with caplog.at_level(logging.WARNING, logger="tap_dynamodb"):
        config = parse_config(raw)
    assert config.region_name == "eu-west-1"
    assert config.tables == ["a*"]  # the known keys are read; unknown ones are ignored (Meltano may pass extras)
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["Config keys the tap does not read (ignored): some_future_key, start_date"]


@pytest.mark.parametrize(
    "key, meant",
    [
        ("endpiont_url", "endpoint_url"),
        ("region", "region_name"),
        ("REGION_NAME", "region_name"),
        ("scan-segments", "scan_segments"),
        ("max_attempt", "max_attempts"),
        ("consistent_reads", "consistent_read"),
        ("table", "tables"),
        ("aws_access_key", "aws_access_key_id"),
        ("exclude", "exclude_tables"),
    ],
)
def test_a_key_close_to_a_setting_is_an_error_naming_it(key, meant):
    with pytest.raises(TapError, match=rf"config key '{key}' is not a setting; did you mean {meant}\?"):
        parse_config({"region_name": "eu-west-1", key: "x"})


def test_static_keys_with_session_token():
    config = parse_config(
        {
            "region_name": "us-east-1",
            "aws_access_key_id": "AKIAEXAMPLE",
            "aws_secret_access_key": "secret-value-123",
            "aws_session_token": "tok-0001",
        }
    )
    assert (config.aws_access_key_id, config.aws_secret_access_key, config.aws_session_token) == (
        "AKIAEXAMPLE",
        "secret-value-123",
        "tok-0001",
    )
    assert {"secret-value-123", "tok-0001"} <= set(config.secrets())


def test_region_is_required_even_when_the_environment_has_one(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with pytest.raises(TapError, match="region_name"):
        parse_config({})


BAD_VALUES = [
    ({}, "region_name"),
    ({"region_name": ""}, "region_name"),
    ({"region_name": ["us-east-1"]}, "region_name"),
    ({"region_name": "us-east-1", "request_timeout": "soon"}, "request_timeout"),
    ({"region_name": "us-east-1", "request_timeout": -5}, "request_timeout"),
    ({"region_name": "us-east-1", "request_timeout": True}, "request_timeout"),
    ({"region_name": "us-east-1", "request_timeout": [1]}, "request_timeout"),
    ({"region_name": "us-east-1", "use_local_dynamo": "maybe"}, "use_local_dynamo"),
    ({"region_name": "us-east-1", "use_local_dynamo": 7}, "use_local_dynamo"),
    ({"region_name": "us-east-1", "endpoint_url": "localhost:8000"}, "endpoint_url"),
    ({"region_name": "us-east-1", "endpoint_url": {"url": "http://x"}}, "endpoint_url"),
    ({"region_name": "us-east-1", "aws_access_key_id": "AKIAEXAMPLE"}, "aws_secret_access_key"),
    ({"region_name": "us-east-1", "aws_secret_access_key": "s3cr3t"}, "aws_access_key_id"),
    ({"region_name": "us-east-1", "account_id": "123456789012"}, "role_name"),
    ({"region_name": "us-east-1", "role_name": "r"}, "account_id"),
    ({"region_name": "us-east-1", "proxy_account_id": "1", "account_id": "2", "role_name": "r"}, "proxy_role_name"),
    ({"region_name": "us-east-1", "role_name": ["r"], "account_id": "2"}, "role_name"),
    ({"region_name": "us-east-1", "scan_page_size": 0}, "scan_page_size"),
    ({"region_name": "us-east-1", "scan_page_size": "lots"}, "scan_page_size"),
    ({"region_name": "us-east-1", "scan_page_size": 1.5}, "scan_page_size"),
    ({"region_name": "us-east-1", "scan_segments": 0}, "scan_segments"),
    ({"region_name": "us-east-1", "scan_segments": 2000000}, "scan_segments"),
    ({"region_name": "us-east-1", "consistent_read": "perhaps"}, "consistent_read"),
    ({"region_name": "us-east-1", "tables": 5}, "tables"),
    ({"region_name": "us-east-1", "exclude_tables": "[not json"}, "exclude_tables"),
]


@pytest.mark.parametrize("raw, key", BAD_VALUES, ids=[f"{k}-{i}" for i, (_, k) in enumerate(BAD_VALUES)])
def test_every_bad_value_is_a_tap_error_naming_the_key(raw, key):
    with pytest.raises(TapError) as info:
        parse_config(raw)
    assert key in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("raw", [None, [], "us-east-1", 5])
def test_config_that_is_not_an_object_is_a_tap_error(raw):
    with pytest.raises(TapError, match="JSON object"):
        parse_config(raw)


def test_a_bad_secret_value_is_not_echoed_in_the_error():
    with pytest.raises(TapError) as info:
        parse_config(
            {
                "region_name": "us-east-1",
                "aws_access_key_id": "AKIAEXAMPLE",
                "aws_secret_access_key": {"value": "hunter2-secret"},
            }
        )
    assert "aws_secret_access_key" in str(info.value)
    assert "hunter2-secret" not in str(info.value)
