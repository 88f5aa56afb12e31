"""Native builds behind `wit2witx run --runtime wasm3|wamr` and the C tests: WAMR's vmlib,
wasm3's library (from the pywasm3 0.5.0 sdist) and the runners (runtime + WASI P1 +
generated glue + the C reference host).

Everything is built once into a cache folder, under a name that hashes the sources and
the flags, and under a file lock, so parallel test workers (or two `run`s) share one
build and a changed source or flag never reuses a stale one. Builds land in a temporary
name first and are renamed into place: an interrupted build leaves nothing that looks done.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
WAMR_CMAKE = HERE / "wamr" / "CMakeLists.txt"

#: WAMR configurations: the CMake definitions each adds to the base (see wamr/CMakeLists.txt).
WAMR_CONFIGS = {
    "default": (),
    # microcontrollers: no MMU, no guard pages; WAMR's own pointer checks are the only ones
    "nohwbound": ("-DWAMR_DISABLE_HW_BOUND_CHECK=1",),
    # wasi-threads guests: WAMR's lib-wasi-threads; its runner compiles the glue with W2W_THREADS
    "threads": ("-DW2W_WASI_THREADS=1",),
}
#: flags the runner of a WAMR configuration adds to its own (the glue's build options)
WAMR_RUNNER_FLAGS = {"threads": ("-DW2W_THREADS=1",)}
SANITIZE = ("-fsanitize=address,undefined", "-fno-omit-frame-pointer")


class NativeBuildError(RuntimeError):
    """A native part (compiler, CMake, runtime sources) is missing or does not build."""


class WamrUnavailable(NativeBuildError):
    """No WAMR source (folder or tarball) was given or found."""


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def c_compiler() -> str:
    exe = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not exe:
        raise NativeBuildError("no C compiler: install gcc (or set CC)")
    return exe


def cmake_exe() -> str:
    """The machine's cmake, else the one of PyPI's `cmake` package."""
    exe = shutil.which("cmake")
    if exe:
        return exe
    try:
        import cmake  # noqa: PLC0415  (PyPI `cmake`)
    except ImportError:
        raise NativeBuildError("CMake not found: install cmake (apt) or `pip install cmake`") from None
    return str(Path(cmake.CMAKE_BIN_DIR) / "cmake")


def digest_of_tree(root: Path) -> str:
    """A hash of every file's relative path and content under `root` (sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def digest_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wamr_source(given: Path, cache: Path) -> Path:
    """WAMR's source root: `given` itself when it is a folder, else the tarball
    unpacked once into `cache/wamr-src-<hash>/`."""
    given, cache = Path(given).resolve(), Path(cache).resolve()
    if given.is_dir():
        if not (given / "build-scripts" / "runtime_lib.cmake").is_file():
            raise WamrUnavailable(f"{given} is not a wasm-micro-runtime source folder "
                                  "(no build-scripts/runtime_lib.cmake)")
        return given
    if not given.is_file():
        raise WamrUnavailable(f"WAMR source not found: {given}")
    out = cache / f"wamr-src-{digest_of_file(given)[:16]}"
    with locked(out):
        done = out / "root"
        if not done.is_dir():
            tmp = out / "unpacking"
            shutil.rmtree(tmp, ignore_errors=True)
            with tarfile.open(given) as tar:
                tar.extractall(tmp, filter="data")
            roots = [p.parent.parent for p in tmp.glob("*/build-scripts/runtime_lib.cmake")]
            roots += [p.parent.parent for p in tmp.glob("build-scripts/runtime_lib.cmake")]
            if len(roots) != 1:
                raise WamrUnavailable(f"{given} does not hold one wasm-micro-runtime source tree")
            os.replace(roots[0], done)
            shutil.rmtree(tmp, ignore_errors=True)
    return done


def wamr_lib(src: Path, cache: Path, config: str = "default", sanitize: bool = False) -> Path:
    """`libiwasm.a` of WAMR at `src` in `config` (see WAMR_CONFIGS), built with CMake
    into `cache/wamr-<hash>/` once. `sanitize` builds WAMR itself with ASan+UBSan."""
    if config not in WAMR_CONFIGS:
        raise ValueError(f"unknown WAMR configuration {config!r} (known: {', '.join(WAMR_CONFIGS)})")
    src, cache = Path(src).resolve(), Path(cache).resolve()
    cc = c_compiler()
    cflags = ("-O2", "-g", *(SANITIZE if sanitize else ()))
    defs = (f"-DWAMR_ROOT_DIR={src}", f"-DCMAKE_C_COMPILER={cc}", "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_C_FLAGS={' '.join(cflags)}", *WAMR_CONFIGS[config])
    digest = hashlib.sha256()
    digest.update(digest_of_tree(src / "core").encode())
    digest.update(digest_of_tree(src / "build-scripts").encode())
    digest.update(WAMR_CMAKE.read_bytes())
    digest.update("\0".join(defs).encode())
    out = cache / f"wamr-{config}{'-san' if sanitize else ''}-{digest.hexdigest()[:16]}"
    lib = out / "libiwasm.a"
    with locked(out):
        if not lib.is_file():
            _cmake_build(out, defs, lib)
    return lib


