"""Bad input: every case ends with one actionable `tap-dynamodb: error:` line on stderr and a
non-zero exit, never a traceback, never the configured secret, no RECORD; the cases where the tap
can carry on safely (an item at the size limit, odd attribute names, nothing selected, a bookmark
of an older stream) run correctly instead.

CASES is the one table of bad inputs. The cases marked `in_process` (config values, JSON files,
command line, catalog and state shapes: nothing that needs DynamoDB) run inside the test process
through `cli.main` in tests/unit/test_bad_input_cli.py; the others run here through the real
`tap-dynamodb` console script against DynamoDB Local, and SMOKE runs a few in-process cases through
the console script too, to prove it prints the same single line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

from devtools import tap_runner
from devtools.dynamodb_local import free_port
from tap_dynamodb.aws.retries import UNREACHABLE_ATTEMPTS

ITEMS = 12
ERROR_PREFIX = "tap-dynamodb: error:"
SECRET = "SeCrEt-never-print-"  # every run's secret starts so (see new_secret)
TABLE = "orders"  # the table a case without a table fixture names
MISSING = object()  # a config key removed, or (as config_text) a config file that does not exist
UNREACHABLE = object()  # a config endpoint_url: a loopback port nothing listens on
DEFAULT_MAX_ATTEMPTS = 10


def new_secret() -> str:
    """A secret key no other run used: the tap's secret mask lives as long as its process, and an
    in-process run must not pass because an earlier one taught the mask this test's secret."""
    return SECRET + uuid.uuid4().hex[:12]


def selected_catalog(table: str, method: str = "FULL_TABLE", selected: Any = True, **entry) -> dict:
    """A minimal tap-dynamodb catalog selecting one table, as a user or Stitch could write it."""
    stream = {
        "tap_stream_id": table,
        "stream": table,
        "table_name": table,
        "key_properties": ["id"],
        "schema": {"type": "object"},
        "metadata": [{"breadcrumb": [], "metadata": {"selected": selected, "replication-method": method}}],
    }
    stream.update(entry)
    return {"streams": [stream]}


def postgres_catalog(_table: str) -> dict:
    """A catalog as tap-postgres writes it: right shape, wrong tool."""
    return {
        "streams": [
            {
                "tap_stream_id": "shop-public-orders",
                "stream": "orders",
                "table_name": "orders",
                "schema": {"type": "object", "properties": {"id": {"type": ["integer"]}}},
                "metadata": [
                    {
                        "breadcrumb": [],
                        "metadata": {
                            "selected": True,
                            "replication-method": "FULL_TABLE",
                            "schema-name": "public",
                            "database-name": "shop",
                            "table-key-properties": ["id"],
                            "is-view": False,
                        },
                    }
                ],
            }
        ]
    }


def bookmark_state(**bookmark) -> Callable[[str], dict]:
    return lambda table: {"bookmarks": {table: dict({"version": 1700000000000}, **bookmark)}}


def stream_state(**bookmark) -> Callable[[str], dict]:
    """A LOG_BASED bookmark past the initial scan, with the given (corrupted) keys."""
    return lambda table: {
        "bookmarks": {
            table: dict(
                {"version": 1700000000000, "initial_full_table_complete": True, "last_replication_method": "LOG_BASED"},
                **bookmark,
            )
        }
    }


def log_based(table: str) -> dict:
    return selected_catalog(table, "LOG_BASED")


@dataclass
class Case:
    """One bad input: what to change, and the words the error line must contain.

    Words may name `{table}`, `{config}`, `{catalog}`, `{state}` (the files' paths) and `{endpoint}`.
    """

    name: str
    expect: tuple
    args: tuple = ("--catalog",)  # the catalog file goes after --catalog
    config: dict = field(default_factory=dict)  # key -> value (MISSING removes it, UNREACHABLE: a closed port)
    config_text: Any = None  # the config file's text or bytes instead ("{secret}" is filled in), or MISSING
    catalog: Any = selected_catalog  # dict, text, or table -> dict
    state: Any = None  # dict, text, or table -> dict
    extra_env: Optional[dict] = None
    table: Optional[str] = "small_table"  # the fixture that makes the case's table; None: no table (TABLE)
    in_process: bool = False  # pure parsing: run by tests/unit/test_bad_input_cli.py
    exit_code: int = 1
    safe: bool = False  # the tap can carry on: a WARNING with the words, then a correct run
    attempts: Optional[int] = None  # connection attempts, counted by their retry WARNINGs


