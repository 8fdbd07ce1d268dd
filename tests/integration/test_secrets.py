"""No secret in any output: discover and sync at DEBUG with a secret in every credential setting,
through Stitch's assume-role chain (answered by the fault proxy's fake STS, so nothing leaves the
machine), and with an error from AWS; neither stdout nor stderr may contain a secret.
"""

from __future__ import annotations

import boto3
import pytest

SECRETS = {
    "aws_access_key_id": "AKIASECRETKEYID7Q3Z",
    "aws_secret_access_key": "Secret/Access+Key=abcdef0123456789XYZ",
    "aws_session_token": "IQoJSecretSessionToken0123456789abcdefghijklmnopqrstuvwxyz==",
    "external_id": "external-id-secret-4711",
}


def leaked(result, secrets) -> list:
    return [s for s in secrets if s in result.stdout or s in result.stderr]


@pytest.fixture
def role_setup(make_table, tap_config, fault_proxy, monkeypatch):
    """A table, a proxy that also answers STS, and a config with every secret and a role chain."""
    table = make_table(items=[{"id": {"S": f"s{n}"}, "v": {"N": str(n)}} for n in range(5)], name_prefix="secret")
    proxy = fault_proxy(rate=0, fake_sts=True)
    env = {"AWS_ENDPOINT_URL_STS": proxy.url}
    # Guard: the tap's STS client must resolve to the proxy, never to AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
    sts = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y").client("sts", region_name="us-east-1")
    assert sts.meta.endpoint_url == proxy.url
    config = tap_config.with_(
        endpoint_url=proxy.url,
        account_id="1234-5678-9012",
        role_name="reader",
        proxy_account_id="2109-8765-4321",
        proxy_role_name="hop",
        tables=[table],
        **SECRETS,
    )
    return table, proxy, config, env


def test_no_secret_in_discover_or_sync_at_debug(role_setup, run_tap, select_streams):
    table, proxy, config, env = role_setup
    discovered = run_tap("--discover", "--log-level", "DEBUG", config=config, extra_env=env)
    catalog = select_streams(discovered.catalog, [table])
    synced = run_tap("--log-level", "DEBUG", config=config, catalog=catalog, extra_env=env)

    assert len(synced.records(table)) == 5
    assert [call["RoleArn"] for call in proxy.sts_calls[:2]] == [
        "arn:aws:iam::210987654321:role/hop",
        "arn:aws:iam::123456789012:role/reader",
    ]
    assert proxy.sts_calls[1]["ExternalId"] == SECRETS["external_id"]
    role_secrets = [value for creds in proxy.sts_credentials for value in creds.values()]
    for result in (discovered, synced):
        assert "DEBUG" in result.stderr and "Authorization" in result.stderr  # botocore's debug log was on
        assert leaked(result, list(SECRETS.values()) + role_secrets) == []


def test_no_secret_in_an_aws_error_at_debug(role_setup, run_tap, tmp_path):
    _table, proxy, config, env = role_setup
    proxy.rule = lambda _operation, _n: "unrecognized_client"
    result = run_tap("--discover", "--log-level", "DEBUG", config=config, extra_env=env, check=False)
    assert result.returncode != 0 and "UnrecognizedClientException" in result.stderr.splitlines()[-1]
    role_secrets = [value for creds in proxy.sts_credentials for value in creds.values()]
    assert leaked(result, list(SECRETS.values()) + role_secrets) == []


def test_no_secret_with_static_keys_only(make_table, tap_config, run_tap, select_streams):
    """Without a role the static keys sign every request themselves."""
    table = make_table(items=[{"id": {"S": "a"}}], name_prefix="secret")
    config = tap_config.with_(tables=[table], **SECRETS)
    discovered = run_tap("--discover", "--log-level", "DEBUG", config=config)
    synced = run_tap("--log-level", "DEBUG", config=config, catalog=select_streams(discovered.catalog, [table]))
    assert synced.records(table) == [{"id": "a"}]
    for result in (discovered, synced):
        assert "X-Amz-Security-Token" in result.stderr
        assert leaked(result, SECRETS.values()) == []
