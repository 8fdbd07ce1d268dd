"""Catalog selection: top-level metadata as Stitch and Meltano write it, catalog order kept."""

from __future__ import annotations

import copy

import pytest

from tap_dynamodb.catalog.plan import FULL_TABLE, LOG_BASED, selected_streams
from tap_dynamodb.errors import TapError


def entry(name: str, keys=("id",), **top) -> dict:
    """A catalog entry shaped as discovery writes it, with extra top-level metadata."""
    metadata = {"table-key-properties": list(keys), "row-count": 3}
    metadata.update(top)
    return {
        "tap_stream_id": name,
        "stream": name,
        "table_name": name,
        "key_properties": list(keys),
        "schema": {"type": "object", "properties": {k: {"type": ["string"]} for k in keys}},
        "metadata": [
            {"breadcrumb": [], "metadata": metadata},
            {"breadcrumb": ["properties", keys[0]], "metadata": {"inclusion": "automatic"}},
        ],
    }


def test_only_streams_with_selected_true_are_planned_in_catalog_order():
    catalog = {
        "streams": [
            entry("zeta", selected=True, **{"replication-method": "FULL_TABLE"}),
            entry("alpha"),
            entry("mid", selected=False, **{"replication-method": "FULL_TABLE"}),
            entry("beta", ("pk", "sk"), selected=True, **{"replication-method": "LOG_BASED"}),
            entry("gamma", selected="True"),  # text, as some tools write it
            entry("delta", selected="false"),
        ]
    }
    plans = selected_streams(catalog)
    assert [p.stream_id for p in plans] == ["zeta", "beta", "gamma"]
    assert [p.method for p in plans] == [FULL_TABLE, LOG_BASED, FULL_TABLE]
    assert plans[1].key_properties == ["pk", "sk"]
    assert plans[1].table_name == "beta"


def test_selection_in_field_metadata_does_not_select_the_stream():
    e = entry("t")
    e["metadata"][1]["metadata"]["selected"] = True
    with pytest.raises(TapError, match=r"the catalog has 1 stream\(s\) but selects none"):
        selected_streams({"streams": [e]})


def test_an_empty_catalog_plans_nothing():
    assert selected_streams({"streams": []}) == []


def test_stream_level_selected_counts_where_the_metadata_does_not_say():
    e = entry("t")
    e["selected"] = True
    assert [p.stream_id for p in selected_streams({"streams": [e]})] == ["t"]
    e["metadata"][0]["metadata"]["selected"] = False  # the metadata wins
    with pytest.raises(TapError, match="selects none"):
        selected_streams({"streams": [e]})


@pytest.mark.parametrize("value", ["yes", 1, ["true"]])
def test_a_selected_that_is_no_boolean_is_an_error_naming_the_stream(value):
    with pytest.raises(TapError, match=r"stream t: metadata key selected must be true or false"):
        selected_streams({"streams": [entry("t", selected=value)]})


def test_default_replication_method_applies_where_the_table_offers_it():
    offers = entry(
        "with_stream", selected=True, **{"tap-dynamodb.valid-replication-methods": ["FULL_TABLE", "LOG_BASED"]}
    )
    plain = entry("without_stream", selected=True, **{"tap-dynamodb.valid-replication-methods": ["FULL_TABLE"]})
    unknown = entry("hand_written", selected=True)
    explicit = entry(
        "explicit",
        selected=True,
        **{"replication-method": "FULL_TABLE", "tap-dynamodb.valid-replication-methods": ["LOG_BASED"]},
    )
    view = entry(
        "t:idx",
        selected=True,
        **{
            "tap-dynamodb.index-name": "idx",
            "tap-dynamodb.table-name": "t",
            "tap-dynamodb.valid-replication-methods": ["FULL_TABLE"],
        },
    )
    catalog = {"streams": [offers, plain, unknown, explicit, view]}
    assert [p.method for p in selected_streams(catalog, LOG_BASED)] == [
        LOG_BASED,
        FULL_TABLE,
        FULL_TABLE,
        FULL_TABLE,
        FULL_TABLE,
    ]
    assert {p.method for p in selected_streams(catalog)} == {FULL_TABLE}


