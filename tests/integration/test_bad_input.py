"""Bad input: every case ends with one actionable line on stderr and a non-zero exit, never a
traceback; the cases where the tap can carry on safely (an item at the size limit, odd attribute
names, nothing selected) run correctly instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import pytest

from devtools.dynamodb_local import free_port

ITEMS = 12
MISSING = object()  # a config key removed


def selected_catalog(table: str, method: str = "FULL_TABLE", **entry) -> dict:
    """A minimal tap-dynamodb catalog selecting one table (what --discover would give, trimmed)."""
    stream = {"tap_stream_id": table, "stream": table, "table_name": table, "key_properties": ["id"],
              "schema": {"type": "object"},
              "metadata": [{"breadcrumb": [], "metadata": {"selected": True, "replication-method": method}}]}
    stream.update(entry)
    return {"streams": [stream]}


def postgres_catalog(_table: str) -> dict:
    """A catalog as tap-postgres writes it: right shape, wrong tool."""
    return {"streams": [{
        "tap_stream_id": "shop-public-orders", "stream": "orders", "table_name": "orders",
        "schema": {"type": "object", "properties": {"id": {"type": ["integer"]}}},
        "metadata": [{"breadcrumb": [], "metadata": {
            "selected": True, "replication-method": "FULL_TABLE", "schema-name": "public", "database-name": "shop",
            "table-key-properties": ["id"], "is-view": False}}]}]}


def bookmark_state(**bookmark) -> Callable[[str], dict]:
    return lambda table: {"bookmarks": {table: dict({"version": 1700000000000}, **bookmark)}}


def stream_state(**bookmark) -> Callable[[str], dict]:
    """A LOG_BASED bookmark past the initial scan, with the given (corrupted) keys."""
    return lambda table: {"bookmarks": {table: dict({"version": 1700000000000, "initial_full_table_complete": True,
                                                     "last_replication_method": "LOG_BASED"}, **bookmark)}}


Text = Union[str, bytes]


@dataclass
class Case:
    """One bad input: what to change, and the words the error line must contain."""

    name: str
    expect: tuple
    args: tuple = ("--catalog",)
    config: dict = field(default_factory=dict)  # key -> value (MISSING removes it)
    config_text: Optional[Text] = None
    catalog: Any = selected_catalog  # dict, text, or table -> dict
    state: Any = None  # dict, text, or table -> dict
    extra_env: Optional[dict] = None
    table: str = "small_table"  # the fixture that makes the case's table
    safe: bool = False  # the tap can carry on: a WARNING with the words, then a correct run


WRONG_TYPES = {
    "region_name": ["us-east-1"], "endpoint_url": {"url": "x"}, "request_timeout": "soon",
    "aws_access_key_id": {"id": 1}, "aws_secret_access_key": ["s"], "aws_session_token": {"t": 1},
    "aws_profile": ["default"], "account_id": {"a": 1}, "role_name": ["r"], "external_id": {"e": 1},
    "proxy_account_id": ["1"], "proxy_role_name": {"p": 1}, "scan_page_size": "big", "consistent_read": "maybe",
    "scan_segments": "many", "max_read_capacity_units_per_second": "fast", "max_attempts": 2.5,
    "tables": 5, "exclude_tables": [1, 2], "infer_schema_sample_size": {"n": 1}, "stream_tip_empty_pages": "x",
    "use_local_dynamo": "perhaps",
}

CASES = [Case(f"config-{key}-wrong-type", (key,), args=("--discover",), config={key: value})
         for key, value in WRONG_TYPES.items()] + [
    # config files
    Case("config-empty", ("config file", "empty"), config_text=""),
    Case("config-malformed", ("config file", "not valid JSON"), config_text='{"region_name": "us-east-1",'),
    Case("config-not-an-object", ("config must be a JSON object",), config_text="[1, 2]"),
    Case("config-binary", ("config file", "not valid JSON"), config_text=b"\xff\xfe\x00garbage"),
    Case("config-region-missing", ("region_name is missing",), config={"region_name": MISSING},
         extra_env={"AWS_DEFAULT_REGION": ""}),
    Case("config-endpoint-not-url", ("endpoint_url", "http://"), config={"endpoint_url": "localhost:8000"}),
    Case("config-timeout-negative", ("request_timeout", "at least"), config={"request_timeout": -5}),
    Case("config-page-size-zero", ("scan_page_size", "at least 1"), config={"scan_page_size": 0}),
    Case("config-max-attempts-zero", ("max_attempts", "at least 1"), config={"max_attempts": 0}),
    Case("config-tables-bad-json", ("tables", "invalid JSON"), args=("--discover",), config={"tables": "[orders"}),
    Case("config-secret-without-key", ("aws_access_key_id and aws_secret_access_key",),
         config={"aws_secret_access_key": MISSING}),
    Case("config-account-without-role", ("account_id and role_name",), config={"account_id": "1234-5678-9012"}),
    Case("config-proxy-half", ("proxy_account_id and proxy_role_name",), config={"proxy_account_id": "123"}),
    Case("config-unknown-profile", ("aws_profile", "nosuchprofile"), args=("--discover",),
         config={"aws_access_key_id": MISSING, "aws_secret_access_key": MISSING, "aws_profile": "nosuchprofile"}),
    # command line
    Case("cli-no-mode", ("--discover", "--catalog"), args=()),
    Case("cli-discover-and-catalog", ("not allowed with",), args=("--discover", "--catalog")),
    Case("cli-unknown-option", ("unrecognized arguments",), args=("--catalog", "--frobnicate")),
    # catalogs
    Case("catalog-empty", ("catalog file", "empty"), catalog=""),
    Case("catalog-malformed", ("catalog file", "not valid JSON"), catalog='{"streams": [}'),
    Case("catalog-a-list", ("catalog must be a JSON object",), catalog="[]"),
    Case("catalog-stream-without-id", ("no tap_stream_id",), catalog={"streams": [{"stream": "x"}]}),
    Case("catalog-unknown-method", ("INCREMENTAL", "FULL_TABLE or LOG_BASED"),
         catalog=lambda table: selected_catalog(table, "INCREMENTAL")),
    Case("catalog-stream-missing-from-account", ("no_such_table", "does not exist", "--discover"),
         catalog=lambda _table: selected_catalog("no_such_table")),
    Case("catalog-from-another-tool", ("orders", "does not exist", "--discover"), catalog=postgres_catalog),
    # states
    Case("state-empty", ("state file", "empty"), state=""),
    Case("state-malformed", ("state file", "not valid JSON"), state="{'bookmarks': {}}"),
    Case("state-a-list", ("state must be a JSON object",), state="[]"),
    Case("state-bookmarks-not-object", ("bookmarks",), state={"bookmarks": ["x"]}),
    Case("state-bookmark-not-object", ("bookmark", "remove"), state=lambda table: {"bookmarks": {table: 5}}),
    Case("state-currently-syncing-number", ("currently_syncing",), state={"currently_syncing": 3}),
    Case("state-lek-a-string", ("scan bookmark", "remove bookmarks."), state=bookmark_state(last_evaluated_key="k5")),
    Case("state-lek-bad-type-tag", ("scan bookmark", "remove bookmarks."),
         state=bookmark_state(last_evaluated_key={"id": {"X": "1"}})),
    Case("state-lek-bad-base64", ("scan bookmark", "remove bookmarks."),
         state=bookmark_state(last_evaluated_key={"id": {"B": "***not base64***"}})),
    Case("state-from-recreated-table", ("does not match the table's key", "remove bookmarks."),
         state=bookmark_state(last_evaluated_key={"order_no": {"N": "17"}})),
    Case("state-version-not-number", ("version", "remove bookmarks."),
         state=bookmark_state(version="v2", last_evaluated_key={"id": {"S": "i03"}})),
    Case("catalog-log-based-without-stream", ("LOG_BASED needs DynamoDB Streams", "FULL_TABLE"),
         catalog=lambda table: selected_catalog(table, "LOG_BASED")),
    Case("state-shard-bookmarks-not-object", ("shard_seq_numbers", "remove bookmarks."), table="stream_table",
         catalog=lambda table: selected_catalog(table, "LOG_BASED"), state=stream_state(shard_seq_numbers="abc")),
    Case("state-shard-sequence-not-text", ("shard_seq_numbers", "remove bookmarks."), table="stream_table",
         catalog=lambda table: selected_catalog(table, "LOG_BASED"),
         state=stream_state(shard_seq_numbers={"shardId-00000001700000000000-abcdef12": 17})),
    Case("state-shard-from-another-stream", ("no longer in the stream", "re-replicating"), table="stream_table",
         safe=True, catalog=lambda table: selected_catalog(table, "LOG_BASED"),
         state=stream_state(shard_seq_numbers={"shardId-00000001700000000000-abcdef12": "000000000000000000017"})),
    Case("state-finished-shards-not-list", ("finished_shards", "remove bookmarks."), table="stream_table",
         catalog=lambda table: selected_catalog(table, "LOG_BASED"), state=stream_state(finished_shards=5)),
    Case("state-from-an-older-stream", ("stream changed", "re-replicating"), table="stream_table", safe=True,
         catalog=lambda table: selected_catalog(table, "LOG_BASED"),
         state=lambda table: stream_state(stream_arn=f"arn:aws:dynamodb:ddblocal:000000000000:table/{table}/stream/"
                                                     "2020-01-01T00:00:00.000")(table)),
    Case("state-segments-not-number", ("scan_segments", "remove"), state=bookmark_state(scan_segments="two")),
    Case("state-segment-keys-not-object", ("segment_keys", "remove"),
         state=bookmark_state(scan_segments=2, segment_keys=["a"])),
    Case("state-finished-segments-not-list", ("finished_segments", "remove"),
         state=bookmark_state(scan_segments=2, finished_segments=7)),
]


@pytest.fixture
def stream_table(make_table):
    return make_table(stream="NEW_AND_OLD_IMAGES", items=[{"id": {"S": f"i{n:02d}"}} for n in range(ITEMS)],
                      name_prefix="badlog")


@pytest.fixture
def small_table(make_table):
    return make_table(items=[{"id": {"S": f"i{n:02d}"}, "v": {"N": str(n)}} for n in range(ITEMS)],
                      name_prefix="bad")


def as_file(value: Any, table: str, path) -> str:
    """A case's input as a file: built for the table when a function, JSON when a dict, else raw text."""
    if callable(value):
        value = value(table)
    if isinstance(value, str):
        value = value.encode()
    path.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
    return str(path)


