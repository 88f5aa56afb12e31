"""A C guest built against the generated headers imports exactly what the P1 model says.

The guest (`fixtures/guests/sockets/sockets_guest.c`) uses wasi:sockets/tcp and
wasi:io/streams through the generated C headers only; its import section, read with the
real `wasm-tools print`, must name our modules and functions with our core signatures.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_path, run_wasm_tools, zig_cc
from wit2witx import compiler
from wit2witx.p1 import abi

pytestmark = pytest.mark.slow

IMPORT = re.compile(r'^\s*\(import "(?P<module>[^"]+)" "(?P<name>[^"]+)" \(func (?P<sig>.*)\)\)$', re.M)


def sockets_tree(tmp: Path) -> Path:
    src = corpus_path("wasi-p2")
    root = tmp / "sockets"
    shutil.copytree(src / "sockets", root)
    for dep in ("io", "clocks"):
        shutil.copytree(src / dep, root / "deps" / dep)
    return root


def imports_of(wasm: Path) -> list[tuple[str, str, list[str], list[str]]]:
    proc = run_wasm_tools("print", str(wasm))
    assert proc.returncode == 0, proc.stderr.decode()
    found = []
    for m in IMPORT.finditer(proc.stdout.decode()):
        params = re.findall(r"\(param ([^()]*)\)", m.group("sig"))
        results = re.findall(r"\(result ([^()]*)\)", m.group("sig"))
        found.append((m.group("module"), m.group("name"),
                      " ".join(params).split(), " ".join(results).split()))
    return found


def test_sockets_guest_imports_match_the_model(tmp_path):
    root = sockets_tree(tmp_path)
    program = compiler.build_program([str(root)], compiler.Options(emit=("c",)))
    headers = tmp_path / "include"
    headers.mkdir()
    for name, text in compiler.compile([str(root)], emit=["c"]).items():
        (headers / name).write_text(text)
    wasm = tmp_path / "guest.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{headers}",
                  "-o", str(wasm), str(FIXTURES / "guests" / "sockets" / "sockets_guest.c"))
    assert proc.returncode == 0, proc.stderr

    model = {(u.name, f.name): abi.core_signature(f)
             for u in program.units if u.module for f in u.module.functions}
    ours = [imp for imp in imports_of(wasm) if imp[0] != "wasi_snapshot_preview1"]
    assert ours, "the guest imports nothing of the backported modules"
    for module, name, params, results in ours:
        assert (module, name) in model, f"{module}.{name} is not in the P1 model"
        sig = model[(module, name)]
        assert (params, results) == (sig.param_types, sig.result_types), f"{module}.{name}"
    modules = {m for m, *_ in ours}
    assert {"wasi_sockets_tcp", "wasi_io_streams"} <= modules
    assert sum(m == "wasi_sockets_tcp" for m, *_ in ours) >= 5
    assert sum(m == "wasi_io_streams" for m, *_ in ours) >= 2
