"""The bad inputs the tap rejects before it touches AWS (config values, JSON files, the command line,
catalog and state shapes), run inside the test process through `tap_dynamodb.cli.main`: the exit
code and the one `tap-dynamodb: error:` line, checked as tests/integration/test_bad_input.py checks
the console script (whose CASES table these come from; its SMOKE cases run there through the
script too). Nothing here needs DynamoDB Local: the config's endpoint is a port nothing listens on.
"""

from __future__ import annotations

import gc
import logging
import os
from contextlib import contextmanager
from typing import Optional

import pytest

from devtools.dynamodb_local import free_port
from devtools.tap_runner import TapResult, local_env
from tap_dynamodb.cli import main
from tests.integration.test_bad_input import CASES, TABLE, assert_one_error_line, case_command, new_secret

IN_PROCESS = [case for case in CASES if case.in_process]
ACCESS_KEY = "AKIAINPROCESSEXAMPLE"


def _logger_levels() -> dict:
    """The level of every logger that has one of its own."""
    return {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
    }


@contextmanager
def process_state_restored():
    """main() sets up the root logger (its own handler and level, quieter botocore and urllib3) and,
    before a sync, the garbage collector: put all of it back, so that no run leaks into the next
    test (pytest's log capture included)."""
    root = logging.getLogger()
    handlers, level, levels = list(root.handlers), root.level, _logger_levels()
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        now = _logger_levels()
        for name in set(now) | set(levels):
            if now.get(name) != levels.get(name):
                logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))
        gc.set_threshold(*threshold)
        if not frozen and gc.get_freeze_count():
            gc.unfreeze()


@pytest.fixture
def run_main(capsys, monkeypatch):
    """`run_main(argv, extra_env=None)`: cli.main in this process, in the environment the console
    script gets from the tests (devtools.tap_runner.local_env); a TapResult of its exit code and output."""
    env = local_env()
    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def _run(argv: list, extra_env: Optional[dict] = None) -> TapResult:
        for name, value in (extra_env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        with process_state_restored(), pytest.raises(SystemExit) as exited:
            main(argv)
        out, err = capsys.readouterr()
        return TapResult(argv, exited.value.code, out, err)

    return _run


def in_process_config() -> dict:
    return {
        "region_name": "us-east-1",
        "endpoint_url": f"http://127.0.0.1:{free_port()}",
        "aws_access_key_id": ACCESS_KEY,
    }


@pytest.mark.parametrize("case", IN_PROCESS, ids=[case.name for case in IN_PROCESS])
def test_bad_input_gives_one_actionable_line(case, run_main, tmp_path):
    config, args, words = case_command(case, in_process_config(), TABLE, new_secret(), tmp_path)
    result = run_main(["--config", config, *args], case.extra_env)
    assert_one_error_line(result, *words, exit_code=case.exit_code)
    assert result.stdout == ""  # checked before any output


def test_an_in_process_run_leaves_logging_as_it_found_it(run_main, tmp_path):
    root = logging.getLogger()
    before = (list(root.handlers), root.level, _logger_levels())
    case = next(case for case in IN_PROCESS if case.name == "catalog-unknown-method")
    config, args, _words = case_command(case, in_process_config(), TABLE, new_secret(), tmp_path)
    run_main(["--config", config, *args, "--log-level", "DEBUG"])
    assert (list(root.handlers), root.level, _logger_levels()) == before
