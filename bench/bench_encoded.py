"""Decoding WIT packages encoded as wasm: wit2witx against wasm-tools, same input, same run.

Input: wasi:http 0.2.12 with the other six WASI packages as its dependencies, encoded
by `wasm-tools component wit --wasm` (a binary) and printed by `wasm-tools print` (its
text form). Reported: the median time to decode each into the resolved JSON, cold
(a new process each run, as a user or pre-commit runs it) and, for wit2witx, in-process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import BIN, ENV, wasm_tools_binary, wasm_tools_tree  # noqa: E402

RUNS = 15


def median_wall(cmd: list[str], runs: int = RUNS) -> float:
    subprocess.run(cmd, env=ENV, capture_output=True, check=True)  # warm-up (.pyc, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=ENV, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_in_process(path: Path, runs: int = RUNS) -> float:
    from wit2witx.emit.json import dumps  # noqa: PLC0415
    from wit2witx.wit.resolve import load  # noqa: PLC0415

    dumps(load(str(path)))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        dumps(load(str(path)))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    wasm_tools = wasm_tools_binary()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tree = wasm_tools_tree(tmp / "src")
        wasm, wat = tmp / "http.wasm", tmp / "http.wat"
        subprocess.run([wasm_tools, "component", "wit", str(tree), "--wasm", "-o", str(wasm)],
                       check=True)
        subprocess.run([wasm_tools, "print", str(wasm), "-o", str(wat)], check=True)
        print(f"input: wasi:http 0.2.12 encoded: {wasm.stat().st_size} bytes binary, "
              f"{wat.stat().st_size} bytes text; {RUNS} runs each")
        for path in (wasm, wat):
            ref = median_wall([wasm_tools, "component", "wit", str(path), "--json"])
            cold = median_wall([str(BIN / "wit2witx"), str(path), "--emit", "json", "-o", "-"])
            warm = median_in_process(path)
            kind = path.suffix[1:]
            print(f"{kind:4}  wasm-tools {ref * 1e3:6.1f} ms   wit2witx CLI {cold * 1e3:6.1f} ms "
                  f"({cold / ref:4.1f}x)   in-process {warm * 1e3:6.1f} ms ({warm / ref:4.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
