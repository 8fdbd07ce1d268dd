"""Output: the Singer message writer (stdout) and the sync report and progress (stderr)."""
