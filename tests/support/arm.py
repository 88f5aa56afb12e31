"""Bare-metal Arm: build images for the MPS2 Cortex-M boards, run them in QEMU, and
measure objects (sizes, undefined symbols, stack frames).

Toolchain and emulator are Debian's `gcc-arm-none-eabi`, `libnewlib-arm-none-eabi` and
`qemu-system-arm` (`make test` installs them). An image is the project's startup code
(fixtures/cortexm/: vector table, fault handler, semihosting, newlib system calls) +
wasm3 (built once per CPU from the pywasm3 sdist by `support.wasm3`, cached in .cache/)
+ the sources given + a guest embedded as a C array. Used by tests/test_cortexm.py and
bench/footprint.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.wasm3 import wasm3_lib

ROOT = Path(__file__).resolve().parents[2]
BOARD = ROOT / "fixtures" / "cortexm"
BOARD_SOURCES = ("startup.c", "syscalls.c", "semihost.c", "board.c")
FAULT_EXIT = 86  # CORTEXM_FAULT_EXIT in fixtures/cortexm/semihost.h
QEMU_TIMEOUT = 60  # seconds; a hung image must not hang the suite
# what a microcontroller build uses: size first, and one section per function and
# object so that --gc-sections drops what nothing references
OPT = ("-Os", "-ffunction-sections", "-fdata-sections")
# __FILE__ in wasm3's and the board's messages must not depend on where the checkout
# lives: the footprint table in README.md is compared byte for byte with a fresh build
REPRODUCIBLE = (f"-ffile-prefix-map={ROOT}=.",)
STRICT = ("-std=c99", "-Wall", "-Wextra", "-Werror")


class ArmUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Cpu:
    name: str
    machine: str  # the QEMU board
    flags: tuple[str, ...]


# An M4 image hangs on mps2-an385 (a Cortex-M3): each board gets its own CPU's code.
CPUS = {
    "cortex-m4": Cpu("cortex-m4", "mps2-an386",
                     ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")),
    "cortex-m3": Cpu("cortex-m3", "mps2-an385", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft")),
}


def tool(name: str) -> str:
    exe = shutil.which(f"arm-none-eabi-{name}")
    if exe is None:
        raise ArmUnavailable(f"arm-none-eabi-{name} is not installed (make test installs "
                             "gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm)")
    return exe


def qemu() -> str:
    exe = shutil.which("qemu-system-arm")
    if exe is None:
        raise ArmUnavailable("qemu-system-arm is not installed (make test installs it)")
    return exe


def missing_toolchain() -> str | None:
    """Why the Cortex-M build cannot run here, or None."""
    try:
        tool("gcc"), qemu()
    except ArmUnavailable as exc:
        return str(exc)
    probe = subprocess.run([tool("gcc"), "-E", "-x", "c", "-", "-o", "/dev/null"],
                           input="#include <newlib.h>\n", capture_output=True, text=True)
    if probe.returncode != 0:
        return "newlib's headers are missing (libnewlib-arm-none-eabi)"
    return None


def run(cmd, what: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def wasm3(cpu: Cpu) -> tuple[Path, Path]:
    """(include dir, libm3.a) of wasm3 for `cpu`, shared by parallel workers."""
    return wasm3_lib((*cpu.flags, *OPT, *REPRODUCIBLE), cc=tool("gcc"), ar=tool("ar"))


# --------------------------------------------------------------------------- images


def c_array(data: bytes, name: str) -> str:
    """C source defining `const unsigned char name[]` and `name_len` (no xxd needed)."""
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 16]) for i in range(0, len(data), 16)]
    body = ",\n    ".join(rows)
    return (f"const unsigned char {name}[] __attribute__((aligned(8))) = {{\n    {body}\n}};\n"
            f"const unsigned int {name}_len = {len(data)}u;\n")


def build_image(out: Path, name: str, cpu: Cpu, sources: list[Path], includes: list[Path] = (),
                guest: bytes | None = None, cflags: tuple[str, ...] = (),
                force_include: Path | None = None) -> Path:
    """An ELF image for `cpu`: the board code, wasm3, `sources` and the embedded `guest`
    (as `cortexm_guest`). `cflags` apply to `sources` only (the glue and hosts)."""
    work = out / f"{name}-{cpu.name}"
    work.mkdir(parents=True, exist_ok=True)
    inc, lib = wasm3(cpu)
    gcc = tool("gcc")
    common = [*cpu.flags, *OPT, *REPRODUCIBLE, "-g", "-I", BOARD, *[x for i in includes for x in ("-I", i)],
              "-isystem", inc]
    objects = []
    for src in BOARD_SOURCES:
        objects.append(compile_c(BOARD / src, work, [*common, *STRICT]))
    extra = ["-include", force_include] if force_include else []
    for src in sources:
        objects.append(compile_c(src, work, [*common, *cflags, *extra]))
    if guest is not None:
        array = work / "guest_wasm.c"
        array.write_text(c_array(guest, "cortexm_guest"))
        objects.append(compile_c(array, work, common))
    elf = work / f"{name}.elf"
    run([gcc, *cpu.flags, "-nostartfiles", "--specs=nano.specs", "-T", BOARD / "mps2.ld",
         "-Wl,--gc-sections", f"-Wl,-Map={work / (name + '.map')}", *objects, lib, "-lm",
         "-o", elf], f"linking {name} for {cpu.name}")
    return elf


def compile_c(src: Path, work: Path, flags: list) -> Path:
    obj = work / (Path(src).stem + ".o")
    run([tool("gcc"), *flags, "-c", src, "-o", obj], f"compiling {Path(src).name}")
    return obj


@dataclass(frozen=True)
class QemuRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def facts(self) -> dict[str, str]:
        """The host program's `key=value` lines."""
        return dict(line.split("=", 1) for line in self.stdout.splitlines() if "=" in line)

    @property
    def heap_peak(self) -> int | None:
        """Bytes of heap the program took (printed by the board's _exit)."""
        match = re.search(r"^heap_peak=(\d+)$", self.stderr, re.M)
        return int(match.group(1)) if match else None

    @property
    def faulted(self) -> bool:
        return self.returncode == FAULT_EXIT or "fault: " in self.stdout + self.stderr


