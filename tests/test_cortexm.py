"""On a microcontroller: the generated glue and wasm3 on emulated Cortex-M boards.

Images are built with Debian's arm-none-eabi-gcc + newlib-nano from the project's board
code (fixtures/cortexm/: linker script, vector table, a fault handler that ends QEMU
with a non-zero status itself, semihosting), wasm3 from the pywasm3 0.5.0 sdist (built
once per CPU into .cache/), the generated glue, an implementation and a guest embedded
as a C array; each runs under `qemu-system-arm -semihosting` on mps2-an386 (Cortex-M4)
and mps2-an385 (Cortex-M3), bounded by a timeout. The x86-64 test hosts of
fixtures/guests/ are built unchanged (their `read_file` hands out the embedded guest,
fixtures/cortexm/embedded_guest.h) and their output is checked by the same functions
as in test_host_c.py; wasi:random, wasi:clocks and the project's own I2C interface
(fixtures/i2c) run with small implementations over the board (fixtures/cortexm/).
Budgets (not timed): no `.data`/`.bss` in any glue object, no
undefined symbol but memset/memcpy and the runtime's, implementation's and other glue
modules' own, glue stack frames within 256 bytes. The README's footprint table must be
what bench/footprint.py measures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, IN_CI, ROOT, corpus_path, run_wasm_tools

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import arm  # noqa: E402
from support.wasm3 import Wasm3Unavailable  # noqa: E402
from test_host_c import (  # noqa: E402
    EXAMPLE, GUESTS, IMPL, check_example_facts, check_hostile_facts, generate, guest_names,
    hostile_wat, sensors_program, wat_guest, zig_guest)

from wit2witx.compiler import Options, build_program  # noqa: E402

pytestmark = pytest.mark.slow

CPUS = sorted(arm.CPUS)
BOARD = arm.BOARD
EMBED = BOARD / "embedded_guest.h"
STACK_BUDGET = 256  # bytes per glue function (DESIGN.md)


@pytest.fixture(scope="session", autouse=True)
def toolchain() -> None:
    missing = arm.missing_toolchain()
    if missing:
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)


def cpu_wasm3(cpu: arm.Cpu) -> None:
    try:
        arm.wasm3(cpu)
    except Wasm3Unavailable as exc:
        pytest.fail(str(exc))


def boot(out: Path, name: str, cpu: arm.Cpu, sources: list[Path], includes: list[Path],
         guest: Path) -> dict[str, str]:
    """Build the image (glue and hosts with -Wall -Wextra -Werror -Os), run it, its facts."""
    cpu_wasm3(cpu)
    elf = arm.build_image(out, name, cpu, sources, includes, guest.read_bytes(),
                          cflags=arm.STRICT, force_include=EMBED)
    return arm.check_run(arm.run_image(elf, cpu), f"{name} on {cpu.name}")


# --------------------------------------------------------------------------- the example


@pytest.fixture(scope="session")
def example(tmp_path_factory):
    """The example's glue, the sensors guest and the hostile guest (with `extra`)."""
    out = tmp_path_factory.mktemp("cortexm-example")
    generate([EXAMPLE], out, emit=("c", "host-c", "host-wasm3"))
    extra_witx = FIXTURES / "witx" / "extra.witx"
    generate([extra_witx], out, emit=("host-c", "host-wasm3"))
    sensors = sensors_program()
    guest_names(sensors.units[0], sensors.units, out)
    extra = build_program([str(extra_witx)], Options(emit=("host-c",)))
    guests = {"sensors": zig_guest(GUESTS / "sensors_guest.c", out, "sensors_guest.wasm"),
              "hostile": wat_guest(hostile_wat(sensors, extra), out, "hostile")}
    return out, guests


@pytest.mark.parametrize("cpu", CPUS)
def test_example_guest_on_cortex_m(example, cpu):
    out, guests = example
    facts = boot(out, "sensors", arm.CPUS[cpu],
                 [GUESTS / "sensors_host.c", out / "example_sensors_bus_host.c",
                  out / "example_sensors_bus_wasm3.c", IMPL / "sensors_impl.c"],
                 [out, IMPL, GUESTS], guests["sensors"])
    check_example_facts(facts)


@pytest.mark.parametrize("cpu", CPUS)
def test_hostile_guest_on_cortex_m(example, cpu):
    out, guests = example
    facts = boot(out, "hostile", arm.CPUS[cpu],
                 [GUESTS / "hostile_host.c", out / "example_sensors_bus_host.c",
                  out / "example_sensors_bus_wasm3.c", out / "extra_host.c", out / "extra_wasm3.c",
                  IMPL / "sensors_impl.c", GUESTS / "extra_impl.c"],
                 [out, IMPL, GUESTS], guests["hostile"])
    check_hostile_facts(facts)


