"""number_format against DynamoDB Local (issue 12, point 13): FULL_TABLE and LOG_BASED, both formats.

`string` must write every N value (top level, in maps, lists and number sets) as the very text
that `number` writes as a JSON number literal, and type it {"type": "string", "format":
"singer.decimal"}, with a number/string union written as plain "string". `number` stays what
it was (tests/integration/test_fast_path_equivalence.py holds it to the reference decoder).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import batch_write
from tests.integration.test_fast_path_equivalence import corpus


def _records(result, table, *, numbers_as_text: bool):
    """{id: record}, with every JSON number literal kept as its text (so 1E+2 and 100 differ)."""
    out = {}
    for line in filter(None, result.stdout.split("\n")):  # not splitlines: strings hold \u2028
        kw = {"parse_float": str, "parse_int": str} if numbers_as_text else {}
        message = json.loads(line, **kw)
        if message["type"] == "RECORD" and message["stream"] == table:
            out[message["record"]["id"]] = message["record"]
    return out


def _strings_only(value):
    """True when no JSON number is left anywhere in the value."""
    if isinstance(value, dict):
        return all(_strings_only(v) for v in value.values())
    if isinstance(value, list):
        return all(_strings_only(v) for v in value)
    return not isinstance(value, (int, float)) or isinstance(value, bool)


def _last_schema(result, table):
    return result.schemas(table)[-1]["schema"]


@pytest.mark.parametrize("page_size", [1, 1000])  # 1: pages whose numbers were checked a page at a time
def test_full_table_string_numbers_are_the_digits_number_mode_writes(
    make_table, run_tap, tap_config, select_streams, page_size
):
    table = make_table(items=corpus(), name_prefix="numfmt")
    catalog = select_streams(run_tap("--discover").catalog, [table])
    as_numbers = run_tap(catalog=catalog, config=tap_config.with_(scan_page_size=page_size).path)
    as_text = run_tap(catalog=catalog, config=tap_config.with_(scan_page_size=page_size, number_format="string").path)

    expected = _records(as_numbers, table, numbers_as_text=True)
    got = _records(as_text, table, numbers_as_text=False)
    assert got == expected
    assert all(_strings_only(record) for record in got.values())
    assert got["n7"]["value"] == "12345678901234567890123456789012345678"
    assert {"0", "1", "-1", "-273.15"} <= set(got["sets"]["ns"])  # a set, in DynamoDB's order
    assert got["nested"]["m"]["deep"]["list"][0]["n"] == expected["nested"]["m"]["deep"]["list"][0]["n"]

    properties = _last_schema(as_text, table)["properties"]
    assert properties["as_list"] == {
        "type": ["null", "array"],
        "items": {"type": ["string"], "format": "singer.decimal"},
    }
    assert properties["ns"]["items"] == {"type": ["string"], "format": "singer.decimal"}
    # `value` is N, S and B across items: a string, neither all decimals nor all base64
    assert properties["value"] == {"type": ["null", "string"]}
    assert properties["one"] == {"type": ["null", "string"], "format": "singer.decimal"}
    assert properties["t"] == {"type": ["null", "boolean"]}
    schema_numbers = _last_schema(as_numbers, table)["properties"]
    assert schema_numbers["value"]["type"] == ["null", "number", "string"]  # number mode as before


def test_number_keys_and_log_based_changes_as_text(make_table, ddb, run_tap, tap_config, select_streams):
    table = make_table(hash_key=("id", "N"), stream="NEW_AND_OLD_IMAGES", name_prefix="numfmt_stream")
    batch_write(ddb, table, [{"id": {"N": "1"}, "v": {"N": "1.5"}}])
    config = tap_config.with_(number_format="string")
    catalog = select_streams(run_tap("--discover").catalog, [table], "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    assert first.records(table) == [{"id": "1", "v": "1.5"}]
    (schema,) = first.schemas(table)
    assert schema["schema"]["properties"]["id"] == {"type": "string", "format": "singer.decimal"}
    assert schema["schema"]["properties"]["v"] == {"type": ["null", "string"], "format": "singer.decimal"}

    batch_write(
        ddb,
        table,
        [
            {"id": {"N": "12345678901234567890123456789012345678"}, "v": {"N": "9.99E+125"}},
            {"id": {"N": "2"}, "v": {"S": "now text"}, "m": {"M": {"x": {"NS": ["1E-130"]}}}},
        ],
    )
    ddb.delete_item(TableName=table, Key={"id": {"N": "1"}})
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    changes = {r["id"]: r for r in second.records(table)}
    assert set(changes) == {"1", "2", "12345678901234567890123456789012345678"}
    assert isinstance(changes["12345678901234567890123456789012345678"]["v"], str)
    assert changes["2"]["v"] == "now text" and changes["2"]["m"] == {"x": ["1E-130"]}
    assert "_sdc_deleted_at" in changes["1"]
    assert all(_strings_only(record) for record in changes.values())
    written = _last_schema(second, table)["properties"]
    assert written["v"] == {"type": ["null", "string"]}  # numbers and text: a plain string
    assert written["m"]["properties"]["x"]["items"] == {"type": ["string"], "format": "singer.decimal"}
    assert written["_sdc_deleted_at"] == {"type": ["null", "string"], "format": "date-time"}
