"""DynamoDB's attribute type tags, in one table that the decoders and the schema inference read.

A wire-form value is a one-member object whose key is its tag: `{"S": "a"}`, `{"N": "1.5"}`,
`{"M": {...}}`. What each tag becomes in a Singer record and in its JSON schema is said here
once; decode.py, shapes.py and schema.py derive their dispatch from these sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class TypeTag:
    tag: str
    json_type: str  # the JSON schema type of the decoded value
    as_is: bool = False  # the wire value already is the output value (strings, base64 text, booleans)
    base64: bool = False  # binary: base64 text, `contentEncoding: base64` in the schema
    element: Optional[str] = None  # sets: the tag of their elements


TYPE_TAGS: dict[str, TypeTag] = {
    t.tag: t
    for t in (
        TypeTag("S", "string", as_is=True),
        TypeTag("N", "number"),
        TypeTag("B", "string", as_is=True, base64=True),
        TypeTag("BOOL", "boolean", as_is=True),
        TypeTag("NULL", "null"),
        TypeTag("SS", "array", as_is=True, element="S"),
        TypeTag("NS", "array", element="N"),
        TypeTag("BS", "array", as_is=True, element="B"),
        TypeTag("M", "object"),
        TypeTag("L", "array"),
    )
}

ALL_TAGS: frozenset[str] = frozenset(TYPE_TAGS)
AS_IS_TAGS: frozenset[str] = frozenset(t.tag for t in TYPE_TAGS.values() if t.as_is)
"""Tags whose value is already its output value (strings, base64 text, booleans, string and binary sets)."""
NUMBER, NUMBER_SET, MAP, LIST = "N", "NS", "M", "L"
SET_ELEMENTS: dict[str, str] = {t.tag: t.element for t in TYPE_TAGS.values() if t.element}
"""Set tag → element tag: SS → S, NS → N, BS → B."""


def scalar_schema(tag: str) -> dict[str, object]:
    """The JSON schema of a scalar value with this tag (S, N, B, BOOL, NULL)."""
    spec = TYPE_TAGS[tag]
    schema: dict[str, object] = {"type": [spec.json_type]}
    if spec.base64:
        schema["contentEncoding"] = "base64"
    return schema
