"""Guest exports through `--emit c-p2`: a world's exports with scalar, enum, flags and
handle parameters become core exports of the guest (`<P1 module>#<function>`, the flat
signature of the P1 function) that call the `exports_...` functions the guest defines,
as wit-bindgen has it; `wit2witx run` calls wasi:cli/run's `run` when a guest exports
it, and the Python host calls an export with handle parameters
(`wit2witx.hosts.exports.call_export`). Exports with strings or lists are refused with
a diagnostic for now.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_path, zig_cc
from wasi import wasi_package_with_deps

wasmtime = pytest.importorskip("wasmtime")

P2 = FIXTURES / "p2"
RUN = [sys.executable, "-m", "wit2witx", "run"]

PROBE_WIT = """package test:probe;

world probe {
  import wasi:io/poll@0.2.12;
  use wasi:io/poll@0.2.12.{pollable};
  /// How many of the two pollables are ready.
  export count-ready: func(a: borrow<pollable>, b: borrow<pollable>) -> u32;
}
"""


def generate(root: Path, world: str, out: Path) -> dict[str, str]:
    from wit2witx import compiler

    out.mkdir()
    files = dict(compiler.compile([str(root)], emit="c-p2", world=world))
    for name, text in files.items():
        (out / name).write_text(text)
    return files


def reactor(out: Path, source: Path, shim: str) -> Path:
    wasm = out / (source.stem + ".wasm")
    proc = zig_cc("--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-std=c11", "-Wall",
                  "-Wextra", "-Werror", f"-I{out}", "-o", str(wasm), str(source), str(out / shim))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.fixture(scope="module")
def run_guest(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run_guest")
    files = generate(wasi_package_with_deps(tmp, "cli"), "wasi:cli/command", tmp / "gen")
    assert "extern bool exports_wasi_cli_run_run(void);" in files["command.h"]
    assert '__export_name__("wasi_cli_run#run")' in files["command.c"]
    return reactor(tmp / "gen", P2 / "run_guest.c", "command.c")


def probe_package(tmp: Path, wit: str = PROBE_WIT) -> Path:
    root = tmp / "probe"
    (root / "deps").mkdir(parents=True)
    shutil.copytree(corpus_path("wasi-p2", "io"), root / "deps" / "io")
    (root / "probe.wit").write_text(wit)
    return root


@pytest.fixture(scope="module")
def probe_guest(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("probe_guest")
    files = generate(probe_package(tmp), "probe", tmp / "gen")
    assert ("extern uint32_t exports_probe_count_ready(probe_borrow_pollable_t a, "
            "probe_borrow_pollable_t b);") in files["probe.h"]
    return reactor(tmp / "gen", P2 / "probe_guest.c", "probe.c")


@pytest.mark.parametrize("args,status", [(["one"], 0), (["one", "fail"], 1)])
def test_wit2witx_run_calls_the_run_export(run_guest, args, status):
    proc = subprocess.run([*RUN, str(run_guest), "--host", "wasi-cli", "--", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == status, proc.stderr
    assert proc.stdout == f"run: {len(args) + 1} arguments\n"


def test_run_export_without_a_host_fails_cleanly(run_guest):
    proc = subprocess.run([*RUN, str(run_guest)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "cannot instantiate" in proc.stderr


def test_host_calls_an_export_with_handle_parameters(probe_guest):
    from wit2witx import hosts
    from wit2witx.hosts.exports import Borrowed, call_export, export_name
    from wit2witx.hosts.sockets import Pollable

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    _, tables = hosts.add_sockets_to_linker(linker, store)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(probe_guest)))
    instance.exports(store)["_initialize"](store)
    name = export_name("test_probe_probe", "count_ready")
    ready = Pollable(check=lambda: True)
    waiting = Pollable(check=lambda: False, deadline=1 << 62)
    key = "wasi_io_poll.pollable"
    before = tables.live
    assert call_export(instance, store, tables, name, Borrowed(key, ready), Borrowed(key, waiting)) == 1
    assert call_export(instance, store, tables, name, Borrowed(key, ready), Borrowed(key, ready)) == 2
    assert call_export(instance, store, tables, name, Borrowed(key, waiting), Borrowed(key, waiting)) == 0
    assert tables.live == before  # every lent handle taken back
    # a handle the host never gave: the import says bad_handle, the shim traps
    with pytest.raises(wasmtime.Trap):
        call_export(instance, store, tables, name, 12345, Borrowed(key, ready))
    assert tables.live == before


def test_exports_with_strings_get_a_diagnostic(tmp_path):
    from wit2witx import compiler
    from wit2witx.diagnostics import UnsupportedError

    wit = PROBE_WIT.replace("export count-ready: func(a: borrow<pollable>, b: borrow<pollable>) -> u32;",
                            "export greet: func(name: string);")
    root = probe_package(tmp_path, wit)
    with pytest.raises(UnsupportedError) as info:
        compiler.compile([str(root)], emit="c-p2", world="probe")
    text = info.value.render(color=False)
    assert "strings, lists" in text
    assert "probe.wit:7:" in text
