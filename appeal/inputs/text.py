"""What characters the data may hold: text in Unicode NFC, nothing invisible, nothing that reorders.

Text pasted from web pages and word processors carries characters a reader never sees: zero-width
spaces, byte-order marks, soft hyphens, bidirectional controls (U+202E shows a name backwards from
how it reads). Printed, they break search and copying; in the archival edition they make the text a
screen reader reads differ from the source. Every text of the data is therefore normalised to NFC
(so that "é" typed as e + U+0301 and as U+00E9 are the same name, and combining accents stand in
their canonical order) and refused if it holds any of them.
"""

from __future__ import annotations

import unicodedata

# The categories refused, with the reason a message gives.
_REFUSED = {
    "Cc": "a control character",
    "Cf": "an invisible format character (often pasted in from web pages or word processors)",
    "Co": "a private-use character (its meaning depends on one font)",
    "Cs": "a lone surrogate (not a character)",
    "Cn": "not an assigned Unicode character",
    "Zl": "a line separator (use a new list item or paragraph instead)",
    "Zp": "a paragraph separator (use a new list item or paragraph instead)",
}
# Format characters that do more than hide: they change the order in which text is displayed.
_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
# Line breaks and tabs are white space to HTML; a letter's body template separates paragraphs by them.
_ALLOWED_CONTROLS = {"\n", "\t"}


def describe(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def refusal(text: str) -> str | None:
    """Why `text` may not be data (naming the first character refused), or None if it may."""
    for char in text:
        category = unicodedata.category(char)
        if category in _REFUSED and char not in _ALLOWED_CONTROLS:
            reason = ("a bidirectional control character, which can make text display differently "
                      "from how it reads" if ord(char) in _BIDI else _REFUSED[category])
            return f"contains {describe(char)}, {reason}; remove it"
    return None


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def lookup(tag: str, available) -> str | None:
    """The entry of `available` that serves language `tag`, by BCP 47 lookup (RFC 4647, 3.4): the
    tag itself, then with its last subtag removed, and so on (en-GB-oxendict, en-GB, en), ignoring
    case. None when none does."""
    by_case = {str(key).lower(): key for key in available}
    subtags = tag.lower().split("-")
    while subtags:
        if "-".join(subtags) in by_case:
            return by_case["-".join(subtags)]
        subtags.pop()
        if subtags and len(subtags[-1]) == 1:  # a singleton (x-, u-) never ends a range
            subtags.pop()
    return None
