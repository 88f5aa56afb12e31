"""`wasi-p2-interfaces/`: the manifest names every WASI 0.2 interface, and `make wasi`
(wit2witx --config on it) backports them all."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import wit2witx
from conftest import ROOT, corpus_path
from wit2witx.p1.lower import lower

MANIFEST = ROOT / "wasi-p2-interfaces" / "wit2witx.toml"


def test_manifest_covers_exactly_the_interfaces_of_wasi_p2():
    wasi = corpus_path("wasi-p2")
    manifest = tomllib.loads(MANIFEST.read_text())
    folders = [p.replace("${WASI}", str(wasi)) for p in manifest["paths"]]
    assert sorted(os.path.basename(f) for f in folders) == sorted(
        p.name for p in wasi.iterdir() if p.is_dir())
    lowered = lower(wit2witx.load(folders), module_names=manifest["module-names"])
    assert lowered.warnings == [], [w.message for w in lowered.warnings]  # no unused names
    by_origin = {u.origin.split("@")[0]: u.name for u in lowered.units}
    assert by_origin == manifest["module-names"]


def test_make_wasi_equivalent_writes_every_module(tmp_path):
    env = {**os.environ, "WASI": str(corpus_path("wasi-p2"))}
    out = tmp_path / "build"
    proc = subprocess.run(
        [sys.executable, "-m", "wit2witx", "--config", str(MANIFEST), "-o", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = tomllib.loads(MANIFEST.read_text())["module-names"].values()
    for name in names:
        for suffix in (".witx", ".h", "_host.c", "_wasm3.c", "_wamr.c", "_host.py", ".md"):
            assert (out / f"{name}{suffix}").is_file(), name + suffix


def test_unset_variable_is_a_usage_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WASI"}
    proc = subprocess.run([sys.executable, "-m", "wit2witx", "--config", str(MANIFEST)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "WASI" in proc.stderr
