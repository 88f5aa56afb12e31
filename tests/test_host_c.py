"""Host glue (C): generated glue + wasm3 built from source + real guests.

Every test here builds C: the generated core and wasm3 binding are compiled with gcc
(`-Wall -Wextra -Werror`, AddressSanitizer + UBSan) into a host program that links
wasm3 (built once from the pywasm3 0.5.0 sdist by `support.wasm3`) and an
implementation; guests are compiled with zig for wasm32-freestanding or assembled
from WAT with `wasm-tools parse`.

WAMR: no package registry ships WAMR's sources, so `support.wamr` takes them from
$WAMR_SRC or ../shared/vendor/wasm-micro-runtime-*.tar.gz and builds libiwasm.a with
CMake in two configurations, "default" and "nohwbound" (WAMR_DISABLE_HW_BOUND_CHECK, the
microcontroller one); the WAMR tests run on both. Without WAMR they fail under CI=true
and skip elsewhere. WAMR_INCLUDE / WAMR_LIB (a default-configuration libiwasm.a) override.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_path, run_wasm_tools, zig_cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.wasm3 import Wasm3Unavailable, gcc, wasm3_lib  # noqa: E402
from support import wamr as wamr_support  # noqa: E402

import wit2witx  # noqa: E402
from wit2witx.compiler import Options, build_program  # noqa: E402
from wit2witx.emit import c_header  # noqa: E402
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
               includes: list[Path] = (), defines: tuple[str, ...] = ()) -> Path:
    inc, lib = wasm3
    exe = out / name
    cmd = [gcc(), *CFLAGS, *SAN, *defines, "-I", out, "-I", GUESTS,
           *[x for i in includes for x in ("-I", i)], "-isystem", inc, *sources, lib, "-lm", "-o", exe]
    check(run(cmd), "building the host")
    return exe


def build_wamr_host(out: Path, sources: list[Path], config: str, name: str,
                    includes: list[Path] = (), defines: tuple[str, ...] = ()) -> Path:
    """`build_host`'s twin for WAMR: linked with the `config` build of its vmlib."""
    include, lib = wamr_include(), wamr_support.require(wamr_support.wamr_lib, config)
    exe = out / name
    cmd = [gcc(), *CFLAGS, *SAN, *defines, "-I", out, "-I", GUESTS,
           *[x for i in includes for x in ("-I", i)], "-isystem", include, *sources, lib,
           "-lpthread", "-lm", "-ldl", "-o", exe]
    check(run(cmd), "building the WAMR host")
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
    for name in ("w2w_host.h", f"{unit.name}_host.h", f"{unit.name}_host_inline.h", f"{unit.name}_host.c",
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
    for name in (f"{unit.name}_host.c", f"{unit.name}_host_inline.h", f"{unit.name}_wasm3.c",
                 f"{unit.name}_wamr.c", "w2w_host.h"):
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
    check_example_facts(run_host(exe, wasm))


def check_example_facts(facts: dict[str, str]) -> None:
    """What sensors_host.c prints after the example guest (here and on Cortex-M)."""
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


# --------------------------------------------------------------------------- hostile guests


def status_values(program, module: str, typename: str) -> dict[str, int]:
    unit = next(u for u in program.units if u.name == module)
    tn = unit.document.typename(typename)
    assert tn is not None, typename
    return {c.name: i for i, c in enumerate(tn.resolved.cases)}


def hostile_wat(sensors, extra=None, name: str = "hostile.wat") -> str:
    """A WAT guest with its @@E.case@@ / @@S.case@@ / @@X.case@@ status placeholders filled."""
    values = {
        "E": status_values(sensors, "example_sensors_bus", "error_code_status"),
        "S": status_values(sensors, "example_sensors_bus", "status"),
        "X": status_values(extra, "extra", "status") if extra is not None else {},
        "F": status_values(extra, "extra", "fault_status") if extra is not None else {},
    }
    text = (GUESTS / name).read_text()
    head, body = text.split("(module", 1)  # the comment above the module names the syntax
    body = re.sub(r"@@(\w)\.(\w+)@@", lambda m: str(values[m.group(1)][m.group(2)]), body)
    assert "@@" not in body
    text = head + "(module" + body
    return text


def test_hostile_guest_gets_documented_statuses(tmp_path, wasm3_san):
    out = tmp_path
    generate([EXAMPLE], out, emit=("host-c", "host-wasm3"))
    witx = FIXTURES / "witx" / "extra.witx"
    generate([witx], out, emit=("host-c", "host-wasm3"))
    sensors = sensors_program()
    extra = build_program([str(witx)], Options(emit=EMIT))
    # the layout the WAT relies on (config record at 0x400, shape variant at 0x480)
    from wit2witx.p1 import layout
    doc = extra.units[0].document
    assert layout.field_offsets(doc.typename("config").type) == {
        "mode": 0, "label": 4, "opts": 12, "glyph": 16, "on": 20}
    assert layout.size_align(doc.typename("config").type) == layout.SizeAlign(24, 4)
    assert layout.variant_layout(doc.typename("shape").type).payload_offset == 4
    assert layout.size_align(doc.typename("reading").type if doc.typename("reading") else
                             sensors.units[0].document.typename("reading").type) == layout.SizeAlign(24, 8)
    wasm = wat_guest(hostile_wat(sensors, extra), out, "hostile")
    exe = build_host(out, [GUESTS / "hostile_host.c", out / "example_sensors_bus_host.c",
                           out / "example_sensors_bus_wasm3.c", out / "extra_host.c",
                           out / "extra_wasm3.c", IMPL / "sensors_impl.c", GUESTS / "extra_impl.c"],
                     wasm3_san, "hostile_host", [IMPL, GUESTS])
    check_hostile_facts(run_host(exe, wasm))


def check_hostile_facts(facts: dict[str, str]) -> None:
    """What hostile_host.c prints after the hostile guest (here and on Cortex-M)."""
    calls = int(facts["calls"])
    assert facts["run"] == "0", f"hostile expectation {facts['run']} failed"
    assert calls == 72
    # the host is intact: only the handles the guest legitimately holds are live,
    # nothing refused reached an implementation, device registers are unchanged
    assert facts["live"] == "4"  # h1, h2, lamp, switch
    assert facts["bus_calls"] == "9"  # 4 setup + 2 too-small reads + empty write + short name + final read
    assert facts["extra_calls"] == "8"  # 4 setup + configure + area + 2 checks (too small, message)
    assert facts["extra_dropped"] == "1"
    assert facts["regs0"] == ",".join(str(i ^ 0x10) for i in range(8))
    assert facts["lamp0"] == "mode:1,label:kitchen,opts:1,glyph:65,on:1"


# --------------------------------------------------------------------------- WAMR


def wamr_include() -> Path:
    """WAMR's public headers (`core/iwasm/include`); fails in CI, skips elsewhere, if absent."""
    path = wamr_support.require(wamr_support.wamr_include)
    assert (path / "wasm_export.h").is_file() and (path / "lib_export.h").is_file(), path
    return path


def test_wamr_binding_compiles_against_wamr_headers(tmp_path):
    include = wamr_include()
    out = tmp_path
    generate([EXAMPLE], out, emit=("host-c", "host-wamr"))
    generate([FIXTURES / "witx" / "extra.witx"], out, emit=("host-c", "host-wamr"))
    generate([corpus_path("wasi-p2", "random")], out, emit=("host-c", "host-wamr"))
    sources = sorted(out.glob("*_wamr.c"))
    assert {s.name for s in sources} >= {"example_sensors_bus_wamr.c", "extra_wamr.c", "wasi_random_random_wamr.c"}
    for src in sources:
        text = src.read_text()
        for sig in re.findall(r'\.signature = "([^"]*)";', text):
            assert re.fullmatch(r"\([iIfF]*\)[iIfF]?", sig), sig  # never `*`, `~` or `$`
        check(run([gcc(), "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I", include,
                   "-I", out, "-c", src, "-o", out / (src.stem + ".o")]), f"compiling {src.name}")


# --------------------------------------------------------------------------- all of WASI 0.2.12


def test_glue_for_all_of_wasi_compiles(tmp_path):
    """Every package of WASI 0.2.12 (with the others as deps) and wasi_snapshot_preview1:
    the core and the wasm3 binding of every unit compile as C99 with -pedantic -Wall
    -Wextra -Werror, and so does the WAMR binding against WAMR's headers."""
    src = corpus_path("wasi-p2")
    packages = sorted(p.name for p in src.iterdir() if p.is_dir())
    assert len(packages) == 7
    wasm3_inc, _ = wasm3_lib(("-O2",))
    include = wamr_include()
    out = tmp_path / "out"
    units = set()
    for pkg in packages:
        root = tmp_path / "tree" / pkg
        shutil.copytree(src / pkg, root)
        for dep in packages:
            if dep != pkg:
                shutil.copytree(src / dep, root / "deps" / dep)
        emit = ("host-c", "host-wasm3", "host-wamr")
        files = generate([root], out, emit=emit)
        units |= {name[:-len("_host.c")] for name in files if name.endswith("_host.c")}
    assert len(units) >= 25, sorted(units)
    # and the WITX front end's P1-era modules, whose errno has nobufs/badf/fault/inval
    preview1 = corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx")
    generate([preview1], out, emit=("host-c", "host-wasm3", "host-wamr"))
    sources = sorted(out.glob("*_host.c")) + sorted(out.glob("*_wasm3.c")) + sorted(out.glob("*_wamr.c"))
    assert len(sources) == 3 * len(sorted(out.glob("*_host.c")))
    # strict C99 (what embedded toolchains still default to), pedantic
    cmd = [gcc(), "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", out,
           "-isystem", wasm3_inc, "-isystem", include]
    for s in sources:
        check(run([*cmd, s]), f"compiling {s.name}")


def test_handle_table_capacity(tmp_path, wasm3_san):
    """A full table refuses new handles (bad_handle, implementation not called); a
    freed slot comes back under a new generation."""
    out = tmp_path
    generate([EXAMPLE], out, emit=("host-c", "host-wasm3"))
    sensors = sensors_program()
    wasm = wat_guest(hostile_wat(sensors, name="capacity.wat"), out, "capacity")
    exe = build_host(out, [GUESTS / "sensors_host.c", out / "example_sensors_bus_host.c",
                           out / "example_sensors_bus_wasm3.c", IMPL / "sensors_impl.c"],
                     wasm3_san, "sensors_host_cap2", [IMPL], defines=("-DW2W_HANDLE_CAPACITY=2",))
    facts = run_host(exe, wasm)
    assert facts["run"] == "0", f"expectation {facts['run']} failed"
    assert facts["calls"] == "8"
    assert facts["live"] == "2"
    assert facts["opened"] == "2,1"  # the refused open never reached the implementation
    assert facts["impl_calls"] == "5"


def test_status_enum_without_glue_cases_is_reported(tmp_path):
    witx = tmp_path / "noglue.witx"
    witx.write_text(
        "(typename $errno (enum (@witx tag u8) $success $oops))\n"
        "(module $noglue (@interface func (export \"f\") (param $x u8)"
        " (result $error (expected (error $errno)))))\n")
    with pytest.raises(wit2witx.UnsupportedError) as info:
        wit2witx.compiler.compile([witx], emit=("host-c",))
    assert "no `buffer_too_small` case" in str(info.value.diagnostics[0].message)


@pytest.mark.parametrize("config", wamr_support.CONFIGS)
@pytest.mark.parametrize("guest", ["example", "hostile"])
def test_wamr_runs_the_guests(tmp_path, guest, config):
    """The WAMR binding in a real WAMR (libiwasm.a built from the vendored source, in the
    default and the no-hardware-bound-check configuration): the example guest and the
    hostile guest get the same results as under wasm3."""
    include, lib = wamr_include(), wamr_support.require(wamr_support.wamr_lib, config)
    out = tmp_path
    generate([EXAMPLE], out)
    witx = FIXTURES / "witx" / "extra.witx"
    generate([witx], out, emit=("host-c", "host-wamr"))
    sensors = sensors_program()
    extra = build_program([str(witx)], Options(emit=EMIT))
    if guest == "example":
        guest_names(sensors.units[0], sensors.units, out)
        wasm = zig_guest(GUESTS / "sensors_guest.c", out, "sensors_guest.wasm")
    else:
        wasm = wat_guest(hostile_wat(sensors, extra), out, "hostile")
    exe = out / "wamr_host"
    cmd = [gcc(), *CFLAGS, *SAN, "-I", out, "-I", IMPL, "-I", GUESTS, "-isystem", include,
           GUESTS / "wamr_host.c", out / "example_sensors_bus_host.c", out / "example_sensors_bus_wamr.c",
           out / "extra_host.c", out / "extra_wamr.c", IMPL / "sensors_impl.c", GUESTS / "extra_impl.c",
           lib, "-lpthread", "-lm", "-ldl", "-o", exe]
    check(run(cmd), "building the WAMR host")
    facts = run_host(exe, wasm)
    assert facts["run"] == "0", f"check {facts['run']} failed under WAMR"
    if guest == "example":
        assert facts["live"] == "0" and facts["opened"] == "1,1" and facts["dropped"] == "1,1"
        assert facts["impl_calls"] == "23"
    else:
        assert facts["calls"] == "72" and facts["live"] == "4"
        assert facts["bus_calls"] == "9" and facts["extra_calls"] == "8"


def test_parameter_names_that_clash_with_the_glue(tmp_path):
    """Params named host/mem/rc/status/ret0 or C keywords: the glue still compiles, and
    the implementation's prototype keeps its own names apart."""
    out = tmp_path
    files = generate([FIXTURES / "witx" / "clash.witx"], out, emit=("host-c", "host-wasm3"))
    assert "uint32_t host_, const clash_pt_t *mem, const clash_pt_t *rc, uint8_t status, uint16_t ret0_," \
        in files["clash_host.h"]
    wasm3_inc, _ = wasm3_lib(("-O2",))
    for name in ("clash_host.c", "clash_wasm3.c"):
        check(run([gcc(), *CFLAGS, "-fsyntax-only", "-I", out, "-isystem", wasm3_inc, out / name]),
              f"compiling {name}")



@pytest.mark.parametrize("ncases", [255, 256, 257])
def test_enums_that_fill_their_tag_compile_strictly(tmp_path, ncases):
    """An enum whose cases fill its tag's range (256 in a u8 tag) has no invalid host
    value: the glue must not compare a host value against a bound gcc knows is always
    false (-Werror=type-limits); raw core and guest values are still checked."""
    cases = ",\n".join(f"    c{i}" for i in range(ncases))
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "e.wit").write_text(
        "package t:e;\ninterface i {\n  enum big {\n" + cases + "\n  }\n"
        "  get: func() -> big;\n  get-either: func() -> result<big, big>;\n"
        "  put: func(x: big);\n}\n")
    out = tmp_path / "out"
    files = generate([pkg], out, emit=("host-c",))
    inline = files["t_e_i_host_inline.h"]
    assert f"if ((uint32_t)a_x >= {ncases}u)" in inline  # the raw core argument
    check(run([gcc(), *CFLAGS, "-Wtype-limits", "-fsyntax-only", "-I", out, out / "t_e_i_host.c"]),
          f"compiling the glue of a {ncases}-case enum")

