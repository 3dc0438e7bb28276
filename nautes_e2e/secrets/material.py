"""What one registered secret gives the redactor: the exact forms it is written in, and the fragments of it
that are masked too.

Exact forms: the value as is, and escaped the ways a value is escaped before it is printed (a ``repr()`` or
a JSON string write a newline as ``\\n``, a bytes repr escapes non-ASCII, ``--junitxml`` escapes ``&<>"``).

Fragments: pytest does not print a value whole. It cuts a long repr in the middle (``'abc...xyz'``), splits a
bytes repr over lines, and a multi-line secret is escaped line by line. So the token-like runs of a secret
(:data:`TOKEN_RUN`, its *pieces*) are kept, and every :data:`FRAGMENT`-long window of one (its *grams*) is
masked wherever it appears. Only what is random counts: masking the fragments of
``certificate-authority-data``, ``PRIVATE`` or the ``registry-password`` of a test's made-up secret would
mangle every kubeconfig, key and message printed anywhere.

* A value with no whitespace (a token, a password) is random when at least half of it is in random-looking
  parts (between ``-``/``_``, 3 characters or more, mixing lower case, upper case and digits); then all of
  it is random but a vendor prefix (``glpat-``, ``dev-``, ``pusher-``: public, and masking it would mask the
  word wherever it is written). Otherwise (``registry-password-1``, ``glpat-unreachable-test-token-9d2e``)
  only its random-looking parts are.
* Of a value with whitespace (a kubeconfig, a PEM key) only the runs with a part of 12 or more characters
  that changes class often (a token, base64), each judged as above, and the lines that are one run (a PEM
  body line, however short the last one is) count; never its YAML keys, names, hosts or PEM armour.
* A window is a gram when at least half of it is random: ``lpat-X`` (one random character after ``glpat-``)
  turns up by chance, three random characters hardly.

Base64 (a Kubernetes Secret's ``data``, a Basic auth header, a kubeconfig's ``client-key-data``): the
characters that encode the value at each of the three alignments it can have inside a longer base64 text,
only those that do not depend on its neighbours, are both exact forms (found in the middle of a longer
blob) and pieces (found when pytest cuts the blob).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import string
from dataclasses import dataclass

#: What random tokens, url-safe passwords and base64 are made of; everything else (quotes, ``.``, ``:``,
#: ``=``, ``@``, whitespace, ``\\``) separates pieces, in a secret and in the text scanned for it alike.
TOKEN_CHARS = string.ascii_letters + string.digits + "_+/-"
TOKEN_RUN = re.compile(r"[A-Za-z0-9_+/\-]+")
#: The shortest fragment masked anywhere in a text. Six characters of a random token (64**6, about 7e10
#: values) do not occur in ordinary text by chance; shorter ones would.
FRAGMENT = 6
#: The shortest fragment masked where pytest cut a value (right before or after its ``...``): there the
#: fragment must also be a piece's start or end, which ordinary text hardly ever is.
CUT_FRAGMENT = 4
#: The longest piece start looked for at a cut or a line split: a vendor prefix (up to 7 characters) and what
#: follows until a window holds three random characters (``cpmtv-5S...`` of a token that starts like one).
LONGEST_HEAD = 12
_PART = re.compile(r"[^_-]+")
_RANDOM_PART = 3  # a random-looking part is at least this long
# A value is random when at least half its characters (but a vendor prefix) are in random parts: of 100000
# url-safe and hex tokens, 3 in 10000 are not (glpat- ones; of pusher-<8 hex> 2 in 100, all digits or all
# letters); made-up test secrets are below (registry-password-1: none, LS0tLS1CRUdJTi-planted-key-data: 0.48).
_RANDOM_SHARE = 0.5
_VENDOR_PREFIX = re.compile(r"[a-z]{1,6}[-_]")
_STRICT_PIECE = 12  # a run of a multi-line secret counts when it has a random-looking part this long
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
# The three alignments of a value inside a longer base64 text: (bytes before it, encoded characters that
# still depend on those bytes).
_ALIGNMENTS = ((0, 0), (1, 2), (2, 3))
# PEM armour: shared by every certificate and key, public. Its base64 is never a secret's fragment, so that
# a registered kubeconfig or key does not make every base64-encoded certificate look like a secret.
_PEM_ARMOUR = tuple(
    f"-----{edge} {label}-----\n"
    for edge in ("BEGIN", "END")
    for label in ("CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY")
)


@dataclass(frozen=True)
class Material:
    """A secret's exact ``forms``; its ``pieces`` with their ``grams`` (windows); ``heads``, a piece's starts
    from :data:`CUT_FRAGMENT` to :data:`LONGEST_HEAD` characters holding a random one, and ``tails``, its
    mostly random ends of 4 or 5 characters (what is left either side of a ``...`` cut)."""

    forms: frozenset[str]
    pieces: frozenset[str]
    grams: frozenset[str]
    heads: frozenset[str]
    tails: frozenset[str]


def material(value: str) -> Material:
    """The forms and fragments of ``value`` (already stripped and long enough to be redacted)."""
    cores = base64_cores(value)
    pieces = _pieces(value)
    pieces.update((piece, _all_random(piece)) for core in cores for piece in TOKEN_RUN.findall(core))
    grams, heads, tails, kept = set(), set(), set(), set()
    for piece, random in pieces.items():
        if len(piece) < FRAGMENT or not any(random):
            continue
        kept.add(piece)
        # random characters before each position: a window is mostly random by two lookups, not a sum
        before = list(itertools.accumulate(random, initial=0))
        grams |= {
            piece[i : i + FRAGMENT]
            for i in range(len(piece) - FRAGMENT + 1)
            if (before[i + FRAGMENT] - before[i]) * 2 >= FRAGMENT  # _mostly(random[i : i + FRAGMENT])
        }
        heads |= {piece[:length] for length in range(CUT_FRAGMENT, LONGEST_HEAD + 1) if any(random[:length])}
        tails |= {piece[-length:] for length in range(CUT_FRAGMENT, FRAGMENT) if _mostly(random[-length:])}
    return Material(
        forms=frozenset(_escaped_forms(value) | cores),
        pieces=frozenset(
            piece for piece in pieces if piece[:FRAGMENT] in grams or piece[-FRAGMENT:] in grams
        ),
        grams=frozenset(grams - _ARMOUR_GRAMS),
        heads=frozenset(heads),
        tails=frozenset(tails),
    )


def base64_cores(value: str) -> set[str]:
    """The base64 characters that encode ``value`` whatever surrounds it, at each alignment."""
    data = value.encode()
    cores = set()
    for before, unstable in _ALIGNMENTS:
        encoded = base64.b64encode(bytes(before) + data).decode()
        core = encoded[unstable : (before + len(data)) // 3 * 4]
        if len(core) >= FRAGMENT:
            cores.add(core)
    return cores


Flags = list[bool]


def _pieces(value: str) -> dict[str, Flags]:
    """The runs of ``value`` with, for each character, whether it is random.

    A value with no whitespace that is mostly random parts (a token, a password; also ``pusher-1a2b3c4d``)
    is random throughout but for a vendor prefix; of a made-up one (``registry-password-1``) only its
    random-looking parts are. Of a multi-line value: the runs with a long random-looking part (judged the
    same way, run by run), and the lines that are one run."""
    runs = TOKEN_RUN.findall(value)
    if not any(character.isspace() for character in value):
        random = _random_value(value)
        return {run: _all_random(run) if random else _random_parts(run) for run in runs}
    pieces = {
        run: _all_random(run) if _random_value(run) else _random_parts(run)
        for run in runs
        if any(map(_random_blob, _PART.findall(run)))
    }
    for line in value.splitlines():
        bare = line.strip().rstrip("=")
        if TOKEN_RUN.fullmatch(bare):
            pieces[bare] = _all_random(bare)
    return pieces


def _random_blob(part: str) -> bool:
    """Long, and changing between lower case, upper case and digits at least every 4th character on average:
    a token or base64 (about every 2nd), not ``certificateAuthorityData`` or ``k3d-nautes-e2e-abc1``."""
    classes = [
        next((n for n, alphabet in enumerate(_CLASSES) if character in alphabet), 3) for character in part
    ]
    changes = sum(left != right for left, right in itertools.pairwise(classes))
    return len(part) >= _STRICT_PIECE and changes * 4 >= len(part)


def _random_value(value: str) -> bool:
    prefix = _VENDOR_PREFIX.match(value)
    runs = TOKEN_RUN.findall(value[prefix.end() :] if prefix else value)
    random = sum(sum(_random_parts(run)) for run in runs)
    return random >= _RANDOM_SHARE * max(1, sum(map(len, runs)))


def _mostly(random: Flags) -> bool:
    """At least half random: ``lpat-X`` (one random character after ``glpat-``) would turn up by chance in
    ordinary text (1 in 64), three random characters hardly (1 in 262144)."""
    return sum(random) * 2 >= len(random)


def _all_random(piece: str) -> Flags:
    """Every character is random but a vendor prefix (``glpat-``, ``dev-``, ``pusher-``): public, and
    masking it would mask the word wherever it is written."""
    prefix = _VENDOR_PREFIX.match(piece)
    public = prefix.end() if prefix else 0
    return [False] * public + [True] * (len(piece) - public)


def _random_parts(piece: str) -> Flags:
    """Only the characters of its random-looking parts are random."""
    flags = [False] * len(piece)
    for part in _PART.finditer(piece):
        if len(part.group()) >= _RANDOM_PART and _classes(part.group()) >= 2:
            flags[part.start() : part.end()] = [True] * len(part.group())
    return flags


def _classes(text: str) -> int:
    return sum(any(character in alphabet for character in text) for alphabet in _CLASSES)


def _escaped_forms(value: str) -> set[str]:
    xml_text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml_attribute = (
        xml_text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")
    )
    return {
        value,
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        repr(value.encode())[2:-1],
        xml_text,
        xml_attribute,
    }


_ARMOUR_GRAMS: frozenset[str] = frozenset(
    core[i : i + FRAGMENT]
    for armour in _PEM_ARMOUR
    for core in base64_cores(armour)
    for i in range(len(core) - FRAGMENT + 1)
)
