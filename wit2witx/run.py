"""`wit2witx run GUEST.wasm [--runtime wasmtime|wasm3|wamr] --host wasi-sockets [-- ARGS...]`:
run a P1 guest with WASI Preview 1 (stdio inherited, ARGS as its argv) and reference
hosts for the backported interfaces it imports.

`--runtime wasmtime` (the default) runs it in wasmtime-py with the Python reference host.
`--runtime wasm3` and `--runtime wamr` build (once, cached in the user cache dir under a
name that hashes sources and flags) a native runner from `wit2witx/hosts/c/`: the
runtime, WASI P1 (WAMR's own libc-wasi; for wasm3 the C host's, through glue generated
from wasi_snapshot_preview1.witx), the generated glue and the C reference host, and
replace this process with it, so the guest's stdio and exit status are the process's.
wasm3 comes from the pywasm3 0.5.0 sdist (fetched with pip once); WAMR from `--wamr
PATH` or `$WAMR_SRC` (a wasm-micro-runtime folder or tarball). The native runners always
provide wasi-sockets. WIT2WITX_RUNNER_SANITIZE=1 builds them with ASan and UBSan;
WIT2WITX_RUNNER_WAMR_CONFIG=nohwbound uses WAMR's microcontroller configuration
(WAMR_DISABLE_HW_BOUND_CHECK: no guard pages, only WAMR's own pointer checks).

`--host wasi-http` adds wasi:http/types and outgoing-handler (a client) to wasi-cli;
with `--serve HOST:PORT` the guest is not run but serves HTTP: it exports
wasi:http/incoming-handler's `handle` (`wasi_http_incoming_handler#handle`), and each
request gets a fresh instance (see `wit2witx.hosts.http_serve`). `serving
http://HOST:PORT` on stderr tells the port (`:0` picks one); it serves until interrupted.

A guest exporting `wasi_cli_run#run` (wasi:cli/run's `run`, as `--emit c-p2` exports it
for a world like wasi:cli/command) is run by calling `_initialize` (a reactor's libc
set-up), then that export: its status is the exit status (0, or 1 for an error).

Exit status: the guest's own (`proc_exit`, or 0 when `_start` returns); 134 when the
guest traps (as the wasmtime CLI does); 1 when GUEST.wasm cannot be loaded or needs
imports nobody provides, or the native runner does not build; 2 for bad usage (an
unknown `--host` or `--runtime`, `--runtime wamr` without a WAMR source).
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from .p1.names import guest_export_name, module_name

EXIT_TRAP = 134
#: The core export a guest built with `--emit c-p2` for a world exporting `wasi:cli/run`
#: has (`<P1 module>#<function>`): when present, `run` calls it instead of `_start`.
RUN_EXPORT = guest_export_name(module_name("wasi", "cli", "run"), "run")
RUNTIMES = ("wasmtime", "wasm3", "wamr")

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


@app.command(no_args_is_help=True)
def run(
    guest: str = typer.Argument(..., metavar="GUEST.wasm", help="A wasm32-wasi (Preview 1) module."),
    args: Optional[List[str]] = typer.Argument(None, metavar="-- ARGS", help="Arguments for the guest."),
    host: List[str] = typer.Option([], "--host", metavar="NAME", help="Reference host to provide (repeatable): wasi-sockets, wasi-cli (wasi-sockets with wasi:cli, wasi:random and the wall clock), or wasi-http (wasi-cli with wasi:http's client)."),
    allow_network: bool = typer.Option(False, "--allow-network", help="Let wasi-sockets reach non-loopback addresses (default: loopback only)."),
    env: List[str] = typer.Option([], "--env", metavar="NAME=VALUE", help="NAME=VALUE for the guest's environment (repeatable)."),
    runtime: str = typer.Option("wasmtime", "--runtime", metavar="NAME", help="wasmtime (Python host), wasm3 or wamr (C host, native runner built once)."),
    wamr: Optional[str] = typer.Option(None, "--wamr", metavar="PATH", help="WAMR source folder or tarball for --runtime wamr (default: $WAMR_SRC)."),
    serve: Optional[str] = typer.Option(None, "--serve", metavar="HOST:PORT", help="Serve HTTP with a guest exporting wasi:http/incoming-handler (with --host wasi-http)."),
) -> None:
    """Run GUEST.wasm with WASI P1 and the chosen reference hosts."""
    from . import hosts

    unknown = [h for h in host if h not in hosts.HOSTS]
    if unknown:
        raise _fail(f"unknown --host `{unknown[0]}` (known: {', '.join(hosts.HOSTS)})", 2)
    pairs = []
    for item in env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _fail(f"--env takes NAME=VALUE, got `{item}`", 2)
        pairs.append((name, value))
    if runtime not in RUNTIMES:
        raise _fail(f"unknown --runtime `{runtime}` (known: {', '.join(RUNTIMES)})", 2)
    if serve is not None:
        _serve_http(guest, serve, host, runtime, allow_network, args or [], pairs)
    if runtime != "wasmtime":
        _run_native(runtime, guest, args or [], allow_network, env, wamr)

    try:
        import wasmtime
    except ImportError:
        raise _fail("`wit2witx run` needs wasmtime: pip install 'wit2witx[run]'", 2) from None

    engine = wasmtime.Engine()
    try:
        module = wasmtime.Module.from_file(engine, guest)
    except (OSError, wasmtime.WasmtimeError) as exc:
        raise _fail(f"cannot load `{guest}`: {exc}", 1) from None
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    argv = [os.path.basename(guest), *(args or [])]
    config.argv = argv
    config.env = pairs
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    for name in dict.fromkeys(host):
        hosts.HOSTS[name](linker, store, allow_network=allow_network, argv=argv, env=pairs)
    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as exc:
        raise _fail(f"cannot instantiate `{guest}`: {exc}", 1) from None
    exports = instance.exports(store)
    run_export = exports.get(RUN_EXPORT)
    start = exports.get("_start")
    if run_export is None and start is None:
        raise _fail(f"`{guest}` exports neither `{RUN_EXPORT}` nor `_start`", 1)
    from .hosts.cli import GuestExit  # noqa: PLC0415
    try:
        if run_export is not None:  # a command as a component is one: wasi:cli/run's run
            init = exports.get("_initialize")
            if init is not None:
                init(store)
            status = run_export(store)
            sys.stdout.flush()
            raise typer.Exit(0 if status == 0 else 1)
        start(store)
    except GuestExit as exc:  # wasi:cli/exit through the wasi-cli host
        sys.stdout.flush()
        raise typer.Exit(exc.code)
    except wasmtime.ExitTrap as exc:
        sys.stdout.flush()
        raise typer.Exit(exc.code)
    except wasmtime.Trap as exc:
        sys.stdout.flush()
        raise _fail(f"the guest trapped: {exc.message}", EXIT_TRAP) from None
    except wasmtime.WasmtimeError as exc:
        raise _fail(f"the guest failed: {exc}", EXIT_TRAP) from None
    sys.stdout.flush()
    raise typer.Exit(0)


def _serve_http(guest: str, address: str, host: List[str], runtime: str, allow_network: bool,
                args: List[str], env: List[tuple]) -> None:
    """`--serve HOST:PORT`: serve HTTP with the guest's incoming-handler until interrupted."""
    from .hosts import http_serve  # noqa: PLC0415

    if "wasi-http" not in host:
        raise _fail("--serve needs --host wasi-http", 2)
    if runtime != "wasmtime":
        raise _fail("--serve runs on --runtime wasmtime only", 2)
    where = http_serve.parse_address(address)
    if where is None:
        raise _fail(f"--serve takes HOST:PORT, got `{address}`", 2)
    try:
        http_serve.serve(guest, where, allow_network=allow_network,
                         argv=[os.path.basename(guest), *args], env=env)
    except http_serve.GuestError as exc:
        raise _fail(str(exc), 1) from None
    except ImportError:
        raise _fail("`wit2witx run` needs wasmtime: pip install 'wit2witx[run]'", 2) from None
    except OSError as exc:
        raise _fail(f"cannot serve on {address}: {exc.strerror or exc}", 1) from None
    raise typer.Exit(0)


