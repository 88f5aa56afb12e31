"""Lay WASI packages from the corpus out as wit-parser expects: a package + deps/."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import corpus_path


def wasi_package_with_deps(tmp: Path, package: str, release: str = "wasi-p2") -> Path:
    """Copy corpus `<release>/<package>` to tmp with every other package in its deps/."""
    src = corpus_path(release)
    root = tmp / release / package
    shutil.copytree(src / package, root)
    for other in sorted(p for p in src.iterdir() if p.is_dir() and p.name != package):
        shutil.copytree(other, root / "deps" / other.name)
    return root