def test_missing_replication_method_defaults_to_full_table():
    plans = selected_streams({"streams": [entry("t", selected=True)]})
    assert plans[0].method == FULL_TABLE


def test_unknown_replication_method_is_a_tap_error_naming_stream_and_method():
    catalog = {"streams": [entry("orders", selected=True, **{"replication-method": "KEY_BASED"})]}
    with pytest.raises(TapError, match=r"orders.*KEY_BASED.*FULL_TABLE, LOG_BASED or INCREMENTAL"):
        selected_streams(catalog)


def test_unknown_method_on_an_unselected_stream_is_ignored():
    catalog = {"streams": [entry("a", **{"replication-method": "BOGUS"}), entry("b", selected=True)]}
    assert [p.stream_id for p in selected_streams(catalog)] == ["b"]


def test_selected_streams_does_not_modify_the_catalog():
    catalog = {"streams": [entry("t", selected=True)]}
    before = copy.deepcopy(catalog)
    selected_streams(catalog)
    assert catalog == before


@pytest.mark.parametrize(
    "catalog",
    [
        [],
        "streams",
        {},
        {"streams": {}},
        {"streams": [5]},
        {"streams": [{"stream": "no id"}]},
    ],
)
def test_malformed_catalog_is_a_tap_error(catalog):
    with pytest.raises(TapError, match="catalog"):
        selected_streams(catalog)


class _Backups:
    """A DynamoDB seam whose DescribeContinuousBackups answers from a table of outcomes (and counts calls)."""

    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.calls = []

    def describe_continuous_backups(self, table_name):
        from botocore.exceptions import ClientError

        self.calls.append(table_name)
        outcome = self.outcomes[table_name]
        if isinstance(outcome, str):
            raise ClientError({"Error": {"Code": outcome, "Message": "no"}}, "DescribeContinuousBackups")
        return outcome


def _pitr(status, earliest=None, latest=None):
    return {
        "PointInTimeRecoveryDescription": {
            "PointInTimeRecoveryStatus": status,
            "EarliestRestorableDateTime": earliest,
            "LatestRestorableDateTime": latest,
        }
    }


def test_incremental_is_offered_with_pitr_on_and_its_window_is_in_the_metadata(caplog):
    import datetime as dt

    from tap_dynamodb.catalog.discover import PitrReader, table_entry

    utc = dt.timezone.utc
    earliest, latest = dt.datetime(2026, 11, 1, tzinfo=utc), dt.datetime(2026, 12, 1, 10, 0, 5, 250000, tzinfo=utc)
    api = _Backups(
        {"on": _pitr("ENABLED", earliest, latest), "off": _pitr("DISABLED"), "denied": "AccessDeniedException"}
    )
    reader = PitrReader(api)
    table = {
        "TableName": "t",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    }
    top_on = table_entry(table, [], reader.window("on"))["metadata"][0]["metadata"]
    assert top_on["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE", "INCREMENTAL"]
    assert top_on["tap-dynamodb.pitr-status"] == "ENABLED"
    assert top_on["tap-dynamodb.pitr-earliest-restorable"] == "2026-11-01T00:00:00.000000Z"
    assert top_on["tap-dynamodb.pitr-latest-restorable"] == "2026-12-01T10:00:05.250000Z"
    top_off = table_entry(table, [], reader.window("off"))["metadata"][0]["metadata"]
    assert top_off["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE"]
    assert top_off["tap-dynamodb.pitr-status"] == "DISABLED" and "tap-dynamodb.pitr-earliest-restorable" not in top_off
    assert reader.window("denied") is None
    assert "dynamodb:DescribeContinuousBackups" in caplog.text


def test_an_endpoint_without_the_operation_is_asked_once_and_offers_no_incremental():
    from tap_dynamodb.catalog.discover import PitrReader

    api = _Backups({"a": "UnknownOperationException", "b": _pitr("ENABLED")})
    reader = PitrReader(api)
    assert reader.window("a") is None and reader.window("b") is None
    assert api.calls == ["a"]  # DynamoDB Local: not asked again for every table


def test_incremental_is_a_method_a_catalog_may_name():
    catalog = {"streams": [entry("t", selected=True, **{"replication-method": "INCREMENTAL"})]}
    assert [plan.method for plan in selected_streams(catalog)] == ["INCREMENTAL"]
