"""Where the grammar and templates live, installed or in a checkout.

A wheel carries them inside the package (`wit2witx/grammars`, `wit2witx/templates`);
an editable install or a plain checkout has them at the repository's top level.
"""

from __future__ import annotations

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
