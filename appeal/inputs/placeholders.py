"""The examples' bracketed placeholders still in the data: noted by every build, refused by --final.

"[Name of the signer]", "[contact address]": a note on every build and check, and refused by
`--final`, so that no letter goes to a minister with "[Street and number]" in its letterhead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from appeal.inputs.source import Loc, Problem, Source

# "[" text with a letter in it "]"; "[sic]" and "[...]" of a quotation are the text's own.
PLACEHOLDER = re.compile(r"\[(?!sic\])[^\[\]\n]*[^\W\d_][^\[\]\n]*\]")


def _strings(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def placeholders(source: Source) -> list[Problem]:
    """Every value of `source` that holds a placeholder, with the placeholders it holds."""
    if source.held is not None:  # compacted: noted before its data was let go
        return source.held
    found = []
    for loc, text in _strings(source.data):
        held = list(dict.fromkeys(PLACEHOLDER.findall(text)))
        if held:
            kind = "placeholder" if len(held) == 1 else "placeholders"
            found.append(Problem(loc, f"still the {kind} " + ", ".join(f'"{p}"' for p in held)))
    return found


def lines(sources: Iterable[Source | None]) -> list[str]:
    """One `file:line: key: still the placeholder "[…]"` line for each value of each source."""
    return [line for source in sources if source is not None
            for line in source.lines_for(placeholders(source))]
