"""Reference hosts for backported interfaces, for wasmtime-py.

`wit2witx.hosts.sockets.SocketsHost` implements backported wasi:sockets 0.2.12 (TCP, UDP,
name lookup) with the wasi:io and wasi:clocks interfaces it needs. Its glue is *generated* Python
(`--emit host-py`) shipped in `wit2witx/hosts/_generated/`: the WASI WIT files are
corpus data and are not part of the package, so the package carries the glue made from
them, and `tests/test_sockets_e2e.py::test_sockets_shipped_glue_is_fresh` regenerates
it from the corpus and fails if a byte differs (`python -m wit2witx.hosts.regen`
rewrites it).

`runtime` is what generated glue imports at run time; it is cheap to import (no
wasmtime, no templates) and so is this package: the glue modules and wasmtime load on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The P1 modules of the wasi-sockets host, in import order (the owners come first).
SOCKETS_MODULES = (
    "wasi_io_error",
    "wasi_io_poll",
    "wasi_io_streams",
    "wasi_clocks_monotonic_clock",
    "wasi_sockets_network",
    "wasi_sockets_instance_network",
    "wasi_sockets_tcp",
    "wasi_sockets_tcp_create_socket",
    "wasi_sockets_ip_name_lookup",
    "wasi_sockets_udp",
    "wasi_sockets_udp_create_socket",
)

#: The P1 modules the wasi-cli host adds (wasi:cli, wasi:random, the wall clock).
CLI_MODULES = (
    "wasi_cli_environment",
    "wasi_cli_exit",
    "wasi_cli_stdin",
    "wasi_cli_stdout",
    "wasi_cli_stderr",
    "wasi_cli_terminal_input",
    "wasi_cli_terminal_output",
    "wasi_cli_terminal_stdin",
    "wasi_cli_terminal_stdout",
    "wasi_cli_terminal_stderr",
    "wasi_clocks_wall_clock",
    "wasi_random_random",
    "wasi_random_insecure",
    "wasi_random_insecure_seed",
)

#: The P1 modules the wasi-http host adds (wasi:http/types and outgoing-handler).
HTTP_MODULES = (
    "wasi_http_types",
    "wasi_http_outgoing_handler",
)

_GLUE: dict[str, Any] = {}
_CLI_GLUE: dict[str, Any] = {}
_HTTP_GLUE: dict[str, Any] = {}


def _load(names: tuple[str, ...], into: dict[str, Any]) -> dict[str, Any]:
    if not into:
        found = {}
        for name in names:
            try:
                found[name] = importlib.import_module(f"{__name__}._generated.{name}_host")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}._generated.{name}_host":
                    raise
        into.update(found)  # at once: another thread never sees the dict half filled
    return into


def load_glue() -> dict[str, Any]:
    """The shipped glue modules, by P1 module name (those that are present)."""
    return _load(SOCKETS_MODULES, _GLUE)


def load_cli_glue() -> dict[str, Any]:
    """The shipped glue modules the wasi-cli host adds to the sockets host's."""
    return _load(CLI_MODULES, _CLI_GLUE)


def load_http_glue() -> dict[str, Any]:
    """The shipped glue modules the wasi-http host adds to the wasi-cli host's."""
    return _load(HTTP_MODULES, _HTTP_GLUE)


def add_sockets_to_linker(linker: Any, store: Any, host: Any = None, *,
                          allow_network: bool = False, argv: Any = (),
                          env: Any = ()) -> tuple[Any, Any]:
    """Define every wasi-sockets import on `linker`; returns (host, handle tables).
    (`argv` and `env`, which `wit2witx run` gives every host, are not used.)"""
    from .sockets import SocketsHost  # noqa: PLC0415

    if host is None:
        host = SocketsHost(allow_network=allow_network)
    tables = None
    for module in load_glue().values():
        tables = module.add_to_linker(linker, store, host, tables=tables)
    return host, tables


def add_cli_to_linker(linker: Any, store: Any, host: Any = None, *,
                      allow_network: bool = False, argv: Any = (),
                      env: Any = ()) -> tuple[Any, Any]:
    """Define the wasi-sockets imports and wasi:cli, wasi:random and the wall clock on
    `linker` (`hosts.cli.CliHost`); returns (host, handle tables)."""
    from .cli import CliHost, WallClock  # noqa: PLC0415

    if host is None:
        host = CliHost(allow_network=allow_network, argv=argv, env=env)
    host, tables = add_sockets_to_linker(linker, store, host)
    for name, module in load_cli_glue().items():
        impl = WallClock(module.Datetime) if name == "wasi_clocks_wall_clock" else host
        tables = module.add_to_linker(linker, store, impl, tables=tables)
    return host, tables


def add_http_to_linker(linker: Any, store: Any, host: Any = None, *,
                       allow_network: bool = False, argv: Any = (),
                       env: Any = ()) -> tuple[Any, Any]:
    """Define the wasi-cli host's imports and wasi:http/types and outgoing-handler on
    `linker` (`hosts.http.HttpHost`); returns (host, handle tables)."""
    from .http import HttpHost  # noqa: PLC0415

    if host is None:
        host = HttpHost(allow_network=allow_network, argv=argv, env=env)
    host, tables = add_cli_to_linker(linker, store, host)
    for module in load_http_glue().values():
        tables = module.add_to_linker(linker, store, host, tables=tables)
    return host, tables


#: `wit2witx run --host NAME`: the hosts there are (wasi-cli includes wasi-sockets,
#: wasi-http includes wasi-cli).
HOSTS = {"wasi-sockets": add_sockets_to_linker, "wasi-cli": add_cli_to_linker,
         "wasi-http": add_http_to_linker}

__all__ = ["SOCKETS_MODULES", "CLI_MODULES", "HTTP_MODULES", "HOSTS", "add_sockets_to_linker",
           "add_cli_to_linker", "add_http_to_linker", "load_glue", "load_cli_glue",
           "load_http_glue"]
