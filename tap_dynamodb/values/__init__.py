"""Values: DynamoDB JSON → exact Singer records, and the JSON schemas that describe them.

tags.py is the one table of DynamoDB type tags; numbers.py keeps every digit; decode.py
and shapes.py decode (shapes compiles a function per item shape, the fast path); schema.py
infers and merges schemas; decoder.py is the per-stream decoder the replication code uses,
and changes.py its twin for DynamoDB Streams records. Nothing here does I/O.
"""
