"""Incremental-export lines → records (values/export_changes.py): the same records a stream's changes give."""

from __future__ import annotations

import copy

import orjson
import pytest

from tap_dynamodb.catalog.plan import selected_streams
from tap_dynamodb.errors import TapError
from tap_dynamodb.values.changes import DELETED_AT, DELETED_BY_TTL, ChangeDecoder
from tap_dynamodb.values.decoder import RecordDecoder
from tap_dynamodb.values.export_changes import ExportChangeDecoder, as_stream_record, micros_iso, write_micros
from tap_dynamodb.values.packed import ITEM, PackedDecoder

BIG = "12345678901234567890123456789012345678"
SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, "n": {"type": ["null", "number"]}}}
MICROS = 1_700_000_000_123_457  # an odd microsecond: a float round trip would lose it


def line(micros: int = MICROS, keys=None, new=None, old=None) -> dict:
    out: dict = {"Metadata": {"WriteTimestampMicros": {"N": str(micros)}}, "Keys": keys or {"id": {"S": "a"}}}
    if new is not None:
        out["NewImage"] = new
    if old is not None:
        out["OldImage"] = old
    return out


def _dumps(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _plain(value):
    """A record as a target reads it (numbers are orjson fragments until written)."""
    return orjson.loads(_dumps(value))


def test_micros_become_an_exact_singer_timestamp():
    assert micros_iso(MICROS) == "2023-11-14T22:13:20.123457Z"
    assert write_micros(line()) == MICROS
    with pytest.raises(TapError, match="WriteTimestampMicros"):
        write_micros({"Keys": {"id": {"S": "a"}}})


def test_upsert_is_the_new_image_with_exact_numbers_and_widening():
    decoder = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)))
    decoded = decoder.decode([line(new={"id": {"S": "a"}, "n": {"N": BIG}, "extra": {"SS": ["x"]}})])
    assert decoded.widened  # "extra" was not in the schema
    (record,) = decoded.records
    assert _dumps(record) == b'{"extra":["x"],"id":"a","n":' + BIG.encode() + b"}"
    assert DELETED_AT not in record and DELETED_BY_TTL not in record
    assert "extra" in decoder.schema["properties"]


def test_delete_with_old_image_keeps_the_last_values_and_the_write_time():
    decoder = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)), old_images=True)
    (record,) = decoder.decode([line(old={"id": {"S": "a"}, "n": {"N": "7"}})]).records
    assert _plain(record) == {"id": "a", "n": 7, DELETED_AT: "2023-11-14T22:13:20.123457Z"}
    assert DELETED_BY_TTL not in record  # an export does not say who deleted it


def test_delete_without_old_image_is_the_keys():
    decoder = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)))
    keys = {"id": {"S": "a"}, "sk": {"N": "2"}}
    (record,) = decoder.decode([line(keys=keys)]).records
    assert _plain(record) == {"id": "a", "sk": 2, DELETED_AT: "2023-11-14T22:13:20.123457Z"}


def test_same_records_as_the_stream_gives_for_the_same_changes():
    """An export line and the stream record it summarises decode alike (but the TTL flag, unknown in an export)."""
    lines = [
        line(new={"id": {"S": "a"}, "n": {"N": "1.50"}}, old={"id": {"S": "a"}, "n": {"N": "1"}}),
        line(keys={"id": {"S": "b"}}, old={"id": {"S": "b"}, "n": {"N": "-0"}}),
        line(keys={"id": {"S": "c"}}, new={"id": {"S": "c"}, "m": {"M": {"x": {"B": "AAE="}}}}),
    ]
    stream_records = []
    for one in lines:
        record = as_stream_record(one, old_images=True)
        record["dynamodb"]["ApproximateCreationDateTime"] = write_micros(one) // 1_000_000
        stream_records.append(record)
    exported = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)), old_images=True).decode(lines).records
    streamed = ChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA))).decode(stream_records).records
    for a, b in zip(exported, streamed):
        b.pop(DELETED_BY_TTL, None)
        if DELETED_AT in a:
            assert a.pop(DELETED_AT).startswith(b.pop(DELETED_AT)[:19])  # the stream's time is in seconds
        assert _dumps(a) == _dumps(b)


