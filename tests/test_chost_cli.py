"""The C reference host's wasi:cli, wasi:random and wasi:clocks/wall-clock: a guest built
from the generated C headers reads its arguments and environment, writes to stdout and
stderr through wasi:cli streams, draws random bytes and the insecure seed, reads the wall
clock, asks for terminals, and leaves through wasi:cli/exit; on wasm3 and both WAMR
builds through `wit2witx run` (sanitized runners, as in test_chost_run)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import CORPUS, corpus_path, zig_cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_chost_run import RUNTIMES, check_clean, native_env, run_guest  # noqa: E402,F401

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

CLI_GUEST = r"""
#include <stdio.h>
#include <string.h>
#include "wasi_cli_environment.h"
#include "wasi_cli_exit.h"
#include "wasi_cli_stderr.h"
#include "wasi_cli_stdout.h"
#include "wasi_cli_terminal_stdout.h"
#include "wasi_clocks_wall_clock.h"
#include "wasi_io_streams.h"
#include "wasi_random_insecure_seed.h"
#include "wasi_random_random.h"

static char out[4096];
static size_t used_out;

static void say(const char *s) {
    size_t n = strlen(s);
    memcpy(out + used_out, s, n);
    used_out += n;
}

int main(void) {
    static uint8_t buf[4096];
    size_t used = 0;
    char line[256];
    wasi_cli_environment_get_arguments_result_t args;
    if (wasi_cli_environment_get_arguments(buf, 4, &used, &args) != WASI_CLI_ENVIRONMENT_STATUS_BUFFER_TOO_SMALL)
        return 10;
    snprintf(line, sizeof line, "args-need %zu\n", used);
    say(line);
    if (wasi_cli_environment_get_arguments(buf, sizeof buf, &used, &args)) return 11;
    for (size_t i = 0; i < args.len; i++) {
        snprintf(line, sizeof line, "arg %.*s\n", (int)args.ptr[i].len, (const char *)args.ptr[i].ptr);
        say(line);
    }
    wasi_cli_environment_get_environment_result_t env;
    if (wasi_cli_environment_get_environment(buf, sizeof buf, &used, &env)) return 12;
    for (size_t i = 0; i < env.len; i++) {
        snprintf(line, sizeof line, "env %.*s=%.*s\n", (int)env.ptr[i].f0_len, env.ptr[i].f0,
                 (int)env.ptr[i].f1_len, env.ptr[i].f1);
        say(line);
    }
    wasi_random_random_get_random_bytes_result_t r;
    if (wasi_random_random_get_random_bytes(64, buf, sizeof buf, &used, &r) || r.len != 64) return 13;
    int nonzero = 0;
    for (size_t i = 0; i < r.len; i++) nonzero += r.ptr[i] != 0;
    snprintf(line, sizeof line, "random %zu %s\n", r.len, nonzero > 32 ? "varied" : "flat");
    say(line);
    uint64_t a0, a1, b0, b1;
    if (wasi_random_insecure_seed_insecure_seed(&a0, &a1) || wasi_random_insecure_seed_insecure_seed(&b0, &b1)) return 14;
    say(a0 == b0 && a1 == b1 ? "seed stable\n" : "seed changes\n");
    wasi_clocks_wall_clock_datetime_t now;
    if (wasi_clocks_wall_clock_now(&now) || now.nanoseconds >= 1000000000u) return 15;
    snprintf(line, sizeof line, "wall %llu\n", (unsigned long long)now.seconds);
    say(line);
    wasi_cli_terminal_stdout_get_terminal_stdout_result_t term;
    if (wasi_cli_terminal_stdout_get_terminal_stdout(&term)) return 16;
    say(term.tag == WASI_CLI_TERMINAL_STDOUT_GET_TERMINAL_STDOUT_RESULT_NONE ? "terminal none\n" : "terminal some\n");
    wasi_io_streams_output_stream_t so, se;
    wasi_io_streams_stream_error_t err;
    if (wasi_cli_stdout_get_stdout(&so) || wasi_cli_stderr_get_stderr(&se)) return 17;
    for (size_t off = 0; off < used_out; off += 4096) {
        size_t n = used_out - off < 4096 ? used_out - off : 4096;
        if (wasi_io_streams_output_stream_blocking_write_and_flush(so, (const uint8_t *)out + off, n, &err)) return 18;
    }
    if (wasi_io_streams_output_stream_blocking_write_and_flush(se, (const uint8_t *)"to stderr\n", 10, &err)) return 19;
    (void)wasi_cli_exit_exit_with_code(7);
    return 20;
}
"""


@pytest.fixture(scope="session")
def cli_guest(tmp_path_factory) -> Path:
    corpus_path("wasi-p2", "cli")
    from wit2witx import compiler

    out = tmp_path_factory.mktemp("chost_cli")
    with tempfile.TemporaryDirectory() as tmp:
        for package, deps in (("cli", ("io", "clocks", "random", "filesystem", "sockets")),
                              ("random", ()), ("clocks", ("io",))):
            root = Path(tmp) / package
            shutil.copytree(CORPUS / "wasi-p2" / package, root)
            for dep in deps:
                shutil.copytree(CORPUS / "wasi-p2" / dep, root / "deps" / dep)
            for name, text in compiler.compile([str(root)], emit=["c"]).items():
                (out / name).write_text(text)
    src = out / "cli_guest.c"
    src.write_text(CLI_GUEST)
    wasm = out / "cli_guest.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-mcpu=mvp", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{out}",
                  "-o", str(wasm), str(src))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_chost_cli_random_and_wall_clock(runtime, native_env, cli_guest):
    before = int(time.time())
    cmd_env = dict(native_env)
    proc = run_guest(runtime, cmd_env, cli_guest, "first", "sécond arg")
    after = int(time.time())
    assert proc.returncode == 7, proc.stderr  # wasi:cli/exit's exit-with-code
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("args-need ") and int(lines[0].split()[1]) > 4  # buffer_too_small, size told
    assert [ln for ln in lines if ln.startswith("arg ")] == [f"arg {cli_guest}", "arg first", "arg sécond arg"]
    assert [ln for ln in lines if ln.startswith("env ")] == []  # nothing passed with --env
    assert "random 64 varied" in lines and "seed stable" in lines and "terminal none" in lines
    wall = int(next(ln for ln in lines if ln.startswith("wall ")).split()[1])
    assert before - 1 <= wall <= after + 1
    assert "to stderr" in proc.stderr
    check_clean(proc)


@pytest.mark.parametrize("runtime", ["wasm3", "wamr"])
def test_chost_cli_environment_from_env_options(runtime, native_env, cli_guest):
    import subprocess

    from test_chost_run import run_cmd

    cmd, extra = run_cmd(runtime, cli_guest)
    cmd[cmd.index("--runtime"):cmd.index("--runtime")] = ["--env", "GREETING=hello world", "--env", "EMPTY="]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=dict(native_env, **(extra or {})))
    assert proc.returncode == 7, proc.stderr
    assert [ln for ln in proc.stdout.splitlines() if ln.startswith("env ")] == ["env GREETING=hello world", "env EMPTY="]
