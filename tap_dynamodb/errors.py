"""The one exception type the command line turns into a single line on stderr.

Everything a user can fix (a bad config key, a missing table, an unreachable endpoint)
is raised as a TapError whose message says what is wrong and what to do; the CLI prints
it as one line and exits non-zero, so nobody has to read a traceback to act on it.
"""


class TapError(Exception):
    """A problem the user can act on; the message is shown as one line on stderr."""

    exit_code = 1


class UsageError(TapError):
    """Wrong command-line arguments (exit code 2, as argparse uses)."""

    exit_code = 2
