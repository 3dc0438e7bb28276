"""YAML parsed by libyaml (PyYAML's C loader) where PyYAML has it: the same documents as the pure-Python
safe loader, several times faster; the operators read every synced file again at each reconcile, and the
hooks run reads the user's pipeline file at each push."""

from __future__ import annotations

from typing import Any

import yaml

#: PyYAML's safe loader in C where PyYAML was built with libyaml (same resolver and constructor: the same
#: documents), the pure-Python one otherwise.
SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load_all(text: str) -> list[Any]:
    """``list(yaml.safe_load_all(text))``, parsed in C; a text that does not parse is parsed again the
    pure-Python way, so that the error and its message (which quotes the offending line) stay the same."""
    try:
        return list(yaml.load_all(text, Loader=SAFE_LOADER))
    except yaml.YAMLError:
        return list(yaml.safe_load_all(text))