def parsing(name: str, expect: tuple, **changes) -> Case:
    """A case the tap rejects before it touches AWS: no table, run in-process."""
    return Case(name, expect, table=None, in_process=True, **changes)


WRONG_TYPES = {
    "region_name": ["us-east-1"],
    "endpoint_url": {"url": "x"},
    "request_timeout": "soon",
    "aws_access_key_id": {"id": 1},
    "aws_secret_access_key": ["s"],
    "aws_session_token": {"t": 1},
    "aws_profile": ["default"],
    "account_id": {"a": 1},
    "role_name": ["r"],
    "external_id": {"e": 1},
    "proxy_account_id": ["1"],
    "proxy_role_name": {"p": 1},
    "scan_page_size": "big",
    "consistent_read": "maybe",
    "scan_segments": "many",
    "max_read_capacity_units_per_second": "fast",
    "max_attempts": 2.5,
    "tables": 5,
    "exclude_tables": [1, 2],
    "infer_schema_sample_size": {"n": 1},
    "stream_tip_empty_pages": "x",
    "use_local_dynamo": "perhaps",
    "default_replication_method": "INCREMENTAL",
}

CASES = [
    parsing(f"config-{key}-wrong-type", (key,), args=("--discover",), config={key: value})
    for key, value in WRONG_TYPES.items()
] + [
    # config files
    parsing(
        "config-missing-file", ("config file", "{config}", "does not exist"), args=("--discover",), config_text=MISSING
    ),
    parsing("config-empty", ("config file", "empty"), config_text=""),
    parsing(
        "config-malformed",
        ("config file", "{config}", "not valid JSON"),
        args=("--discover",),
        config_text='{"region_name": "us-east-1", "aws_secret_access_key": "{secret}",',
    ),
    parsing("config-not-an-object", ("config must be a JSON object",), config_text="[1, 2]"),
    parsing("config-binary", ("config file", "not valid JSON"), config_text=b"\xff\xfe\x00garbage"),
    # config values
    parsing(
        "config-region-missing",
        ("region_name is missing",),
        args=("--discover",),
        config={"region_name": MISSING},
        extra_env={"AWS_DEFAULT_REGION": ""},
    ),
    parsing("config-endpoint-not-url", ("endpoint_url", "http://"), config={"endpoint_url": "localhost:8000"}),
    parsing("config-timeout-negative", ("request_timeout", "at least"), config={"request_timeout": -5}),
    parsing("config-page-size-zero", ("scan_page_size", "at least 1"), config={"scan_page_size": 0}),
    parsing("config-max-attempts-zero", ("max_attempts", "at least 1"), config={"max_attempts": 0}),
    parsing("config-tables-bad-json", ("tables", "invalid JSON"), args=("--discover",), config={"tables": "[orders"}),
    parsing(
        "config-secret-without-key",
        ("aws_access_key_id and aws_secret_access_key",),
        args=("--discover",),
        config={"aws_access_key_id": MISSING},
    ),
    parsing("config-account-without-role", ("account_id and role_name",), config={"account_id": "1234-5678-9012"}),
    parsing("config-proxy-half", ("proxy_account_id and proxy_role_name",), config={"proxy_account_id": "123"}),
    parsing(
        "config-unknown-profile",
        ("aws_profile", "nosuchprofile"),
        args=("--discover",),
        config={"aws_access_key_id": MISSING, "aws_secret_access_key": MISSING, "aws_profile": "nosuchprofile"},
    ),
    # misspelt keys: an error naming the setting meant (other unknown keys only warn)
    parsing(
        "config-misspelt-endpoint",
        ("'endpiont_url'", "did you mean endpoint_url"),
        config={"endpiont_url": "http://127.0.0.1:1"},
    ),
    parsing(
        "config-region-for-region-name",
        ("'region'", "did you mean region_name"),
        config={"region_name": MISSING, "region": "us-east-1"},
        extra_env={"AWS_DEFAULT_REGION": ""},
    ),
    parsing("config-key-in-capitals", ("'Max_Attempts'", "did you mean max_attempts"), config={"Max_Attempts": 3}),
    parsing(
        "config-key-with-dashes", ("'scan-page-size'", "did you mean scan_page_size"), config={"scan-page-size": 10}
    ),
    # command line
    parsing("cli-no-mode", ("--discover", "--catalog"), args=(), exit_code=2),
    parsing("cli-unknown-option", ("unrecognized arguments",), args=("--catalog", "--frobnicate"), exit_code=2),
    # catalogs
    parsing("catalog-empty", ("catalog file", "empty"), catalog=""),
    parsing("catalog-malformed", ("catalog file", "{catalog}", "not valid JSON"), catalog='{"streams": ['),
    parsing("catalog-a-list", ("catalog must be a JSON object",), catalog="[]"),
    parsing("catalog-stream-without-id", ("no tap_stream_id",), catalog={"streams": [{"stream": "x"}]}),
    parsing(
        "catalog-nothing-selected",
        ("1 stream(s) but selects none", '"selected": true'),
        catalog=lambda table: selected_catalog(table, selected=False),
    ),
    parsing(
        "catalog-selected-not-a-boolean",
        ("{table}", "selected must be true or false", "'yes'"),
        catalog=lambda table: selected_catalog(table, selected="yes"),
    ),
    parsing(
        "catalog-unknown-method",
        ("{table}", "KEY_BASED", "FULL_TABLE, LOG_BASED or INCREMENTAL"),
        catalog=lambda table: selected_catalog(table, "KEY_BASED"),
    ),
    Case(
        "catalog-stream-missing-from-account",
        ("no_such_table", "does not exist", "--discover"),
        catalog=lambda _table: selected_catalog("no_such_table"),
        table=None,
    ),
    Case("catalog-from-another-tool", ("orders", "does not exist", "--discover"), catalog=postgres_catalog, table=None),
    Case("catalog-log-based-without-stream", ("LOG_BASED needs DynamoDB Streams", "FULL_TABLE"), catalog=log_based),
    Case(
        "catalog-incremental-without-a-bucket",
        ("export_s3_bucket is missing",),
        catalog=lambda table: selected_catalog(table, "INCREMENTAL"),
    ),
    Case(
        "catalog-incremental-without-exports",  # DynamoDB Local has no exports
        ("{table}", "INCREMENTAL", "does not offer", "FULL_TABLE or LOG_BASED"),
        catalog=lambda table: selected_catalog(table, "INCREMENTAL"),
        config={"export_s3_bucket": "a-bucket"},
    ),
    # states
    parsing("state-malformed", ("state file", "{state}", "not valid JSON"), state="{'bookmarks': {}}"),
    parsing("state-a-list", ("state must be a JSON object",), state="[]"),
    parsing("state-bookmarks-not-object", ("bookmarks",), state={"bookmarks": ["x"]}),
    parsing(
        "state-bookmark-not-object",
        ("state bookmark", "{table}", "remove"),
        state=lambda table: {"bookmarks": {table: "resume please"}},
    ),
    parsing("state-currently-syncing-number", ("currently_syncing",), state={"currently_syncing": 3}),
    Case(
        "state-lek-a-string",
        ("{table}", "scan bookmark", "remove bookmarks."),
        state=bookmark_state(last_evaluated_key="k5"),
    ),
    Case(
        "state-lek-bad-type-tag",
        ("scan bookmark", "remove bookmarks."),
        state=bookmark_state(last_evaluated_key={"id": {"X": "1"}}),
    ),
    Case(
        "state-lek-bad-base64",
        ("scan bookmark", "remove bookmarks."),
        state=bookmark_state(last_evaluated_key={"id": {"B": "***not base64***"}}),
    ),
    Case(
        "state-from-recreated-table",
        ("{table}", "does not match the table's key", "remove bookmarks."),
        state=bookmark_state(last_evaluated_key={"order_no": {"N": "17"}}),
    ),
    Case(
        "state-lek-wrong-key-type",
        ("{table}", "does not match the table's key", "remove bookmarks."),
        state=bookmark_state(last_evaluated_key={"id": {"N": "5"}}),
    ),
    Case(
        "state-version-not-number",
        ("version", "remove bookmarks."),
        state=bookmark_state(version="v2", last_evaluated_key={"id": {"S": "i03"}}),
    ),
    Case(
        "state-shard-bookmarks-not-object",
        ("shard_seq_numbers", "remove bookmarks."),
        table="stream_table",
        catalog=log_based,
        state=stream_state(shard_seq_numbers="abc"),
    ),
    Case(
        "state-shard-sequence-not-text",
        ("shard_seq_numbers", "remove bookmarks."),
        table="stream_table",
        catalog=log_based,
        state=stream_state(shard_seq_numbers={"shardId-00000001700000000000-abcdef12": 17}),
    ),
    Case(
        "state-shard-from-another-stream",
        ("no longer in the stream", "re-replicating"),
        table="stream_table",
        safe=True,
        catalog=log_based,
        state=stream_state(shard_seq_numbers={"shardId-00000001700000000000-abcdef12": "000000000000000000017"}),
    ),
    Case(
        "state-finished-shards-not-list",
        ("finished_shards", "remove bookmarks."),
        table="stream_table",
        catalog=log_based,
        state=stream_state(finished_shards=5),
    ),
    Case(
        "state-from-an-older-stream",
        ("stream changed", "re-replicating"),
        table="stream_table",
        safe=True,
        catalog=log_based,
        state=lambda table: stream_state(
            stream_arn=f"arn:aws:dynamodb:ddblocal:000000000000:table/{table}/stream/2020-01-01T00:00:00.000"
        )(table),
    ),
    Case("state-segments-not-number", ("scan_segments", "remove"), state=bookmark_state(scan_segments="two")),
    Case(
        "state-segment-keys-not-object",
        ("segment_keys", "remove"),
        state=bookmark_state(scan_segments=2, segment_keys=["a"]),
    ),
    Case(
        "state-finished-segments-not-list",
        ("finished_segments", "remove"),
        state=bookmark_state(scan_segments=2, finished_segments=7),
    ),
    # the endpoint: a refused connection before any answer is a wrong endpoint, so the default budget
    # of max_attempts (10) is not spent: UNREACHABLE_ATTEMPTS tries, then the line
    Case(
        "endpoint-refusing-connections-discover",
        ("cannot connect to {endpoint}", "endpoint_url"),
        args=("--discover",),
        config={"endpoint_url": UNREACHABLE, "request_timeout": 5},
        table=None,
        attempts=UNREACHABLE_ATTEMPTS,
    ),
    Case(
        "endpoint-refusing-connections-sync",
        ("cannot connect to {endpoint}", "endpoint_url"),
        config={"endpoint_url": UNREACHABLE, "request_timeout": 5},
        table=None,
        attempts=UNREACHABLE_ATTEMPTS,
    ),
]
BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"

