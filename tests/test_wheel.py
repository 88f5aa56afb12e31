"""The wheel carries the grammar and the templates: it works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow


def test_wheel_works_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("wit2witx-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    assert "wit2witx/grammars/wit.lark" in names
    assert any(n.startswith("wit2witx/templates/c/") for n in names)
    assert any(n.startswith("wit2witx/templates/host_c/") for n in names)
    # Run the unpacked wheel from a folder unrelated to the checkout, with a cold cache,
    # so that the grammar and the templates can only come from inside the package.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "WIT2WITX_CACHE_DIR": str(tmp_path / "cache")}
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, wit2witx.cli; sys.exit(wit2witx.cli.main())",
         str(FIXTURES / "example"), "--emit", "witx,c,host-c,host-py,docs", "-o", "out"],
        capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import wit2witx

    loaded_from = subprocess.run([sys.executable, "-c", "import wit2witx; print(wit2witx.__file__)"],
                                 capture_output=True, text=True, cwd=work, env=env).stdout
    assert str(tmp_path / "site") in loaded_from
    assert (work / "out" / "example_sensors_bus.h").is_file()
    assert wit2witx.__version__ in (work / "out" / "example_sensors_bus.witx").read_text()