def _cmake_build(out: Path, defs: tuple[str, ...], lib: Path) -> None:
    build = out / "build"
    shutil.rmtree(build, ignore_errors=True)
    cmake = cmake_exe()
    steps = ([cmake, "-S", str(WAMR_CMAKE.parent), "-B", str(build), *defs],
             [cmake, "--build", str(build), "--parallel", str(min(os.cpu_count() or 1, 4))])
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise NativeBuildError(f"building WAMR failed: {' '.join(cmd)}\n{proc.stdout[-4000:]}"
                                   f"\n{proc.stderr[-4000:]}")
    built = build / "libiwasm.a"
    if not built.is_file():
        raise NativeBuildError(f"CMake built no {built}")
    tmp = lib.with_suffix(".tmp")
    shutil.copyfile(built, tmp)
    os.replace(tmp, lib)
    shutil.rmtree(build, ignore_errors=True)


# ----------------------------------------------------------------------------- wasm3

#: pywasm3's own setup.py flags, minus -g0/-O3 (the caller picks optimisation/sanitizers)
WASM3_FLAGS = ("-std=gnu11", "-fno-stack-protector", "-DNASSERTS", "-Dd_m3RecordBacktraces=0", "-w")
PYWASM3 = "pywasm3==0.5.0"


def pywasm3_sdist(cache: Path) -> Path:
    """The pywasm3 0.5.0 sdist (wasm3's C source) in `cache`, fetched with pip once."""
    found = sorted(cache.glob("pywasm3-0.5.0.tar.gz"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    import sys  # noqa: PLC0415

    with locked(cache / "pywasm3-download"):
        found = sorted(cache.glob("pywasm3-0.5.0.tar.gz"))
        if found:
            return found[0]
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
               PYWASM3, "-d", str(cache)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        found = sorted(cache.glob("pywasm3-0.5.0.tar.gz"))
        if proc.returncode != 0 or not found:
            raise NativeBuildError(f"cannot download the {PYWASM3} sdist (wasm3's source): {proc.stderr.strip()}")
    return found[0]


def wasm3_lib(sdist: Path, cache: Path, flags: tuple[str, ...]) -> tuple[Path, Path]:
    """(include dir, libm3.a) of the wasm3 inside `sdist`, built with `flags` once."""
    cc = c_compiler()
    digest = hashlib.sha256()
    digest.update(digest_of_file(sdist).encode())
    digest.update("\0".join((cc, *WASM3_FLAGS, *flags)).encode())
    out = cache / f"wasm3-{digest.hexdigest()[:16]}"
    lib, src = out / "libm3.a", out / "src"
    with locked(out):
        if not lib.is_file():
            shutil.rmtree(src, ignore_errors=True)
            src.mkdir()
            with tarfile.open(sdist) as tar:
                for member in tar.getmembers():
                    parts = Path(member.name).parts
                    if len(parts) == 3 and parts[1] == "wasm3" and member.isfile():
                        data = tar.extractfile(member)
                        assert data is not None
                        (src / parts[2]).write_bytes(data.read())
            objects = []
            for c in sorted(src.glob("*.c")):
                obj = out / (c.stem + ".o")
                _compile([cc, *WASM3_FLAGS, *flags, "-I", str(src), "-c", str(c), "-o", str(obj)], "wasm3")
                objects.append(str(obj))
            tmp = lib.with_suffix(".tmp.a")
            subprocess.run(["ar", "rcs", str(tmp), *objects], check=True, capture_output=True)
            os.replace(tmp, lib)
    return src, lib


def _compile(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise NativeBuildError(f"building {what} failed: {' '.join(cmd)}\n{proc.stderr[-6000:]}")


# ----------------------------------------------------------------------------- runners

GENERATED = HERE / "generated"
RUNTIMES = ("wasm3", "wamr")
#: the C reference host itself (what an embedder links; see sources.txt)
HOST_SOURCES = ("w2w_posix_core.c", "w2w_posix_streams.c", "w2w_posix_sockets.c", "w2w_posix_cli.c", "w2w_posix_fault.c")
SANITIZE_RUNNER = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
TSAN_RUNNER = ("-fsanitize=thread", "-fno-omit-frame-pointer")
RUNNER_FLAGS = ("-std=gnu11", "-O2", "-g", "-Wall", "-Wextra")


def runner_sources(runtime: str) -> list[Path]:
    """Every C file of the runner for `runtime`: the host, the generated glue (core and
    binding) of the sockets modules, and for wasm3 WASI P1 with its generated glue."""
    from .regen import host_modules  # noqa: PLC0415

    binding = "wasm3" if runtime == "wasm3" else "wamr"
    files = [HERE / s for s in HOST_SOURCES]
    files += [HERE / f"w2w_posix_{binding}.c", HERE / f"w2w_runner_{binding}.c"]
    for module in host_modules():
        files += [GENERATED / f"{module}_host.c", GENERATED / f"{module}_{binding}.c"]
    if runtime == "wasm3":
        files += [HERE / "w2w_preview1.c", GENERATED / "wasi_snapshot_preview1_host.c",
                  GENERATED / "wasi_snapshot_preview1_wasm3.c", GENERATED / "w2w_preview1_nosys.c"]
    return files


def runner(runtime: str, cache: Path, *, sanitize: bool = False, wamr: Path | None = None,
           wamr_config: str = "default", extra_flags: tuple[str, ...] = (), tsan: bool = False) -> Path:
    """The native runner for `runtime` ("wasm3" | "wamr"), built once into `cache` under
    a name that hashes its sources, the runtime library and the flags. WAMR needs its
    source (`wamr`: a folder or a tarball)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r} (known: {', '.join(RUNTIMES)})")
    cache = Path(cache).resolve()
    cc = c_compiler()
    san = SANITIZE_RUNNER if sanitize else ()
    if tsan:  # ThreadSanitizer instead (they exclude each other): the host and glue under threads
        san = TSAN_RUNNER
    if runtime == "wasm3":
        # wasm3 keeps 8-byte constants at 4-byte offsets of its code pages on purpose
        # (m3_compile.c): UBSan's alignment check stays on for everything but wasm3
        lib_san = (*san, "-fno-sanitize=alignment") if sanitize else ()
        include, lib = wasm3_lib(pywasm3_sdist(cache), cache, ("-O2", "-g", *lib_san))
        libs = [str(lib), "-lm"]
    else:
        if wamr is None:
            raise WamrUnavailable("WAMR's source is needed: pass --wamr PATH or set WAMR_SRC "
                                  "(a wasm-micro-runtime folder or tarball)")
        root = wamr_source(wamr, cache)
        include = root / "core" / "iwasm" / "include"
        lib = wamr_lib(root, cache, wamr_config, sanitize=False)
        libs = [str(lib), "-lpthread", "-lm", "-ldl"]
    sources = runner_sources(runtime)
    flags = (*RUNNER_FLAGS, *san, *(WAMR_RUNNER_FLAGS.get(wamr_config, ()) if runtime == "wamr" else ()),
             *extra_flags)
    digest = hashlib.sha256()
    for path in sorted(sources) + sorted(HERE.glob("*.h")) + sorted(GENERATED.glob("*.h")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(digest_of_file(lib).encode())
    digest.update("\0".join((cc, runtime, wamr_config, *flags)).encode())
    out = cache / f"runner-{runtime}{'-' + wamr_config if runtime == 'wamr' else ''}{'-san' if sanitize else ''}" \
        f"{'-tsan' if tsan else ''}-{digest.hexdigest()[:16]}"
    exe = out / f"w2w-runner-{runtime}"
    with locked(out):
        if not exe.is_file():
            tmp = out / (exe.name + ".tmp")
            _compile([cc, *flags, "-I", str(HERE), "-I", str(GENERATED), "-isystem", str(include),
                      *map(str, sources), *libs, "-o", str(tmp)], f"the {runtime} runner")
            os.replace(tmp, exe)
    return exe


__all__ = ["NativeBuildError", "WamrUnavailable", "WAMR_CONFIGS", "RUNTIMES", "HOST_SOURCES", "c_compiler",
           "cmake_exe", "wamr_lib", "wamr_source", "wasm3_lib", "pywasm3_sdist", "runner", "runner_sources",
           "locked"]