def assert_one_error_line(result, *expected: str) -> str:
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("tap-dynamodb: error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    for words in expected:
        assert words in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gives_one_actionable_line(case, request, run_tap, tap_config, tmp_path):
    small_table = request.getfixturevalue(case.table)
    config = dict(tap_config)
    for key, value in case.config.items():
        config.pop(key) if value is MISSING else config.__setitem__(key, value)
    if case.config_text is not None:
        config = as_file(case.config_text, small_table, tmp_path / "bad-config.json")
    args = list(case.args)
    if "--catalog" in args:
        args.insert(args.index("--catalog") + 1, as_file(case.catalog, small_table, tmp_path / "bad-catalog.json"))
    state = None if case.state is None else as_file(case.state, small_table, tmp_path / "bad-state.json")
    result = run_tap(*args, config=config, state=state, extra_env=case.extra_env, check=case.safe)
    if case.safe:
        warnings = [line for line in result.stderr.splitlines()
                    if line.startswith("WARNING") and all(words in line for words in case.expect)]
        assert len(warnings) == 1, result.stderr
        assert sorted(r["id"] for r in result.records()) == [f"i{n:02d}" for n in range(ITEMS)]
        return
    assert_one_error_line(result, *case.expect)


@pytest.mark.parametrize("mode", ["--discover", "--catalog"])
def test_endpoint_refusing_connections(mode, small_table, run_tap, tap_config, tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    config = tap_config.with_(endpoint_url=endpoint, max_attempts=2, request_timeout=2)
    args = [mode] + ([as_file(selected_catalog, small_table, tmp_path / "c.json")] if mode == "--catalog" else [])
    result = run_tap(*args, config=config, check=False)
    assert_one_error_line(result, "cannot connect to " + endpoint, "endpoint_url")


@pytest.mark.parametrize("code, words", [
    ("unrecognized_client", ("refused the credentials", "UnrecognizedClientException", "check the access keys")),
    ("access_denied", ("AccessDeniedException", "dynamodb:")),
])
@pytest.mark.parametrize("mode", ["--discover", "--catalog"])
def test_wrong_credentials(mode, code, words, small_table, run_tap, tap_config, fault_proxy, tmp_path):
    """DynamoDB Local takes any key, so the proxy answers as AWS does for a bad or powerless key."""
    proxy = fault_proxy(rule=lambda _op, _n: code)
    args = [mode] + ([as_file(selected_catalog, small_table, tmp_path / "c.json")] if mode == "--catalog" else [])
    result = run_tap(*args, config=tap_config.with_(endpoint_url=proxy.url), check=False)
    assert_one_error_line(result, *words)
    assert len(proxy.log) == 1, "credential errors are not retried"


def test_table_deleted_mid_sync(ddb, small_table, run_tap, tap_config, fault_proxy, tmp_path):
    scans = []

    def delete_before_third_scan(operation, _number):
        if operation == "Scan":
            scans.append(operation)
            if len(scans) == 3:
                ddb.delete_table(TableName=small_table)  # a real delete: DynamoDB Local answers the Scan
        return "pass"

    proxy = fault_proxy(rule=delete_before_third_scan)
    config = tap_config.with_(endpoint_url=proxy.url, scan_page_size=3, scan_segments=1)
    result = run_tap(config=config, catalog=selected_catalog(small_table), check=False)
    assert_one_error_line(result, small_table, "no longer exists", "--discover")
    assert len(result.records(small_table)) == 6
    assert result.last_state["bookmarks"][small_table]["last_evaluated_key"] == {"id": {"S": result.records()[-1]["id"]}}


ITEM_LIMIT = 400 * 1024


def test_item_at_the_400_kb_limit_syncs(ddb, make_table, run_tap):
    table = make_table(name_prefix="big")
    # DynamoDB counts an item's size as the UTF-8 bytes of its attribute names and values.
    filler = "é" * ((ITEM_LIMIT - len("id") - len("big") - len("blob") - len("tail")) // 2)
    tail = "t" * (ITEM_LIMIT - len("id") - len("big") - len("blob") - len("tail") - len(filler.encode()))
    item = {"id": {"S": "big"}, "blob": {"S": filler}, "tail": {"S": tail}}
    ddb.put_item(TableName=table, Item=item)
    too_big = dict(item, tail={"S": tail + "t"})
    with pytest.raises(ddb.exceptions.ClientError, match="size"):
        ddb.put_item(TableName=table, Item=too_big)  # proof that the item above is exactly at the limit
    ddb.put_item(TableName=table, Item={"id": {"S": "small"}})

    result = run_tap(catalog=selected_catalog(table))
    records = {r["id"]: r for r in result.records(table)}
    assert records["big"] == {"id": "big", "blob": filler, "tail": tail}
    assert records["small"] == {"id": "small"}


ODD_NAMES = ["with space", "dot.ted", "da-sh", "#hash", ":colon", "$dollar", 'quo"te', "back\\slash", "new\nline",
             "tab\t", "ünïcødé", "emoji 😀", "中文", "[0]", "a/b", "~tilde", "'single'", "properties", "type",
             "x" * 1000, "-", "0", "null"]


def test_odd_attribute_names_sync_exactly(ddb, make_table, run_tap, select_streams):
    table = make_table(name_prefix="odd")
    items = [{"id": {"S": f"odd{n}"}, **{name: {"S": f"{n}:{name}"} for name in ODD_NAMES},
              "nested": {"M": {name: {"N": str(n)} for name in ODD_NAMES}}} for n in range(3)]
    for item in items:
        ddb.put_item(TableName=table, Item=item)

    catalog = select_streams(run_tap("--discover").catalog, [table])
    result = run_tap(catalog=catalog)
    records = sorted(result.records(table), key=lambda r: r["id"])
    assert records == [{"id": f"odd{n}", **{name: f"{n}:{name}" for name in ODD_NAMES},
                        "nested": {name: n for name in ODD_NAMES}} for n in range(3)]
    assert "Traceback" not in result.stderr


def test_nothing_selected_warns_and_succeeds(small_table, run_tap):
    catalog = selected_catalog(small_table)
    catalog["streams"][0]["metadata"][0]["metadata"]["selected"] = False
    result = run_tap(catalog=catalog)
    assert result.records() == []
    assert any(line.startswith("WARNING No streams are selected") for line in result.stderr.splitlines())
