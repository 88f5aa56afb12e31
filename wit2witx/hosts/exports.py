"""Calling a guest's exports from a wasmtime-py host (the backport's guest exports).

A world export whose parameters are scalars, enums, flags and handles is a core export
of the guest named `<P1 module>#<function>` (`--emit c-p2` makes it), with the flat
signature of the P1 function: one core value per parameter, a handle as its index in
the host's handle table. The host has no memory of its own in the guest, so it passes
nothing else; the export returns the function's status (0 for success) or its one
scalar, enum, flags or handle value.

`call_export` lends host objects to the guest for one call (`Borrowed`: inserted into
the handle table before the call and taken out after it, as a `borrow<r>` ends with the
call) or hands them over (`Owned`: the guest drops the handle when it is done).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..p1.names import guest_export_name
from .runtime import HandleTables


@dataclass(frozen=True)
class Borrowed:
    """A host object the guest gets as `borrow<r>` for the length of one call."""

    key: str  # the resource's table key, as the glue names it (`wasi_io_poll.pollable`)
    obj: Any


@dataclass(frozen=True)
class Owned:
    """A host object handed to the guest as `own<r>`: its handle stays in the table."""

    key: str
    obj: Any


def export_name(module: str, function: str) -> str:
    """The core export of a world export: `<P1 module>#<P1 function>`."""
    return guest_export_name(module, function)


def call_export(instance: Any, store: Any, tables: HandleTables, name: str, *args: Any) -> Any:
    """Call the guest's core export `name` with `args` (ints, floats, `Borrowed`,
    `Owned`); returns what it returns. Borrowed handles are taken back whatever happens
    (a trap included), so a failed call leaves the table as it was."""
    func = instance.exports(store).get(name)
    if func is None:
        raise LookupError(f"the guest exports no `{name}`")
    lent: list[tuple[int, str]] = []
    core: list[Any] = []
    try:
        for arg in args:
            if isinstance(arg, (Borrowed, Owned)):
                handle = tables.insert(arg.key, arg.obj)
                if isinstance(arg, Borrowed):
                    lent.append((handle, arg.key))
                core.append(handle)
            else:
                core.append(arg)
        return func(store, *core)
    finally:
        for handle, key in lent:
            tables.remove(handle, key)


__all__ = ["Borrowed", "Owned", "call_export", "export_name"]
