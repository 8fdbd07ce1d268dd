"""Projection.apply (used on LOG_BASED stream images) equals what DynamoDB's Scan returns."""

import pytest

from tap_dynamodb.catalog.projection import Projection, parse_expression, parse_names
from tests.helpers import scan_all

ITEMS = [
    {
        "id": {"S": "full"},
        "name": {"S": "n"},
        "s": {"S": "str"},
        "ss": {"SS": ["a", "b"]},
        "n": {"N": "1.50"},
        "m": {
            "M": {
                "x": {"N": "1"},
                "y": {"S": "s"},
                "z": {"M": {"q": {"BOOL": True}, "r": {"NULL": True}}},
                "l2": {"L": [{"N": "5"}, {"N": "6"}, {"M": {"deep": {"S": "d"}}}]},
            }
        },
        "l": {
            "L": [{"S": "e0"}, {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}, {"S": "e2"}, {"L": [{"N": "9"}, {"N": "8"}]}]
        },
        "with.dot": {"B": "AAEC"},
    },
    {"id": {"S": "sparse"}, "m": {"M": {"y": {"S": "only y"}}}, "l": {"L": [{"S": "only one"}]}},
    {"id": {"S": "types differ"}, "m": {"S": "not a map"}, "l": {"M": {"a": {"N": "1"}}}, "name": {"L": []}},
]

PROJECTIONS = [
    ("id, m.x", None),
    ("#n, m.x, m.y, m.nope", {"#n": "name"}),
    ("l[2], l[0], l[7]", None),
    ("l[1].b, l[1].a, l[3][1]", None),
    ("m.z.q, m.l2[2].deep, m.l2[0]", None),
    ("m.z, s, ss, n, #d", {"#d": "with.dot"}),
    ("s.x, ss[0], m[0], l.a, id", None),
    ("nothing_here, id", None),
]


@pytest.mark.parametrize("expression, names", PROJECTIONS)
def test_apply_matches_scan_with_the_projection_expression(ddb, make_table, expression, names):
    table = make_table(items=ITEMS)
    projection = Projection(parse_expression("t", expression, parse_names("t", names)))
    full = scan_all(ddb, table)
    scanned = scan_all(ddb, table, **projection.scan_params())
    assert len(full) == len(scanned) == len(ITEMS)
    # both scans return the items in the same order; Scan gives {} where nothing is projected
    assert [projection.apply(item) for item in full] == scanned
    assert any(scanned), "every projection here keeps something of some item"
