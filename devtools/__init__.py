"""Developer tooling for tap-dynamodb (DynamoDB Local, demo, benchmarks).

Not part of the published package; used by the test-suite and the Makefile.
"""
