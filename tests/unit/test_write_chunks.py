"""full_table._write_items writes a page in chunks: every item once, in order, the page
emptied as it goes, and a SCHEMA before the first record that needs it."""

import io
from types import SimpleNamespace

import orjson

from tap_dynamodb import full_table
from tap_dynamodb.output import MessageWriter
from tap_dynamodb.schema_tracker import SchemaTracker


def test_a_page_larger_than_a_chunk_is_written_whole_in_order_and_let_go():
    out = io.BytesIO()
    writer = MessageWriter(out)
    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    tracker = SchemaTracker("t", schema, ["id"], writer)
    items = [{"id": {"S": f"k{i:04d}"}} for i in range(2 * full_table.WRITE_CHUNK + 7)]
    items[full_table.WRITE_CHUNK + 3]["late"] = {"N": "1"}  # widens the schema in the second chunk
    ctx = SimpleNamespace(writer=writer)
    plan = SimpleNamespace(stream="t")

    written = full_table._write_items(ctx, plan, tracker, items, True, 5)
    writer.flush()

    assert written == 2 * full_table.WRITE_CHUNK + 7 and items == []
    messages = [orjson.loads(line) for line in out.getvalue().splitlines()]
    records = [m["record"]["id"] for m in messages if m["type"] == "RECORD"]
    assert records == [f"k{i:04d}" for i in range(written)]
    kinds = [m["type"] for m in messages]
    assert kinds.count("SCHEMA") == 1 and kinds.index("SCHEMA") == full_table.WRITE_CHUNK
    assert {m["version"] for m in messages if m["type"] == "RECORD"} == {5}
    assert len({m["time_extracted"] for m in messages if m["type"] == "RECORD"}) == 1
