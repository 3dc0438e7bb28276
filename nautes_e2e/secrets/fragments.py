"""Finding the fragments of registered secrets in a text: what is left of a secret once pytest has printed it.

pytest prints a value in pieces. ``saferepr`` cuts a long repr in the middle (``'Nmo19...ZUcWqc'``), the
pretty printer of ``-vv`` and ``--showlocals`` splits a bytes repr over lines
(``b"...'token': 'miw6K8M-Cc...RoiE"`` / ``b"GQ', ..."``), and a multi-line secret inside a repr has its
lines joined by ``\\n``. Each piece is a run of token characters delimited by what pytest added (a quote,
``...``, a line break, a backslash escape), so the text is scanned run by run:

* a run that starts or ends with a :data:`~nautes_e2e.secrets.material.FRAGMENT`-long window of a registered
  piece (cheap to check: two set lookups) has every such window masked;
* a run right before ``...`` that is a piece's start holding a random character (``cpmtv-5S...``, a token
  that starts like a vendor prefix), or a short run right after one that is a piece's mostly random end, is
  masked (a value cut by ``saferepr``);
* a run on the previous line of a masked fragment, or a short one on the next, across a string split
  (quote, line break, indent, quote), is masked when the two join up into a piece.

Only runs that touch a secret cost more than the two lookups: a 5 MB log is scanned at tens of MB/s
(``benchmarks/redaction.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nautes_e2e.secrets.index import Index
from nautes_e2e.secrets.material import FRAGMENT, LONGEST_HEAD, TOKEN_CHARS

_TOKEN = f"[{re.escape(TOKEN_CHARS)}]"
_LONG_RUN = re.compile(f"{_TOKEN}{{{FRAGMENT},}}")
_ESCAPED_RUN = re.compile(f"\\\\[ntr]({_TOKEN}{{{FRAGMENT},}})")  # the run after a repr's \\n
# A string literal continued on the next line: closing quote, line break, whatever prefixes the line
# (indent, ``E       +``, a ``b`` of a bytes literal), opening quote.
_SPLIT = r"['\"]\n[^'\"\n]{0,40}['\"]"
_SHORT_AFTER_SPLIT = re.compile(f"{_SPLIT}({_TOKEN}{{1,{FRAGMENT - 1}}})(?!{_TOKEN})")
_BEFORE_SPLIT = re.compile(f"(?<!{_TOKEN})({_TOKEN}{{1,{LONGEST_HEAD}}}){_SPLIT}\\Z")
_LOOK_BACK = 64
_BLOCK = 16_384
_CUT = "..."
_ESCAPED_LETTERS = ("n", "t", "r")

Span = tuple[int, int]


def mask(text: str, index: Index, mask_text: str) -> str:
    """``text`` with every fragment of a piece of ``index`` replaced by ``mask_text``."""
    fragments = list(_runs(text, index))
    spans = [*fragments, *_splits(text, fragments, index), *_cuts(text, index)]
    if not spans:
        return text
    out, position = [], 0
    for start, end in _merged(spans):
        out += [text[position:start], mask_text]
        position = end
    out.append(text[position:])
    return "".join(out)


def _runs(text: str, index: Index) -> Iterator[Span]:
    """The fragments in runs, looked for run by run only in the blocks of lines where a run starts or ends
    with a gram (checking that is several times cheaper than going through the runs one by one)."""
    grams = index.grams
    for block_start, block_end in _blocks(text):
        if _touches(text[block_start:block_end], grams):
            yield from _runs_in(text, block_start, block_end, grams)


def _blocks(text: str) -> Iterator[Span]:
    """About :data:`_BLOCK` characters each, ending after a line break (a run never spans one)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK)
        end = len(text) if end == -1 else end + 1
        yield start, end
        start = end


def _runs_in(text: str, block_start: int, block_end: int, grams: frozenset[str]) -> Iterator[Span]:
    for match in _LONG_RUN.finditer(text, block_start, block_end):
        run, start = match.group(), match.start()
        if (
            run[:FRAGMENT] in grams
            or run[-FRAGMENT:] in grams
            or (_escaped(text, start) and run[1 : FRAGMENT + 1] in grams)
        ):
            yield from _covered(run, start, grams)


def _touches(text: str, grams: frozenset[str]) -> bool:
    """Whether any run starts or ends with a gram: the common answer, no, found at C speed."""
    runs = _LONG_RUN.findall(text)
    escaped = _ESCAPED_RUN.findall(text)
    return not (
        grams.isdisjoint({run[:FRAGMENT] for run in runs})
        and grams.isdisjoint({run[-FRAGMENT:] for run in runs})
        and grams.isdisjoint({run[:FRAGMENT] for run in escaped})
    )


def _covered(run: str, offset: int, grams: frozenset[str]) -> Iterator[Span]:
    """The stretches of ``run`` made of windows of registered pieces (overlapping windows merged)."""
    start = end = -1
    for i in range(len(run) - FRAGMENT + 1):
        if run[i : i + FRAGMENT] in grams:
            if i > end:
                if end >= 0:
                    yield offset + start, offset + end
                start = i
            end = i + FRAGMENT
    if end >= 0:
        yield offset + start, offset + end


def _splits(text: str, spans: list[Span], index: Index) -> Iterator[Span]:
    """The ends of a fragment that a string split moved to the previous or the next line."""
    for start, end in spans:
        fragment = text[start:end]
        after = _SHORT_AFTER_SPLIT.match(text, end)
        if after and index.joined(fragment + after.group(1)):
            yield after.span(1)
        window_start = max(0, start - _LOOK_BACK)
        before = _BEFORE_SPLIT.search(text[window_start:start])
        if before and index.joined(before.group(1) + fragment):
            yield window_start + before.start(1), window_start + before.end(1)


def _cuts(text: str, index: Index) -> Iterator[Span]:
    """The piece starts right before a ``...`` and the short piece ends right after one."""
    position = text.find(_CUT)
    while position != -1:
        start = _run_start(text, position)
        if _escaped(text, start):
            start += 1
        if text[start:position] in index.heads:
            yield start, position
        after = position + len(_CUT)
        end = _run_end(text, after)
        if text[after:end] in index.tails:
            yield after, end
        position = text.find(_CUT, after)


def _run_start(text: str, end: int) -> int:
    start = end
    while start > 0 and end - start <= LONGEST_HEAD and text[start - 1] in TOKEN_CHARS:
        start -= 1
    return start


def _run_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and end - start < FRAGMENT and text[end] in TOKEN_CHARS:
        end += 1
    return end


def _escaped(text: str, start: int) -> bool:
    """Whether the run at ``start`` begins with the letter of a backslash escape (``\\n`` of a repr)."""
    return start > 0 and text[start - 1] == "\\" and text[start : start + 1] in _ESCAPED_LETTERS


def _merged(spans: list[Span]) -> Iterator[Span]:
    spans.sort()
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start > end:
            yield start, end
            start = next_start
        end = max(end, next_end)
    yield start, end
