"""Run a command and write its CPU time and peak RSS to a file: `python -m devtools.child_usage OUT -- CMD...`.

Why a launcher: Linux keeps ru_maxrss across execve, and a child forked (or vforked, as
subprocess does) from a large process starts with that process's resident size as its own
high-water mark. Measured straight from the benchmark process, which holds DynamoDB Local's
client, the export double and the load's buffers, every contender would report at least the
benchmark's own size. This launcher is small, so the command it forks starts from a few MB.
CPU and RSS count the command and every process it waited for (its workers).
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m devtools.child_usage OUT -- CMD [ARG...]", file=sys.stderr)
        return 2
    out, cmd = argv[0], argv[2:]
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss}, handle)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