# In-process cases that also run through the real console script: a bad config, a bad catalog, bad arguments.
SMOKE = ("config-malformed", "catalog-unknown-method", "cli-unknown-option")


def as_file(value: Any, table: str, path: Path) -> str:
    """A case's input as a file: built for the table when a function, JSON when a dict, else raw text."""
    if callable(value):
        value = value(table)
    if isinstance(value, str):
        value = value.encode()
    path.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
    return str(path)


def case_command(
    case: Case, base_config: dict[str, Any], table: str, secret: str, directory: Path
) -> tuple[str, list, tuple]:
    """Write the case's files: (config path, the other arguments, the words with their values filled in)."""
    values = {"table": table, "endpoint": ""}
    config = dict(base_config, aws_secret_access_key=secret)
    for key, value in case.config.items():
        if value is MISSING:
            config.pop(key, None)
        elif value is UNREACHABLE:
            config[key] = values["endpoint"] = f"http://127.0.0.1:{free_port()}"
        else:
            config[key] = value
    config_path = directory / "bad-config.json"
    if case.config_text is MISSING:
        config_path = directory / "nowhere" / "config.json"
    elif case.config_text is not None:
        text = case.config_text.replace("{secret}", secret) if isinstance(case.config_text, str) else case.config_text
        as_file(text, table, config_path)
    else:
        as_file(config, table, config_path)
    values["config"] = str(config_path)
    args = list(case.args)
    if "--catalog" in args:
        values["catalog"] = as_file(case.catalog, table, directory / "bad-catalog.json")
        args.insert(args.index("--catalog") + 1, values["catalog"])
    if case.state is not None:
        values["state"] = as_file(case.state, table, directory / "bad-state.json")
        args += ["--state", values["state"]]
    words = []
    for word in case.expect:
        for name, value in values.items():
            word = word.replace("{" + name + "}", value)
        words.append(word)
    return str(config_path), args, tuple(words)


