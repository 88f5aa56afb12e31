"""`make bench` (issue 13): where the time of one cold `wit2witx` run goes.

A run of the CLI on all of WASI 0.2.12 is replayed step by step in a fresh interpreter
(as the command does it: imports first, then the compile), each step timed; the medians
of `--runs` fresh processes are printed per step, for the default back ends (witx,c) and
for all of them. Steps:

- interpreter start-up (`python -c pass`, measured on its own);
- imports: the CLI (typer, click), the front end (parser, resolver, lowering), jinja2,
  and the back end modules (and, of all of them, the time spent making dataclasses,
  with `@dataclass` or `wit2witx.records.record`);
  then, from a CLI run under `-X importtime`, the import self times by group;
- Jinja: the environment of the built-in templates, then each template the run needs
  loaded from the bytecode cache (what a run does) and, in the same process, compiled
  from source (what the cache saves);
- the front end (parse, resolve, lower) and, per back end, its view models and its
  rendering (time inside `Template.render`).

The sum of the steps is close to, not equal to, the CLI's time: the CLI also parses its
arguments and writes the files. Nothing here asserts: the figures go into the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench import ALL_EMIT, ENV, wasi_copies  # noqa: E402

#: one fresh process: every step's seconds, as JSON on stdout
STEPS = r'''
import json, sys, time
paths, emit = sys.argv[1].split(","), sys.argv[2].split(",")
steps = {}
t0 = time.perf_counter()
import dataclasses
import wit2witx.records as records  # wit2witx/__init__ makes diagnostics' 3 classes first
made = [0, 0.0]
def timed(make):
    def timed_make(*args, **kwargs):
        start = time.perf_counter()
        try:
            return make(*args, **kwargs)
        finally:
            made[0] += 1
            made[1] += time.perf_counter() - start
    return timed_make
dataclasses._process_class = timed(dataclasses._process_class)  # @dataclass
records._build = timed(records._build)  # @record (its fallback is @dataclass: counted above)
t = t0
def step(name):
    global t
    now = time.perf_counter()
    steps[name] = steps.get(name, 0.0) + now - t
    t = now
import wit2witx.cli
step("import CLI (typer, click)")
import wit2witx.wit.resolve, wit2witx.p1.lower
step("import front end")
import jinja2
step("import jinja2")
from wit2witx import compiler
from wit2witx.emit import templating
backends = {b: compiler._backend(b) for b in emit}
step("import back ends")
steps["(of the imports: making dataclasses)"] = made[1]
steps["(dataclasses made, count)"] = made[0] / 1e3  # printed as "ms": x1000
env = templating.environment(())
step("jinja environment")
folders = {"host-wasm3": "host_c", "host-wamr": "host_c"}
wanted = {folders.get(b, b.replace("-", "_")) for b in emit}
used = [n for n in env.list_templates() if n.endswith(".j2") and n.split("/")[0] in wanted]
for name in used:
    env.get_template(name)
step("templates from bytecode cache")
fresh = jinja2.Environment(loader=env.loader, **{k: getattr(env, k) for k in (
    "trim_blocks", "lstrip_blocks", "keep_trailing_newline")}, undefined=env.undefined)
for name in used:
    fresh.get_template(name)
steps["(templates compiled, no cache)"] = time.perf_counter() - t
t = time.perf_counter()
render = jinja2.Template.render
rendered = {}
def timed_render(self, *args, **kwargs):
    start = time.perf_counter()
    try:
        return render(self, *args, **kwargs)
    finally:
        rendered[0] = rendered.get(0, 0.0) + time.perf_counter() - start
jinja2.Template.render = timed_render
program = compiler.build_program(paths, compiler.Options(emit=tuple(emit)))
step("front end (parse, resolve, lower)")
for name, backend in backends.items():
    rendered.clear()
    backend(program)
    r = rendered.get(0, 0.0)
    steps[f"{name}: views"] = time.perf_counter() - t - r
    steps[f"{name}: render"] = r
    t = time.perf_counter()
print(json.dumps(steps))
'''


#: `-X importtime` self times, summed by who imports: (group, module name prefixes)
IMPORT_GROUPS = (
    ("typer, click", ("typer", "click")),
    ("jinja2, markupsafe", ("jinja2", "markupsafe")),
    ("wit2witx back ends", ("wit2witx.emit", "wit2witx.p1.facts", "wit2witx.p1.abi",
                            "wit2witx.p1.layout", "wit2witx.p1.callplan")),
    ("wit2witx (the rest)", ("wit2witx",)),
    ("standard library and others", ("",)),
)


def import_times(paths: list[Path], emit: str, runs: int, out: Path) -> dict[str, float]:
    """Median seconds of `-X importtime` self time per group in a CLI run (the
    instrumentation slows imports down a little: the totals are higher than above)."""
    samples: dict[str, list[float]] = {}
    for i in range(runs + 1):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "wit2witx", *map(str, paths),
                               "--emit", emit, "-o", str(out)], capture_output=True, text=True,
                              env=ENV, cwd=ROOT / "bench")
        if proc.returncode != 0:
            raise SystemExit(f"the -X importtime run failed:\n{proc.stderr}")
        if i == 0:
            continue
        sums = dict.fromkeys((g for g, _ in IMPORT_GROUPS), 0.0)
        for line in proc.stderr.splitlines():
            parts = line.split("|")
            if len(parts) != 3 or not parts[0].split(":")[-1].strip().isdigit():
                continue
            name = parts[2].strip()
            group = next(g for g, prefixes in IMPORT_GROUPS
                         if any(name == p or name.startswith(p + ".") or not p for p in prefixes))
            sums[group] += int(parts[0].split(":")[-1]) / 1e6
        for group, seconds in sums.items():
            samples.setdefault(group, []).append(seconds)
    return {group: statistics.median(values) for group, values in samples.items()}


def startup(runs: int) -> float:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=ENV)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def breakdown(paths: list[Path], emit: str, runs: int) -> dict[str, float]:
    """Median seconds of each step over `runs` fresh processes (after one warm-up)."""
    samples: dict[str, list[float]] = {}
    for i in range(runs + 1):
        out = subprocess.run([sys.executable, "-c", STEPS, ",".join(map(str, paths)), emit],
                             capture_output=True, text=True, env=ENV, cwd=ROOT / "bench")
        if out.returncode != 0:
            raise SystemExit(f"the step-by-step run failed:\n{out.stderr}")
        if i == 0:
            continue  # .pyc files, grammar table and Jinja's cache written
        for name, seconds in json.loads(out.stdout).items():
            samples.setdefault(name, []).append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    emits = {"default (witx,c)": "witx,c", "all back ends": ALL_EMIT}
    with tempfile.TemporaryDirectory() as tmp:
        paths = wasi_copies(Path(tmp) / "x1")
        columns = {title: breakdown(paths, emit, args.runs) for title, emit in emits.items()}
        imports = {title: import_times(paths, emit, args.runs, Path(tmp) / "out") for title, emit in emits.items()}
    start = startup(args.runs)
    print(f"one cold run, step by step (ms, medians of {args.runs} fresh processes; load average"
          f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'':38}" + "".join(f"{title:>18}" for title in columns))
    print(f"{'interpreter start-up':38}" + f"{start * 1e3:18.1f}" * len(columns))
    names = list(dict.fromkeys(n for steps in columns.values() for n in steps))
    for name in names:
        fmt = "18.0f" if "count" in name else "18.1f"
        cells = "".join(f"{steps[name] * 1e3:{fmt}}" if name in steps else f"{'':18}" for steps in columns.values())
        print(f"{name:38}{cells}")
    for title, steps in columns.items():
        total = start + sum(v for k, v in steps.items() if not k.startswith("("))
        print(f"sum of the steps, {title}: {total * 1e3:.0f} ms")
    print("\nimports of a CLI run by -X importtime, self times summed by group (ms)")
    for group, _ in IMPORT_GROUPS:
        print(f"{group:38}" + "".join(f"{by_group[group] * 1e3:18.1f}" for by_group in imports.values()))
    print(f"{'total':38}" + "".join(f"{sum(by_group.values()) * 1e3:18.1f}" for by_group in imports.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
