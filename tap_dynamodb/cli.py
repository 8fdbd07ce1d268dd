"""The command line: `tap-dynamodb --config C [--discover | --catalog F [--state S] | --test]`.

`--about [--format text|json|markdown]` and `--version` need no config.

Every problem a user can fix ends as one line on stderr and a non-zero exit; secrets from
the config are masked in every line the tap prints.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from typing import Any, NoReturn, Optional

import orjson

from . import __version__
from .about import FORMATS, render_about
from .aws import Clients
from .catalog.discover import discover
from .catalog.plan import selected_streams
from .check import connection_check
from .errors import TapError, UsageError
from .logs import MASKER, setup_logging
from .output.writer import MessageWriter
from .replication.bookmarks import State
from .replication.context import SyncContext
from .replication.sync import sync
from .settings import parse_config

LOGGER = logging.getLogger("tap_dynamodb")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print usage and exit 2 itself
        raise UsageError(f"{message} (see tap-dynamodb --help)")


def load_json_file(path: str, what: str) -> Any:
    """Read a JSON file, turning every way it can fail into one actionable TapError."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise TapError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise TapError(f"cannot read {what} file {path}: {exc.strerror}") from None
    if not raw.strip():
        raise TapError(f"{what} file {path} is empty; it must hold a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TapError(f"{what} file {path} is not valid JSON: {exc}") from None


def _load_state_file(path: Optional[str]) -> Any:
    """The state file's JSON; None (a first run) when no path is given or the file is missing or empty.

    Singer runners hand a first run a state file that does not exist yet, or an empty one; a
    state file that exists and is not JSON is still an error.
    """
    if not path:
        return None
    if not os.path.exists(path):
        LOGGER.warning("State file %s does not exist: starting a first run, every stream from scratch", path)
        return None
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        LOGGER.warning("State file %s is empty: starting a first run, every stream from scratch", path)
        return None
    return load_json_file(path, "state")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tap-dynamodb", description="Singer tap for Amazon DynamoDB")
    # No mutually exclusive modes: Meltano adds --catalog to every invocation, so --about, --test
    # and --discover win over a catalog, in that order (the Singer convention).
    parser.add_argument("-c", "--config", help="config JSON file")
    parser.add_argument("-d", "--discover", action="store_true", help="print the catalog of the tables")
    parser.add_argument("--catalog", help="catalog JSON file with the selected streams")
    parser.add_argument("-p", "--properties", help="catalog JSON file (the older Singer name; --catalog wins)")
    parser.add_argument(
        "--test",
        action="store_true",
        help="check the connection: list the tables, exit 0 with their count or 1 with the error",
    )
    parser.add_argument("--about", action="store_true", help="print name, version, capabilities and settings")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format of --about")
    parser.add_argument(
        "-s", "--state", help="state JSON file from an earlier run (missing or empty: a first run, from scratch)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level",
    )
    parser.add_argument("--version", action="version", version=f"tap-dynamodb {__version__}")
    return parser


def _tune_garbage_collector() -> None:
    """Keep the cyclic garbage collector out of the hot path.

    Every Scan page becomes tens of thousands of short-lived dicts, lists and strings (no
    cycles): with the default thresholds the collector ran so often, walking every object
    botocore had loaded, that it cost a third of the tap's CPU (42 → 28 µs per item, `make
    bench`). Freezing what start-up loaded and collecting the youngest generation every
    1 000 000 allocations instead of 700 keeps it to a few collections per page-sized batch
    of garbage; memory stays bounded, and any cycles are still collected.
    """
    gc.freeze()
    gc.set_threshold(1_000_000, 50, 100)


def run(argv: Optional[list[str]] = None) -> int:
    """Parse arguments and run discovery or sync; raises TapError for user-fixable problems."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.about:
        print(render_about(args.format))
        return 0
    if not args.config:
        raise UsageError("--config is required: tap-dynamodb --config config.json [--discover | --catalog FILE]")
    raw_config = load_json_file(args.config, "config")
    config = parse_config(raw_config)
    MASKER.add(config.secrets())
    clients = Clients(config)
    if args.test:
        # stderr, like every other message: stdout is only ever Singer messages
        print(f"tap-dynamodb: {connection_check(config, clients)}", file=sys.stderr)
        return 0
    if args.discover:
        catalog = discover(config, clients)
        sys.stdout.buffer.write(orjson.dumps(catalog, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
        return 0
    catalog_path = args.catalog or args.properties
    if not catalog_path:
        raise UsageError("give --discover to list tables, or --catalog FILE to sync the selected streams")
    catalog = load_json_file(catalog_path, "catalog")
    selected_streams(catalog, config.default_replication_method)  # check the catalog before touching AWS
    state = State.load(_load_state_file(args.state))
    writer = MessageWriter()
    _tune_garbage_collector()
    try:
        sync(SyncContext(config=config, clients=clients, writer=writer, state=state), catalog)
    finally:
        writer.flush()
    return 0


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: one line on stderr and a non-zero exit for every failure."""
    try:
        code = run(argv)
    except TapError as exc:
        print(f"tap-dynamodb: error: {MASKER.mask(str(exc))}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("tap-dynamodb: interrupted; the last STATE written is where the next run resumes", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        print("tap-dynamodb: error: the target closed its input (broken pipe); see the target's log", file=sys.stderr)
        code = 1
    except Exception as exc:
        LOGGER.debug("Unexpected error", exc_info=True)
        print(
            f"tap-dynamodb: error: unexpected {type(exc).__name__}: {MASKER.mask(str(exc))} "
            "(run with --log-level DEBUG for the traceback and report it)",
            file=sys.stderr,
        )
        code = 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    sys.exit(code)
