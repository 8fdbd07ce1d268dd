"""Compiled shape decoders (item_shapes) decode exactly what the attribute-by-attribute fitting
decoders decode, and give back (None) every item those would not take."""

import orjson
import pytest

from tap_dynamodb.values import schema as sm, shapes as item_shapes
from tap_dynamodb.values.decode import DoesNotFit, fitting_decoder
from tap_dynamodb.values.numbers import DecodeError, number
from tap_dynamodb.values.shapes import ShapeDecoder
from tests.helpers import random_items


def _schema_of(items: list) -> dict:
    return sm.infer_properties(items)


def _generic(properties: dict, item: dict, to_number) -> dict:
    """The attribute-by-attribute path: a fitting decoder per property (raises DoesNotFit)."""
    out = {}
    for name, typed in item.items():
        if name not in properties:
            raise DoesNotFit(name)
        out[name] = fitting_decoder(properties[name], to_number)(typed)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_compiled_shapes_decode_what_fitting_decoders_decode_and_refuse_what_they_refuse(seed, monkeypatch):
    monkeypatch.setattr(item_shapes, "SHAPES_PER_OBJECT", 10_000)  # random items take hundreds of shapes
    # the schema is learnt from half of the items, so the other half holds items it does not describe
    items = random_items(seed, 400)
    properties = _schema_of(items[:200])
    shapes = ShapeDecoder(properties, number)
    taken = refused = 0
    for item in items * 2:  # the second round runs functions already compiled
        try:
            expected = _generic(properties, item, number)
        except DoesNotFit:
            assert shapes.try_decode(item) is None
            refused += 1
            continue
        actual = shapes.try_decode(item)
        assert actual is not None
        assert orjson.dumps(actual) == orjson.dumps(expected)  # same values, same key order
        taken += 1
    assert taken > 100 and refused > 10


def test_same_names_with_other_tags_take_their_own_shape():
    properties = {"id": {"type": "string"}, "v": {"type": ["null", "number", "string"]}}
    shapes = ShapeDecoder(properties, number)
    items = [
        {"id": {"S": "1"}, "v": {"N": "1.50"}},
        {"id": {"S": "2"}, "v": {"S": "x"}},
        {"id": {"S": "3"}, "v": {"NULL": True}},
        {"id": {"S": "4"}, "v": {"N": "2"}},
    ]
    assert (
        orjson.dumps([shapes.try_decode(item) for item in items])
        == b'[{"id":"1","v":1.50},{"id":"2","v":"x"},{"id":"3","v":null},{"id":"4","v":2}]'
    )


def test_numbers_go_through_the_number_reader_given():
    shapes = ShapeDecoder({"n": {"type": ["number"]}, "s": {"type": ["array"], "items": {"type": ["number"]}}}, number)
    assert orjson.dumps(shapes.try_decode({"n": {"N": " 01.5"}, "s": {"NS": ["+2"]}})) == b'{"n":1.5,"s":[2]}'
    assert shapes.try_decode({"n": {"N": "NaN"}}) is None  # number() refuses it: the generic path raises


def test_malformed_values_are_given_back_to_the_generic_path():
    shapes = ShapeDecoder({"a": {"type": ["string", "object"], "properties": {}}}, number)
    for item in ({"a": {"X": "?"}}, {"a": "bare"}, {"a": {}}, {"a": {"M": "not a map"}}, {"a": 5}):
        assert shapes.try_decode(item) is None


def test_names_that_are_not_identifiers_compile_to_the_same_names():
    names = ["a'b", 'q"', "back\\slash", "new\nline", "{x}", "__import__('os')", "🎉"]
    shapes = ShapeDecoder({name: {"type": ["string"]} for name in names}, number)
    record = shapes.try_decode({name: {"S": name} for name in names})
    assert record == {name: name for name in names}


def test_more_shapes_than_the_cap_still_decode(monkeypatch):
    monkeypatch.setattr(item_shapes, "SHAPES_PER_OBJECT", 2)
    properties = {name: {"type": ["string"]} for name in "abcd"}
    shapes = ShapeDecoder(properties, number)
    items = [{name: {"S": name}} for name in "abcd"]
    assert [shapes.try_decode(item) for item in items] == [{"a": "a"}, {"b": "b"}, None, None]


def test_a_decode_error_inside_a_list_gives_the_item_back():
    shapes = ShapeDecoder({"l": {"type": ["array"], "items": {"type": ["string"]}}}, number)
    assert shapes.try_decode({"l": {"L": [{"S": "x"}, {"Q": 1}]}}) is None
    with pytest.raises(DecodeError):
        fitting_decoder({"type": ["array"], "items": {"type": ["string"]}}, number)({"L": [{"Q": 1}]})
