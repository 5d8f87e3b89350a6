"""Exit codes and the one error every `convscope` command raises for a user's mistake.

0: done. 2: invalid arguments or input (an option out of range, an unknown model or preset,
an input file that is missing, unreadable or refused). 3: an output cannot be written (checked
before any computing).
70: an unexpected internal error (reported in one line, never a traceback). 130: interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_OUTPUT = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit codes: 0 done; 2 invalid arguments or input (including an unreadable input "
    "file); 3 an output cannot be written; 70 internal error; 130 interrupted"
)


class CliError(Exception):
    """A one-line message for the user and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_INVALID):
        super().__init__(message)
        self.message, self.code = message, code
