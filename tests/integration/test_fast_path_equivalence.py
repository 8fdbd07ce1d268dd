"""The fast path (raw body → orjson → exact Fragments) writes the same records as the
straightforward path: boto3 parses the Scan, TypeDeserializer makes Decimals, binary becomes
base64 and sets become lists.

Compared after parsing the tap's JSON lines with Decimal, value by value with JSON types kept
apart (true is not 1), on a corpus of every DynamoDB type and edge value.
"""

from __future__ import annotations

import base64
import decimal

import orjson
import pytest
from boto3.dynamodb.types import TypeDeserializer

from devtools.tap_runner import parse_message
from tap_dynamodb.aws import wire
from tap_dynamodb.values.decode import decode_items
from tests.helpers import batch_write, scan_all

EDGE_NUMBERS = [
    "0",
    "1",
    "-1",
    "100",
    "1.5",
    "-273.15",
    "0.000001",
    "12345678901234567890123456789012345678",  # 38 significant digits
    "-12345678901234567890123456789012345678",
    "0.12345678901234567890123456789012345678",
    "123456789012345678.90123456789012345678",
    "1E-130",
    "-1E-130",  # smallest magnitude
    "9.99E+125",
    "-9.99E+125",  # largest magnitude (126 digits)
    "1E+2",
    "2.50",  # DynamoDB stores them normalised
]
EDGE_STRINGS = [
    "",
    "plain",
    "Zürich ✓ 日本語 🎉",
    'quote " backslash \\ slash /',
    "new\nline\ttab\r",
    "\u0001\u001f control",
    "\u2028\u2029 separators",
    '{"N": "1"} looks typed',
]
EDGE_BINARY = [b"", b"\x00", b"\xff\xfe\x00\x01binary", bytes(range(256))]


# Empty maps that sit only inside lists, at several depths: a stream page holding only these
# has no `:{}` in its body, only `[{}` and `,{}` (DynamoDB Local writes each of them untagged).
EMPTY_MAPS_IN_LISTS = [
    {"id": {"S": "empty-map-in-list-in-list"}, "a": {"M": {"x": {"L": [{"L": [{"M": {}}]}]}}}},
    {
        "id": {"S": "empty-maps-in-lists"},
        "l": {"L": [{"M": {}}, {"S": "s"}, {"M": {}}, {"L": [{"N": "1"}, {"M": {}}]}]},
    },
    {"id": {"S": "empty-map-deep-in-list"}, "l": {"L": [{"M": {"m": {"L": [{"L": [{"L": [{"M": {}}]}]}]}}}]}},
]


def corpus() -> list:
    """Items (boto3 low-level form) covering every type and edge value."""
    items = []
    for i, text in enumerate(EDGE_NUMBERS):
        items.append({"id": {"S": f"n{i}"}, "value": {"N": text}, "as_list": {"L": [{"N": text}]}})
    for i, text in enumerate(EDGE_STRINGS):
        items.append({"id": {"S": f"s{i}"}, "value": {"S": text}, f"name {text[:8]}": {"BOOL": True}})
    for i, data in enumerate(EDGE_BINARY):
        items.append({"id": {"S": f"b{i}"}, "value": {"B": data}})
    items += [
        {
            "id": {"S": "sets"},
            "ss": {"SS": ["a", "Zürich", "🎉", "x y"]},
            "ns": {"NS": EDGE_NUMBERS[:15]},
            "bs": {"BS": [b"\x00", b"\xff", b"abc"]},
        },
        {
            "id": {"S": "scalars"},
            "t": {"BOOL": True},
            "f": {"BOOL": False},
            "null": {"NULL": True},
            "one": {"N": "1"},
            "true_text": {"S": "true"},
        },
        {
            "id": {"S": "nested"},
            "m": {
                "M": {
                    "empty_map": {"M": {}},
                    "empty_list": {"L": []},
                    "deep": {
                        "M": {
                            "list": {
                                "L": [
                                    {"M": {"n": {"N": "9.99E+125"}, "b": {"B": b"\x01\x02"}}},
                                    {"L": [{"NULL": True}, {"BOOL": False}, {"S": ""}]},
                                    {"NS": ["1", "-1E-130"]},
                                    {"SS": ["s"]},
                                ]
                            }
                        }
                    },
                    "ünï": {"S": "cödé"},
                }
            },
        },
        *EMPTY_MAPS_IN_LISTS,
        # Attributes named like type tags: the page-level number check must send these down
        # the number-by-number path, and they must still decode right.
        {
            "id": {"S": "tag-names"},
            "N": {"N": "5"},
            "NS": {"S": "not a set"},
            "M": {"M": {"S": {"N": "-0.5"}, "N": {"S": "x"}}},
        },
    ]
    return items