def test_projection_applies_to_new_and_old_images_but_keys_stay():
    def project(image):
        return {k: v for k, v in image.items() if k in ("id", "n")}

    decoder = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)), project, old_images=True)
    records = decoder.decode(
        [
            line(new={"id": {"S": "a"}, "n": {"N": "1"}, "secret": {"S": "x"}}),
            line(keys={"id": {"S": "b"}}, old={"id": {"S": "b"}, "secret": {"S": "y"}}),
        ]
    ).records
    assert _plain(records[0]) == {"id": "a", "n": 1}
    assert records[1] == {"id": "b", DELETED_AT: micros_iso(MICROS)}


def test_packed_records_carry_the_delete_columns_beside_the_keys():
    decoder = ExportChangeDecoder(PackedDecoder(copy.deepcopy(SCHEMA), ["id"], deletes=True), old_images=True)
    upsert, delete = decoder.decode(
        [line(new={"id": {"S": "a"}, "n": {"N": BIG}}), line(keys={"id": {"S": "b"}}, old={"id": {"S": "b"}})]
    ).records
    assert _dumps(upsert) == b'{"_sdc_item":{"id":"a","n":' + BIG.encode() + b'},"id":"a"}'
    assert delete == {"id": "b", ITEM: {"id": "b"}, DELETED_AT: micros_iso(MICROS)}
    assert DELETED_AT in decoder.schema["properties"]


def test_row_filter_skips_or_turns_a_leaving_row_into_a_delete():
    def matches(image):
        return image.get("n", {}).get("N") == "1"

    decoder = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)), old_images=True, matches=matches)
    records = decoder.decode(
        [
            line(keys={"id": {"S": "in"}}, new={"id": {"S": "in"}, "n": {"N": "1"}}),  # kept
            line(keys={"id": {"S": "never"}}, new={"id": {"S": "never"}, "n": {"N": "2"}}),  # INSERT outside: skip
            line(  # MODIFY that leaves the filter: a delete with the old values
                keys={"id": {"S": "left"}},
                new={"id": {"S": "left"}, "n": {"N": "2"}},
                old={"id": {"S": "left"}, "n": {"N": "1"}},
            ),
            line(keys={"id": {"S": "gone"}}, old={"id": {"S": "gone"}, "n": {"N": "5"}}),  # delete outside: skip
        ]
    ).records
    assert [r["id"] for r in records] == ["in", "left"]
    assert _plain(records[1]) == {"id": "left", "n": 1, DELETED_AT: micros_iso(MICROS)}
    assert decoder.filtered_out == 2


def test_new_image_view_reads_a_line_with_only_a_new_image_as_a_modify():
    """Without old images the tap cannot tell an insert from a modify: a row outside the filter becomes a delete."""
    decoder = ExportChangeDecoder(
        RecordDecoder(copy.deepcopy(SCHEMA)), old_images=False, matches=lambda image: "n" not in image
    )
    (record,) = decoder.decode([line(new={"id": {"S": "a"}, "n": {"N": "2"}})]).records
    assert record == {"id": "a", DELETED_AT: micros_iso(MICROS)}


def test_bad_lines_are_one_line_errors():
    decoder = ExportChangeDecoder(RecordDecoder(copy.deepcopy(SCHEMA)))
    with pytest.raises(TapError, match="no Keys"):
        decoder.decode([{"Metadata": {"WriteTimestampMicros": {"N": "1"}}}])
    with pytest.raises(TapError, match="WriteTimestampMicros"):
        decoder.decode([{"Keys": {"id": {"S": "a"}}}])  # a delete without its write time


def test_decoder_built_from_a_plan_like_the_stream_methods():
    catalog = {
        "streams": [
            {
                "tap_stream_id": "t",
                "key_properties": ["id"],
                "schema": copy.deepcopy(SCHEMA),
                "metadata": [{"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}],
            }
        ]
    }
    (plan,) = selected_streams(catalog)
    decoder = ExportChangeDecoder(RecordDecoder(plan.schema))
    decoder.decode([line(new={"id": {"S": "a"}, "new_col": {"BOOL": True}})])
    assert "new_col" in plan.schema["properties"]  # widened in place, as the plan's holders expect
