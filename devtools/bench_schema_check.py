"""Per-item CPU cost of decoding with the sync-time schema check (SchemaTracker.records), no services needed.

    python -m devtools.bench_schema_check

Feeds pages of 1000 distinct 9-attribute wire-form items (the steady state: the schema
already fits) through SchemaTracker.records and prints the CPU time per item, for items of
scalars and sets only and for items that also carry a map (M) and a list (L).
"""

from __future__ import annotations

import time

from tap_dynamodb.values import schema as schema_mod
from tap_dynamodb.values.decoder import RecordDecoder


def flat_item(i: int) -> dict:
    return {
        "id": {"S": f"item-{i:08d}"},
        "n": {"N": str(i)},
        "price": {"N": f"{i}.25"},
        "active": {"BOOL": i % 2 == 0},
        "name": {"S": f"name {i}"},
        "tags": {"SS": ["a", "b"]},
        "nums": {"NS": ["1", "2.5"]},
        "blob": {"B": "AAEC"},
        "note": {"NULL": True} if i % 3 else {"S": "x"},
    }


def nested_item(i: int) -> dict:
    item = flat_item(i)
    del item["nums"], item["note"]
    item["address"] = {"M": {"city": {"S": "Paris"}, "zip": {"S": "75001"}, "floor": {"N": str(i % 9)}}}
    item["history"] = {"L": [{"N": str(i)}, {"S": "x"}, {"BOOL": True}]}
    return item


def per_item_microseconds(make_item, pages: int = 50, page_size: int = 1000) -> float:
    batches = [[make_item(p * page_size + i) for i in range(page_size)] for p in range(pages)]
    table = {
        "TableName": "bench",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    }
    schema = schema_mod.table_schema(table, batches[0])
    decoder = RecordDecoder(schema)
    decoder.decode(batches[0])
    started = time.process_time()
    widened = False
    for batch in batches:
        widened = decoder.decode(batch).widened or widened
    elapsed = time.process_time() - started
    assert not widened, "the steady state must not widen"
    return elapsed / (pages * page_size) * 1e6


def main() -> None:
    for label, make in (("9 scalar/set attributes", flat_item), ("9 attributes incl. M(3) and L(3)", nested_item)):
        best = min(per_item_microseconds(make) for _ in range(5))
        print(f"decode with schema check, {label}: {best:.2f} us CPU per item")


if __name__ == "__main__":
    main()
