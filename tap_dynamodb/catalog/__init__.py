"""The catalog: discovery writes it (discover.py, sampling.py), plan.py reads it into stream plans,
projection.py turns column selection into what a Scan (and a stream image) keeps."""
