"""FULL_TABLE sync against DynamoDB Local: pages, bookmarks, resumes, versions, exact values.

The scan order of a table is read with a plain boto3 Scan (tests.helpers.scan_order), so that
"the records before this STATE" and "the records after this bookmark" can be checked exactly.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest

from tests import helpers

KEY = "id"


def numbered_items(count: int, prefix: str = "k") -> list[dict]:
    return [{KEY: {"S": f"{prefix}{i:04d}"}, "n": {"N": str(i)}, "pad": {"S": "x" * (i % 5)}} for i in range(count)]


def record_keys(records: list[dict], key: str = KEY) -> list[Any]:
    return [r[key] for r in records]


def records_before_each_state(result, key: str = KEY) -> list[tuple[dict, list[Any]]]:
    """(STATE value, keys of every RECORD written before it), in output order."""
    seen: list[Any] = []
    out = []
    for message in result.messages:
        if message["type"] == "RECORD":
            seen.append(message["record"][key])
        elif message["type"] == "STATE":
            out.append((message["value"], list(seen)))
    return out


def wire_key_value(typed_key: dict, key: str = KEY) -> Any:
    ((_tag, value),) = typed_key[key].items()
    return value


def types_of(result) -> list[str]:
    return [m["type"] for m in result.messages]


def activate_positions(result) -> list[int]:
    return [i for i, t in enumerate(types_of(result)) if t == "ACTIVATE_VERSION"]


def record_positions(result) -> list[int]:
    return [i for i, t in enumerate(types_of(result)) if t == "RECORD"]


# ------------------------------------------------------------------------------------------
# pages and bookmarks
# ------------------------------------------------------------------------------------------


def test_multi_page_scan_writes_every_item_once_with_a_state_after_every_page(
    ddb, make_table, tap_config, catalog_for, run_tap
):
    name = make_table(items=numbered_items(50), name_prefix="ft_pages")
    order = helpers.scan_order(ddb, name, KEY)
    config = tap_config.with_(scan_page_size=7)

    result = run_tap(config=config, catalog=catalog_for(name))

    keys = record_keys(result.records(name))
    assert keys == order  # every item, exactly once, in scan order
    page_states = [
        (s, before) for s, before in records_before_each_state(result) if s["bookmarks"][name].get("last_evaluated_key")
    ]
    assert len(page_states) == 7  # 50 items / 7 a page: 7 full pages carry a LastEvaluatedKey
    for number, (state, before) in enumerate(page_states, start=1):
        last_key = wire_key_value(state["bookmarks"][name]["last_evaluated_key"])
        # the STATE covers exactly the records written before it: the scan up to its key
        assert before == order[: order.index(last_key) + 1]
        assert len(before) == 7 * number
        assert state["currently_syncing"] == name


def test_first_run_versions_final_bookmark_and_currently_syncing(make_table, tap_config, catalog_for, run_tap):
    name = make_table(items=numbered_items(12), name_prefix="ft_first")
    result = run_tap(config=tap_config.with_(scan_page_size=5), catalog=catalog_for(name))

    activates = result.of_type("ACTIVATE_VERSION")
    version = activates[0]["version"]
    assert [a["version"] for a in activates] == [version]  # once: a first version is active from the start
    positions, records = activate_positions(result), record_positions(result)
    assert positions[0] < records[0]  # at the start, not again at the end
    assert {m["version"] for m in result.record_messages(name)} == {version}
    assert all(m.get("time_extracted") for m in result.record_messages(name))
    assert types_of(result).index("SCHEMA") < records[0]

    mid_run = [s for s in result.states() if s["bookmarks"][name].get("last_evaluated_key")]
    assert mid_run and all(s["currently_syncing"] == name for s in mid_run)
    assert all(s["bookmarks"][name]["version"] == version for s in mid_run)
    final = result.last_state
    bookmark = final["bookmarks"][name]
    assert final["currently_syncing"] is None
    assert bookmark["version"] == version
    assert bookmark["initial_full_table_complete"] is True
    assert "last_evaluated_key" not in bookmark
    assert bookmark["last_replication_method"] == "FULL_TABLE"
    assert bookmark["success_timestamp"].endswith("Z")
    assert types_of(result)[-1] == "STATE"


def test_second_complete_run_gets_a_new_version_activated_only_at_the_end(make_table, tap_config, catalog_for, run_tap):
    name = make_table(items=numbered_items(12), name_prefix="ft_second")
    config = tap_config.with_(scan_page_size=5)
    catalog = catalog_for(name)
    first = run_tap(config=config, catalog=catalog)
    first_version = first.last_state["bookmarks"][name]["version"]

    second = run_tap(config=config, catalog=catalog, state=first.last_state)

    activates = second.of_type("ACTIVATE_VERSION")
    assert len(activates) == 1
    second_version = activates[0]["version"]
    assert second_version > first_version
    assert activate_positions(second)[0] > record_positions(second)[-1]
    assert {m["version"] for m in second.record_messages(name)} == {second_version}
    assert len(second.records(name)) == 12  # a complete run re-reads the whole table
    assert second.last_state["bookmarks"][name]["version"] == second_version


def test_resume_from_a_mid_table_bookmark_continues_after_it(ddb, make_table, tap_config, catalog_for, run_tap):
    name = make_table(items=numbered_items(40), name_prefix="ft_resume")
    order = helpers.scan_order(ddb, name, KEY)
    config = tap_config.with_(scan_page_size=6)
    catalog = catalog_for(name)
    first = run_tap(config=config, catalog=catalog)
    version = first.last_state["bookmarks"][name]["version"]
    # the run "was interrupted" right after its third page's STATE
    interrupted = [s for s in first.states() if s["bookmarks"][name].get("last_evaluated_key")][2]
    resume_after = wire_key_value(interrupted["bookmarks"][name]["last_evaluated_key"])
    assert interrupted["currently_syncing"] == name

    second = run_tap(config=config, catalog=catalog, state=interrupted)

    keys = record_keys(second.records(name))
    assert keys == order[order.index(resume_after) + 1 :]  # not restarted: only the rest
    assert set(order[: order.index(resume_after) + 1]) | set(keys) == set(order)
    # an interrupted run keeps its version, and activates it only when the table is complete
    activates = second.of_type("ACTIVATE_VERSION")
    assert [a["version"] for a in activates] == [version]
    assert activate_positions(second)[0] > record_positions(second)[-1]
    assert {m["version"] for m in second.record_messages(name)} == {version}
    final = second.last_state["bookmarks"][name]
    assert final["version"] == version and final["initial_full_table_complete"] is True
    assert "last_evaluated_key" not in final


@pytest.mark.parametrize("with_method", [True, False], ids=["with-last-method", "bare"])
def test_a_hand_written_stitch_state_resumes(ddb, make_table, tap_config, catalog_for, run_tap, with_method):
    name = make_table(items=numbered_items(30), name_prefix="ft_stitch")
    order = helpers.scan_order(ddb, name, KEY)
    bookmark = {"version": 1600000000000, "last_evaluated_key": {KEY: {"S": order[11]}}}
    if with_method:
        bookmark["last_replication_method"] = "FULL_TABLE"
    stitch_state = {"currently_syncing": name, "bookmarks": {name: bookmark}}

    result = run_tap(config=tap_config.with_(scan_page_size=8), catalog=catalog_for(name), state=stitch_state)

    assert record_keys(result.records(name)) == order[12:]
    assert {m["version"] for m in result.record_messages(name)} == {1600000000000}
    assert [a["version"] for a in result.of_type("ACTIVATE_VERSION")] == [1600000000000]
    final = result.last_state["bookmarks"][name]
    assert final["initial_full_table_complete"] is True and "last_evaluated_key" not in final


def test_streams_sync_in_catalog_order_and_an_interrupted_stream_goes_first(
    make_table, tap_config, catalog_for, run_tap
):
    first_table = make_table(items=numbered_items(5, "a"), name_prefix="ft_order")
    second_table = make_table(items=numbered_items(5, "b"), name_prefix="ft_order")
    catalog = catalog_for(first_table, second_table)
    catalog["streams"].sort(key=lambda e: e["tap_stream_id"] != second_table)  # second_table first

    result = run_tap(catalog=catalog)
    streams = [m["stream"] for m in result.of_type("RECORD")]
    assert streams == [second_table] * 5 + [first_table] * 5
    syncing = [s["currently_syncing"] for s in result.states()]
    assert syncing[-1] is None
    assert syncing.index(first_table) > max(i for i, s in enumerate(syncing) if s == second_table)

    state = {"currently_syncing": first_table, "bookmarks": {}}
    resumed = run_tap(catalog=catalog, state=state)
    assert [m["stream"] for m in resumed.of_type("RECORD")] == [first_table] * 5 + [second_table] * 5


def test_changing_the_replication_method_resets_the_table(ddb, make_table, tap_config, catalog_for, run_tap):
    name = make_table(items=numbered_items(20), name_prefix="ft_reset")
    order = helpers.scan_order(ddb, name, KEY)
    old_state = {
        "currently_syncing": None,
        "bookmarks": {
            name: {
                "version": 1500000000000,
                "last_replication_method": "LOG_BASED",
                "last_evaluated_key": {KEY: {"S": order[9]}},
                "initial_full_table_complete": True,
            }
        },
    }

    result = run_tap(config=tap_config.with_(scan_page_size=50), catalog=catalog_for(name), state=old_state)

    assert sorted(record_keys(result.records(name))) == sorted(order)  # not resumed: the whole table
    versions = [a["version"] for a in result.of_type("ACTIVATE_VERSION")]
    assert len(versions) == 1 and versions[0] != 1500000000000  # a first run again: activated at its start
    assert activate_positions(result)[0] < record_positions(result)[0]
    assert "reset" in result.stderr and name in result.stderr and "LOG_BASED" in result.stderr
    final = result.last_state["bookmarks"][name]
    assert final["last_replication_method"] == "FULL_TABLE" and final["version"] == versions[0]


# ------------------------------------------------------------------------------------------
# every type and edge value, end to end
# ------------------------------------------------------------------------------------------

EDGE_NUMBERS = [
    "12345678901234567890123456789012345678",
    "-12345678901234567890123456789012345678",
    "1E-130",
    "-1E-130",
    "9.99E+125",
    "-9.99E+125",
    "0",
    "-0",
    "1.50",
    "0.1234567890123456789012345678901234567",
]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def typed_item(index: int) -> tuple[dict, dict]:
    """(item as boto3's low-level client writes it, the record the tap must output)."""
    key = bytes([index, 0, 255 - index]) + b"\x00key"
    blob = bytes(range(index, index + 40))
    deep_typed: dict = {"N": EDGE_NUMBERS[0]}
    deep_expected: Any = Decimal(EDGE_NUMBERS[0])
    for level in range(30):
        if level % 2:
            deep_typed, deep_expected = {"M": {"k": deep_typed}}, {"k": deep_expected}
        else:
            deep_typed, deep_expected = {"L": [deep_typed]}, [deep_expected]
    item = {
        "bin": {"B": key},
        "s": {"S": f"ünïcödé ✓ 漢字 🙂 {index}"},
        "empty_s": {"S": ""},
        "n": {"N": EDGE_NUMBERS[index % len(EDGE_NUMBERS)]},
        "numbers": {"L": [{"N": text} for text in EDGE_NUMBERS]},
        "b": {"B": blob},
        "t": {"BOOL": index % 2 == 0},
        "nothing": {"NULL": True},
        "m": {
            "M": {
                "inner": {"M": {"n": {"N": "9.99E+125"}, "l": {"L": [{"S": "x"}, {"NULL": True}]}}},
                "empty": {"M": {}},
            }
        },
        "ss": {"SS": ["a", "b", f"c{index}"]},
        "ns": {"NS": ["1E-130", "9.99E+125", EDGE_NUMBERS[0]]},
        "bs": {"BS": [b"\x00\x01", b"\xff" * 3]},
        "deep": deep_typed,
    }
    expected = {
        "bin": b64(key),
        "s": f"ünïcödé ✓ 漢字 🙂 {index}",
        "empty_s": "",
        "n": Decimal(EDGE_NUMBERS[index % len(EDGE_NUMBERS)]),
        "numbers": [Decimal(text) for text in EDGE_NUMBERS],
        "b": b64(blob),
        "t": index % 2 == 0,
        "nothing": None,
        "m": {"inner": {"n": Decimal("9.99E+125"), "l": ["x", None]}, "empty": {}},
        "ss": ["a", "b", f"c{index}"],
        "ns": [Decimal("1E-130"), Decimal("9.99E+125"), Decimal(EDGE_NUMBERS[0])],
        "bs": [b64(b"\x00\x01"), b64(b"\xff" * 3)],
        "deep": deep_expected,
    }
    return item, expected


def comparable(record: dict) -> dict:
    """Sets have no order in DynamoDB: sort them; Decimal equality makes -0 == 0 and 1.50 == 1.5."""
    out = dict(record)
    for name in ("ss", "ns", "bs"):
        out[name] = sorted(out[name])
    return out


def test_every_type_and_edge_value_end_to_end_with_a_binary_key_resume(
    ddb, make_table, tap_config, catalog_for, run_tap
):
    pairs = [typed_item(i) for i in range(12)]
    name = make_table(hash_key=("bin", "B"), items=[item for item, _ in pairs], name_prefix="ft_types")
    expected = {e["bin"]: comparable(e) for _, e in pairs}
    order = helpers.scan_order(ddb, name, "bin")
    config = tap_config.with_(scan_page_size=4)
    catalog = catalog_for(name)

    first = run_tap(config=config, catalog=catalog)

    records = first.records(name)
    assert record_keys(records, "bin") == order
    for record in records:
        assert comparable(record) == expected[record["bin"]]
    # the raw literals of the extreme numbers survive as exact numbers, not floats or strings
    assert isinstance(records[0]["numbers"][4], Decimal) and records[0]["numbers"][4] == Decimal("9.99E+125")

    # resume across a page boundary: the bookmark holds a binary key (base64 in the state)
    interrupted = next(s for s in first.states() if s["bookmarks"][name].get("last_evaluated_key"))
    last_key = interrupted["bookmarks"][name]["last_evaluated_key"]
    assert list(last_key["bin"]) == ["B"] and last_key["bin"]["B"] == order[3]
    second = run_tap(config=config, catalog=catalog, state=interrupted)
    resumed = second.records(name)
    assert record_keys(resumed, "bin") == order[4:]
    for record in resumed:
        assert comparable(record) == expected[record["bin"]]


def test_range_key_table_resumes_with_a_composite_bookmark(ddb, make_table, tap_config, catalog_for, run_tap):
    items = [{"pk": {"S": f"p{i % 3}"}, "sk": {"N": f"{i}.5"}, "v": {"N": str(i)}} for i in range(21)]
    name = make_table(hash_key=("pk", "S"), range_key=("sk", "N"), items=items, name_prefix="ft_range")
    scanned = helpers.scan_all(ddb, name)
    order = [(i["pk"]["S"], Decimal(i["sk"]["N"])) for i in scanned]
    config = tap_config.with_(scan_page_size=5)
    catalog = catalog_for(name)

    first = run_tap(config=config, catalog=catalog)
    assert [(r["pk"], r["sk"]) for r in first.records(name)] == order
    interrupted = [s for s in first.states() if s["bookmarks"][name].get("last_evaluated_key")][1]
    assert set(interrupted["bookmarks"][name]["last_evaluated_key"]) == {"pk", "sk"}

    second = run_tap(config=config, catalog=catalog, state=interrupted)
    assert [(r["pk"], r["sk"]) for r in second.records(name)] == order[10:]


# ------------------------------------------------------------------------------------------
# parallel segments
# ------------------------------------------------------------------------------------------

SEGMENTS = 3


def test_multi_segment_scan_every_item_once_and_resume_loses_nothing(ddb, make_table, tap_config, catalog_for, run_tap):
    name = make_table(items=numbered_items(90), name_prefix="ft_segments")
    by_segment = {
        seg: helpers.scan_order(ddb, name, KEY, Segment=seg, TotalSegments=SEGMENTS) for seg in range(SEGMENTS)
    }
    everything = sorted(k for keys in by_segment.values() for k in keys)
    assert len(everything) == 90
    config = tap_config.with_(scan_page_size=5, scan_segments=SEGMENTS)
    catalog = catalog_for(name)

    first = run_tap(config=config, catalog=catalog)

    assert sorted(record_keys(first.records(name))) == everything  # each exactly once
    mid_states = [
        (s, before)
        for s, before in records_before_each_state(first)
        if s["bookmarks"][name].get("scan_segments") is not None
    ]
    assert mid_states, "a multi-segment scan bookmarks its segments"
    for state, before in mid_states:
        bookmark = state["bookmarks"][name]
        assert bookmark["scan_segments"] == SEGMENTS
        assert "last_evaluated_key" not in bookmark
        # every record before this STATE is covered by it: finished segment, or at/before its key
        covered = set()
        for seg, keys in by_segment.items():
            if seg in bookmark.get("finished_segments", []):
                covered.update(keys)
            elif str(seg) in bookmark.get("segment_keys", {}):
                last = wire_key_value(bookmark["segment_keys"][str(seg)])
                covered.update(keys[: keys.index(last) + 1])
        assert set(before) == covered
    final = first.last_state["bookmarks"][name]
    assert not {"scan_segments", "segment_keys", "finished_segments", "last_evaluated_key"} & set(final)

    # resume from a STATE in the middle of the run
    interrupted, before = mid_states[len(mid_states) // 2]
    assert 0 < len(before) < 90
    second = run_tap(config=config, catalog=catalog, state=interrupted)
    again = record_keys(second.records(name))
    assert len(again) == len(set(again))
    assert set(before) | set(again) == set(everything)  # nothing lost
    assert not set(before) & set(again)  # and nothing read twice: each segment continues after its key
    version = interrupted["bookmarks"][name]["version"]
    assert [a["version"] for a in second.of_type("ACTIVATE_VERSION")] == [version]


def test_a_scan_bookmark_without_a_version_rereads_the_whole_table(ddb, make_table, tap_config, catalog_for, run_tap):
    """Records written before such a bookmark carry no known version: activating a fresh version
    after reading only the rest would make a versioning target delete them, so start over."""
    name = make_table(items=numbered_items(20), name_prefix="ft_noversion")
    order = helpers.scan_order(ddb, name, KEY)
    state = {"currently_syncing": name, "bookmarks": {name: {"last_evaluated_key": {KEY: {"S": order[9]}}}}}

    result = run_tap(config=tap_config.with_(scan_page_size=6), catalog=catalog_for(name), state=state)

    assert record_keys(result.records(name)) == order
    versions = [a["version"] for a in result.of_type("ACTIVATE_VERSION")]
    assert len(versions) == 1 and activate_positions(result)[0] < record_positions(result)[0]  # a first run
    assert {m["version"] for m in result.record_messages(name)} == {versions[0]}


@pytest.mark.parametrize("count", [0, 12], ids=["empty", "page-size-divides-count"])
def test_empty_table_and_exactly_full_last_page(make_table, tap_config, catalog_for, run_tap, count):
    name = make_table(items=numbered_items(count), name_prefix="ft_edges")
    result = run_tap(config=tap_config.with_(scan_page_size=4), catalog=catalog_for(name))
    assert sorted(record_keys(result.records(name))) == [f"k{i:04d}" for i in range(count)]
    assert len(result.of_type("ACTIVATE_VERSION")) == 1  # a first run: at its start
    final = result.last_state["bookmarks"][name]
    assert final["initial_full_table_complete"] is True and "last_evaluated_key" not in final
