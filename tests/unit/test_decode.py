"""The decoder: wire-form DynamoDB JSON → record values that serialise exactly.

Every check goes through the real output path (orjson.dumps of the decoded item) and parses
the JSON back with Decimal, so a float, a rounding or an invalid number literal anywhere fails.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest

from tap_dynamodb.values.decode import decode_items, plain_value_decoder
from tap_dynamodb.values.numbers import DecodeError

decode_value = plain_value_decoder(False)  # one value, its numbers checked one by one


def decode_item(item: dict) -> dict:
    return decode_items([item])[0]


def roundtrip(item: dict) -> dict:
    """Decode an item, serialise it as the writer does, and parse it back exactly."""
    return json.loads(orjson.dumps(decode_item(item)), parse_float=Decimal, parse_int=Decimal)


def roundtrip_value(typed: dict):
    return roundtrip({"v": typed})["v"]


# -- S, B, BOOL, NULL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "plain", "ünïcödé ✓ 漢字 🙂", 'quote " backslash \\ newline \n tab \t', "\u0000nul", "x" * 5000]
)
def test_strings_are_kept_exactly(text):
    assert roundtrip_value({"S": text}) == text


@pytest.mark.parametrize("b64", ["", "AA==", "3q2+7w==", "////", "aGVsbG8gd29ybGQ="])
def test_binary_stays_the_base64_text_dynamodb_sent(b64):
    assert roundtrip_value({"B": b64}) == b64


@pytest.mark.parametrize("flag", [True, False])
def test_bool(flag):
    assert roundtrip_value({"BOOL": flag}) is flag


def test_null_becomes_json_null():
    assert orjson.dumps(decode_item({"n": {"NULL": True}})) == b'{"n":null}'


# -- N ------------------------------------------------------------------------------------

EXACT_NUMBERS = [
    "0",
    "-0",
    "1",
    "-1",
    "1.50",
    "0.0",
    "12345678901234567890123456789012345678",  # 38 significant digits
    "-12345678901234567890123456789012345678",
    "1.2345678901234567890123456789012345678",
    "0.00000000000000000000000000000000000012345678901234567890123456789012345678",
    "99999999999999999999999999999999999999",
    "1E-130",
    "-1E-130",
    "9.99E+125",
    "-9.99E+125",
    "1E+2",
    "1e2",
    "1.5E-7",
    "-2.5e+10",
    "9" * 38 + "0" * 88,  # 9.99..E+125 written out (126 digits)
    "0." + "0" * 129 + "1",  # 1E-130 written out
]


@pytest.mark.parametrize("text", EXACT_NUMBERS)
def test_numbers_keep_every_digit(text):
    value = roundtrip_value({"N": text})
    assert isinstance(value, Decimal)
    assert value == Decimal(text)  # Decimal comparison is exact: one lost digit fails


@pytest.mark.parametrize("text", ["12345678901234567890123456789012345678", "9.99E+125", "1E-130", "1.50"])
def test_dynamodb_number_text_is_written_verbatim(text):
    """DynamoDB's own (JSON-valid) text goes out as the literal: no float, no reformatting."""
    assert orjson.dumps(decode_item({"v": {"N": text}})) == b'{"v":' + text.encode() + b"}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+1", "1"),
        ("01", "1"),
        (".5", "0.5"),
        ("5.", "5"),
        (" 7 ", "7"),
        ("+1E+2", "100"),
        ("-.25", "-0.25"),
    ],
)
def test_number_forms_that_are_not_json_become_valid_exact_json(text, expected):
    raw = orjson.dumps(decode_item({"v": {"N": text}}))
    parsed = json.loads(raw, parse_float=Decimal, parse_int=Decimal)  # must be valid JSON
    assert parsed["v"] == Decimal(expected)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "abc", "", "1..2", "0x10"])
def test_invalid_number_text_is_a_decode_error(text):
    with pytest.raises(DecodeError):
        decode_value({"N": text})


def test_number_that_is_not_text_is_a_decode_error():
    with pytest.raises(DecodeError):
        decode_value({"N": 5})


# -- sets ---------------------------------------------------------------------------------


def test_sets_become_arrays_with_exact_elements():
    item = {
        "ss": {"SS": ["a", "ü", ""]},
        "ns": {"NS": ["1", "12345678901234567890123456789012345678", "1E-130", "-9.99E+125", "1.50"]},
        "bs": {"BS": ["AA==", "3q2+7w=="]},
    }
    out = roundtrip(item)
    assert out["ss"] == ["a", "ü", ""]
    assert out["ns"] == [Decimal(t) for t in item["ns"]["NS"]]
    assert out["bs"] == ["AA==", "3q2+7w=="]


# -- M and L ------------------------------------------------------------------------------


def test_maps_and_lists_of_every_type():
    item = {
        "m": {
            "M": {
                "s": {"S": "x"},
                "n": {"N": "1E-130"},
                "b": {"B": "AA=="},
                "t": {"BOOL": True},
                "z": {"NULL": True},
                "l": {"L": [{"N": "9.99E+125"}, {"S": "y"}, {"M": {}}, {"L": []}, {"NS": ["2"]}]},
                "empty": {"M": {}},
            }
        }
    }
    assert roundtrip(item) == {
        "m": {
            "s": "x",
            "n": Decimal("1E-130"),
            "b": "AA==",
            "t": True,
            "z": None,
            "l": [Decimal("9.99E+125"), "y", {}, [], [Decimal(2)]],
            "empty": {},
        }
    }


def _nested(depth: int, leaf: dict) -> dict:
    typed = leaf
    for level in range(depth):
        typed = {"M": {"k": typed}} if level % 2 else {"L": [typed]}
    return typed


def test_nesting_30_levels_keeps_the_leaf_exact():
    leaf = "12345678901234567890123456789012345678"
    value = roundtrip_value(_nested(30, {"N": leaf}))
    for level in reversed(range(30)):
        value = value["k"] if level % 2 else value[0]
    assert value == Decimal(leaf)


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [{"X": "1"}, {}, {"S": "a", "N": "1"}, "a", None, ["S", "a"]])
def test_unknown_or_malformed_attribute_value_is_a_decode_error(typed):
    with pytest.raises(DecodeError):
        decode_value(typed)


@pytest.mark.parametrize(
    "item",
    [
        {"m": {"M": {"a": {"Q": "1"}}}},
        {"l": {"L": [{"S": "ok"}, {"DATE": "2020"}]}},
        {"deep": _nested(20, {"NOPE": "x"})},
    ],
)
def test_unknown_type_nested_anywhere_is_a_decode_error(item):
    with pytest.raises(DecodeError):
        decode_item(item)
