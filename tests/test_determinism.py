"""Same input, byte-identical output: across runs and across PYTHONHASHSEEDs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, corpus_path
from wit2witx.compiler import BACKENDS


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_wasi_p2_is_byte_identical_across_runs_and_hash_seeds(tmp_path):
    # All seven packages passed together resolve against each other.
    packages = [str(p) for p in sorted(corpus_path("wasi-p2").iterdir()) if p.is_dir()]
    assert len(packages) == 7
    emit = ",".join(BACKENDS)  # every back end
    trees = []
    for i, seed in enumerate(["0", "1", "4242"]):
        out = tmp_path / f"out{i}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-m", "wit2witx", *packages, "--emit", emit, "-o", str(out)],
            capture_output=True, text=True, env=env, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        trees.append(tree_bytes(out))
    assert len(trees[0]) > 20, sorted(trees[0])
    assert trees[0] == trees[1] == trees[2]
