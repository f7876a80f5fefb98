"""The one kind of error a user sees: a clear message, exit status 2, no traceback."""

from __future__ import annotations

import unicodedata

# Unicode categories that must never reach a terminal as they are: controls (escape sequences),
# format characters (invisible, or reordering text as U+202E does), private use, surrogates,
# unassigned code points, and the line and paragraph separators.
_UNPRINTABLE = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


class UserError(Exception):
    """A problem with the user's input (data, options, assets), reported in one message."""

    exit_status = 2


class Collected:
    """The problems of several inputs, gathered so that one message reports them all: each
    `attempt` runs a loader and keeps its UserError; `raise_any` raises them together."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def attempt(self, load, *args, **kwargs):
        """What `load` returns, or None when it raised a UserError (kept for `raise_any`)."""
        try:
            return load(*args, **kwargs)
        except UserError as exc:
            self.messages.append(str(exc))
            return None

    def raise_any(self) -> None:
        if self.messages:
            raise UserError("\n".join(self.messages))


def printable(text: str) -> str:
    """`text` safe to print on a terminal: every character that could hide, reorder or control
    what is shown written as an escape (`\\x1b`, `\\u202e`); line breaks between messages kept."""
    out = []
    for char in text:
        if char != "\n" and unicodedata.category(char) in _UNPRINTABLE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


# The messages printed at most: a spreadsheet exported wrong can make one for each of thousands
# of rows, and the first ones say what is wrong with the rest.
MOST_MESSAGES = 40


def error_lines(text: str) -> str:
    """`text` as printed on stderr: `error: ` before each message (one a line; an indented line
    continues the message before it), so that each names its file and line where a tool looks;
    past MOST_MESSAGES messages, one line says how many more there are."""
    lines, messages, left = [], 0, 0
    for line in printable(text).split("\n"):
        if line and not line[:1].isspace():
            messages += 1
            if messages > MOST_MESSAGES:
                left += 1
                continue
            lines.append(f"error: {line}")
        elif messages <= MOST_MESSAGES:
            lines.append(line)
    if left:
        lines.append(f"error: … and {left} more problems like these (fix the ones above and run again)")
    return "\n".join(lines)
