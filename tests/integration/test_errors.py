"""Every user-fixable problem: one `tap-dynamodb: error:` line naming it, non-zero exit, no traceback,
and the configured secret never printed."""

from __future__ import annotations

import time

import pytest

from tap_dynamodb.aws import UNREACHABLE_ATTEMPTS
from devtools.dynamodb_local import free_port

SECRET = "SeCrEt-never-print-7f3a9c"
ERROR_PREFIX = "tap-dynamodb: error:"


@pytest.fixture
def secret_config(tap_config):
    """The DynamoDB Local config with a recognisable secret key (DynamoDB Local accepts any)."""
    return tap_config.with_(aws_secret_access_key=SECRET, max_attempts=2)


def hand_catalog(name: str, method: str = "FULL_TABLE") -> dict:
    """A minimal catalog selecting one table, as a user or Stitch could write it."""
    return {"streams": [{
        "tap_stream_id": name, "stream": name, "table_name": name, "key_properties": ["id"],
        "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
        "metadata": [{"breadcrumb": [], "metadata": {"selected": True, "replication-method": method}}],
    }]}


def assert_one_error_line(result, *words: str) -> str:
    """Non-zero exit; exactly one error line, the last on stderr, naming every word; no secret."""
    assert result.returncode != 0, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, result.stderr
    assert lines[-1] == errors[0]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    assert SECRET not in result.stdout and SECRET not in result.stderr
    assert not result.of_type("RECORD")
    return errors[0]


def write(path, text: str):
    path.write_text(text)
    return path


def test_invalid_json_config(tmp_path, run_tap):
    config = write(tmp_path / "bad-config.json", '{"region_name": "us-east-1", "aws_secret_access_key": "%s",' % SECRET)
    assert_one_error_line(run_tap("--discover", config=config, check=False), "config", "not valid JSON",
                          str(config))


def test_missing_config_file(tmp_path, run_tap):
    missing = tmp_path / "nowhere.json"
    assert_one_error_line(run_tap("--discover", config=missing, check=False), "config", str(missing))


def test_invalid_json_catalog(tmp_path, run_tap, secret_config):
    catalog = write(tmp_path / "bad-catalog.json", '{"streams": [')
    assert_one_error_line(run_tap(config=secret_config, catalog=catalog, check=False),
                          "catalog", "not valid JSON")


def test_invalid_json_state(tmp_path, run_tap, secret_config, make_table):
    name = make_table()
    state = write(tmp_path / "bad-state.json", "{'bookmarks': {}}")
    assert_one_error_line(run_tap(config=secret_config, catalog=hand_catalog(name), state=state, check=False),
                          "state", "not valid JSON")


def test_state_with_a_bad_shape(run_tap, secret_config, make_table):
    name = make_table()
    result = run_tap(config=secret_config, catalog=hand_catalog(name),
                     state={"bookmarks": {name: "resume please"}}, check=False)
    assert_one_error_line(result, "state", name)


def test_state_with_a_bookmark_that_is_not_a_key(run_tap, secret_config, make_table):
    name = make_table(items=[{"id": {"S": "a"}}])
    state = {"bookmarks": {name: {"version": 1, "last_evaluated_key": "a"}}}
    assert_one_error_line(run_tap(config=secret_config, catalog=hand_catalog(name), state=state, check=False),
                          name, "bookmark")


def test_missing_region_name(run_tap, secret_config):
    config = secret_config.with_(region_name=None)
    # the runner's environment sets AWS_DEFAULT_REGION; clear it so no region comes from anywhere
    result = run_tap("--discover", config=config, extra_env={"AWS_DEFAULT_REGION": ""}, check=False)
    assert_one_error_line(result, "region_name")


@pytest.mark.parametrize("changes, key", [
    ({"request_timeout": "soon"}, "request_timeout"),
    ({"scan_page_size": 0}, "scan_page_size"),
    ({"aws_access_key_id": None}, "aws_access_key_id"),
    ({"endpoint_url": "127.0.0.1:8000"}, "endpoint_url"),
])
def test_bad_config_value_names_the_key(run_tap, secret_config, changes, key):
    assert_one_error_line(run_tap("--discover", config=secret_config.with_(**changes), check=False), key)


def test_unknown_replication_method(run_tap, secret_config, make_table):
    name = make_table()
    result = run_tap(config=secret_config, catalog=hand_catalog(name, method="INCREMENTAL"), check=False)
    assert_one_error_line(result, name, "INCREMENTAL")
    assert not result.messages  # checked before any output


@pytest.mark.parametrize("mode", ["discover", "sync"])
def test_unreachable_endpoint_fails_fast_with_the_default_retry_budget(run_tap, secret_config, mode):
    """A refused connection before any answer is a wrong endpoint: UNREACHABLE_ATTEMPTS tries, not max_attempts."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    config = secret_config.with_(endpoint_url=endpoint, request_timeout=5, max_attempts=None)  # the default, 10
    started = time.monotonic()
    if mode == "discover":
        result = run_tap("--discover", config=config, check=False, timeout=120)
    else:
        result = run_tap(config=config, catalog=hand_catalog("orders"), check=False, timeout=120)
    assert_one_error_line(result, "cannot connect", endpoint)
    retries = [line for line in result.stderr.splitlines() if "retrying, attempt" in line]
    assert len(retries) == UNREACHABLE_ATTEMPTS - 1 and f"attempt {UNREACHABLE_ATTEMPTS} of 10" in retries[-1]
    assert time.monotonic() - started < 30  # the whole budget of 10 backed off for about a minute


def test_selected_table_that_does_not_exist(run_tap, secret_config):
    result = run_tap(config=secret_config, catalog=hand_catalog("no_such_table_ft_errors"), check=False)
    assert_one_error_line(result, "no_such_table_ft_errors", "does not exist")


def test_secret_is_not_printed_even_at_debug_level(run_tap, secret_config, make_table):
    name = make_table(items=[{"id": {"S": f"i{i}"}} for i in range(3)])
    result = run_tap("--log-level", "DEBUG", config=secret_config, catalog=hand_catalog(name))
    assert len(result.records(name)) == 3
    assert "DEBUG" in result.stderr  # botocore's request logging really ran
    assert SECRET not in result.stdout and SECRET not in result.stderr


@pytest.mark.parametrize("bad_key", [{"other": {"S": "x"}}, {"id": {"N": "5"}}], ids=["wrong-name", "wrong-type"])
def test_state_bookmark_that_does_not_match_the_table_key(run_tap, secret_config, make_table, bad_key):
    name = make_table(items=[{"id": {"S": f"i{i}"}} for i in range(3)])
    state = {"bookmarks": {name: {"version": 1, "last_evaluated_key": bad_key}}}
    result = run_tap(config=secret_config, catalog=hand_catalog(name), state=state, check=False)
    assert_one_error_line(result, name, "bookmark")