# --------------------------------------------------------------------------- no side effects on failure

POOL = FIXTURES / "pool"


def test_failed_calls_take_back_the_handles_they_issued(tmp_path, wasm3_san):
    """Results with several owned resources (fixtures/pool/pool.wit) and a table of 4:
    a `list<own<item>>` whose implementation fills the table halfway through, a record
    of two items with a bad kind from the implementation (found after `first` was
    issued), a `tuple<list<own<item>>, own<item>>` whose list leaves no room for the
    last item, an ok value of an item and a string that overflows the caller's buffer,
    and an error value holding an item from an implementation that overflowed the
    buffer first (both `buffer_too_small`, with the size needed: the glue releases the
    item it had not issued). Each call returns its documented status and leaves the
    table exactly as before: the guest (fixtures/guests/pool_guest.c) finds the handles
    written into its buffer stale, its out-pointers untouched, and room for as many new
    items as before and no more; the host finds every item destroyed exactly once (the ones the glue
    took back through `item_drop`'s implementation). An `own<item>` parameter followed
    by an invalid enum is refused before anything happens to the handle."""
    out = tmp_path
    generate([POOL], out)
    exe = build_host(out, [GUESTS / "pool_host.c", out / "test_pool_pool_host.c",
                           out / "test_pool_pool_wasm3.c", POOL / "impl" / "pool_impl.c"],
                     wasm3_san, "pool_host", [POOL / "impl"], defines=("-DW2W_HANDLE_CAPACITY=4",))
    wasm = zig_guest(GUESTS / "pool_guest.c", out, "pool_guest.wasm")
    facts = run_host(exe, wasm)
    assert facts["run"] == "0", f"guest check {facts['run']} failed"
    assert facts["capacity"] == "4" and facts["live"] == "0"
    # 59 items: 47 the guest got and dropped (34 of them by room_is), 12 from the failed
    # calls: 4 of make_many (the 4th, which got no handle, the implementation destroyed
    # itself), 2 of make_pair, 4 of make_batch, and the one of make_tagged and of
    # make_failing that came with buffer_too_small (the glue released them)
    assert facts["created"] == "59"
    assert facts["destroyed"] == "59"
    assert facts["destroyed_twice"] == "0" and facts["never_destroyed"] == "0"