def assert_one_error_line(result, *words: str, exit_code: int = 1, records: int = 0) -> str:
    """The exit code; exactly one error line, the last on stderr, naming every word; no traceback; no
    secret anywhere; stdout only Singer messages, with `records` RECORD messages among them."""
    assert result.returncode == exit_code, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, result.stderr[-3000:]
    assert lines[-1] == errors[0]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    assert SECRET not in result.stdout and SECRET not in result.stderr
    assert not result.bad_lines, result.bad_lines[:5]
    assert len(result.of_type("RECORD")) == records
    return errors[0]


def assert_attempts(result, attempts: int) -> None:
    """`attempts` connection attempts: one retry WARNING for each after the first, each naming the real
    budget (an endpoint that never answered gets UNREACHABLE_ATTEMPTS, not max_attempts)."""
    retries = [line for line in result.stderr.splitlines() if "retrying, attempt" in line]
    assert len(retries) == attempts - 1, result.stderr[-3000:]
    budget = min(UNREACHABLE_ATTEMPTS, DEFAULT_MAX_ATTEMPTS)
    assert [line.rsplit("attempt ", 1)[1] for line in retries] == [f"{n} of {budget}" for n in range(2, attempts + 1)]


@pytest.fixture
def stream_table(make_table):
    return make_table(
        stream="NEW_AND_OLD_IMAGES", items=[{"id": {"S": f"i{n:02d}"}} for n in range(ITEMS)], name_prefix="badlog"
    )


