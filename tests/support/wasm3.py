"""Build wasm3 (the C source inside the pywasm3 0.5.0 sdist) with gcc, once.

`wasm3_lib(flags)` returns (include dir, static library) for a set of compiler flags.
The sdist is unpacked and every `wasm3/*.c` compiled into `.cache/wasm3-<key>/libm3.a`,
where `<key>` hashes the flags and the sdist; a file lock makes parallel test workers
(and the benchmark) share one build. Nothing of wasm3 ever enters the repository.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
SDIST = CACHE / "pywasm3-0.5.0.tar.gz"
# pywasm3's own setup.py flags, minus -g0/-O3 (the caller picks optimisation/sanitizers)
BASE_FLAGS = ("-std=gnu11", "-fno-stack-protector", "-DNASSERTS", "-Dd_m3RecordBacktraces=0",
              "-w")


class Wasm3Unavailable(RuntimeError):
    pass


def gcc() -> str:
    exe = shutil.which("gcc") or shutil.which("cc")
    if exe is None:
        raise Wasm3Unavailable("no gcc/cc on PATH")
    return exe


def _sdist() -> Path:
    if not SDIST.exists():
        raise Wasm3Unavailable(
            f"{SDIST} is missing: run `make test` (it downloads the pywasm3 0.5.0 sdist)")
    return SDIST


def wasm3_lib(flags: tuple[str, ...] = ("-O2",), cc: str | None = None,
              ar: str = "ar") -> tuple[Path, Path]:
    """(include dir, libm3.a) built with `flags` (cached under .cache/), by `cc` (gcc by
    default; a cross compiler with its own `ar` for the Cortex-M builds)."""
    sdist = _sdist()
    cc = cc or gcc()
    digest = hashlib.sha256()
    digest.update(sdist.read_bytes())
    digest.update(" ".join((cc, *BASE_FLAGS, *flags)).encode())
    out = CACHE / f"wasm3-{digest.hexdigest()[:16]}"
    lib = out / "libm3.a"
    src = out / "src"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not lib.exists():
            _build(sdist, out, src, lib, flags, cc, ar)
    return src, lib


def _build(sdist: Path, out: Path, src: Path, lib: Path, flags: tuple[str, ...], cc: str,
           ar: str) -> None:
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
        cmd = [cc, *BASE_FLAGS, *flags, "-I", str(src), "-c", str(c), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise Wasm3Unavailable(f"building wasm3 failed: {' '.join(cmd)}\n{proc.stderr}")
        objects.append(str(obj))
    tmp = lib.with_suffix(".tmp.a")
    subprocess.run([ar, "rcs", str(tmp), *objects], check=True, capture_output=True)
    os.replace(tmp, lib)


__all__ = ["wasm3_lib", "gcc", "Wasm3Unavailable", "SDIST"]
