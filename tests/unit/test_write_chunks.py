"""replication.pages.write_page writes a page in chunks: every item once, in order, the page
emptied as it goes, one time_extracted per page, and a SCHEMA before the first record that
needs it."""

import io
from types import SimpleNamespace

import orjson

from tap_dynamodb.catalog.plan import StreamPlan
from tap_dynamodb.output.report import Report
from tap_dynamodb.output.writer import MessageWriter
from tap_dynamodb.replication import pages
from tap_dynamodb.values.decoder import RecordDecoder


class CountingDecoder(RecordDecoder):
    def __init__(self, schema):
        super().__init__(schema)
        self.chunks = []

    def decode(self, items, numbers_checked=False):
        items = list(items)
        self.chunks.append(len(items))
        return super().decode(items, numbers_checked)


def test_a_page_larger_than_a_chunk_is_written_whole_in_order_and_let_go():
    out = io.BytesIO()
    writer = MessageWriter(out)
    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    plan = StreamPlan("t", "t", "t", None, ["id"], schema, "FULL_TABLE", None)
    ctx = SimpleNamespace(writer=writer, report=Report())
    decoder = CountingDecoder(schema)
    items = [{"id": {"S": f"k{i:04d}"}} for i in range(2 * pages.WRITE_CHUNK + 7)]
    items[pages.WRITE_CHUNK + 3]["late"] = {"N": "1"}  # widens the schema in the second chunk

    written = pages.write_page(ctx, plan, decoder, items, True, 5)
    writer.flush()

    assert written == 2 * pages.WRITE_CHUNK + 7 and items == []
    assert decoder.chunks == [pages.WRITE_CHUNK, pages.WRITE_CHUNK, 7]
    messages = [orjson.loads(line) for line in out.getvalue().splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    assert [m["record"]["id"] for m in records] == [f"k{i:04d}" for i in range(written)]
    kinds = [m["type"] for m in messages]
    assert kinds.count("SCHEMA") == 1 and kinds.index("SCHEMA") == pages.WRITE_CHUNK
    assert "late" in messages[kinds.index("SCHEMA")]["schema"]["properties"]
    assert {m["version"] for m in records} == {5} and len({m["time_extracted"] for m in records}) == 1
    assert writer.records_written == written
    assert ctx.report.streams["t"].records == written and ctx.report.streams["t"].pages == 1