# --------------------------------------------------------------------------- wasi:random, wasi:clocks

WASI_UNITS = ("wasi_random_random", "wasi_clocks_monotonic_clock", "wasi_clocks_wall_clock", "wasi_io_poll")


@pytest.fixture(scope="session")
def wasi(tmp_path_factory):
    """Glue for wasi:random and wasi:clocks (+ wasi:io/poll) from the corpus, generated
    now, and the two guests."""
    corpus_path("wasi-p2")
    tmp = tmp_path_factory.mktemp("cortexm-wasi")
    out = tmp / "gen"
    for pkg in ("random", "clocks"):
        generate([arm.package_with_deps(tmp / pkg, pkg)], out, emit=("c", "host-c", "host-wasm3"))
    program = build_program([str(tmp / "random" / "wit" / "random")], Options(emit=("c",)))
    unit = next(u for u in program.units if u.name == "wasi_random_random")
    guest_names(unit, program.units, out)
    guests = {"random": zig_guest(GUESTS / "random_guest.c", out, "random_guest.wasm"),
              "clocks": zig_guest(BOARD / "clocks_guest.c", out, "clocks_guest.wasm", exports=())}
    sources = [BOARD / "wasi_host.c", BOARD / "random_impl.c", BOARD / "clocks_impl.c",
               *[out / f"{u}_{part}.c" for u in WASI_UNITS for part in ("host", "wasm3")]]
    return out, guests, sources


@pytest.mark.parametrize("cpu", CPUS)
def test_random_guest_on_cortex_m(wasi, cpu):
    """random_guest.c (as on x86-64) over the board's fake entropy source."""
    out, guests, sources = wasi
    facts = boot(out, "random", arm.CPUS[cpu], sources, [out, GUESTS], guests["random"])
    assert facts["run"] == "0", f"guest check {facts['run']} failed"
    assert facts["random_calls"] == "6"  # every call reaches the implementation
    assert facts["clock_calls"] == "0" and facts["live"] == "0"


@pytest.mark.parametrize("cpu", CPUS)
def test_clocks_guest_on_cortex_m(wasi, cpu):
    """fixtures/cortexm/clocks_guest.c over SysTick: now, resolution, a pollable that
    blocks until its deadline, poll() of a far and a past deadline, a too-small poll
    buffer, dead handles, the wall clock."""
    out, guests, sources = wasi
    facts = boot(out, "clocks", arm.CPUS[cpu], sources, [out, GUESTS], guests["clocks"])
    assert facts["run"] == "0", f"guest check {facts['run']} failed"
    # every call but the second drop of a pollable and the poll() of a list holding a
    # dead handle reached the implementation (the glue checks a list's handles first)
    assert int(facts["clock_calls"]) == int(facts["calls"]) - 2 == 25
    assert facts["pollables_dropped"] == "4" and facts["pollables_in_use"] == "0"
    assert facts["live"] == "0" and facts["random_calls"] == "0"


@pytest.mark.parametrize("cpu", CPUS)
def test_i2c_guest_on_cortex_m(tmp_path, cpu):
    """The project's own I2C interface (fixtures/i2c) end to end: fixtures/cortexm/
    i2c_guest.c on the fake bus of i2c_impl.c: open (denied, granted), write, write-read,
    read, no-acknowledge with its payload, a too-small buffer that changes nothing, a
    transaction returning list<list<u8>>, a bad operation tag, delay, a dead handle."""
    out = tmp_path / "gen"
    generate([FIXTURES / "i2c"], out, emit=("c", "host-c", "host-wasm3"))
    guest = zig_guest(BOARD / "i2c_guest.c", out, "i2c_guest.wasm", exports=())
    glue = [out / f"{u}_{part}.c" for u in ("w2w_i2c_i2c", "w2w_i2c_delay") for part in ("host", "wasm3")]
    facts = boot(tmp_path, "i2c", arm.CPUS[cpu], [BOARD / "i2c_host.c", BOARD / "i2c_impl.c", *glue],
                 [out, GUESTS], guest)
    assert facts["run"] == "0", f"guest check {facts['run']} failed"
    # every call but the read on the dropped bus and the transaction with a bad
    # operation tag reached the implementation (the glue checks a list's tags first)
    assert facts["calls"] == "13" and facts["impl_calls"] == "11"
    assert facts["live"] == "0" and facts["opened"] == "1 dropped=1"
    assert facts["reads"] == "5 writes=5 transactions=1 delays=1"
    regs = [0xA0 + i for i in range(16)]
    regs[2], regs[3], regs[5] = 0x11, 0x22, 0x55  # the refused write-read wrote nothing
    assert facts["regs"] == ",".join(f"{r:02x}" for r in regs)


