"""A bounded libFuzzer campaign over every trampoline of the C host glue (issue 19, item 1).

One binary (tests/fuzz/build_c.py) holds the glue of the example interface and of every
P1 module lowered from WASI 0.2.12, generated stubs as implementations, and the driver
that checks the guarantees of docs/abi.md after every call (tests/fuzz/fz_driver.c):
no sanitizer report, a status the function may return, no write outside the declared
out-pointers (none at all into them on failure), a handle table holding exactly the
handles the guest was told about, every stub object released exactly once.

- the campaign runs W2W_FUZZ_SECONDS (default 60) from a seed corpus: zero findings;
- every input that found a bug during development (tests/fuzz/regressions/c/) passes;
- the harness is not blind: with the glue's bounds check weakened (a length ignored),
  it finds the bug within the same kind of campaign.
  Nor with a list's element check skipped (poll() given a list with a dead handle),
  nor with the UTF-8 checks of list elements skipped (wasi:http fields.from-list).

`make fuzz` runs a long campaign. Needs Debian's clang and libclang-rt-*-dev (`make
test` installs them as root, like the Arm toolchain).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import corpus_path

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import build_c  # noqa: E402

SECONDS = int(os.environ.get("W2W_FUZZ_SECONDS", "60"))


def _libfuzzer_clang() -> str:
    clang = shutil.which("clang")
    if clang is None:
        pytest.fail("clang is missing: `make fuzz-toolchain` installs it (apt-get install clang libclang-rt-dev)")
    return clang


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    _libfuzzer_clang()
    out = tmp_path_factory.mktemp("fuzz-c")
    trees = build_c.wasi_trees(corpus_path("wasi-p2"), out / "tree")
    exe = build_c.build(out, [build_c.EXAMPLE, *trees])
    return exe


def _stats(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"stat::(\w+):\s+(\d+)", text)}


def test_the_harness_covers_every_module(harness):
    gen = (harness.parent / "glue" / "fz_gen.c").read_text()
    names = set(re.findall(r'\{ "([a-z0-9_]+)\.[a-z0-9_]+", fz_call_', gen))
    assert "example_sensors_bus" in names
    for module in ("wasi_io_streams", "wasi_sockets_tcp", "wasi_http_types", "wasi_filesystem_types",
                   "wasi_cli_environment", "wasi_random_random", "wasi_clocks_monotonic_clock"):
        assert module in names, module
    assert build_c.function_count(harness.parent) >= 200


def test_regression_inputs_pass(harness):
    inputs = sorted((build_c.REGRESSIONS).iterdir())
    assert inputs, "no regression inputs"
    proc = subprocess.run([str(harness), *map(str, inputs)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"Executed {inputs[-1]}" in proc.stderr


def test_bounded_campaign_finds_nothing(harness, tmp_path):
    corpus = tmp_path / "corpus"
    build_c.seeds(corpus, build_c.metadata(harness.parent))
    findings = tmp_path / "findings"
    proc = build_c.run(harness, corpus, SECONDS, findings)
    crashes = sorted(findings.iterdir())
    assert proc.returncode == 0 and not crashes, (crashes, proc.stderr[-6000:])
    stats = _stats(proc.stderr)
    assert stats["number_of_executed_units"] > 1000, stats
    assert stats["new_units_added"] > 0, stats


def test_the_harness_finds_a_weakened_bounds_check(tmp_path):
    """The example's glue with `w2w_mem_ptr` ignoring the length: an out-of-bounds span
    must be reported (by ASan or by an invariant) within the campaign."""
    _libfuzzer_clang()
    exe = build_c.build(tmp_path, [build_c.EXAMPLE], patch=(
        "w2w_host.h", "(uint64_t)addr + len > mem->size", "(uint64_t)addr >= mem->size"))
    corpus = tmp_path / "corpus"
    build_c.seeds(corpus, build_c.metadata(tmp_path))
    proc = build_c.run(exe, corpus, SECONDS, tmp_path / "findings")
    assert proc.returncode != 0, proc.stderr[-3000:]
    assert ("AddressSanitizer" in proc.stderr or "FUZZ INVARIANT BROKEN" in proc.stderr), proc.stderr[-3000:]
    assert sorted((tmp_path / "findings").iterdir())



def _campaign_with_a_check_skipped(tmp_path, tree: str, header: str, check: str,
                                   memory_fill: bytes | None = None):
    """The campaign over one WASI 0.2 package's glue with the first `check` in `header`
    disabled (`if (0 && ...`). With `memory_fill`, each seed also runs once more with its
    16 bytes of memory pattern replaced by it."""
    _libfuzzer_clang()
    trees = build_c.wasi_trees(corpus_path("wasi-p2"), tmp_path / "tree")
    exe = build_c.build(tmp_path, [t for t in trees if t.name == tree], patch=(
        header, check, check.replace("if (", "if (0 && ", 1)))
    corpus = tmp_path / "corpus"
    build_c.seeds(corpus, build_c.metadata(tmp_path))
    if memory_fill is not None:
        for seed in sorted(corpus.iterdir()):
            data = seed.read_bytes()
            (corpus / f"{seed.name}-fill").write_bytes(data[:1] + memory_fill + data[17:])
    proc = build_c.run(exe, corpus, SECONDS, tmp_path / "findings")
    assert proc.returncode != 0, proc.stderr[-3000:]
    return proc


def test_the_harness_finds_a_skipped_element_check(tmp_path):
    """wasi:io's glue with poll()'s element check skipped: a list holding a stale or
    forged handle reaches the implementation, which the stubs report (every element of
    a span they get must be valid)."""
    proc = _campaign_with_a_check_skipped(
        tmp_path, "io", "wasi_io_poll_host_inline.h", "if ((rc = wasi_io_poll_check_poll_in_inline(")
    assert "FUZZ INVARIANT BROKEN: the implementation got an invalid list element" in proc.stderr, \
        proc.stderr[-3000:]


def test_the_harness_finds_a_skipped_utf8_check(tmp_path):
    """wasi:http's glue with the UTF-8 checks of its list elements skipped:
    `fields.from-list` given a header name that is not UTF-8 reaches the implementation,
    which the stubs report (every string they get must be well-formed, by the harness's
    own decoder)."""
    # Memory filled with `(0xC0, 4)` pairs: every string a list element points to is
    # then 4 bytes at an address inside memory starting with 0xC0, which is never UTF-8.
    # The first pass over the corpus finds it, however few inputs a loaded machine gets
    # through in the campaign's seconds.
    fill = ((0xC0).to_bytes(4, "little") + (4).to_bytes(4, "little")) * 2
    proc = _campaign_with_a_check_skipped(
        tmp_path, "http", "wasi_http_types_host_inline.h", "if (!w2w_valid_utf8(q", fill)
    assert "FUZZ INVARIANT BROKEN: the implementation got a string that is not UTF-8" in proc.stderr, \
        proc.stderr[-3000:]


def test_the_harness_finds_a_skipped_utf8_check_of_a_string_parameter(tmp_path):
    """wasi:sockets' glue with `resolve-addresses`' check of its `name` skipped: a WIT
    `string` parameter, which C gets as `const uint8_t *` + length (`Param.utf8`), not
    UTF-8, reaches the implementation, which the stubs report. Memory filled with
    `(0xC0, 4)` pairs, as above: nearly every span of it holds a 0xC0 not followed by a
    continuation byte."""
    fill = ((0xC0).to_bytes(4, "little") + (4).to_bytes(4, "little")) * 2
    proc = _campaign_with_a_check_skipped(
        tmp_path, "sockets", "wasi_sockets_ip_name_lookup_host_inline.h",
        "if (!w2w_valid_utf8(p_name", fill)
    assert "FUZZ INVARIANT BROKEN: the implementation got a string that is not UTF-8" in proc.stderr, \
        proc.stderr[-3000:]