class _ReferenceDeserializer(TypeDeserializer):
    """The straightforward path: Decimal numbers, base64 binary, sets as lists in wire order.

    Numbers use plain Decimal(text): boto3's own 38-digit context raises Rounded on the
    126-digit text DynamoDB returns for 9.99E+125."""

    def _deserialize_n(self, value):
        return decimal.Decimal(value)

    def _deserialize_b(self, value):
        return base64.b64encode(bytes(value)).decode("ascii")

    def _deserialize_ns(self, value):
        return [self._deserialize_n(v) for v in value]

    def _deserialize_ss(self, value):
        return list(value)

    def _deserialize_bs(self, value):
        return [self._deserialize_b(v) for v in value]


def reference_records(items: list) -> dict:
    deserializer = _ReferenceDeserializer()
    return {item["id"]["S"]: deserializer.deserialize({"M": item}) for item in items}


def typed(value):
    """A value with its JSON type made explicit, so that True != 1 and 1 == Decimal("1.0")."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, (int, decimal.Decimal)):
        return ("number", decimal.Decimal(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", [typed(v) for v in value])
    if isinstance(value, dict):
        return ("object", {k: typed(v) for k, v in value.items()})
    raise TypeError(f"not a JSON value: {value!r}")


@pytest.fixture
def corpus_table(make_table):
    return make_table(items=corpus(), name_prefix="corpus")


@pytest.mark.parametrize("page_size", [1, 1000])
def test_tap_records_equal_the_straightforward_path(corpus_table, ddb, run_tap, tap_config, select_streams, page_size):
    # page size 1 puts the tag-named item on a page of its own, so both the page-level and the
    # number-by-number checks are used; 1000 puts every item on one (number-by-number) page
    config = tap_config.with_(scan_page_size=page_size)
    catalog = select_streams(run_tap("--discover", config=config.path).catalog, [corpus_table])
    result = run_tap(config=config.path, catalog=catalog)
    fast = {r["id"]: r for r in result.records(corpus_table)}
    expected = reference_records(scan_all(ddb, corpus_table))
    assert len(fast) == len(corpus())
    assert sorted(fast) == sorted(expected)
    for key, record in expected.items():
        assert typed(fast[key]) == typed(record), key


def test_big_numbers_keep_every_digit(corpus_table, run_tap, tap_config, select_streams):
    catalog = select_streams(run_tap("--discover").catalog, [corpus_table])
    lines = [line for line in run_tap(catalog=catalog).stdout.split("\n") if '"RECORD"' in line]
    assert any('"value":12345678901234567890123456789012345678,' in line for line in lines)
    values = {record["id"]: record.get("value") for record in (parse_message(line)["record"] for line in lines)}
    assert values["n11"] == decimal.Decimal("1E-130")
    assert values["n14"] == decimal.Decimal("-9.99E+125")


def test_botocore_fallback_path_decodes_the_same(corpus_table, ddb):
    """When no raw body was kept (from_botocore), records are the same as on the fast path."""
    items = scan_all(ddb, corpus_table)  # a plain boto3 client: bytes and sets of botocore's making
    fallback = decode_items(wire.from_botocore(items))
    via_json = [parse_message(orjson.dumps(record).decode()) for record in fallback]
    expected = reference_records(items)
    assert {r["id"]: typed(r) for r in via_json} == {k: typed(v) for k, v in expected.items()}


@pytest.mark.parametrize("which", ["corpus", "empty maps only in lists"])
def test_stream_changes_equal_the_straightforward_path(make_table, ddb, run_tap, tap_config, select_streams, which):
    """LOG_BASED: GetRecords pages take the same fast path (page-level number check included).

    Stream images of DynamoDB Local write an empty map as {} (no "M" tag; its Scan is right),
    as a map value and as a list element at any depth: wire.repair_empty_maps tags them all, so
    the corpus keeps its empty maps. A page whose empty maps all sit in lists (no `:{}` in its
    body) is repaired too. DynamoDB Local also
    writes stream numbers in exponent form (9.99E+125): still exact JSON numbers."""
    table = make_table(stream="NEW_AND_OLD_IMAGES", name_prefix="corpus_stream")
    catalog = select_streams(run_tap("--discover").catalog, [table], "LOG_BASED")
    first = run_tap(catalog=catalog)
    items = corpus() if which == "corpus" else EMPTY_MAPS_IN_LISTS
    if which == "corpus":
        assert any("empty_map" in item.get("m", {}).get("M", {}) for item in items)
    batch_write(ddb, table, items)
    second = run_tap(catalog=catalog, state=first.last_state)
    changes = {r["id"]: r for r in second.records(table)}
    expected = reference_records(scan_all(ddb, table))
    assert sorted(changes) == sorted(expected)
    for key, record in expected.items():
        assert typed(changes[key]) == typed(record), key
