"""Host glue (C): generated glue + wasm3 built from source + real guests.

Every test here builds C: the generated core and wasm3 binding are compiled with gcc
(`-Wall -Wextra -Werror`, AddressSanitizer + UBSan) into a host program that links
wasm3 (built once from the pywasm3 0.5.0 sdist by `support.wasm3`) and an
implementation; guests are compiled with zig for wasm32-freestanding or assembled
from WAT with `wasm-tools parse`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, corpus_path, run_wasm_tools, zig_cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.wasm3 import Wasm3Unavailable, gcc, wasm3_lib  # noqa: E402

import wit2witx  # noqa: E402
from wit2witx.compiler import Options, build_program  # noqa: E402
from wit2witx.emit import c_header, host_c  # noqa: E402
from wit2witx.p1 import abi  # noqa: E402
from wit2witx.p1.model import Expected, Flags, resolve  # noqa: E402

pytestmark = pytest.mark.slow

GUESTS = FIXTURES / "guests"
IMPL = FIXTURES / "example" / "impl"
EXAMPLE = FIXTURES / "example"
SAN = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
CFLAGS = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1")
EMIT = ("c", "host-c", "host-wasm3", "host-wamr")
SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"}


# --------------------------------------------------------------------------- helpers


def generate(paths, out: Path, emit=EMIT) -> dict[str, str]:
    files = wit2witx.compiler.compile(paths, emit=emit)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    return dict(files)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    return proc


def check(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def wasm3_san() -> tuple[Path, Path]:
    try:
        return wasm3_lib(("-O1", "-g", *SAN))
    except Wasm3Unavailable as exc:
        pytest.fail(str(exc))


def build_host(out: Path, sources: list[Path], wasm3: tuple[Path, Path], name: str,
               includes: list[Path] = ()) -> Path:
    inc, lib = wasm3
    exe = out / name
    cmd = [gcc(), *CFLAGS, *SAN, "-I", out, *[x for i in includes for x in ("-I", i)],
           "-isystem", inc, *sources, lib, "-lm", "-o", exe]
    check(run(cmd), "building the host")
    return exe


def run_host(exe: Path, wasm: Path) -> dict[str, str]:
    env = dict(os.environ, **SAN_ENV)
    proc = run([exe, wasm], env=env)
    assert "runtime error" not in proc.stderr, proc.stderr  # UBSan
    assert "AddressSanitizer" not in proc.stderr, proc.stderr
    check(proc, f"running {exe.name} {wasm.name}")
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def guest_names(unit, units, out: Path) -> None:
    """guest_names.h: F(f), RET_<f> and ST_<f>_<case> from the model and the C header view."""
    view = c_header.build_view(unit, units=units)
    lines = [f'#include "{unit.name}.h"', f"#define F(name) {c_header.default_prefix(unit.module.name)}##name"]
    cfuncs = {f.import_name: f for f in view.functions}
    for func in unit.module.functions:
        cf = cfuncs[func.name]
        outs = [p for p in cf.params if p.name == "retptr0"]
        if outs:
            lines.append(f"#define RET_{func.name} {outs[0].ctype.rstrip(' *')}")
        exp = resolve(func.results[0].type)
        assert isinstance(exp, Expected)
        for i, case in enumerate(resolve(exp.err).cases):
            lines.append(f"#define ST_{func.name}_{case.name} {i}")
    for tn in unit.own_typenames:
        if isinstance(tn.resolved, Flags) and tn.name == "capabilities":
            for i, flag in enumerate(tn.resolved.flags):
                lines.append(f"#define CAP_{flag.name.upper()} {1 << i}")
    (out / "guest_names.h").write_text("\n".join(lines) + "\n")


def zig_guest(src: Path, out: Path, name: str, exports=("run",)) -> Path:
    wasm = out / name
    args = ["--target=wasm32-freestanding", "-nostdlib", "-O2", "-Wall", "-Wextra", "-Werror",
            "-Wl,--no-entry", *[f"-Wl,--export={e}" for e in exports], "-I", str(out),
            "-o", str(wasm), str(src)]
    check(zig_cc(*args), f"compiling {src.name} for wasm32")
    return wasm


def wat_guest(text: str, out: Path, name: str) -> Path:
    wat = out / (name + ".wat")
    wat.write_text(text)
    wasm = out / (name + ".wasm")
    proc = run_wasm_tools("parse", str(wat), "-o", str(wasm))
    assert proc.returncode == 0, proc.stderr.decode()
    return wasm


def sensors_program():
    return build_program([str(EXAMPLE)], Options(emit=EMIT))


# --------------------------------------------------------------------------- the example


@pytest.fixture(scope="session")
def sensors_build(tmp_path_factory, wasm3_san):
    """The example lowered from WIT, glue generated, host built (with sanitizers)."""
    out = tmp_path_factory.mktemp("sensors")
    generate([EXAMPLE], out)
    program = sensors_program()
    unit = program.units[0]
    guest_names(unit, program.units, out)
    exe = build_host(out, [GUESTS / "sensors_host.c", out / f"{unit.name}_host.c",
                           out / f"{unit.name}_wasm3.c", IMPL / "sensors_impl.c"],
                     wasm3_san, "sensors_host", [IMPL])
    return out, exe, program


def test_emitted_files_for_the_example(sensors_build):
    out, _, program = sensors_build
    unit = program.units[0]
    files = sorted(p.name for p in out.iterdir() if p.suffix in (".c", ".h"))
    for name in ("w2w_host.h", f"{unit.name}_host.h", f"{unit.name}_host.c",
                 f"{unit.name}_wasm3.h", f"{unit.name}_wasm3.c", f"{unit.name}_wamr.h",
                 f"{unit.name}_wamr.c"):
        assert name in files
    header = (out / f"{unit.name}_host.h").read_text()
    for func in unit.module.functions:  # one implementation and one trampoline per function
        assert f"{unit.name}_impl_{func.name}(" in header
        assert f"{unit.name}_call_{func.name}(" in header
    wasm3_c = (out / f"{unit.name}_wasm3.c").read_text()
    assert wasm3_c.count("m3_LinkRawFunctionEx(") == len(unit.module.functions)
    wamr_c = (out / f"{unit.name}_wamr.c").read_text()
    for func in unit.module.functions:
        sig = abi.core_signature(func)
        wamr_sig = "(" + "".join({"i32": "i", "i64": "I", "f32": "f", "f64": "F"}[t] for t in sig.param_types) \
            + ")" + "".join({"i32": "i", "i64": "I"}[t] for t in sig.result_types)
        assert f'.signature = "{wamr_sig}";' in wamr_c
        assert "*" not in wamr_sig and "~" not in wamr_sig
    # no allocation and no mutable file-scope state in the generated C
    for name in (f"{unit.name}_host.c", f"{unit.name}_wasm3.c", f"{unit.name}_wamr.c", "w2w_host.h"):
        text = (out / name).read_text()
        assert not re.search(r"\b(malloc|calloc|realloc|free)\s*\(", text), name
        assert not re.search(r"^static (?!const|inline)[^(]*;", text, re.M), name


def test_generated_files_are_deterministic(tmp_path):
    a = wit2witx.compiler.compile([EXAMPLE], emit=EMIT)
    b = wit2witx.compiler.compile([EXAMPLE], emit=EMIT)
    assert dict(a) == dict(b)


def test_example_guest_calls_every_function(sensors_build):
    out, exe, program = sensors_build
    wasm = zig_guest(GUESTS / "sensors_guest.c", out, "sensors_guest.wasm")
    imports = run_wasm_tools("print", str(wasm)).stdout.decode()
    for func in program.units[0].module.functions:  # the guest really imports every function
        assert f'(import "example_sensors_bus" "{func.name}"' in imports
    facts = run_host(exe, wasm)
    assert facts["run"] == "0", f"guest check {facts['run']} failed"
    # what the host saw: both devices opened and dropped, every handle released
    assert facts["live"] == "0"
    assert facts["opened"] == "1,1"
    assert facts["dropped"] == "1,1"
    assert facts["reads"] == "2 writes=1 samples=1"
    assert facts["regs40"] == "1,2,3,4"
    # calls that reached the implementation: every guest call except the ones the glue
    # refused (2 calls with dead handles) and the too-small read the implementation saw
    assert int(facts["impl_calls"]) == 23


def test_example_through_the_witx_front_end(tmp_path, wasm3_san):
    """The same glue from fixtures/witx/sensors_bus.witx (read_witx, not the lowering)."""
    out = tmp_path
    files = generate([FIXTURES / "witx" / "sensors_bus.witx"], out)
    lowered = wit2witx.compiler.compile([EXAMPLE], emit=("host-c",))
    core = "example_sensors_bus_host.c"
    assert files[core].split("\n", 1)[1] == lowered[core].split("\n", 1)[1]
    program = build_program([str(FIXTURES / "witx" / "sensors_bus.witx")], Options(emit=EMIT))
    guest_names(program.units[0], program.units, out)
    exe = build_host(out, [GUESTS / "sensors_host.c", out / core, out / "example_sensors_bus_wasm3.c",
                           IMPL / "sensors_impl.c"], wasm3_san, "sensors_host", [IMPL])
    wasm = zig_guest(GUESTS / "sensors_guest.c", out, "sensors_guest.wasm")
    facts = run_host(exe, wasm)
    assert facts["run"] == "0" and facts["live"] == "0"


# --------------------------------------------------------------------------- wasi:random


def test_wasi_random_over_getrandom(tmp_path, wasm3_san):
    """wasi:random/random@0.2.12 from the corpus: lowered, glue generated, host over getrandom."""
    src = corpus_path("wasi-p2", "random")
    out = tmp_path
    files = generate([src], out)
    assert "wasi_random_random_host.c" in files and "wasi_random_random_wasm3.c" in files
    program = build_program([str(src)], Options(emit=EMIT))
    unit = next(u for u in program.units if u.name == "wasi_random_random")
    assert [f.name for f in unit.module.functions] == ["get_random_bytes", "get_random_u64"]
    guest_names(unit, program.units, out)
    exe = build_host(out, [GUESTS / "random_host.c", out / "wasi_random_random_host.c",
                           out / "wasi_random_random_wasm3.c"], wasm3_san, "random_host")
    wasm = zig_guest(GUESTS / "random_guest.c", out, "random_guest.wasm")
    facts = run_host(exe, wasm)
    assert facts["run"] == "0", f"guest check {facts['run']} failed"
    assert facts["impl_calls"] == "6"  # every call reaches the implementation