@pytest.fixture
def small_table(make_table):
    return make_table(items=[{"id": {"S": f"i{n:02d}"}, "v": {"N": str(n)}} for n in range(ITEMS)], name_prefix="bad")


def run_console_script(case: Case, request, tap_config, tmp_path) -> tap_runner.TapResult:
    """Run a case through the installed `tap-dynamodb` script, as a user runs it."""
    table = request.getfixturevalue(case.table) if case.table else TABLE
    config, args, words = case_command(case, tap_config, table, new_secret(), tmp_path)
    try:
        result = tap_runner.run_tap(
            *args,
            config=config,
            workdir=tmp_path / "runs",
            extra_env=case.extra_env,
            timeout=120,
            prefer_console_script=True,
        )
    except tap_runner.TapTimeout as exc:
        pytest.fail(str(exc), pytrace=False)
    assert Path(result.args[0]).name == "tap-dynamodb", result.args  # the console script, not python -m
    if case.safe:
        assert result.returncode == 0, result.failure_message()
        warnings = [
            line
            for line in result.stderr.splitlines()
            if line.startswith("WARNING") and all(word in line for word in words)
        ]
        assert len(warnings) == 1, result.stderr
        assert sorted(r["id"] for r in result.records()) == [f"i{n:02d}" for n in range(ITEMS)]
        assert not result.bad_lines
        assert SECRET not in result.stdout and SECRET not in result.stderr
    else:
        assert_one_error_line(result, *words, exit_code=case.exit_code)
    if case.attempts is not None:
        assert_attempts(result, case.attempts)
    return result