def _spawns_threads(guest: str) -> bool:
    """Whether the module imports wasi-threads' `wasi` `thread-spawn` (its import entry's
    two names, length-prefixed, as the binary format spells them): WAMR then runs it in
    its `threads` configuration."""
    with open(guest, "rb") as fh:
        return b"\x04wasi\x0cthread-spawn" in fh.read()


def _run_native(runtime: str, guest: str, args: List[str], allow_network: bool, env: List[str],
                wamr: Optional[str]) -> None:
    """Build (once) the native runner for `runtime` and become it."""
    from pathlib import Path  # noqa: PLC0415

    from ._resources import cache_dir  # noqa: PLC0415
    from .hosts.c import build  # noqa: PLC0415

    source = wamr or os.environ.get("WAMR_SRC")
    if runtime == "wamr" and not source:
        raise _fail("--runtime wamr needs WAMR's source: --wamr PATH or WAMR_SRC "
                    "(a wasm-micro-runtime folder or tarball)", 2)
    if not os.path.isfile(guest):
        raise _fail(f"cannot load `{guest}`: no such file", 1)
    sanitize = os.environ.get("WIT2WITX_RUNNER_SANITIZE", "") not in ("", "0")
    tsan = os.environ.get("WIT2WITX_RUNNER_TSAN", "") not in ("", "0")  # ThreadSanitizer instead
    config = os.environ.get("WIT2WITX_RUNNER_WAMR_CONFIG") or ("threads" if _spawns_threads(guest) else "default")
    if config not in build.WAMR_CONFIGS:
        raise _fail(f"WIT2WITX_RUNNER_WAMR_CONFIG={config} (known: {', '.join(build.WAMR_CONFIGS)})", 2)
    try:
        exe = build.runner(runtime, cache_dir() / "native", sanitize=sanitize,
                           wamr=Path(source) if source else None, wamr_config=config, tsan=tsan)
    except build.WamrUnavailable as exc:
        raise _fail(str(exc), 2) from None
    except (build.NativeBuildError, OSError) as exc:
        raise _fail(f"cannot build the {runtime} runner: {exc}", 1) from None
    argv = [str(exe), *(["--allow-network"] if allow_network else [])]
    for item in env:
        argv += ["--env", item]
    argv += ["--", guest, *args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(str(exe), argv)


__all__ = ["app", "run", "EXIT_TRAP", "RUNTIMES", "RUN_EXPORT"]
