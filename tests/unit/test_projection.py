"""Projection parsing (Stitch and Meltano styles), validation and client-side apply."""

import pytest

from tap_dynamodb.catalog import projection as pm
from tap_dynamodb.catalog.plan import selected_streams
from tap_dynamodb.errors import TapError


def _parse(expression, names=None):
    return pm.parse_expression("s", expression, pm.parse_names("s", names))


def test_stitch_expression_resolves_aliases_nested_paths_and_indexes():
    paths = _parse("a, m.x, l[0], #n, #d, m.l2[1][2].q", '{"#n": "name", "#d": "with.dot and space"}')
    assert paths == [("a",), ("m", "x"), ("l", 0), ("name",), ("with.dot and space",), ("m", "l2", 1, 2, "q")]
    projection = pm.Projection(paths)
    # only what needs it is aliased: the reserved word `name` and a name DynamoDB cannot parse
    assert projection.expression == "a, m.x, l[0], #p0, #p1, m.l2[1][2].q"
    assert projection.names == {"#p0": "name", "#p1": "with.dot and space"}
    assert projection.top_level_names == {"a", "m", "l", "name", "with.dot and space"}


@pytest.mark.parametrize(
    "expression, names, message",
    [
        ("a, #n", '{"#n": "name", "#x": "other"}', "defines #x but"),
        ("a, #n", '{"n": "name"}', "alias 'n'"),
        ("a", "{not json", "not valid JSON"),
        ("a, #n", None, "uses #n, which tap-dynamodb.expression-attributes does not define"),
        ("a,, b", None, "empty path"),
        ("a[x]", None, "is not valid"),
        ("m, m.x", None, "overlap"),
        ("a, a", None, "overlap"),
        ("l[0], l.a", None, "conflict"),
        ("a", '["#n"]', "must be a JSON object"),
    ],
)
def test_invalid_stitch_projections_fail_with_a_clear_message(expression, names, message):
    with pytest.raises(TapError, match=message.replace("[", r"\[")):
        pm.Projection(_parse(expression, names))


def test_aliases_without_a_projection_are_an_error():
    with pytest.raises(TapError, match=r"is set but tap-mongodb\.projection is not"):
        pm.for_stream("s", {(): {pm.STITCH_NAMES_KEY: {"#n": "name"}}}, ["id"], [])


ITEM = {
    "id": {"S": "a"},
    "m": {"M": {"x": {"N": "1"}, "y": {"S": "s"}, "l2": {"L": [{"N": "5"}, {"N": "6"}]}}},
    "l": {"L": [{"S": "e0"}, {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}, {"S": "e2"}]},
    "s": {"S": "str"},
    "ss": {"SS": ["a", "b"]},
}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("m.x", {"m": {"M": {"x": {"N": "1"}}}}),
        ("m.nope, s", {"s": {"S": "str"}}),
        ("l[2], l[0]", {"l": {"L": [{"S": "e0"}, {"S": "e2"}]}}),
        ("l[1].b", {"l": {"L": [{"M": {"b": {"N": "2"}}}]}}),
        ("l[9], s.x, ss[0], m[0]", {}),
        ("s[0], l[1].nope", {}),
        ("m.l2[1], id", {"m": {"M": {"l2": {"L": [{"N": "6"}]}}}, "id": {"S": "a"}}),
    ],
)
def test_apply_follows_dynamodb_path_semantics(expression, expected):
    assert pm.Projection(_parse(expression)).apply(ITEM) == expected


def _catalog(field_md, top=None, schema_props=("id", "name", "date", "x")):
    top_md = {"selected": True, "replication-method": "FULL_TABLE", "table-key-properties": ["id"]}
    top_md.update(top or {})
    return {
        "streams": [
            {
                "tap_stream_id": "t",
                "stream": "t",
                "key_properties": ["id"],
                "schema": {"type": "object", "properties": {p: {"type": ["null", "string"]} for p in schema_props}},
                "metadata": [{"breadcrumb": [], "metadata": top_md}]
                + [{"breadcrumb": ["properties", name], "metadata": md} for name, md in field_md.items()],
            }
        ]
    }


