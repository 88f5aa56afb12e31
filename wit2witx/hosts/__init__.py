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

_GLUE: dict[str, Any] = {}


def load_glue() -> dict[str, Any]:
    """The shipped glue modules, by P1 module name (those that are present)."""
    if not _GLUE:
        for name in SOCKETS_MODULES:
            try:
                _GLUE[name] = importlib.import_module(f"{__name__}._generated.{name}_host")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}._generated.{name}_host":
                    raise
    return _GLUE


def add_sockets_to_linker(linker: Any, store: Any, host: Any = None, *,
                          allow_network: bool = False) -> tuple[Any, Any]:
    """Define every wasi-sockets import on `linker`; returns (host, handle tables)."""
    from .sockets import SocketsHost  # noqa: PLC0415

    if host is None:
        host = SocketsHost(allow_network=allow_network)
    tables = None
    for module in load_glue().values():
        tables = module.add_to_linker(linker, store, host, tables=tables)
    return host, tables


#: `wit2witx run --host NAME`: the hosts there are.
HOSTS = {"wasi-sockets": add_sockets_to_linker}

__all__ = ["SOCKETS_MODULES", "HOSTS", "add_sockets_to_linker", "load_glue"]
