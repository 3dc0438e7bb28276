"""``--service NAME=KIND``: which of a world's services run as what (design §3).

On the ``local`` target every service is emulated by default; ``--service vault=container`` swaps the
emulated one for its real container (OpenBao/Vault, a Distribution registry), with the same stage code
on top. Parsed once, before anything starts: a bad value names itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from nautes_e2e.targets.target_file import TargetError

#: The kinds a service may be: the reference stack's emulation, or the real thing in a container.
EMULATED = "emulated"
CONTAINER = "container"
SERVICE_KINDS = (EMULATED, CONTAINER)


def parse_services(values: Iterable[str], swappable: Iterable[str]) -> Mapping[str, str]:
    """``["vault=container", ...]`` as ``{"vault": "container"}``; every service of ``swappable`` not named
    stays emulated. A malformed value, an unknown service or kind, or a service named twice is a
    :class:`TargetError` naming it."""
    allowed = tuple(swappable)
    chosen: dict[str, str] = {}
    for value in values:
        name, separator, kind = value.partition("=")
        if not separator or not name or not kind:
            raise TargetError(f"--service {value!r}: expected NAME=KIND, e.g. vault=container")
        if name not in allowed:
            available = ", ".join(allowed) or "none on this target"
            raise TargetError(f"--service {value!r}: unknown service {name!r} (swappable: {available})")
        if kind not in SERVICE_KINDS:
            kinds = ", ".join(SERVICE_KINDS)
            raise TargetError(f"--service {value!r}: unknown kind {kind!r} (one of {kinds})")
        if name in chosen:
            raise TargetError(f"--service {value!r}: {name} is already {chosen[name]}")
        chosen[name] = kind
    return MappingProxyType({name: chosen.get(name, EMULATED) for name in allowed})