def test_meltano_deselected_columns_leave_the_projection_and_the_schema():
    (plan,) = selected_streams(
        _catalog(
            {
                "id": {"inclusion": "automatic", "selected": False},
                "name": {"selected": True},
                "date": {"selected": True},
                "x": {"selected": False},
            }
        )
    )
    assert plan.projection.paths == [("id",), ("name",), ("date",)]
    assert plan.projection.expression == "id, #p0, #p1"
    assert plan.projection.names == {"#p0": "name", "#p1": "date"}
    assert list(plan.schema["properties"]) == ["id", "name", "date"]


def test_nothing_deselected_means_no_projection_so_new_attributes_still_arrive():
    (plan,) = selected_streams(_catalog({"name": {"selected": True}, "x": {"selected-by-default": True}}))
    assert plan.projection is None
    assert list(plan.schema["properties"]) == ["id", "name", "date", "x"]


def test_stitch_projection_always_keeps_the_key_and_narrows_the_schema():
    (plan,) = selected_streams(
        _catalog({}, {pm.STITCH_PROJECTION_KEY: "#n, x.y", pm.STITCH_NAMES_KEY: '{"#n": "name"}'})
    )
    assert plan.projection.paths == [("name",), ("x", "y"), ("id",)]
    assert list(plan.schema["properties"]) == ["id", "name", "x"]


# --------------------------------------------------------------------------
# The expression sent to DynamoDB: aliases only where needed, and its 4 KB limit
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["name", "Name", "NAME", "date", "size", "convert", "TTL", "zone", "flattern", "percentile", "status"],
)
def test_reserved_words_are_aliased_whatever_their_case(name):
    projection = pm.Projection([(name,), ("id",)])
    assert projection.expression == "#p0, id"
    assert projection.scan_params() == {"ProjectionExpression": "#p0, id", "ExpressionAttributeNames": {"#p0": name}}


@pytest.mark.parametrize("name", ["_a", "1a", "a-b", "a b", "a.b", "a#b", "ü", "aü", "a:b", "a[0]", "a,b"])
def test_names_dynamodb_cannot_parse_are_aliased(name):
    assert pm.Projection([(name,)]).names == {"#p0": name}


@pytest.mark.parametrize("name", ["a", "A", "a_b", "a1", "x9_", "id", "N", "M", "BOOL", "named", "dates", "a__"])
def test_plain_identifiers_that_are_not_reserved_go_as_written(name):
    projection = pm.Projection([(name,)])
    assert projection.expression == name
    assert projection.scan_params() == {"ProjectionExpression": name}  # no empty ExpressionAttributeNames


def test_the_reserved_words_are_dynamodbs_list():
    assert len(pm.RESERVED_WORDS) == 573
    assert {"ABORT", "FLATTERN", "INNTER", "LOGED", "ZONE", "NAME", "DATE", "SIZE"} <= pm.RESERVED_WORDS
    assert all(word == word.upper() for word in pm.RESERVED_WORDS)


def test_a_repeated_name_gets_one_alias():
    projection = pm.Projection([("name", "x"), ("m", "name"), ("l", 0, "name")])
    assert projection.expression == "#p0.x, m.#p0, l[0].#p0"
    assert projection.names == {"#p0": "name"}


def test_a_stitch_expression_of_700_short_names_goes_to_dynamodb_as_written():
    """3,498 bytes as written (accepted by DynamoDB); aliasing every name made it about 4.8 KB."""
    names = [f"{letter}{i:02d}" for letter in "abcdefg" for i in range(100)]
    expression = ", ".join(names)
    assert len(expression) == 3498
    projection = pm.Projection(pm.parse_expression("s", expression, {}))
    assert projection.expression == expression
    assert projection.names == {}
    assert projection.server_side
    assert projection.client_side is None
    assert projection.scan_params() == {"ProjectionExpression": expression}


def test_an_expression_over_4_kb_is_applied_client_side():
    names = [f"attribute_{i:03d}" for i in range(609)]
    projection = pm.Projection([(name,) for name in names])
    assert len(projection.expression) > pm.MAX_EXPRESSION_LENGTH
    assert not projection.server_side
    assert projection.scan_params() == {}  # the scan reads whole items ...
    assert projection.client_side == projection.apply  # ... and the reader projects them
    item = {name: {"N": "1"} for name in [*names, "dropped"]}
    assert projection.apply(item) == {name: {"N": "1"} for name in names}


def test_the_limit_is_4096_characters_of_expression():
    exactly = pm.Projection([("a" * 4096,)])
    assert exactly.server_side and exactly.scan_params()["ProjectionExpression"] == "a" * 4096
    assert not pm.Projection([("a" * 4097,)]).server_side
