"""The fast path: take Scan and GetRecords answers straight from the HTTP body.

DynamoDB already answers in typed JSON ("DynamoDB JSON"): numbers as exact decimal text,
binary as base64. botocore would turn every attribute value into Python objects against the
service model (bytes, str) and the tap would then turn them back into JSON; that round trip
is most of the CPU a scan costs. botocore's `before-parse` event hands us the raw response
first: for a successful Scan or GetRecords we parse the body with orjson, keep it under
RAW_KEY in the parsed response and give botocore an empty object to parse. Errors (any status
but 200) are left to botocore, so its error parsing and retry logic stay as they are.

A body shorter than its Content-Length (a connection dropped mid-response) is not taken
either: botocore then sees it, and retries.py's handlers try the call again.
If the body is not JSON (a future protocol change) nothing is intercepted and the caller falls
back to `from_botocore`, which puts botocore's values back into wire form.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from ..values.numbers import numbers_are_json
from ..values.tags import LIST, MAP

RAW_KEY = "_tap_dynamodb_raw"
NUMBERS_CHECKED_KEY = "_tap_dynamodb_numbers_checked"
FAST_OPERATIONS = ("before-parse.dynamodb.Scan", "before-parse.dynamodb-streams.GetRecords")
_EMPTY = b"{}"
# An untagged empty map is `{}` wherever it sits: a map value (`"e":{}`), a list element
# (`[{}`, `,{}`). A GetRecords body without the two bytes needs no repair walk.
_UNTAGGED_MAP = b"{}"


def _take_raw_body(
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    operation_model: Any = None,
    **_ignored: Any,
) -> None:
    if response_dict.get("status_code") != 200:
        return
    content_type = response_dict.get("headers", {}).get("content-type", "")
    if "json" not in content_type:
        return
    body = response_dict.get("body")
    if not body or not body_complete(response_dict.get("headers", {}), body):
        return  # a connection dropped mid-body: botocore's checksum check or ours retries the call
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    if _UNTAGGED_MAP in body and getattr(operation_model, "name", None) == "GetRecords":
        repair_empty_maps(raw)
    customized_response_dict[RAW_KEY] = raw
    customized_response_dict[NUMBERS_CHECKED_KEY] = numbers_are_json(body)
    response_dict["body"] = _EMPTY


def repair_empty_maps(answer: dict[str, Any]) -> None:
    """Give untagged empty maps in stream images their "M" tag, in place.

    DynamoDB Local writes an empty map in a stream image as `{}` instead of `{"M": {}}` (its
    Scan is right), as a map value and as a list element at any depth. Only bodies that hold
    `{}` are walked (see _take_raw_body), so this walk stays off every other page.
    """
    for record in answer.get("Records") or ():
        change = record.get("dynamodb") or {}
        for image in (change.get("NewImage"), change.get("OldImage"), change.get("Keys")):
            if image:
                _tag_members(image)


def _tag_members(attributes: dict[str, Any]) -> None:
    """Tag the empty maps among a map's (or an image's) typed values, at any depth."""
    for name, typed in attributes.items():
        if typed == {}:
            attributes[name] = {MAP: {}}
        else:
            _tag_nested(typed)


def _tag_nested(typed: Any) -> None:
    """Tag the empty maps inside one typed value: in its members (M) or elements (L)."""
    if not isinstance(typed, dict):
        return  # not a typed value: left for the decoder to refuse
    members = typed.get(MAP)
    if isinstance(members, dict):
        _tag_members(members)
        return
    elements = typed.get(LIST)
    if isinstance(elements, list):
        for position, element in enumerate(elements):
            if element == {}:
                elements[position] = {MAP: {}}
            else:
                _tag_nested(element)


def body_complete(headers: Mapping[str, Any], body: bytes) -> bool:
    """False when fewer bytes arrived than Content-Length promised (urllib3 does not check)."""
    expected = headers.get("content-length")
    return expected is None or not str(expected).isdigit() or int(expected) == len(body)


def install(client: Any) -> None:
    """Route the client's successful Scan/GetRecords bodies through the fast path."""
    for event in FAST_OPERATIONS:
        client.meta.events.register(event, _take_raw_body, unique_id=f"tap-dynamodb-{event}")


def raw_response(parsed: dict[str, Any]) -> dict[str, Any]:
    """The wire-form response of a call: the raw body when it was taken, else rebuilt."""
    raw = parsed.get(RAW_KEY)
    if raw is not None:
        return raw
    return from_botocore(parsed)


def numbers_checked(parsed: dict[str, Any]) -> bool:
    """True when the raw body of this response passed `decode.numbers_are_json` (see decode_items)."""
    return bool(parsed.get(NUMBERS_CHECKED_KEY))


def from_botocore(value: Any) -> Any:
    """Put botocore-parsed values back into wire form (binary as base64 text)."""
    if isinstance(value, dict):
        return {k: from_botocore(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [from_botocore(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.timestamp()
    return value


def key_for_botocore(key: dict[str, Any]) -> dict[str, Any]:
    """A wire-form key (from a bookmark) as botocore's serializer wants it: B as bytes."""
    out: dict[str, dict[str, Any]] = {}
    for name, typed in key.items():
        if not isinstance(typed, dict) or len(typed) != 1:
            raise ValueError(f"attribute {name!r} is not a typed DynamoDB value")
        ((tag, value),) = typed.items()
        if tag == "B":
            out[name] = {"B": base64.b64decode(value, validate=True)}
        elif tag in ("S", "N") and isinstance(value, str):
            out[name] = {tag: value}
        else:
            raise ValueError(f"attribute {name!r} has key type {tag!r}; keys are S, N or B")
    return out
