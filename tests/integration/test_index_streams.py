"""Secondary indexes as view streams: discovery metadata, schemas from the index projection,
FULL_TABLE sync with IndexName (sparse record counts) and resuming from a bookmark."""

import pytest

from tests.helpers import find_stream, select_streams, top_level_metadata


def _items():
    items = []
    for i in range(40):
        item = {
            "pk": {"S": f"p{i % 4}"},
            "sk": {"N": str(i)},
            "lsk": {"S": f"l{i:03d}"},
            "payload": {"S": "x" * 20},
            "amount": {"N": str(i * 10)},
        }
        if i % 3 == 0:  # sparse GSIs: only a third of the items carry `status`
            item["status"] = {"S": "open" if i % 2 else "closed"}
        items.append(item)
    return items


@pytest.fixture
def indexed_table(make_table):
    return make_table(
        hash_key=("pk", "S"),
        range_key=("sk", "N"),
        items=_items(),
        global_indexes=[
            ("by_status", ("status", "S"), ("sk", "N"), "KEYS_ONLY"),
            ("by_status_inc", ("status", "S"), None, ["amount"]),
        ],
        local_indexes=[("by_lsk", ("pk", "S"), ("lsk", "S"), "ALL")],
    )


def _discover(run_tap, tap_config, name):
    return run_tap("--discover", config=tap_config.with_(tables=[name]).path).catalog


def test_each_index_is_a_view_stream_with_its_projection_schema(indexed_table, run_tap, tap_config):
    name = indexed_table
    catalog = _discover(run_tap, tap_config, name)
    assert sorted(s["tap_stream_id"] for s in catalog["streams"]) == sorted(
        [name, f"{name}:by_status", f"{name}:by_status_inc", f"{name}:by_lsk"]
    )

    keys_only = find_stream(catalog, f"{name}:by_status")
    top = top_level_metadata(keys_only)
    assert keys_only["stream"] == f"{name}__by_status"
    assert top["is-view"] is True
    assert top["view-key-properties"] == keys_only["key_properties"] == ["status", "sk", "pk"]
    assert top["tap-dynamodb.table-name"] == name and top["tap-dynamodb.index-name"] == "by_status"
    assert top["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE"]
    assert top["selected-by-default"] is False and "selected" not in top
    assert top["tap-dynamodb.index-type"] == "GSI"
    assert keys_only["schema"]["properties"] == {
        "status": {"type": "string"},
        "sk": {"type": "number"},
        "pk": {"type": "string"},
    }

    include = find_stream(catalog, f"{name}:by_status_inc")
    assert set(include["schema"]["properties"]) == {"status", "pk", "sk", "amount"}
    assert include["schema"]["properties"]["amount"] == {"type": ["null", "number"]}

    lsi = find_stream(catalog, f"{name}:by_lsk")
    assert top_level_metadata(lsi)["tap-dynamodb.index-type"] == "LSI"
    assert lsi["key_properties"] == ["pk", "lsk", "sk"]
    assert set(lsi["schema"]["properties"]) == {"pk", "sk", "lsk", "payload", "amount", "status"}
    assert lsi["schema"]["required"] == ["pk", "lsk", "sk"]


def test_index_streams_sync_only_the_items_the_index_holds(indexed_table, run_tap, tap_config):
    name = indexed_table
    catalog = _discover(run_tap, tap_config, name)
    select_streams(catalog, [f"{name}:by_status", f"{name}:by_status_inc", f"{name}:by_lsk"])
    result = run_tap(catalog=catalog)

    sparse = [i for i in _items() if "status" in i]
    assert len(result.records(f"{name}__by_status")) == len(sparse) == 14
    assert all(set(r) == {"status", "pk", "sk"} for r in result.records(f"{name}__by_status"))
    inc = result.records(f"{name}__by_status_inc")
    assert sorted(r["sk"] for r in inc) == sorted(int(i["sk"]["N"]) for i in sparse)
    assert all(set(r) == {"status", "pk", "sk", "amount"} for r in inc)
    assert len(result.records(f"{name}__by_lsk")) == 40
    bookmarks = result.last_state["bookmarks"]
    assert set(bookmarks) >= {f"{name}:by_status", f"{name}:by_lsk"}
    assert bookmarks[f"{name}:by_status"]["initial_full_table_complete"] is True


def test_index_stream_resumes_from_its_bookmark(indexed_table, run_tap, tap_config):
    name = indexed_table
    stream_id = f"{name}:by_lsk"
    catalog = select_streams(_discover(run_tap, tap_config, name), [stream_id])
    config = tap_config.with_(scan_page_size=6, scan_segments=1)
    full = run_tap(catalog=catalog, config=config.path)
    mid = next(
        s
        for s in full.states()
        if s.get("bookmarks", {}).get(stream_id, {}).get("last_evaluated_key")
        and len(s["bookmarks"][stream_id]["last_evaluated_key"]) == 3
    )
    resumed = run_tap(catalog=catalog, state=mid, config=config.path)

    all_keys = [(r["pk"], r["sk"]) for r in full.records(f"{name}__by_lsk")]
    rest = [(r["pk"], r["sk"]) for r in resumed.records(f"{name}__by_lsk")]
    assert len(all_keys) == 40 and 0 < len(rest) < 40
    assert rest == all_keys[-len(rest) :]


def test_an_index_stream_refuses_log_based(indexed_table, run_tap, tap_config):
    name = indexed_table
    catalog = select_streams(_discover(run_tap, tap_config, name), [f"{name}:by_status"], method="LOG_BASED")
    result = run_tap(catalog=catalog, check=False)
    assert result.returncode != 0
    assert "indexes can only use FULL_TABLE" in result.stderr
