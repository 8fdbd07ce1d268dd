"""JSON schemas for tables, inferred from their key definitions and a sample of items.

Key attributes are typed from the table's AttributeDefinitions and required; every other
attribute is nullable, because DynamoDB items need not share attributes. Types seen in the
sample are merged into unions rather than narrowed, so a later item is never rejected by
what an earlier one looked like: N is always "number" (never "integer").
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from .decode import DoesNotFit, shaped_decoder
from .wire import key_for_botocore, raw_response

KEY_TYPES = {
    "S": {"type": "string"},
    "N": {"type": "number"},
    "B": {"type": "string", "contentEncoding": "base64"},
}

_SCALARS = {
    "S": {"type": ["string"]},
    "N": {"type": ["number"]},
    "BOOL": {"type": ["boolean"]},
    "NULL": {"type": ["null"]},
    "B": {"type": ["string"], "contentEncoding": "base64"},
}
_SET_ITEMS = {"SS": _SCALARS["S"], "NS": _SCALARS["N"], "BS": _SCALARS["B"]}


def types_of(schema: dict) -> list:
    """The JSON types a schema allows, as a list (`type` may be one string or a list)."""
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def merge(a: Optional[dict], b: Optional[dict]) -> dict:
    """The narrowest schema that accepts everything either schema accepts."""
    if not a:
        return dict(b or {})
    if not b:
        return dict(a)
    types = sorted(set(types_of(a)) | set(types_of(b)), key=_type_rank)
    out = {"type": types}
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


_TYPE_ORDER = ["null", "boolean", "integer", "number", "string", "object", "array"]


def _type_rank(kind: str) -> int:
    return _TYPE_ORDER.index(kind) if kind in _TYPE_ORDER else len(_TYPE_ORDER)


def scalar_tags(schema: Optional[dict]) -> frozenset:
    """The scalar and set type tags (S, N, B, BOOL, NULL, SS, NS, BS) a schema accepts whole."""
    kind = set(types_of(schema or {}))
    tags = set()
    if "string" in kind:
        tags.add("B")
        if "contentEncoding" not in (schema or {}):
            tags.add("S")
    for tag, json_type in (("N", "number"), ("BOOL", "boolean"), ("NULL", "null")):
        if json_type in kind:
            tags.add(tag)
    if "array" in kind:
        element_tags = scalar_tags((schema or {}).get("items"))
        tags.update(set_tag for set_tag, element in _SET_ELEMENT.items() if element in element_tags)
    return frozenset(tags)


def fits(typed: dict, schema: Optional[dict]) -> bool:
    """True when `merge(schema, value_schema(typed))` would add nothing to `schema`.

    A map key missing from `properties` or an element type missing from `items` does not
    fit: the schema must describe every attribute.
    """
    try:
        fitting_decoder(schema, str)(typed)
    except DoesNotFit:
        return False
    return True


def fitting_decoder(schema: Optional[dict], to_number: Callable) -> Callable[[dict], Any]:
    """Decodes a value the schema describes (see `fits`), else raises DoesNotFit, in one walk."""
    kind = set(types_of(schema or {}))
    members = {name: fitting_decoder(sub, to_number) for name, sub in (schema or {}).get("properties", {}).items()} \
        if "object" in kind else None
    element = fitting_decoder((schema or {}).get("items"), to_number) if "array" in kind else None
    return shaped_decoder(scalar_tags(schema), members, element, to_number)


_SET_ELEMENT = {"SS": "S", "NS": "N", "BS": "B"}


def value_schema(typed: dict) -> dict:
    """The schema of one wire-form attribute value."""
    (tag, value), = typed.items()
    if tag in _SCALARS:
        return dict(_SCALARS[tag])
    if tag in _SET_ITEMS:
        return {"type": ["array"], "items": dict(_SET_ITEMS[tag])}
    if tag == "M":
        return {"type": ["object"], "properties": {k: nullable(value_schema(v)) for k, v in value.items()}}
    if tag == "L":
        items = {}
        for element in value:
            items = merge(items, value_schema(element))
        return {"type": ["array"], "items": items}
    raise ValueError(f"unknown DynamoDB type {tag!r}")


def nullable(schema: dict) -> dict:
    return merge(schema, {"type": ["null"]})


def infer_properties(items: Iterable[dict]) -> dict:
    """Merged, nullable property schemas of a sample of wire-form items."""
    properties: dict = {}
    for item in items:
        for name, typed in item.items():
            properties[name] = merge(properties.get(name), nullable(value_schema(typed)))
    return properties


def table_schema(table: dict, sample: list, keys: Optional[list] = None) -> dict:
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


def is_open(schema: dict) -> bool:
    """A schema without `properties` (Stitch's `{"type": "object"}`) accepts any attribute."""
    return not isinstance(schema.get("properties"), dict)


def field_metadata(schema: dict, keys: list) -> list:
    """Field-level metadata: keys automatic, everything else available and selected by default."""
    out = []
    for name in schema.get("properties", {}):
        inclusion = "automatic" if name in keys else "available"
        out.append({"breadcrumb": ["properties", name],
                    "metadata": {"inclusion": inclusion, "selected-by-default": True}})
    return out


def sample_items(client, table: dict, limit: int, index_name: Optional[str] = None) -> list:
    """Up to `limit` items of a table (or index) from a bounded Scan, in wire form."""
    items: list = []
    params = {"TableName": table["TableName"]}
    if index_name:
        params["IndexName"] = index_name
    while len(items) < limit:
        params["Limit"] = min(1000, limit - len(items))
        page = raw_response(client.scan(**params))
        items.extend(page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            break
        params["ExclusiveStartKey"] = key_for_botocore(last)
    return items
