"""Where the grammar and templates live, installed or in a checkout.

A wheel carries them inside the package (`wit2witx/grammars`, `wit2witx/templates`);
an editable install or a plain checkout has them at the repository's top level.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def resource_dir(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"wit2witx installation is missing its `{name}/` folder")


def grammar_path(filename: str = "wit.lark") -> Path:
    return resource_dir("grammars") / filename


def templates_dir() -> Path:
    return resource_dir("templates")


def cache_dir() -> Path:
    """Per-user cache (the grammar's LALR table); WIT2WITX_CACHE_DIR overrides.

    Everything cached is keyed by content, and a missing or read-only cache only costs
    the work it would have saved.
    """
    override = os.environ.get("WIT2WITX_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wit2witx"
