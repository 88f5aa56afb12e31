"""The C reference host as shipped: its pre-generated glue is what the back ends make of
the corpus today, it compiles strictly, an embedder's CMake build of it links, the
source list names every host source, and the wheel carries it all."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, corpus_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import wamr as wamr_support  # noqa: E402
from support.wasm3 import Wasm3Unavailable, gcc, wasm3_lib  # noqa: E402

from wit2witx.hosts.c import build, regen  # noqa: E402

pytestmark = pytest.mark.slow

HERE = build.HERE
STRICT = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes")


def test_chost_shipped_glue_is_fresh():
    """`python -m wit2witx.hosts.c.regen` would write exactly what is shipped."""
    corpus_path("wasi-p2", "sockets")
    assert regen.stale(CORPUS) == [], "run `python -m wit2witx.hosts.c.regen`"
    shipped = {p.name for p in regen.GENERATED.iterdir()}
    assert shipped == set(regen.generate(CORPUS)), "files in generated/ nobody generates"


def test_chost_nosys_stubs_cover_every_other_p1_function():
    header = (regen.GENERATED / "wasi_snapshot_preview1_host.h").read_text()
    declared = {name for _, name, _ in regen.PROTOTYPE.findall(header)}
    stubs = set(re.findall(r"^int32_t wasi_snapshot_preview1_impl_(\w+)\(", (
        regen.GENERATED / "w2w_preview1_nosys.c").read_text(), re.M))
    implemented = set(re.findall(r"^(?:int32_t|void) wasi_snapshot_preview1_impl_(\w+)\(", (
        HERE / "w2w_preview1.c").read_text(), re.M))
    assert implemented == set(regen.P1_IMPLEMENTED)
    assert stubs | implemented == declared | {"proc_exit"} and not stubs & implemented
    assert len(stubs) >= 25


def test_chost_compiles_strictly(tmp_path):
    """The host sources with -Wall -Wextra -Werror -Wshadow, against the shipped glue,
    wasm3's and WAMR's headers."""
    try:
        wasm3_inc, _ = wasm3_lib(("-O2",))
    except Wasm3Unavailable as exc:
        pytest.fail(str(exc))
    wamr_inc = wamr_support.require(wamr_support.wamr_include)
    sources = [HERE / s for s in build.HOST_SOURCES] + [
        HERE / "w2w_preview1.c", HERE / "w2w_posix_wasm3.c", HERE / "w2w_posix_wamr.c",
        HERE / "w2w_runner_wasm3.c", HERE / "w2w_runner_wamr.c"]
    for src in sources:
        proc = subprocess.run([gcc(), *STRICT, "-fsyntax-only", "-I", str(HERE), "-I", str(regen.GENERATED),
                               "-isystem", str(wasm3_inc), "-isystem", str(wamr_inc), str(src)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name}:\n{proc.stderr}"


def test_chost_source_list_and_cmake_build_for_embedders(tmp_path):
    """sources.txt names the host and the glue core; CMakeLists.txt builds them (and the
    WAMR binding) into static libraries that an embedder's program links."""
    listed = [ln for ln in (HERE / "sources.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert all((HERE / ln).is_file() for ln in listed)
    assert set(build.HOST_SOURCES) <= set(listed)
    from wit2witx.hosts import SOCKETS_MODULES

    assert {f"generated/{m}_host.c" for m in SOCKETS_MODULES} <= set(listed)
    wamr_inc = wamr_support.require(wamr_support.wamr_include)
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.c").write_text(
        '#include "w2w_posix_wamr.h"\n'
        "static w2w_handles handles;\nstatic w2w_posix host;\nstatic w2w_posix_wamr_natives natives;\n"
        "int main(void) {\n"
        "    w2w_handles_init(&handles);\n"
        "    if (!w2w_posix_init(&host, &handles, false)) return 1;\n"
        "    (void)natives;\n"
        "    w2w_posix_close(&host);\n"
        "    return (int)w2w_posix_live_objects(&host);\n}\n")
    (app / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.14)\nproject(embedder C)\n"
        f'add_subdirectory("{HERE}" w2w_host)\n'
        "add_executable(embedder main.c)\ntarget_link_libraries(embedder PRIVATE w2w_posix_wamr)\n")
    cmake = build.cmake_exe()
    for cmd in ([cmake, "-S", str(app), "-B", str(app / "build"), f"-DW2W_WAMR_INCLUDE={wamr_inc}"],
                [cmake, "--build", str(app / "build")]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert subprocess.run([str(app / "build" / "embedder")], timeout=60).returncode == 0


def test_chost_sources_are_in_the_wheel(tmp_path):
    """hatch ships every file of the package folder: the C host, its CMake file, source
    list and generated glue are in the wheel."""
    import zipfile

    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(HERE.parents[2])], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "hatchling" in proc.stderr:
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                               str(HERE.parents[2])], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("wit2witx-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted(HERE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            assert f"wit2witx/hosts/c/{path.relative_to(HERE).as_posix()}" in names, path
