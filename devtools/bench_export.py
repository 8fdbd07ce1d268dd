"""`make bench BENCH_ARGS=--export`: FULL_TABLE from a DynamoDB export against the tap's own Scan.

For each table size (100k and, with `--million`, 1M items of devtools.bench's mixed table):
DynamoDB Local serves the cached table, the S3 server (devtools/s3_server.py) holds the export and
the export double (devtools/export_double.py, a TEST DOUBLE of AWS's export control plane) sits in
front of DynamoDB Local. The export is made once, before the measured runs, by a warm-up run;
every measured export run reuses it (`export_reuse_max_age_minutes`), so what is measured is the
tap reading an export that exists, as on AWS after the export finished, not the double writing it.

Contenders, interleaved `--runs` times each, stdout to /dev/null:
- tap Scan: the tap's FULL_TABLE Scan, straight against DynamoDB Local (not through the double);
- tap export, 1 worker / 2 workers: `full_table_source: export` with `export_workers` 1 and 2.

CPU is user+sys of the tap and its waited-for worker processes (os.wait4 counts those), peak RSS
the largest of them. The ratios compare CPU per item of medians from the same run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Optional

from devtools import tap_runner
from devtools.bench import (
    BenchError,
    Sample,
    TableSpec,
    bench_database,
    markdown_table,
    measure,
    run_interleaved,
    tap_contender,
    tap_files,
)
from devtools.export_double import ExportDouble
from devtools.s3_server import S3Server

TARGET_EXPORT_VS_SCAN = 0.5  # the target for CPU per item; reported, never asserted
FLAT_MEMORY_TOLERANCE = 0.10
REUSE_MINUTES = 24 * 60


def _export_files(
    workdir: Path, double: ExportDouble, s3: S3Server, bucket: str, table: str, workers: int
) -> tuple[Path, Path]:
    config_path, catalog_path = tap_files(
        workdir,
        double.endpoint_url,
        table,
        "FULL_TABLE",
        full_table_source="export",
        export_workers=workers,
        export_s3_bucket=bucket,
        s3_endpoint_url=s3.endpoint_url,
        export_poll_seconds=0.2,
        export_reuse_max_age_minutes=REUSE_MINUTES,
    )
    return config_path, catalog_path


def _warm_up(config: Path, catalog: Path) -> Sample:
    """One run that requests the export (the double writes it) and reads it: not measured."""
    return measure(
        [*tap_runner.tap_command(), "--config", str(config), "--catalog", str(catalog)],
        r"Finished \w+ sync of \S+: (\d+) records",
        tap_runner.local_env(),
    )


def size_suite(workdir: Path, spec: TableSpec, runs: int, s3: S3Server) -> tuple[list[str], dict[str, Sample]]:
    """The three contenders on one table; returns report lines and the medians."""
    with bench_database(f"ddb-{spec.items}", [spec], None) as server:
        double = ExportDouble(server.endpoint_url, s3.client_kwargs(), partitions=10, gzip_level=6).start()
        try:
            double.enable_pitr(spec.name)
            bucket = f"bench-{uuid.uuid4().hex[:12]}"
            s3.client().create_bucket(Bucket=bucket)
            scan = tap_contender("tap Scan", *tap_files(workdir, server.endpoint_url, spec.name, "FULL_TABLE"))
            one = tap_contender("tap export, 1 worker", *_export_files(workdir, double, s3, bucket, spec.name, 1))
            two = tap_contender("tap export, 2 workers", *_export_files(workdir, double, s3, bucket, spec.name, 2))
            print(f"  {spec.items} items: requesting the export (warm-up run, not measured)", file=sys.stderr)
            warm = _warm_up(*_export_files(workdir, double, s3, bucket, spec.name, 2))
            if warm.items != spec.items:
                raise BenchError(f"the warm-up export run wrote {warm.items} records, expected {spec.items}")
            requested = [op for op, _ in double.requests if op == "ExportTableToPointInTime"]
            results = run_interleaved([scan, one, two], runs)
            again = [op for op, _ in double.requests if op == "ExportTableToPointInTime"]
            if len(again) != len(requested):
                raise BenchError("a measured run requested a new export instead of reusing the warm-up's")
        finally:
            double.stop()
    lines = [
        f"### FULL_TABLE from an export, {spec.items} items (medians of {runs} runs)",
        "",
        markdown_table(results),
        "",
        *ratio_lines(results),
    ]
    return lines, results


def ratio_lines(results: dict[str, Sample]) -> list[str]:
    scan, one, two = results["tap Scan"], results["tap export, 1 worker"], results["tap export, 2 workers"]
    return [
        (
            f"- CPU per item, export (1 worker) / Scan: {one.us_per_item / scan.us_per_item:.2f}× "
            f"(target ≤ {TARGET_EXPORT_VS_SCAN}×; all processes counted)"
        ),
        f"- CPU per item, export (2 workers) / Scan: {two.us_per_item / scan.us_per_item:.2f}×",
        (
            f"- items/s: Scan {scan.items / scan.wall:,.0f}, export 1 worker {one.items / one.wall:,.0f}, "
            f"2 workers {two.items / two.wall:,.0f} (2 workers / 1: {one.wall / two.wall:.2f}× speed-up)"
        ),
    ]


def run(workdir: Path, runs: int, million: bool) -> list[str]:
    """The export suite's report lines (100k, and 1M with `million`)."""
    report: list[str] = []
    sizes = [TableSpec("bench_mixed_100000", 100_000)]
    if million:
        sizes.append(TableSpec("bench_mixed_1000000", 1_000_000))
    medians: list[dict[str, Sample]] = []
    with S3Server() as s3:
        for spec in sizes:
            lines, results = size_suite(workdir, spec, runs, s3)
            report += [*lines, ""]
            medians.append(results)
    if len(medians) == 2:
        for name in ("tap export, 1 worker", "tap export, 2 workers"):
            small, big = medians[0][name], medians[1][name]
            growth = big.rss_mb / small.rss_mb - 1
            verdict = "flat" if growth <= FLAT_MEMORY_TOLERANCE else "NOT FLAT"
            report.append(
                f"- peak RSS of {name} at {big.items} items vs {small.items}: {big.rss_mb:.0f} MB vs "
                f"{small.rss_mb:.0f} MB ({growth:+.0%}; {verdict}, target within {FLAT_MEMORY_TOLERANCE:.0%})"
            )
    return report


def main(argv: Optional[list[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.bench_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--million", action="store_true", help="also the 1M-item table (loads once, minutes)")
    parser.add_argument("--json", type=Path, help="also write the medians here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tap-bench-export-") as tmp:
        lines = run(Path(tmp), args.runs, args.million)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(lines, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
