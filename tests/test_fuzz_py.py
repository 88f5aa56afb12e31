"""Hypothesis drives every function of the generated Python host glue (issue 19, item 2).

The glue of the example interface and of every P1 module lowered from WASI 0.2.12 is
generated (host-py) and imported; each example is one guest session over a real
`wasmtime.Memory`: raw core arguments (addresses near the end of memory, wrapping
lengths, misaligned out-pointers, live, stale and forged handles), memory contents, and
stub implementations returning drawn results (long lists, invalid enum values, values
of the wrong kind, errors of the interface, exceptions). After every call
tests/fuzz/py_harness.py checks the guarantees of docs/abi.md; at the end every handle
is dropped and every stub object must have been released exactly once.

Bounded (W2W_FUZZ_PY_EXAMPLES, default 150 sessions), derandomized under CI=true.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, IN_CI, corpus_path
from wasi import wasi_package_with_deps

import wit2witx.compiler

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import py_harness  # noqa: E402

EXAMPLES = int(os.environ.get("W2W_FUZZ_PY_EXAMPLES", "150"))
PACKAGES = ("cli", "clocks", "filesystem", "http", "io", "random", "sockets")


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-py")
    out = tmp / "glue"
    out.mkdir()
    assert sorted(p.name for p in corpus_path("wasi-p2").iterdir() if p.is_dir()) == sorted(PACKAGES)
    roots = [FIXTURES / "example"] + [wasi_package_with_deps(tmp / "tree", pkg) for pkg in PACKAGES]
    for root in roots:
        for name, text in wit2witx.compiler.compile([str(root)], emit=("host-py",)).items():
            (out / name).write_text(text)
    found = py_harness.load_specs(out)
    modules = {s.module for s in found}
    assert {"example_sensors_bus", "wasi_io_streams", "wasi_http_types", "wasi_sockets_tcp",
            "wasi_filesystem_types"} <= modules
    assert len(found) >= 200
    return found


def test_sessions_keep_every_guarantee(specs):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=IN_CI, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def session(data):
        s = py_harness.Session(data.draw, specs)
        s.run(data.draw(st.integers(1, 12)))

    session()


def test_the_checks_catch_a_write_outside_the_out_pointers(specs):
    """The harness is not blind: a call that also scribbles past its out-pointer, or
    hands the guest a handle the table does not hold, is reported."""
    scan = next(s for s in specs if s.module == "example_sensors_bus" and s.name == "scan")
    session = py_harness.Session(None, [scan])
    impl = type("Stub", (), {scan.method: staticmethod(lambda mask: 7)})()
    host = py_harness.rt.make_host_func(scan, impl, session.tables)
    before = bytes(session.mem())
    session.current, session.called = scan, 1
    status = host(session.caller, 0, 64)
    assert status == 0 and session.mem()[64] == 7
    session.check(scan, [0, 64], status, before, 0)  # the real glue keeps the guarantees
    session.mem()[68] ^= 0xFF
    with pytest.raises(py_harness.Broken, match="wrote byte 68"):
        session.check(scan, [0, 64], status, before, 0)
    session.mem()[68] ^= 0xFF
    session.model[0x100001] = "example_sensors_bus.device"
    with pytest.raises(py_harness.Broken, match="the table holds"):
        session.check(scan, [0, 64], status, before, 0)


# --------------------------------------------------------------------------- regressions
# Each from an input hypothesis found (the session's calls, as the harness printed them).


def _scripted(specs, module: str, name: str, result):
    """A session over one function whose implementation returns `result()`."""
    spec = next(s for s in specs if s.module == module and s.name == name)
    session = py_harness.Session(None, [s for s in specs if s.drop_key] + [spec])
    impl = type("Stub", (), {spec.method: staticmethod(lambda *a, **k: result(session))})()
    session.hosts[id(spec)] = py_harness.rt.make_host_func(spec, impl, session.tables)
    return session, spec


def test_regression_too_small_buffer_releases_the_objects_of_the_result(specs):
    """`get_directories(0, 0, 0, 0) -> buffer_too_small` leaked the descriptors of the
    list the implementation returned (they were never issued, and never released)."""
    session, spec = _scripted(specs, "wasi_filesystem_preopens", "get_directories",
                              lambda s: [(s.new_obj("wasi_filesystem_types.descriptor"), "/")])
    status = session.call(spec, [0, 0, 0, 0])
    assert spec.status_cases[status] == "buffer_too_small"
    assert [o.state for o in session.objs] == ["released"]
    session.finish()


def test_regression_a_bad_value_leaves_buf_used_and_out_pointers_alone(specs):
    """`get_insecure_random_bytes(0, 0, 8, 8, 0) -> bad_value` (the implementation
    returned a str for a list<u8>) wrote `*buf_used` first."""
    session, spec = _scripted(specs, "wasi_random_insecure", "get_insecure_random_bytes", lambda s: "x")
    session.mem()[8:12] = b"\xaa\xbb\xcc\xdd"
    status = session.call(spec, [0, 0, 8, 8, 0])  # the checks of the harness pass
    assert spec.status_cases[status] == "bad_value"
    assert bytes(session.mem()[8:12]) == b"\xaa\xbb\xcc\xdd"
