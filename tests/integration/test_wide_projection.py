"""Column selection on wide tables (issue 12, point 19), against DynamoDB Local.

DynamoDB refuses a ProjectionExpression over 4 KB. The expression aliases only the names that
need it (reserved words, names DynamoDB cannot parse), so a Stitch expression goes as written;
one that still cannot fit is applied client-side: whole items are read and `Projection.apply`
keeps what DynamoDB would have kept, with one log line saying so. Either way the records are
the same.
"""

from __future__ import annotations

import json
import logging

import pytest

from tap_dynamodb.catalog import projection as projection_mod
from tap_dynamodb.catalog.projection import STITCH_NAMES_KEY, STITCH_PROJECTION_KEY
from tests.helpers import find_stream, scan_all, select_streams, top_level_metadata

CLIENT_SIDE = "projected client-side"


def _discover(run_tap, config, name):
    return select_streams(run_tap("--discover", config=config.with_(tables=[name]).path).catalog, name)


def _deselect(catalog, name, *properties):
    for md in find_stream(catalog, name)["metadata"]:
        if md["breadcrumb"] and md["breadcrumb"][-1] in properties:
            md["metadata"]["selected"] = False
    return catalog


@pytest.mark.parametrize(
    "pattern, client_side",
    [
        ("c{:03d}", False),  # 609 short names: 3,652 bytes unaliased (4,151 when every name was aliased)
        ("attribute_{:03d}", True),  # 9,133 bytes even unaliased: read whole items
    ],
)
def test_a_610_attribute_table_with_one_column_deselected(make_table, run_tap, tap_config, pattern, client_side):
    names = [pattern.format(i) for i in range(609)]
    items = [{"id": {"S": f"k{k}"}, **{name: {"N": str(i + k)} for i, name in enumerate(names)}} for k in range(3)]
    table = make_table(items=items)
    catalog = _deselect(_discover(run_tap, tap_config, table), table, names[100])

    result = run_tap(catalog=catalog)

    kept = {"id", *names} - {names[100]}
    records = sorted(result.records(table), key=lambda r: r["id"])
    assert [r["id"] for r in records] == ["k0", "k1", "k2"]
    assert all(set(r) == kept for r in records)
    assert records[2][names[608]] == 610
    (schema,) = result.schemas(table)
    assert set(schema["schema"]["properties"]) == kept
    assert (CLIENT_SIDE in result.stderr) is client_side
    assert result.stderr.count(CLIENT_SIDE) <= 1  # one line per scan, not per page or segment


def test_a_stitch_projection_of_700_short_names_goes_as_written(make_table, ddb, run_tap, tap_config):
    names = [f"{letter}{i:02d}" for letter in "abcdefg" for i in range(100)]
    expression = ", ".join(names)
    assert len(expression) == 3498  # accepted by DynamoDB as written; ~4.8 KB with every name aliased
    item = {"id": {"S": "k"}, "extra": {"S": "not projected"}, **{name: {"S": name} for name in names}}
    table = make_table(items=[item])
    catalog = _discover(run_tap, tap_config, table)
    top_level_metadata(find_stream(catalog, table))[STITCH_PROJECTION_KEY] = expression

    result = run_tap(catalog=catalog)

    (record,) = result.records(table)
    assert record == {"id": "k", **{name: name for name in names}}
    assert CLIENT_SIDE not in result.stderr
    # DynamoDB takes the expression as written (the tap's adds the key: ", id")
    assert scan_all(ddb, table, ProjectionExpression=expression) == [{name: item[name] for name in names}]


ITEMS = [
    {
        "id": {"S": "full"},
        "name": {"S": "n"},
        "date": {"S": "2024-01-01"},
        "with.dot": {"N": "1.50"},
        "s": {"S": "str"},
        "m": {
            "M": {
                "x": {"N": "12345678901234567890123456789012345678"},
                "y": {"S": "s"},
                "z": {"M": {"q": {"BOOL": True}, "r": {"NULL": True}}},
            }
        },
        "l": {"L": [{"S": "e0"}, {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}, {"S": "e2"}, {"L": [{"N": "9"}]}]},
    },
    {"id": {"S": "sparse"}, "m": {"M": {"y": {"S": "only y"}}}, "l": {"L": [{"S": "only one"}]}},
    {"id": {"S": "types differ"}, "m": {"S": "not a map"}, "l": {"M": {"a": {"N": "1"}}}, "name": {"L": []}},
] + [{"id": {"S": f"many{i}"}, "name": {"S": f"n{i}"}, "m": {"M": {"x": {"N": str(i)}}}} for i in range(40)]


@pytest.mark.parametrize(
    "expression, names",
    [
        ("#n, m.x, m.z.q, l[1].b, l[3][0], l[0], #d, #dot", {"#n": "name", "#d": "date", "#dot": "with.dot"}),
        (None, None),  # Meltano style: deselect `s` and `l`
    ],
)
def test_client_side_projection_gives_the_records_a_server_side_one_gives(
    make_table, run_tap, tap_config, sync_in_process, monkeypatch, caplog, expression, names
):
    table = make_table(items=ITEMS)
    catalog = _discover(run_tap, tap_config, table)
    if expression:
        top = top_level_metadata(find_stream(catalog, table))
        top[STITCH_PROJECTION_KEY] = expression
        top[STITCH_NAMES_KEY] = json.dumps(names)
    else:
        _deselect(catalog, table, "s", "l")
    config = tap_config.with_(scan_page_size=7, scan_segments=3)

    with caplog.at_level(logging.INFO, logger="tap_dynamodb"):
        server_side = sync_in_process(catalog, config)
        assert CLIENT_SIDE not in caplog.text
        monkeypatch.setattr(projection_mod, "MAX_EXPRESSION_LENGTH", 0)
        client_side = sync_in_process(catalog, config)
        assert caplog.text.count(CLIENT_SIDE) == 1

    def by_id(result):
        """Records with every number as its exact text (1.5 and 1.50 differ here)."""
        records = [json.loads(line, parse_float=str, parse_int=str) for line in filter(None, result.stdout.split("\n"))]
        return {m["record"]["id"]: m["record"] for m in records if m["type"] == "RECORD"}

    assert len(by_id(server_side)) == len(ITEMS)
    assert by_id(client_side) == by_id(server_side)
    assert client_side.schemas(table) == server_side.schemas(table)
    if expression:
        assert by_id(client_side)["full"]["m"] == {"x": "12345678901234567890123456789012345678", "z": {"q": True}}


ODD_NAMES = ["_a", "1a", "a-b", "a b", "a.b", "a#b", "ü", "aü", "a:b", "a[0]", "a,b", "Name", "DATE"]
PLAIN_NAMES = ["a", "A", "a_b", "a1", "x9_", "named", "N", "M", "BOOL", "S"]


def test_dynamodb_takes_every_expression_the_projection_writes(ddb, make_table):
    """Each reserved word (aliased), each odd name (aliased) and plain names (as written)."""
    words = sorted(projection_mod.RESERVED_WORDS)
    names = [word.lower() for word in words] + ODD_NAMES + PLAIN_NAMES
    item = {"id": {"S": "k"}, **{name: {"S": name} for name in names}}
    table = make_table(items=[item])
    for start in range(0, len(names), 150):
        chunk = names[start : start + 150]
        projection = projection_mod.Projection([(name,) for name in chunk])
        assert projection.server_side
        assert scan_all(ddb, table, **projection.scan_params()) == [{name: {"S": name} for name in chunk}]
    assert projection_mod.Projection([(name,) for name in PLAIN_NAMES]).names == {}
