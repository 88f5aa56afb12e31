"""Hostile guests for the wasi:http functions: a C guest written against the generated
P1 headers (no c-p2 shim to trap first) calls with forged, stale and mistyped handles,
out-of-bounds buffers and pointers, a bad variant tag, a too-small result buffer, and
uses a body after `finish`. Each call must return the documented status (the glue's
`bad_handle`/`bad_pointer`/`bad_value`/`buffer_too_small` of docs/abi.md, the host's
WIT errors of `wit2witx.hosts.http`), and the host must survive.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CORPUS, corpus_path, zig_cc
from test_http_client import HTTP_SRC

wasmtime = pytest.importorskip("wasmtime")

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def statuses(tmp_path_factory) -> dict[str, str]:
    corpus_path("wasi-p2", "http")
    from wit2witx.hosts.regen import compile_http

    out = tmp_path_factory.mktemp("http_hostile")
    for name, text in compile_http(CORPUS, "c").items():
        (out / name).write_text(text)
    wasm = out / "hostile_guest.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{out}",
                  "-o", str(wasm), str(HTTP_SRC / "hostile_guest.c"))
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run([sys.executable, "-m", "wit2witx", "run", str(wasm), "--host", "wasi-http"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "alive"  # the host served every later call
    return dict(line.split(" ", 1) for line in lines[:-1])


def glue():
    from wit2witx.hosts import load_glue, load_http_glue

    return load_http_glue()["wasi_http_types"], load_glue()["wasi_io_streams"]


def test_http_hostile_handles(statuses):
    types, _ = glue()
    H, S = types.HeaderErrorStatus, types.TypesStatus
    assert statuses["forged-append"] == str(H.BAD_HANDLE.value)
    assert statuses["zero-append"] == str(H.BAD_HANDLE.value)
    assert statuses["drop-stale"] == str(S.SUCCESS.value)
    assert statuses["stale-append"] == str(H.BAD_HANDLE.value)
    assert statuses["stale-drop"] == str(S.BAD_HANDLE.value)
    assert statuses["mistyped-append"] == str(H.BAD_HANDLE.value)  # a request is no fields
    assert statuses["held-append"] == str(H.IMMUTABLE.value)       # a request holds them


def test_http_hostile_pointers_and_buffers(statuses):
    types, _ = glue()
    H, S = types.HeaderErrorStatus, types.TypesStatus
    assert statuses["oob-name"] == str(H.BAD_POINTER.value)
    assert statuses["wrap-name"] == str(H.BAD_POINTER.value)   # ptr + len wraps 2^32
    assert statuses["oob-out"] == str(S.BAD_POINTER.value)
    assert statuses["entries-small"] == str(S.BUFFER_TOO_SMALL.value)
    # one entry record (two pointer+length pairs) and its bytes "x-a" and "1"
    assert statuses["needed"] == str(16 + len("x-a") + len("1"))
    assert statuses["entries-oob-buf"] == str(S.BAD_POINTER.value)
    assert statuses["entries"] == str(S.SUCCESS.value)
    assert statuses["entry"] == "x-a=1"


def test_http_hostile_body_after_finish(statuses):
    types, streams = glue()
    S, E, SE = types.TypesStatus, types.ErrorCodeStatus, streams.StreamErrorStatus
    assert statuses["body"] == str(S.SUCCESS.value)
    assert statuses["body-again"] == str(S.ERROR.value)           # at most once
    assert statuses["stream-write"] == str(SE.SUCCESS.value)
    assert statuses["finish-bad-tag"] == str(E.BAD_VALUE.value)   # an option tag of 7
    assert statuses["finish"] == str(E.SUCCESS.value)
    assert statuses["stream-after-finish"] == str(SE.CLOSED.value)
    assert statuses["write-after-finish"] == str(S.ERROR.value)
    assert statuses["finish-again"] == str(E.INTERNAL_ERROR.value)
    assert statuses["drop-body"] == str(S.SUCCESS.value)
    assert statuses["finish-dropped"] == str(E.BAD_HANDLE.value)  # stale after the drop
