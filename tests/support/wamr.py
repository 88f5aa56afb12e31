"""WAMR for the tests: its source from `$WAMR_SRC` or ../shared/vendor, vmlib built with CMake.

`wamr_source()` finds the source (a folder or a tarball; the tarball is unpacked once into
`.cache/`), `wamr_include()` its public headers, `wamr_lib(config, sanitize)` a
`libiwasm.a` built by `wit2witx.hosts.c.build` from the project's own CMakeLists.txt
(`wit2witx/hosts/c/wamr/`) into `.cache/`, keyed by sources and flags and file-locked so
xdist workers share one build. Configurations: "default" and "nohwbound" (the
microcontroller one, `WAMR_DISABLE_HW_BOUND_CHECK=1`).

When WAMR is unavailable these raise `WamrUnavailable`; `require(fn, ...)` turns that
into a test failure under CI=true and a skip elsewhere. No registry ships WAMR's sources
(apt, PyPI and npm checked), which is why they live in ../shared/vendor.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from wit2witx.hosts.c import build
from wit2witx.hosts.c.build import NativeBuildError, WamrUnavailable

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
VENDOR = (ROOT.parent / "shared" / "vendor").resolve()
IN_CI = os.environ.get("CI", "").lower() == "true"
CONFIGS = tuple(build.WAMR_CONFIGS)

T = TypeVar("T")


def _given() -> Path:
    value = os.environ.get("WAMR_SRC")
    if value:
        return Path(value)
    tarballs = sorted(VENDOR.glob("wasm-micro-runtime-*.tar.gz"))
    if not tarballs:
        raise WamrUnavailable(f"no WAMR source: set WAMR_SRC, or provide "
                              f"{VENDOR}/wasm-micro-runtime-*.tar.gz (see its README)")
    return tarballs[-1]


def wamr_source() -> Path:
    """WAMR's source root (unpacked into .cache/ when given as a tarball)."""
    return build.wamr_source(_given(), CACHE)


def wamr_include() -> Path:
    """`<src>/core/iwasm/include` (wasm_export.h, lib_export.h); WAMR_INCLUDE overrides."""
    value = os.environ.get("WAMR_INCLUDE")
    path = Path(value) if value else wamr_source() / "core" / "iwasm" / "include"
    if not (path / "wasm_export.h").is_file():
        raise WamrUnavailable(f"{path} does not hold wasm_export.h")
    return path


def wamr_lib(config: str = "default", sanitize: bool = False) -> Path:
    """libiwasm.a for `config` ("default" | "nohwbound"); WAMR_LIB overrides "default"."""
    value = os.environ.get("WAMR_LIB")
    if value and config == "default" and not sanitize:
        return Path(value)
    return build.wamr_lib(wamr_source(), CACHE, config, sanitize)


def require(fn: Callable[..., T], *args, **kwargs) -> T:
    """fn(*args) or, when WAMR is unavailable, a failure under CI=true and a skip elsewhere."""
    try:
        return fn(*args, **kwargs)
    except WamrUnavailable as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    except NativeBuildError as exc:  # sources present but not building: always a failure
        pytest.fail(str(exc))


__all__ = ["wamr_source", "wamr_include", "wamr_lib", "require", "CONFIGS", "WamrUnavailable",
           "NativeBuildError"]


def main() -> int:
    """`python tests/support/wamr.py` (make test): build both configurations ahead of the
    tests; a missing WAMR source fails under CI=true and only warns elsewhere."""
    try:
        for config in CONFIGS:
            print(f"WAMR {config}: {wamr_lib(config)}")
    except WamrUnavailable as exc:
        print(f"{'error' if IN_CI else 'warning'}: {exc}", file=sys.stderr)
        return 1 if IN_CI else 0
    except NativeBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
