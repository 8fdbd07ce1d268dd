"""RecordDecoder.decode (check and decode in one walk) does exactly what a check with a
fitting decoder, widening by merge, then decode_items do in two walks."""

import io

import orjson
import pytest

from tap_dynamodb.output.writer import MessageWriter
from tap_dynamodb.values import schema as sm
from tap_dynamodb.values.decode import decode_items
from tap_dynamodb.values.decoder import RecordDecoder
from tests.helpers import fits, random_items

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "a": {"type": ["null", "string"]},
        "s": {"type": ["null", "array"], "items": {"type": ["number"]}},
        "m": {
            "type": ["null", "object"],
            "properties": {
                "x": {"type": ["null", "number"]},
                "l": {
                    "type": ["null", "array"],
                    "items": {"type": ["string", "object"], "properties": {"q": {"type": ["boolean"]}}},
                },
            },
        },
    },
}

PAGES = [
    [
        {
            "id": {"S": "1"},
            "a": {"S": "x"},
            "s": {"NS": ["1", "2.5"]},
            "m": {"M": {"x": {"N": "-1E-130"}, "l": {"L": [{"S": "v"}, {"M": {"q": {"BOOL": True}}}]}}},
        },
        {"id": {"S": "2"}, "a": {"NULL": True}, "m": {"M": {}}},
    ],
    [{"id": {"S": "3"}, "a": {"N": "5"}}, {"id": {"S": "4"}, "new": {"SS": ["q"]}, "b": {"B": "AAE="}}],
    [
        {
            "id": {"S": "5"},
            "m": {"M": {"x": {"S": "now text"}, "l": {"L": [{"M": {"q": {"BOOL": False}, "r": {"NULL": True}}}]}}},
        }
    ],
    [{"id": {"S": "6"}, "m": {"M": {"l": {"L": [{"L": [{"N": "7"}]}]}}}, "s": {"SS": ["t"]}}],
    [{"id": {"S": "7"}, "a": {"N": "8"}, "m": {"M": {"x": {"S": "fits now"}}}}],
    [{"id": {"S": "8"}, "m": {"M": {"x": {"N": "1"}, "only_new_key": {"S": "z"}}}}],
]


def _output(sync_page, pages=PAGES, schema=SCHEMA):
    out = io.BytesIO()
    writer = MessageWriter(out)
    tracker = RecordDecoder(orjson.loads(orjson.dumps(schema)))
    tracker.schemas_written = 0
    for page in pages:
        records, widened = sync_page(tracker, page)
        if widened:
            writer.schema("s", tracker.schema, ["id"])
            tracker.schemas_written += 1
        writer.records("s", records, None)
    writer.flush()
    return out.getvalue(), tracker


def _two_walks(numbers_checked):
    def two_walks(tracker, page):
        properties = tracker.schema["properties"]
        changed = False
        for item in page:
            for name, typed in item.items():
                if not fits(typed, properties.get(name)):
                    properties[name] = sm.merge(properties.get(name), sm.nullable(sm.value_schema(typed)))
                    changed = True
        return decode_items(page, numbers_checked), changed

    return two_walks


@pytest.mark.parametrize("numbers_checked", [False, True])
def test_records_writes_what_check_widen_and_decode_write(numbers_checked):
    expected, slow = _output(_two_walks(numbers_checked))
    actual, fast = _output(lambda tracker, page: tracker.decode(page, numbers_checked))
    assert actual == expected
    assert fast.schema == slow.schema and fast.schemas_written == slow.schemas_written == 4


def test_records_on_an_open_schema_only_decodes():
    tracker = RecordDecoder({"type": "object"})
    records, widened = tracker.decode([{"id": {"S": "1"}, "n": {"N": "2"}}])
    assert orjson.dumps(records) == b'[{"id":"1","n":2}]'
    assert not widened and tracker.schema == {"type": "object"}


@pytest.mark.parametrize("seed", range(4))
def test_records_of_random_shapes_with_widening_on_the_way_match_two_walks(seed):
    """Compiled shapes (item_shapes) are rebuilt whenever a page widens the schema."""
    items = random_items(seed, 600)
    pages = [items[start : start + 50] for start in range(0, len(items), 50)]
    schema = {"type": "object", "properties": sm.infer_properties(items[:20])}
    expected, slow = _output(_two_walks(True), pages, schema)
    actual, fast = _output(lambda tracker, page: tracker.decode(page, True), pages, schema)
    assert actual == expected
    assert fast.schema == slow.schema and fast.schemas_written == slow.schemas_written > 0


def test_after_widening_items_of_the_new_shape_take_the_compiled_path():
    tracker = RecordDecoder({"type": "object", "properties": {"id": {"type": "string"}}})
    item = {"id": {"S": "1"}, "new": {"M": {"x": {"N": "1"}}}}
    assert tracker._shape_decoder(True).try_decode(item) is None  # the schema does not describe it yet
    assert tracker.decode([item], True).widened
    assert orjson.dumps(tracker._shape_decoder(True).try_decode(item)) == b'{"id":"1","new":{"x":1}}'