def test_glue_undoes_what_a_failed_call_issued(tmp_path):
    """The shape of the generated code behind that test: the trampoline journals the
    handles it issues, rolls them back on every failure path, encodes into scratch
    space, and a record's encode unwinds what it issued; `host_init` registers the
    module, whose resource descriptors release through `<r>_drop`."""
    files = generate([POOL], tmp_path, emit=("host-c",))
    inline = files["test_pool_pool_host_inline.h"]
    body = inline.split("test_pool_pool_call_make_batch_inline(", 1)[1].split("\n}\n", 1)[0]
    assert body.index("w2w_handles_begin(host->handles);") < body.index("status = test_pool_pool_impl_make_batch(")
    assert body.count("w2w_handles_rollback(host->handles);") == 4  # too small, bad status, error, encode
    assert "(void)w2w_handles_unwind(host->handles, mark, rc);" in body
    # the item beside the list is released when the list overflowed the buffer, and
    # when an encode failed
    assert body.count("test_pool_pool_release_item_inline(host->handles, &ret1);") == 2
    assert body.index("memcpy(r_1, o_1, 4u);") > body.index("if (rc != 0) {")
    # a result that overflows the caller's buffer: what the glue owns and has not issued
    # (the ok value's objects on success, the error value's with an interface error) is
    # released before the rollback takes back what the implementation issued
    ok_value = "if (status == 0) {\n            test_pool_pool_release_tagged_inline(host->handles, &ret0);"
    error_value = ("if (status > 0 && status < 7 && "
                   "status != test_pool_pool_glue_failure_status[W2W_E_BAD_HANDLE]")
    for name, release in (("make_tagged", ok_value), ("make_failing", error_value)):
        call = inline.split(f"test_pool_pool_call_{name}_inline(", 1)[1].split("\n}\n", 1)[0]
        too_small = call.split("if (buf.used > buf.cap", 1)[1].split("return ", 1)[0]
        assert release in too_small, name
        assert too_small.index("_release_") < too_small.index("w2w_handles_rollback(host->handles);"), name
    pair = inline.split("test_pool_pool_encode_pair_inline(", 1)[1].split("\n}\n", 1)[0]
    assert pair.count("return w2w_handles_unwind(handles, mark, rc);") == 3
    # a function whose result holds no handle: no journal, but encoded into scratch
    # space too (a bad value from the implementation leaves the out-pointer untouched)
    give = inline.split("test_pool_pool_call_give_inline(", 1)[1].split("\n}\n", 1)[0]
    assert "w2w_handles_" not in give.replace("w2w_handles_slot", "")
    assert give.index("memcpy(r_0, o_0, 4u);") > give.index("(host->handles, NULL, o_0, &ret0)) != 0)")
    core = files["test_pool_pool_host.c"]
    assert "(void)test_pool_pool_impl_item_drop((test_pool_pool_host_ctx_t *)host, obj);" in core
    assert ('const w2w_type test_pool_pool_item_type = { "test_pool_pool.item", &test_pool_pool_module, '
            "test_pool_pool_item_release };") in core
    assert "return w2w_handles_set_owner(handles, &test_pool_pool_module, host);" in files["test_pool_pool_host.h"]


