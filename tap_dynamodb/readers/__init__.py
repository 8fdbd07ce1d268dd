"""Readers: where the items come from, handed out as Pages (page.py) in wire form.

scan.py reads a table or index with (parallel) Scan, capacity.py keeps it within a read
budget, shards.py walks a DynamoDB stream's shards. Readers never write output or state:
they hand out pages, and the replication code decodes, writes and bookmarks them.
"""
