"""The page-level number check that lets decode_items skip checking numbers one by one."""

from __future__ import annotations

import orjson
import pytest

from tap_dynamodb.values.decode import decode_items
from tap_dynamodb.values.numbers import DecodeError, numbers_are_json


@pytest.mark.parametrize(
    "body",
    [
        b'{"Items":[{"a":{"N":"1.5"},"b":{"NS":["1","-2E+5","0.000001"]}}],"Count":1}',
        b'{"Items":[{"a":{"N" : "-12345678901234567890123456789012345678" }}]}',
        b'{"Items":[{"a":{"S":"\\"N\\":\\"oops\\""}}]}',  # looks like a number key, but inside a string
        b'{"Items":[]}',
    ],
)
def test_pages_whose_numbers_are_json_pass(body):
    assert numbers_are_json(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"Items":[{"a":{"N":"01"}}]}',  # leading zero: not JSON
        b'{"Items":[{"a":{"N":"1."}}]}',
        b'{"Items":[{"a":{"N":" 1"}}]}',  # space inside the text
        b'{"Items":[{"a":{"N":"NaN"}}]}',
        b'{"Items":[{"a":{"NS":["1","+2"]}}]}',
        b'{"Items":[{"a":{"NS":[]}}]}',
        b'{"Items":[{"a":{"\\u004e":"x"}}]}',  # an escaped key would hide from the scan
        b'{"Items":[{"N":{"S":"x"}}]}',  # an attribute named N: take the careful path
    ],
)
def test_pages_with_odd_numbers_fail(body):
    assert not numbers_are_json(body)


def test_checked_and_careful_paths_agree_and_careful_path_normalises():
    body = b'{"Items":[{"a":{"N":"7"},"m":{"M":{"l":{"L":[{"NS":["1","2.5"]},{"NULL":true}]}}}}]}'
    items = orjson.loads(body)["Items"]
    assert numbers_are_json(body)
    assert (
        orjson.dumps(decode_items(items, True))
        == orjson.dumps(decode_items(items, False))
        == b'[{"a":7,"m":{"l":[[1,2.5],null]}}]'
    )
    odd = [{"a": {"N": "+1.50"}, "b": {"NS": [" 2 "]}}]
    assert orjson.dumps(decode_items(odd)) == b'[{"a":1.50,"b":[2]}]'


@pytest.mark.parametrize("value", [{"X": "1"}, {"S": "a", "N": "1"}, "text", {"N": "abc"}, {"N": "Infinity"}])
def test_invalid_values_raise_decode_error(value):
    with pytest.raises(DecodeError):
        decode_items([{"a": value}])


def test_untagged_empty_maps_in_stream_images_are_tagged():
    """DynamoDB Local writes an empty map in a stream image as {}; the fast path tags it as M."""
    from tap_dynamodb.aws import wire

    answer = {
        "Records": [
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"id": {"S": "a"}},
                    "NewImage": {
                        "id": {"S": "a"},
                        "e": {},
                        "m": {"M": {"inner": {}, "n": {"N": "1"}}},
                        "l": {"L": [{}, {"M": {"deep": {}}}, {"S": "x"}]},
                    },
                },
            }
        ]
    }
    wire.repair_empty_maps(answer)
    image = answer["Records"][0]["dynamodb"]["NewImage"]
    assert image == {
        "id": {"S": "a"},
        "e": {"M": {}},
        "m": {"M": {"inner": {"M": {}}, "n": {"N": "1"}}},
        "l": {"L": [{"M": {}}, {"M": {"deep": {"M": {}}}}, {"S": "x"}]},
    }