AWS_CASES = [case for case in CASES if not case.in_process]


@pytest.mark.parametrize("case", AWS_CASES, ids=[case.name for case in AWS_CASES])
def test_bad_input_gives_one_actionable_line(case, request, tap_config, tmp_path):
    run_console_script(case, request, tap_config, tmp_path)


@pytest.mark.parametrize("name", SMOKE)
def test_console_script_prints_the_same_line_as_in_process(name, request, tap_config, tmp_path):
    run_console_script(BY_NAME[name], request, tap_config, tmp_path)


@pytest.mark.parametrize(
    "code, words",
    [
        ("unrecognized_client", ("refused the credentials", "UnrecognizedClientException", "check the access keys")),
        ("access_denied", ("AccessDeniedException", "dynamodb:")),
    ],
)
@pytest.mark.parametrize("mode", ["--discover", "--catalog"])
def test_wrong_credentials(mode, code, words, small_table, run_tap, tap_config, fault_proxy, tmp_path):
    """DynamoDB Local takes any key, so the proxy answers as AWS does for a bad or powerless key."""
    proxy = fault_proxy(rule=lambda _op, _n: code)
    args = [mode] + ([as_file(selected_catalog, small_table, tmp_path / "c.json")] if mode == "--catalog" else [])
    config = tap_config.with_(endpoint_url=proxy.url, aws_secret_access_key=new_secret())
    assert_one_error_line(run_tap(*args, config=config, check=False), *words)
    assert len(proxy.log) == 1, "credential errors are not retried"


def test_table_deleted_mid_sync(ddb, small_table, run_tap, tap_config, fault_proxy):
    scans = []

    def delete_before_third_scan(operation, _number):
        if operation == "Scan":
            scans.append(operation)
            if len(scans) == 3:
                ddb.delete_table(TableName=small_table)  # a real delete: DynamoDB Local answers the Scan
        return "pass"

    proxy = fault_proxy(rule=delete_before_third_scan)
    config = tap_config.with_(
        endpoint_url=proxy.url, scan_page_size=3, scan_segments=1, aws_secret_access_key=new_secret()
    )
    result = run_tap(config=config, catalog=selected_catalog(small_table), check=False)
    assert_one_error_line(result, small_table, "no longer exists", "--discover", records=6)
    assert len(result.records(small_table)) == 6
    assert result.last_state["bookmarks"][small_table]["last_evaluated_key"] == {
        "id": {"S": result.records()[-1]["id"]}
    }


def test_secret_is_not_printed_even_at_debug_level(run_tap, tap_config, make_table):
    name = make_table(items=[{"id": {"S": f"i{i}"}} for i in range(3)])
    result = run_tap(
        "--log-level",
        "DEBUG",
        config=tap_config.with_(aws_secret_access_key=new_secret()),
        catalog=selected_catalog(name),
    )
    assert len(result.records(name)) == 3
    assert "DEBUG" in result.stderr  # botocore's request logging really ran
    assert SECRET not in result.stdout and SECRET not in result.stderr


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


ODD_NAMES = [
    "with space",
    "dot.ted",
    "da-sh",
    "#hash",
    ":colon",
    "$dollar",
    'quo"te',
    "back\\slash",
    "new\nline",
    "tab\t",
    "ünïcødé",
    "emoji 😀",
    "中文",
    "[0]",
    "a/b",
    "~tilde",
    "'single'",
    "properties",
    "type",
    "x" * 1000,
    "-",
    "0",
    "null",
]


def test_odd_attribute_names_sync_exactly(ddb, make_table, run_tap, select_streams):
    table = make_table(name_prefix="odd")
    items = [
        {
            "id": {"S": f"odd{n}"},
            **{name: {"S": f"{n}:{name}"} for name in ODD_NAMES},
            "nested": {"M": {name: {"N": str(n)} for name in ODD_NAMES}},
        }
        for n in range(3)
    ]
    for item in items:
        ddb.put_item(TableName=table, Item=item)

    catalog = select_streams(run_tap("--discover").catalog, [table])
    result = run_tap(catalog=catalog)
    records = sorted(result.records(table), key=lambda r: r["id"])
    assert records == [
        {"id": f"odd{n}", **{name: f"{n}:{name}" for name in ODD_NAMES}, "nested": dict.fromkeys(ODD_NAMES, n)}
        for n in range(3)
    ]
    assert "Traceback" not in result.stderr


