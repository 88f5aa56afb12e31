"""`wit2witx run GUEST.wasm --host wasi-sockets [-- ARGS...]`: run a P1 guest in wasmtime
with WASI Preview 1 (stdio inherited, ARGS as its argv) and reference hosts for the
backported interfaces it imports.

Exit status: the guest's own (`proc_exit`, or 0 when `_start` returns); 134 when the
guest traps (as the wasmtime CLI does); 1 when GUEST.wasm cannot be loaded or needs
imports nobody provides; 2 for bad usage (an unknown `--host`).
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

EXIT_TRAP = 134

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


@app.command(no_args_is_help=True)
def run(
    guest: str = typer.Argument(..., metavar="GUEST.wasm", help="A wasm32-wasi (Preview 1) module."),
    args: Optional[List[str]] = typer.Argument(None, metavar="-- ARGS", help="Arguments for the guest."),
    host: List[str] = typer.Option([], "--host", metavar="NAME", help="Reference host to provide (repeatable): wasi-sockets."),
    allow_network: bool = typer.Option(False, "--allow-network", help="Let wasi-sockets reach non-loopback addresses (default: loopback only)."),
    env: List[str] = typer.Option([], "--env", metavar="NAME=VALUE", help="NAME=VALUE for the guest's environment (repeatable)."),
) -> None:
    """Run GUEST.wasm in wasmtime with WASI P1 and the chosen reference hosts."""
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
    config.argv = [os.path.basename(guest), *(args or [])]
    config.env = pairs
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    for name in dict.fromkeys(host):
        hosts.HOSTS[name](linker, store, allow_network=allow_network)
    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as exc:
        raise _fail(f"cannot instantiate `{guest}`: {exc}", 1) from None
    start = instance.exports(store).get("_start")
    if start is None:
        raise _fail(f"`{guest}` exports no `_start` function", 1)
    try:
        start(store)
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


__all__ = ["app", "run", "EXIT_TRAP"]
