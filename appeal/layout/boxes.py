"""WeasyPrint's laid-out boxes, walked one way: the only record of where lines fell and how wide they are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def children(box) -> list:
    return list(getattr(box, "children", ()))


def walk(root, context: Any = None, inherit: Callable[[Any, Any], Any] | None = None,
         prune: Callable[[Any], bool] | None = None) -> Iterator[tuple[Any, Any]]:
    """Every box under `root` (a page's box, or any box), `root` first, in document order, with
    the context `inherit(box, parent's context)` gives it (or the parent's); the children of a box
    that `prune` accepts are not visited."""
    pending = [(root, context)]
    while pending:
        box, context = pending.pop()
        if inherit is not None:
            context = inherit(box, context)
        yield box, context
        if prune is None or not prune(box):
            pending.extend((kid, context) for kid in reversed(children(box)))


def elements(page) -> Iterator:
    """The boxes of a laid-out page (weasyprint.Page) that an HTML element made, in document order."""
    for box, _ in walk(page._page_box):
        if getattr(box, "element", None) is not None:
            yield box


def find(page, wanted: Callable[[Any], bool]):
    """The first box of an element on `page` that `wanted` accepts, or None."""
    return next((box for box in elements(page) if wanted(box)), None)


def has_class(box, name: str) -> bool:
    return name in (box.element.get("class") or "").split()


def lines(box) -> list:
    """The line boxes of a block (each one line of text as it fell)."""
    return [child for child in children(box) if type(child).__name__ == "LineBox"]


def count(page, wanted: Callable[[Any], bool]) -> int:
    """How many element boxes on `page` `wanted` accepts, not looking inside those it accepts."""
    def accepted(box) -> bool:
        return getattr(box, "element", None) is not None and wanted(box)

    return sum(1 for box, _ in walk(page._page_box, prune=accepted) if accepted(box))
