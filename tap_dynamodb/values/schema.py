"""JSON schemas of DynamoDB values: inferred from items, merged (never narrowed), read back as tags.

Key attributes are typed from the table's AttributeDefinitions and required; every other
attribute is nullable, because DynamoDB items need not share attributes. Types seen are
merged into unions rather than narrowed, so a later item is never rejected by what an
earlier one looked like: N is always "number" (never "integer").

These are the schemas the decoders keep and widen, and what discovery writes to the catalog.
With number_format "string" the records carry N values as text, and `records_schema` gives the
schema those records are written under: each "number" becomes "string", with
`format: singer.decimal` where every string the schema allows is a decimal (see docs/numbers.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Optional

from .numbers import TEXT_NUMBERS
from .tags import LIST, MAP, SET_ELEMENTS, TYPE_TAGS, scalar_schema

Schema = dict[str, Any]

KEY_TYPES: dict[str, Schema] = {
    "S": {"type": "string"},
    "N": {"type": "number"},
    "B": {"type": "string", "contentEncoding": "base64"},
}
_TYPE_ORDER = ["null", "boolean", "integer", "number", "string", "object", "array"]
DECIMAL_FORMAT = "singer.decimal"
"""The JSON schema format of a string that holds a decimal number (number_format "string")."""


def types_of(schema: Schema) -> list[str]:
    """The JSON types a schema allows, as a list (`type` may be one string or a list)."""
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _type_rank(kind: str) -> int:
    return _TYPE_ORDER.index(kind) if kind in _TYPE_ORDER else len(_TYPE_ORDER)


def merge(a: Optional[Schema], b: Optional[Schema]) -> Schema:
    """The narrowest schema that accepts everything either schema accepts."""
    if not a:
        return dict(b or {})
    if not b:
        return dict(a)
    types = sorted(set(types_of(a)) | set(types_of(b)), key=_type_rank)
    out: Schema = {"type": types}
    if "object" in types:
        props = dict(a.get("properties", {}))
        for name, sub in b.get("properties", {}).items():
            props[name] = merge(props.get(name), sub)
        out["properties"] = props
    if "array" in types:
        out["items"] = merge(a.get("items"), b.get("items")) or {}
    encodings = {s.get("contentEncoding") for s in (a, b) if "string" in types_of(s)}
    if encodings == {"base64"}:
        out["contentEncoding"] = "base64"
    return out


def nullable(schema: Schema) -> Schema:
    return merge(schema, {"type": ["null"]})


def scalar_tags(schema: Optional[Schema]) -> frozenset[str]:
    """The scalar and set type tags (S, N, B, BOOL, NULL, SS, NS, BS) a schema accepts whole."""
    schema = schema or {}
    kinds = set(types_of(schema))
    tags: set[str] = set()
    for spec in TYPE_TAGS.values():
        if spec.tag in SET_ELEMENTS or spec.tag in (MAP, LIST) or spec.json_type not in kinds:
            continue
        if spec.json_type == "string" and not spec.base64 and "contentEncoding" in schema:
            continue  # a base64 string schema takes binary, not text
        tags.add(spec.tag)
    if "array" in kinds:
        element_tags = scalar_tags(schema.get("items"))
        tags.update(set_tag for set_tag, element in SET_ELEMENTS.items() if element in element_tags)
    return frozenset(tags)


def value_schema(typed: dict[str, Any]) -> Schema:
    """The schema of one wire-form attribute value."""
    ((tag, value),) = typed.items()
    if tag in SET_ELEMENTS:
        return {"type": ["array"], "items": scalar_schema(SET_ELEMENTS[tag])}
    if tag == MAP:
        return {"type": ["object"], "properties": {k: nullable(value_schema(v)) for k, v in value.items()}}
    if tag == LIST:
        items: Schema = {}
        for element in value:
            items = merge(items, value_schema(element))
        return {"type": ["array"], "items": items}
    if tag in TYPE_TAGS:
        return scalar_schema(tag)
    raise ValueError(f"unknown DynamoDB type {tag!r}")


def infer_properties(items: Iterable[dict[str, Any]]) -> dict[str, Schema]:
    """Merged, nullable property schemas of a sample of wire-form items."""
    properties: dict[str, Schema] = {}
    for item in items:
        for name, typed in item.items():
            properties[name] = merge(properties.get(name), nullable(value_schema(typed)))
    return properties


def table_schema(table: dict[str, Any], sample: Sequence[dict[str, Any]], keys: Optional[list[str]] = None) -> Schema:
    """The schema of a table (or index): typed, required keys plus inferred attributes.

    `keys` defaults to the table's key attributes; an index passes its own keys plus the
    table's. Key properties come first, in key order, then the sampled attributes.
    """
    definitions = {d["AttributeName"]: d["AttributeType"] for d in table.get("AttributeDefinitions", [])}
    if keys is None:
        keys = [k["AttributeName"] for k in table["KeySchema"]]
    inferred = infer_properties(sample)
    properties = {name: dict(KEY_TYPES[definitions[name]]) for name in keys}
    properties.update((name, sub) for name, sub in inferred.items() if name not in properties)
    return {"type": "object", "properties": properties, "required": list(keys)}


def is_open(schema: Schema) -> bool:
    """A schema without `properties` (Stitch's `{"type": "object"}`) accepts any attribute."""
    return not isinstance(schema.get("properties"), dict)


def records_schema(schema: Schema, number_format: str) -> Schema:
    """The schema of the records a stream writes: `schema` itself, or for "string" numbers as text."""
    return numbers_as_text(schema) if number_format == TEXT_NUMBERS else schema


def numbers_as_text(schema: Schema) -> Schema:
    """A copy of `schema` in which every "number" is a string: `format: singer.decimal` when the
    schema allows no other strings, a plain "string" when it does (text or binary besides numbers:
    not every value is a decimal, nor base64). Nested properties and items alike."""
    out = dict(schema)
    kinds = types_of(schema)
    if "number" in kinds:
        text_kinds = sorted((set(kinds) - {"number"}) | {"string"}, key=_type_rank)
        out["type"] = text_kinds[0] if isinstance(schema.get("type"), str) and len(text_kinds) == 1 else text_kinds
        if "string" in kinds:
            out.pop("format", None)
            out.pop("contentEncoding", None)
        else:
            out["format"] = DECIMAL_FORMAT
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {name: numbers_as_text(sub) for name, sub in properties.items()}
    items = schema.get("items")
    if isinstance(items, dict):
        out["items"] = numbers_as_text(items)
    return out


def widen_properties(into: Schema, other: Schema) -> bool:
    """Merge `other`'s properties into `into`'s, in place; True when any of them widened.

    For schemas widened elsewhere (an export reader process widens its own copy): a property
    `other` holds as `into` does is left as it is, so a schema that did not widen is not rewritten.
    """
    if is_open(into) or is_open(other):
        return False
    properties = into["properties"]
    widened = False
    for name, sub in other["properties"].items():
        mine = properties.get(name)
        if mine == sub:
            continue
        merged = merge(mine, sub)
        if mine is None or merged != merge(mine, mine):
            properties[name] = merged
            widened = True
    return widened
