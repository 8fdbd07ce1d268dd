"""wire.py's repair of DynamoDB Local's untagged empty maps in stream images (`{}` for `{"M": {}}`).

Real DynamoDB always tags them; DynamoDB Local writes `{}` wherever an empty map sits: a map
value (`"e":{}`), a list's first element (`[{}`) or a later one (`,{}`), at any depth. The
repair runs only on GetRecords bodies that hold `{}` at all, so other pages cost one byte search.
"""

from __future__ import annotations

import orjson
import pytest

from tap_dynamodb.aws import wire


class _Operation:
    def __init__(self, name):
        self.name = name


def _take(body: bytes, operation: str = "GetRecords") -> dict:
    response = {"status_code": 200, "headers": {"content-type": "application/x-amz-json-1.0"}, "body": body}
    parsed: dict = {}
    wire._take_raw_body(response, parsed, _Operation(operation))
    return parsed[wire.RAW_KEY]


def _stream_body(image: dict) -> bytes:
    """A GetRecords body as DynamoDB Local writes it: compact JSON, one INSERT record."""
    record = {"eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "k"}}, "NewImage": image}}
    return orjson.dumps({"Records": [record], "NextShardIterator": "it"})


@pytest.mark.parametrize(
    "untagged, tagged",
    [
        # the item of issue 12 point 18: the only empty map sits in a list in a list
        ({"a": {"M": {"x": {"L": [{"L": [{}]}]}}}}, {"a": {"M": {"x": {"L": [{"L": [{"M": {}}]}]}}}}),
        ({"l": {"L": [{}]}}, {"l": {"L": [{"M": {}}]}}),
        ({"l": {"L": [{"S": "s"}, {}, {"N": "1"}, {}]}}, {"l": {"L": [{"S": "s"}, {"M": {}}, {"N": "1"}, {"M": {}}]}}),
        ({"l": {"L": [{"M": {"m": {"L": [{"L": [{}]}]}}}]}}, {"l": {"L": [{"M": {"m": {"L": [{"L": [{"M": {}}]}]}}}]}}),
        ({"e": {}}, {"e": {"M": {}}}),
        ({"m": {"M": {"e": {}, "l": {"L": [{}]}}}}, {"m": {"M": {"e": {"M": {}}, "l": {"L": [{"M": {}}]}}}}),
    ],
)
def test_every_untagged_empty_map_of_a_stream_image_is_tagged(untagged, tagged):
    image = {"id": {"S": "k"}, **untagged}
    raw = _take(_stream_body(image))
    assert raw["Records"][0]["dynamodb"]["NewImage"] == {"id": {"S": "k"}, **tagged}


def test_old_images_and_keys_are_repaired_too():
    record = {
        "eventName": "MODIFY",
        "dynamodb": {"Keys": {"id": {"S": "k"}}, "OldImage": {"id": {"S": "k"}, "l": {"L": [{}]}}, "NewImage": {}},
    }
    raw = _take(orjson.dumps({"Records": [record]}))
    assert raw["Records"][0]["dynamodb"]["OldImage"]["l"] == {"L": [{"M": {}}]}


def test_pages_without_an_empty_object_are_not_walked(monkeypatch):
    def must_not_run(_answer):
        raise AssertionError("repair_empty_maps walked a page that needs no repair")

    monkeypatch.setattr(wire, "repair_empty_maps", must_not_run)
    image = {"id": {"S": "k"}, "l": {"L": [{"S": "s"}, {"M": {"n": {"N": "1"}}}]}}
    raw = _take(_stream_body(image))
    assert raw["Records"][0]["dynamodb"]["NewImage"] == image


def test_scan_pages_are_left_as_they_are():
    # a Scan never has untagged maps; an empty object there is left for the decoder to refuse
    raw = _take(orjson.dumps({"Items": [{"id": {"S": "k"}, "l": {"L": [{}]}}], "Count": 1}), "Scan")
    assert raw["Items"][0]["l"] == {"L": [{}]}
