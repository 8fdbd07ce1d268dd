"""The client-side filter evaluator (values/filters.py) against DynamoDB Local's own FilterExpression.

A few hundred generated items (every type, nested maps and lists, numbers that differ only in
their notation, non-ASCII strings) and generated expressions over the whole grammar: each
expression's matches must be exactly the items DynamoDB's Scan keeps, and an expression DynamoDB
refuses must be one the tap refuses too.
"""

import base64
import random

import pytest
from botocore.exceptions import ClientError

from tap_dynamodb.catalog.reserved import RESERVED_WORDS
from tap_dynamodb.values.filters import ExpressionError, RowFilter

ITEMS = 300
EXPRESSIONS = 250

STRINGS = ["", "a", "ab", "b", "Zürich", "zz", "é", "abc"]
NUMBERS = ["0", "1", "1.0", "-1", "2.5", "10", "1E+2", "100", "12345678901234567890123456789012345678", "-0.001"]
BINARIES = [b"", b"\x00", b"\x00\x01", b"\x01", b"\xff", b"ab"]


def _scalar(rng):
    kind = rng.choice(["S", "S", "N", "N", "B", "BOOL", "NULL"])
    if kind == "S":
        return {"S": rng.choice(STRINGS)}
    if kind == "N":
        return {"N": rng.choice(NUMBERS)}
    if kind == "B":
        return {"B": rng.choice(BINARIES)}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    return {"NULL": True}


def _value(rng, depth=0):
    roll = rng.random()
    if roll < 0.55 or depth >= 2:
        return _scalar(rng)
    if roll < 0.7:
        kind = rng.choice(["SS", "NS", "BS"])
        pool = {"SS": [s for s in STRINGS if s], "NS": ["0", "1", "2.5", "10", "-1"], "BS": [b"\x00", b"\x01", b"ab"]}
        return {kind: rng.sample(pool[kind], rng.randint(1, 3))}
    if roll < 0.85:
        return {"L": [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]}
    return {"M": {name: _value(rng, depth + 1) for name in rng.sample(["x", "y", "name"], rng.randint(0, 3))}}


ATTRIBUTES = ["a", "b", "c", "m", "l"]


def _item(rng, number):
    item = {"id": {"S": f"i{number}"}}
    for name in ATTRIBUTES:
        if rng.random() < 0.8:
            item[name] = _value(rng)
    if rng.random() < 0.5:
        item["m"] = {"M": {"x": _value(rng), "name": _value(rng)}}
    if rng.random() < 0.5:
        item["l"] = {"L": [_value(rng) for _ in range(rng.randint(0, 3))]}
    return item


def _wire(value):
    """boto3's form (bytes) → the wire form (base64 text), as the tap reads it."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


class _Expression:
    def __init__(self, rng):
        self.rng = rng
        self.values = {}

    def value(self, kind=None):
        placeholder = f":v{len(self.values)}"
        if kind == "type":
            self.values[placeholder] = {
                "S": self.rng.choice(["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"])
            }
        else:
            self.values[placeholder] = _scalar(self.rng) if self.rng.random() < 0.85 else _value(self.rng, 1)
        return placeholder

    def path(self):
        rng = self.rng
        return rng.choice(
            ["a", "b", "c", "m", "l", "m.x", "m.#n", "l[0]", "l[1]", "l[0].x", "m.x[0]", "#n", "id", "nope"]
        )

    def operand(self):
        roll = self.rng.random()
        if roll < 0.45:
            return self.value()
        if roll < 0.8:
            return self.path()
        return f"size({self.path()})"

    def comparison(self):
        rng = self.rng
        left = self.path() if rng.random() < 0.75 else f"size({self.path()})"
        roll = rng.random()
        if roll < 0.45:
            return f"{left} {rng.choice(['=', '<>', '<', '<=', '>', '>='])} {self.operand()}"
        if roll < 0.6:
            return f"{left} BETWEEN {self.operand()} AND {self.operand()}"
        if roll < 0.75:
            return f"{left} IN ({', '.join(self.operand() for _ in range(rng.randint(1, 4)))})"
        function = rng.choice(["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"])
        if function in ("attribute_exists", "attribute_not_exists"):
            return f"{function}({self.path()})"
        if function == "attribute_type":
            return f"attribute_type({self.path()}, {self.value('type')})"
        return f"{function}({self.path()}, {self.operand()})"

    def condition(self, depth=0):
        rng = self.rng
        roll = rng.random()
        if depth >= 2 or roll < 0.45:
            return self.comparison()
        if roll < 0.6:
            return f"NOT {self.condition(depth + 1)}"
        if roll < 0.75:
            return f"({self.condition(depth + 1)} {rng.choice(['AND', 'OR'])} {self.condition(depth + 1)})"
        return f"{self.condition(depth + 1)} {rng.choice(['AND', 'OR', 'and', 'Or'])} {self.condition(depth + 1)}"


def _dynamodb_matches(ddb, table, expression, names, values):
    kwargs = {"TableName": table, "FilterExpression": expression}
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values
    ids = set()
    for page in ddb.get_paginator("scan").paginate(**kwargs):
        ids.update(item["id"]["S"] for item in page["Items"])
    return ids


@pytest.mark.parametrize("seed", [1, 2])
def test_client_side_filter_matches_dynamodb_local(ddb, make_table, seed):
    rng = random.Random(seed)
    items = [_item(rng, n) for n in range(ITEMS)]
    table = make_table(items=items)
    wire_items = [_wire(item) for item in items]
    checked = refused = 0
    mismatches = []
    accepted = []
    rejected = []
    for _ in range(EXPRESSIONS // 2):
        generated = _Expression(rng)
        expression = generated.condition()
        names = {"#n": "name"} if "#n" in expression else {}
        values = generated.values
        try:
            expected = _dynamodb_matches(ddb, table, expression, names, values)
        except ClientError as exc:
            refused += 1
            try:
                RowFilter(expression, names, _wire(values), frozenset(RESERVED_WORDS))
            except ExpressionError:
                continue
            accepted.append((expression, values, exc.response["Error"]["Message"]))
            continue
        try:
            row_filter = RowFilter(expression, names, _wire(values), frozenset(RESERVED_WORDS))
        except ExpressionError as exc:
            rejected.append((expression, values, str(exc)))
            continue
        got = {item["id"]["S"] for item in wire_items if row_filter.matches(item)}
        checked += 1
        if got != expected:
            mismatches.append((expression, values, sorted(got ^ expected)[:5]))
    assert not rejected, f"{len(rejected)} expressions DynamoDB takes were refused, e.g. {rejected[:3]}"
    assert not accepted, f"{len(accepted)} expressions DynamoDB refuses were accepted, e.g. {accepted[:3]}"
    assert not mismatches, f"{len(mismatches)} of {checked} expressions differ, e.g. {mismatches[:3]}"
    assert checked > EXPRESSIONS // 4, f"only {checked} expressions checked ({refused} refused)"