# --------------------------------------------------------------------------- issue 12: names and docs


HOSTILE_NAMES_WIT = """package hostile:names;

interface %glue {
  /// a doc that ends in a backslash must not swallow the next line \\
  resource %class {
    /// close */ and open /* and a trigraph ??/
    constructor(%this: u32, %new: string);
    %delete: func(%this: borrow<%class>, %default: list<u8>) -> result<u32, %errno>;
  }
  enum %errno { a, b }
  record %host-ctx { %int: u32 }
  type %decode-host-ctx = u8;
  variant %v { %this(%host-ctx), %class(string) }
  type %v-u = u8;
  /// ends in a backslash \\
  %impl-f: func(%host: %host-ctx, %mem: list<u8>, %ret0: u8, %rc: string) -> result<u32, %errno>;
  /// ends in a backslash \\
  f: func(%x: %v, %y: %v-u, %z: %decode-host-ctx) -> result<string, %v>;
}
"""


@pytest.mark.parametrize("cxx", [False, True], ids=["gcc", "g++"])
def test_hostile_names_and_docs_compile_as_c_and_cpp(tmp_path, cxx):
    """C++ keywords as parameter and member names (`this`, `class`, `new`), WIT names
    spelled like the glue's own (`host-ctx`, `decode-…`, `impl-f`, `v-u`) and docs that
    end in a backslash: the glue compiles, and no prototype after such a doc is lost
    (the probe names each of them: a swallowed one is undeclared)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "pkg.wit").write_text(HOSTILE_NAMES_WIT)
    out = tmp_path / "out"
    files = generate([src], out, emit=("host-c", "host-wasm3"))
    header = files["hostile_names_glue_host.h"]
    impls = re.findall(r"\b(hostile_names_glue_impl_\w+)\(", header)
    assert len(impls) == len(set(impls)) >= 4
    probe = out / "probe.c"
    probe.write_text('#include "hostile_names_glue_host.h"\nunsigned long probe_sizes = 0'
                     + "".join(f" + sizeof(&{name})" for name in impls) + ";\n")
    wasm3_inc, _ = wasm3_lib(("-O2",))
    compiler = shutil.which("g++") if cxx else gcc()
    assert compiler
    lang = ["-x", "c++", "-std=c++17"] if cxx else ["-std=c11"]
    sources = [probe, *sorted(out.glob("*_host.c")), *sorted(out.glob("*_wasm3.c"))]
    check(run([compiler, *lang, "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only",
               "-I", out, "-isystem", wasm3_inc, *sources]), "compiling the hostile glue")