def test_i2c_interface_is_valid_wit():
    """fixtures/i2c (measured by the footprint report) as the reference parser reads it."""
    proc = run_wasm_tools("component", "wit", str(FIXTURES / "i2c"))
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "package w2w:i2c@0.1.0;" in text and "resource bus {" in text


# --------------------------------------------------------------------------- the harness


@pytest.mark.parametrize("cpu", CPUS)
def test_a_faulting_image_is_a_failure(tmp_path, cpu):
    """BusFault, UsageFault: the fault handler's report and exit status reach the test
    and check_run fails; a non-zero return from main is the emulator's status; a hung
    image is stopped by the timeout."""
    target = arm.CPUS[cpu]
    cpu_wasm3(target)

    def image(kind: int) -> Path:
        return arm.build_image(tmp_path, f"selftest{kind}", target, [BOARD / "selftest.c"],
                               cflags=(*arm.STRICT, f"-DSELFTEST={kind}"))

    for kind, fault in ((1, "BusFault"), (2, "UsageFault")):
        result = arm.run_image(image(kind), target)
        assert result.returncode == arm.FAULT_EXIT, result
        assert f"fault: {fault} pc=0x" in result.stderr and f"selftest={kind}" in result.stdout
        with pytest.raises(AssertionError, match="faulted"):
            arm.check_run(result, "selftest")
    result = arm.run_image(image(3), target)
    assert result.returncode == 3 and not result.faulted and result.stdout == "selftest=3\n"
    with pytest.raises(AssertionError, match="exited 3"):
        arm.check_run(result, "selftest")
    with pytest.raises(subprocess.TimeoutExpired):
        arm.run_image(image(4), target, timeout=3)


# --------------------------------------------------------------------------- budgets


@pytest.fixture(scope="session")
def all_glue(tmp_path_factory):
    corpus_path("wasi-p2")
    tmp = tmp_path_factory.mktemp("cortexm-glue")
    return [arm.generate_glue(i, tmp / i.prefix.strip("_")) for i in arm.INTERFACES]


@pytest.mark.parametrize("cpu", CPUS)
def test_glue_budgets(all_glue, cpu, tmp_path):
    """The glue of every interface, compiled for the board with -Wall -Wextra -Werror
    -Os: no .data/.bss, no undefined symbol but memset/memcpy and the runtime's,
    implementation's and other glue modules' own, every stack frame within 256 bytes."""
    target = arm.CPUS[cpu]
    cpu_wasm3(target)
    _, lib = arm.wasm3(target)
    runtime = arm.defined_symbols(lib)
    objects = [obj for glue in all_glue
               for obj in arm.compile_glue(glue.sources(), tmp_path / glue.interface.prefix.strip("_"),
                                           target, [glue.out])]
    glue_symbols = set().union(*(arm.defined_symbols(o) for o in objects))
    for obj in objects:
        assert arm.ram_sections(obj) == [], f"{obj.name} has mutable static data"
        unit = obj.stem.rsplit("_", 1)[0]
        foreign = {s for s in arm.undefined_symbols(obj)
                   if s not in ("memset", "memcpy") and s not in runtime
                   and not s.startswith(f"{unit}_impl_") and s not in glue_symbols}
        assert not foreign, f"{obj.name} needs {sorted(foreign)}"
        frames = arm.stack_frames(obj.with_suffix(".su"))
        assert frames, obj.name
        worst = max(frames, key=frames.get)
        assert frames[worst] <= STACK_BUDGET, f"{worst} in {obj.name}: {frames[worst]} bytes"
    # every glue module of the six interfaces was checked, on this CPU
    assert len(objects) == 2 * sum(len(g.units) for g in all_glue) >= 2 * 16


def test_readme_footprint_is_what_the_build_measures(tmp_path):
    """README.md's footprint table is bench/footprint.py's output for this tree (run
    `python bench/footprint.py --update-readme` after changing the glue)."""
    corpus_path("wasi-p2")
    cpu_wasm3(arm.CPUS["cortex-m4"])
    sys.path.insert(0, str(ROOT / "bench"))
    import footprint  # noqa: PLC0415

    measured = footprint.measure(tmp_path)
    example = measured.glue[0]
    assert example.sizes.ram == 0 and 0 < example.sizes.flash < 8192
    assert example.functions == len(sensors_program().units[0].module.functions)
    documented = footprint.readme_section(footprint.README.read_text())
    assert documented is not None, "README.md has no footprint section"
    assert documented == footprint.render(measured), \
        "README's footprint table is stale: run `python bench/footprint.py --update-readme`"
