"""Native builds behind `wit2witx run --runtime wasm3|wamr` and the C tests: WAMR's vmlib.

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
}
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


__all__ = ["NativeBuildError", "WamrUnavailable", "WAMR_CONFIGS", "c_compiler", "cmake_exe",
           "wamr_lib", "wamr_source", "locked"]