def run_image(elf: Path, cpu: Cpu, timeout: float = QEMU_TIMEOUT) -> QemuRun:
    """Boot `elf` on `cpu`'s board; its semihosting output and exit status come back.
    A run longer than `timeout` raises subprocess.TimeoutExpired (QEMU is killed)."""
    cmd = [qemu(), "-M", cpu.machine, "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return QemuRun(proc.returncode, proc.stdout, proc.stderr)


def check_run(result: QemuRun, what: str) -> dict[str, str]:
    """The facts of a run that must have ended with status 0 and no fault."""
    assert not result.faulted, f"{what} faulted:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.facts


# --------------------------------------------------------------------------- measuring objects


@dataclass(frozen=True)
class Sizes:
    flash: int  # text + rodata (+ initial values of data, which live in flash too)
    ram: int    # data + bss

    def __add__(self, other: Sizes) -> Sizes:
        return Sizes(self.flash + other.flash, self.ram + other.ram)


_FLASH = re.compile(r"^\.(text|rodata|ARM\.exidx|ARM\.extab)\b")
_RAM = re.compile(r"^\.(data|bss|tdata|tbss)\b|^COMMON$")


def section_sizes(path: Path) -> Sizes:
    """Flash and RAM of an object or image, from its allocated sections
    (`arm-none-eabi-size -A`)."""
    flash = ram = 0
    out = run([tool("size"), "-A", path], f"sizing {path.name}").stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        name, size = parts[0], int(parts[1])
        if _FLASH.match(name):
            flash += size
        elif _RAM.match(name):
            ram += size
        if name.startswith(".data"):
            flash += size  # initial values are copied from flash at reset
    return Sizes(flash, ram)


def ram_sections(obj: Path) -> list[str]:
    """The .data/.bss/COMMON sections of an object that are not empty (`objdump -h`)."""
    found = []
    out = run([tool("objdump"), "-h", obj], f"objdump -h {obj.name}").stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit() and _RAM.match(parts[1]) and int(parts[2], 16):
            found.append(parts[1])
    return found


def undefined_symbols(obj: Path) -> set[str]:
    out = run([tool("nm"), "-u", obj], f"nm -u {obj.name}").stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def defined_symbols(obj: Path) -> set[str]:
    out = run([tool("nm"), "--defined-only", "-g", obj], f"nm {obj.name}").stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def stack_frames(su: Path) -> dict[str, int]:
    """Function → stack frame in bytes, from a `-fstack-usage` file."""
    frames = {}
    for line in su.read_text().splitlines():
        location, size, _kind = line.rsplit("\t", 2)
        frames[location.rsplit(":", 1)[-1]] = int(size)
    return frames


def compile_glue(sources: list[Path], work: Path, cpu: Cpu, includes: list[Path],
                 defines: tuple[str, ...] = ()) -> list[Path]:
    """Objects (with .su stack-usage files beside them) of generated glue, compiled as
    a firmware build would: strict warnings as errors, -Os, one section per function."""
    work.mkdir(parents=True, exist_ok=True)
    inc, _ = wasm3(cpu)
    flags = [*cpu.flags, *OPT, *STRICT, "-fstack-usage", *defines,
             *[x for i in includes for x in ("-I", i)], "-isystem", inc]
    return [compile_c(src, work, flags) for src in sources]


def link_glue(objects: list[Path], roots: list[str], out: Path) -> Path:
    """The glue alone, linked with --gc-sections from `roots` (the binding's link
    functions): what of it a firmware keeps. The runtime's and implementation's symbols
    stay unresolved; they are not the glue's size."""
    run([tool("gcc"), "-nostdlib", "-Wl,--gc-sections", "-Wl,--unresolved-symbols=ignore-all",
         "-Wl,--no-warn-rwx-segments", *[f"-Wl,--undefined={r}" for r in roots],
         f"-Wl,--entry={roots[0]}", *objects, "-o", out], f"linking {out.name}")
    return out




# --------------------------------------------------------------------------- glue per interface

CORPUS_WASI = ROOT.parent / "shared" / "corpus" / "wasi-p2"


@dataclass(frozen=True)
class Interface:
    title: str
    source: str   # a WASI 0.2 package of the corpus ("wasi:<source>"), else a path in ROOT
    prefix: str   # the P1 modules (glue units) that are this interface's own


INTERFACES = (
    Interface("example:sensors (fixtures/example)", "fixtures/example", "example_sensors_bus"),
    Interface("wasi:random", "random", "wasi_random_"),
    Interface("wasi:clocks", "clocks", "wasi_clocks_"),
    Interface("wasi:io", "io", "wasi_io_"),
    Interface("wasi:sockets", "sockets", "wasi_sockets_"),
    Interface("w2w:i2c (fixtures/i2c)", "fixtures/i2c", "w2w_i2c_"),
)


@dataclass(frozen=True)
class Glue:
    interface: Interface
    out: Path             # every generated file (the interface's and its deps' glue)
    units: tuple[str, ...]  # the interface's own P1 modules

    def sources(self, units: tuple[str, ...] | None = None) -> list[Path]:
        return [self.out / f"{u}_{part}.c" for u in (units or self.units) for part in ("host", "wasm3")]

    @property
    def all_units(self) -> tuple[str, ...]:
        return tuple(sorted(p.name[:-len("_host.c")] for p in self.out.glob("*_host.c")))

    @property
    def link_roots(self) -> list[str]:
        return [f"{u}_wasm3_link" for u in self.units]


def package_with_deps(tmp: Path, package: str, corpus: Path = CORPUS_WASI) -> Path:
    """corpus `<package>` laid out as wit-parser expects, every other package in deps/."""
    root = tmp / "wit" / package
    shutil.copytree(corpus / package, root)
    for other in sorted(p for p in corpus.iterdir() if p.is_dir() and p.name != package):
        shutil.copytree(other, root / "deps" / other.name)
    return root


def generate_glue(interface: Interface, work: Path, emit=("host-c", "host-wasm3")) -> Glue:
    """The host glue (core + wasm3 binding) of `interface` and its dependencies."""
    from wit2witx.compiler import compile as w2w_compile  # noqa: PLC0415

    if interface.source.startswith("fixtures/"):
        src = ROOT / interface.source
    else:
        if not (CORPUS_WASI / interface.source).is_dir():
            raise ArmUnavailable(f"corpus package not found: {CORPUS_WASI / interface.source}")
        src = package_with_deps(work, interface.source)
    out = work / "glue"
    out.mkdir(parents=True, exist_ok=True)
    files = w2w_compile([src], emit=emit)
    for name, text in files.items():
        (out / name).write_text(text)
    units = tuple(sorted(name[:-len("_host.c")] for name in files
                         if name.endswith("_host.c") and name.startswith(interface.prefix)))
    if not units:
        raise AssertionError(f"no glue units {interface.prefix}* generated for {interface.title}")
    return Glue(interface, out, units)


__all__ = ["ArmUnavailable", "CPUS", "Cpu", "FAULT_EXIT", "Glue", "INTERFACES", "Interface",
           "QemuRun", "Sizes", "build_image", "c_array", "check_run", "compile_glue",
           "defined_symbols", "generate_glue", "link_glue", "missing_toolchain",
           "package_with_deps", "ram_sections", "run_image", "section_sizes", "stack_frames",
           "undefined_symbols", "wasm3"]
