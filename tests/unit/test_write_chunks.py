"""MessageWriter.records_in_chunks writes a page in chunks: every item once, in order, the page
emptied as it goes, one time_extracted per page, and a SCHEMA before the first record that
needs it."""

import io

import orjson

from tap_dynamodb import output
from tap_dynamodb.output import MessageWriter
from tap_dynamodb.schema_tracker import SchemaTracker


def test_a_page_larger_than_a_chunk_is_written_whole_in_order_and_let_go():
    out = io.BytesIO()
    writer = MessageWriter(out)
    tracker = SchemaTracker("t", {"type": "object", "properties": {"id": {"type": "string"}}}, ["id"], writer)
    items = [{"id": {"S": f"k{i:04d}"}} for i in range(2 * output.WRITE_CHUNK + 7)]
    items[output.WRITE_CHUNK + 3]["late"] = {"N": "1"}  # widens the schema in the second chunk
    chunks = []

    def to_records(chunk):
        chunks.append(len(chunk))
        return tracker.records(chunk, True)

    written = writer.records_in_chunks("t", items, to_records, 5)
    writer.flush()

    assert written == 2 * output.WRITE_CHUNK + 7 and items == []
    assert chunks == [output.WRITE_CHUNK, output.WRITE_CHUNK, 7]
    messages = [orjson.loads(line) for line in out.getvalue().splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    assert [m["record"]["id"] for m in records] == [f"k{i:04d}" for i in range(written)]
    kinds = [m["type"] for m in messages]
    assert kinds.count("SCHEMA") == 1 and kinds.index("SCHEMA") == output.WRITE_CHUNK
    assert {m["version"] for m in records} == {5} and len({m["time_extracted"] for m in records}) == 1
    assert writer.records_written == written
