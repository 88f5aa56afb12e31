"""The README works as written: the quick start in a fresh clone, the library doctest."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

README = ROOT / "README.md"


def code_block(section: str, lang: str) -> str:
    text = README.read_text()
    body = text.split(f"## {section}", 1)[1]
    match = re.search(rf"```{lang}\n(.*?)```", body, re.S)
    assert match, f"no ```{lang} block under '## {section}'"
    return match.group(1)


def test_readme_starts_with_the_two_setup_commands():
    lines = [line.strip() for line in README.read_text().splitlines() if line.strip()]
    commands = [line.split("#")[0].strip() for line in lines[1:3]]
    assert commands == ["make run", "make test"]


@pytest.mark.slow
def test_quick_start_in_a_fresh_clone(tmp_path):
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.fail("git and make are needed for the quick start")
    clone = tmp_path / "wit2witx"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # The clone must see ../shared beside it, as a user's checkout does.
    shared = ROOT.parent / "shared"
    if shared.exists():
        (tmp_path / "shared").symlink_to(shared)
    made = subprocess.run(["make", "run"], cwd=clone, capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (clone / "out" / "example_sensors_bus.witx").is_file()
    for command in code_block("Quick start", "sh").splitlines():
        if not command.strip():
            continue
        proc = subprocess.run(command, shell=True, cwd=clone, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"


def test_library_doctest(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(code_block("As a library", "python"), {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 3 and result.failed == 0
    assert (tmp_path / "out" / "lib" / "example_sensors_bus.witx").is_file()


def test_guest_exports_section_names_what_the_back_ends_make(tmp_path):
    """The world of '## Guest exports' (with the `counters` interface it imports, as in
    tests/test_chost_exports.py) compiles, and every name the section gives for the
    generated code is in the generated files."""
    import wit2witx

    world = code_block("Guest exports", "wit")
    source = ("package test:exports;\n\ninterface counters {\n  resource counter {\n"
              "    constructor(start: u32);\n  }\n  enum code { too-big, empty }\n"
              "  flags mode { double, negate }\n}\n\n" + world)
    (tmp_path / "x.wit").write_text(source)
    files = wit2witx.compile(tmp_path / "x.wit", world="guest",
                             emit=["witx", "c", "host-wasm3", "host-wamr", "host-py"])
    section = README.read_text().split("## Guest exports", 1)[1].split("\n## ", 1)[0]
    assert '__export_name__("test_exports_guest#add_to")' in section
    assert '__export_name__("test_exports_guest#add_to")' in files["test_exports_guest.h"]
    assert "test_exports_guest_add_to(" in files["test_exports_guest.h"]
    assert "int test_exports_guest_w3_call_add_to(IM3Runtime runtime, test_exports_guest_host_ctx_t *host, void *c, uint8_t n," \
        in files["test_exports_guest_wasm3.h"]
    assert "int test_exports_guest_wamr_call_add_to(wasm_exec_env_t env," in files["test_exports_guest_wamr.h"]
    assert "def call_add_to(\n    instance: Any,\n    store: Any,\n    c: " in files["test_exports_guest_host.py"]
    assert "(param $c (@w2w own) $counter)" in files["test_exports_guest.witx"]
