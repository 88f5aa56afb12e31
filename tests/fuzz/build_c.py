"""Build and run the libFuzzer harness of the C host glue (tests/test_fuzz_c.py, `make fuzz`).

    python tests/fuzz/build_c.py [--time SECONDS] [--jobs N] [--out DIR]

builds one binary for the example interface and every P1 module lowered from WASI
0.2.12 (../shared/corpus/wasi-p2, each package with the others as deps/), writes a seed
corpus and runs a campaign of SECONDS (default 3600), printing libFuzzer's figures.
Crashing inputs land in OUT/findings/; turn each into a regression input under
tests/fuzz/regressions/c/ once fixed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "fixtures" / "example"
REGRESSIONS = HERE / "regressions" / "c"
SANITIZE = "-fsanitize=address,undefined"
CFLAGS = ("-g", "-O1", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
          "-DW2W_HANDLE_CAPACITY=8", "-DW2W_MAX_OWNERS=64", "-Wall", "-Wextra",
          "-Wno-unused-parameter", "-Wno-unused-function", "-Werror")


def wasi_trees(corpus: Path, tmp: Path) -> list[Path]:
    """Each WASI package laid out as wit-parser expects it (the others in deps/)."""
    packages = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    roots = []
    for pkg in packages:
        root = tmp / "wasi" / pkg
        if not root.exists():
            shutil.copytree(corpus / pkg, root)
            for other in packages:
                if other != pkg:
                    shutil.copytree(corpus / other, root / "deps" / other)
        roots.append(root)
    return roots


def build(out: Path, paths: list[Path], clang: str = "clang", jobs: int = 2,
          patch: tuple[str, str, str] | None = None) -> Path:
    """Glue + stubs + driver compiled with libFuzzer, ASan and UBSan: the binary.
    `patch` (file, old, new) weakens the generated glue on purpose (the harness's own test)."""
    sys.path.insert(0, str(HERE))
    import gen_c

    glue = out / "glue"
    if glue.exists():
        shutil.rmtree(glue)
    sources = [glue / s for s in gen_c.write(glue, paths)] + [glue / "fz_gen.c", HERE / "fz_driver.c"]
    if patch is not None:
        name, old, new = patch
        text = (glue / name).read_text()
        assert old in text, (name, old)
        (glue / name).write_text(text.replace(old, new))
    objs = out / "obj"
    objs.mkdir(parents=True, exist_ok=True)

    def compile_one(src: Path) -> Path:
        obj = objs / (src.stem + ".o")
        cmd = [clang, *CFLAGS, f"{SANITIZE},fuzzer-no-link", "-I", str(glue), "-I", str(HERE),
               "-c", str(src), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {src.name}:\n{proc.stderr[-4000:]}")
        return obj

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        built = list(pool.map(compile_one, sources))
    exe = out / "fuzz_glue"
    proc = subprocess.run([clang, f"{SANITIZE},fuzzer", *map(str, built), "-o", str(exe)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"linking:\n{proc.stderr[-4000:]}")
    return exe


def function_count(exe_dir: Path) -> int:
    return len(metadata(exe_dir))


def metadata(exe_dir: Path) -> list[dict]:
    """Per function of the harness (in its table's order): argument kinds and roles."""
    return json.loads((exe_dir / "glue" / "fz_meta.json").read_text())


# The driver's encoding of one argument (see fz_arg32 in fz_driver.c): a mode byte, then
# its payload.
def _aligned(k: int) -> bytes:  # mode 6: (k * 8) % size
    return bytes([6]) + k.to_bytes(2, "little")


def _arg(kind: str, role: str, j: int, near_end: bool, handles: dict[str, int]) -> bytes:
    if kind == "i64":
        return bytes([0, 1])  # a small value
    if kind in ("f32", "f64"):
        return bytes(4 if kind == "f32" else 8)
    if role.startswith("handle:"):
        return bytes([3, handles.get(role[len("handle:"):], 0)])  # a live handle
    if role == "span" and near_end:
        return bytes([2, 3])  # size - 3
    if role in ("span", "pointer"):
        return _aligned(8 + 16 * j)  # inside, 128 bytes apart
    if role in ("length", "buffer_length"):
        return bytes([9]) + (200 if near_end else 64).to_bytes(2, "little")
    return bytes([1, 1])


def _call(meta: list[dict], i: int, near_end: bool, handles: dict[str, int]) -> bytes:
    f = meta[i]
    out = bytes([2]) + i.to_bytes(2, "little")
    for j, (kind, role) in enumerate(zip(f["kinds"], f["roles"])):
        out += _arg(kind, role, j, near_end, handles)
    return out


def seeds(corpus: Path, meta: list[dict]) -> int:
    """Inputs that reach every function past its checks: a 4 KiB memory, a call of a
    constructor for each resource the function takes, then the function with aligned
    addresses inside memory, and once more with its spans and buffers at the end of
    memory (3 bytes left, 200 long). The stubs' choices (the input's back) are zeros:
    success. Returns how many were written."""
    corpus.mkdir(parents=True, exist_ok=True)
    makers: dict[str, int] = {}
    for i, f in enumerate(meta):
        if f["makes"] and not any(r.startswith("handle:") for r in f["roles"]):
            makers.setdefault(f["makes"], i)
    n = 0
    for i, f in enumerate(meta):
        for near_end in (False, True):
            body = bytearray([3]) + bytes(16)
            handles: dict[str, int] = {}
            for role in f["roles"]:
                res = role[len("handle:"):] if role.startswith("handle:") else None
                if res and res not in handles and res in makers:
                    body += _call(meta, makers[res], False, handles)
                    handles[res] = len(handles)
            body += _call(meta, i, near_end, handles)
            (corpus / f"seed-{i:03d}-{int(near_end)}").write_bytes(bytes(body) + bytes(8))
            n += 1
    return n


def run(exe: Path, corpus: Path, seconds: int, findings: Path, jobs: int = 1,
        extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    findings.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), str(corpus), f"-max_total_time={seconds}", "-print_final_stats=1",
           f"-artifact_prefix={findings}/", "-timeout=10", "-rss_limit_mb=2048", *extra]
    if jobs > 1:
        cmd += [f"-jobs={jobs}", f"-workers={jobs}"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=findings)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", type=int, default=3600)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / ".cache" / "fuzz-c"))
    ap.add_argument("--corpus-root", default=str(ROOT.parent / "shared" / "corpus" / "wasi-p2"))
    args = ap.parse_args()
    out = Path(args.out)
    exe = build(out, [EXAMPLE, *wasi_trees(Path(args.corpus_root), out / "tree")])
    corpus = out / "corpus"
    seeds(corpus, metadata(out))
    proc = run(exe, corpus, args.time, out / "findings", args.jobs)
    sys.stdout.write(proc.stderr[-6000:])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
