"""Replication: the sync run (sync.py), its methods (full_table.py, log_based.py), the page → record →
writer chain (pages.py) and the typed bookmarks with their Stitch round trip (bookmarks.py)."""