def test_an_empty_catalog_warns_and_succeeds(run_tap):
    result = run_tap(catalog={"streams": []})
    assert result.records() == []
    assert any(line.startswith("WARNING The catalog has no streams") for line in result.stderr.splitlines())


@pytest.mark.parametrize("where", ["metadata", "stream entry"])
def test_selected_as_text_or_on_the_stream_entry_selects(where, small_table, run_tap):
    """`"selected": "true"` (a string, as some tools write it) and stream-level `selected` (older Singer
    catalogs) select the stream."""
    catalog = selected_catalog(small_table)
    top = catalog["streams"][0]["metadata"][0]["metadata"]
    if where == "metadata":
        top["selected"] = "true"
    else:
        del top["selected"]
        catalog["streams"][0]["selected"] = True
    assert len(run_tap(catalog=catalog).records(small_table)) == ITEMS


@pytest.mark.parametrize("missing", [True, False], ids=["missing", "empty"])
def test_a_missing_or_empty_state_file_is_a_first_run(missing, small_table, run_tap, tap_config, tmp_path):
    """What Singer runners hand a first run; the README's first pipeline passes --state from the start."""
    state = tmp_path / "state.json"
    if not missing:
        state.write_text("")
    result = run_tap(config=tap_config, catalog=selected_catalog(small_table), state=state)
    assert len(result.records(small_table)) == ITEMS
    assert any(
        line.startswith(f"WARNING State file {state}") and "first run" in line for line in result.stderr.splitlines()
    )


@pytest.mark.parametrize("mode, words", [("--discover", None), ("--test", "connection OK"), ("--about", None)])
def test_discover_test_and_about_win_over_a_catalog(mode, words, small_table, run_tap, tap_config, tmp_path):
    """Meltano adds --catalog to every invocation (`meltano invoke tap-dynamodb --discover`)."""
    catalog = as_file(selected_catalog, small_table, tmp_path / "catalog.json")
    result = run_tap(mode, "--catalog", catalog, config=tap_config, check=mode != "--about")  # --about is text
    assert result.returncode == 0 and not result.records()
    if mode == "--discover":
        assert small_table in [s["tap_stream_id"] for s in result.catalog["streams"]]
    elif mode == "--about":
        assert "Capabilities:" in result.stdout
    else:
        assert words in result.stderr


def test_an_https_endpoint_on_a_plain_http_port_fails_at_once(run_tap, tap_config, endpoint_url):
    """A TLS handshake that fails is configuration: one line at once, no retries."""
    config = tap_config.with_(endpoint_url=endpoint_url.replace("http://", "https://"))
    result = run_tap("--discover", config=config, check=False)
    assert_one_error_line(result, "TLS handshake", "http://")
    assert "retrying" not in result.stderr


def test_a_bad_bookmark_of_the_last_stream_fails_the_run_before_anything_is_read(make_table, run_tap):
    """Every selected stream's bookmark is checked before the first read, not when its turn comes."""
    names = [make_table(items=[{"id": {"S": f"i{n}"}} for n in range(3)], name_prefix=f"early{k}") for k in range(2)]
    names.append(make_table(stream="NEW_AND_OLD_IMAGES", items=[{"id": {"S": "x"}}], name_prefix="early2"))
    catalog = {
        "streams": [selected_catalog(name)["streams"][0] for name in names[:2]]
        + [selected_catalog(names[2], "LOG_BASED")["streams"][0]]
    }
    state = stream_state(shard_seq_numbers={"shardId-1": 17})(names[2])
    result = run_tap(catalog=catalog, state=state, check=False)
    assert_one_error_line(result, names[2], "shard_seq_numbers", "remove bookmarks.")
    assert not result.of_type("STATE") and not result.of_type("SCHEMA")
