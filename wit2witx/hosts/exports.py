"""Calling a guest's exports from a wasmtime-py host (the backport's guest exports).

A world export whose parameters are scalars, enums, flags and handles is a core export
of the guest named `<P1 module>#<function>` (`--emit c-p2` makes it), with the flat
signature of the P1 function: one core value per parameter, a handle as its index in
the host's handle table. The host has no memory of its own in the guest, so it passes
nothing else; the export returns the function's status (0 for success) or its one
scalar, flags or handle value (an export returning an enum or a bool is refused when
the WIT is lowered: witx has no such result; `result<_, E>` is the way).

`call_export` lends host objects to the guest for one call (`Borrowed`: inserted into
the handle table before the call and taken out after it, as a `borrow<r>` ends with the
call) or hands them over (`Owned`: the guest drops the handle when it is done).

The generated Python glue (`<module>_host.py`) has a typed caller per export,
`call_<function>(instance, store, *args, tables=...)`, made of an `ExportSpec` and
`call`: arguments checked against their type before the call (`BadArgument`), handles
lent or handed over as the call plan says (a `Borrowed`/`Owned` argument overrides
it), the result decoded: a status raised as the function's `<E>Error`, a handle taken
out of the table and returned as its host object, a value the guest had no right to
return raised as `BadResult`.

P1 has one handle type for `own<r>` and `borrow<r>` (the backport ABI), but a guest
export's call plan tells them apart: a parameter WIT declares `own<r>` (WITX
`(param $x (@w2w own) $r)`, `Ownership.OWN`) is handed over, as wit-bindgen has an
export's callee own it: after a call that returned (an error status included) the
handle is the guest's to keep or drop, and only a trap (or a call that never
started) takes it back. A `borrow<r>` is lent and taken back whatever happens (one the
guest dropped during the call is skipped). A `Borrowed`/`Owned` argument overrides the
plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..p1.names import glue_status_positions, guest_export_name
from .runtime import BadHandle, Codec, GlueFault, HandleTables, WitError


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
    `Owned`); returns what it returns. Borrowed handles are taken back whatever happens,
    owned ones when the call fails (a trap included), so a failed call leaves the
    table as it was."""
    func = instance.exports(store).get(name)
    if func is None:
        raise LookupError(f"the guest exports no `{name}`")
    lent: list[tuple[int, str]] = []
    given: list[tuple[int, str]] = []
    core: list[Any] = []
    try:
        for arg in args:
            if isinstance(arg, (Borrowed, Owned)):
                handle = tables.insert(arg.key, arg.obj)
                (lent if isinstance(arg, Borrowed) else given).append((handle, arg.key))
                core.append(handle)
            else:
                core.append(arg)
        return func(store, *core)
    except BaseException:
        # the call did not happen, or the guest trapped: what it was given is the
        # host's again (unless the guest dropped it first)
        lent.extend(given)
        raise
    finally:
        _take_back(tables, lent)


def _take_back(tables: HandleTables, handles: list[tuple[int, str]]) -> None:
    """Remove handles lent for a call; one the guest dropped (wrongly, for a borrow)
    is gone already, and a slot reused since fails the generation check."""
    for handle, key in handles:
        try:
            tables.remove(handle, key)
        except BadHandle:
            pass


# ---------------------------------------------------------------------------- typed callers

# parameter kinds of an `ExportSpec`: a value (arg: its codec), a handle lent for the
# call (`borrow<r>`) or handed over (`own<r>`) (arg: the resource's table key)
VALUE, BORROW, OWN = "value", "borrow", "own"
# result kinds: none, a status (0: success), a value (codec), a handle (key)
NONE, STATUS, HANDLE = "none", "status", "handle"


class BadArgument(ValueError):
    """An argument the export's type does not allow: refused before the call."""


class BadResult(Exception):
    """The guest returned what the export's type does not allow: a status that is no
    error case (a glue status included), a value out of range, a handle it does not
    hold. Whatever the result held is left as it was."""


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """One guest export, as the generated glue describes it (cf. `runtime.FuncSpec`).

    `params`: `(kind, name, arg)` per core parameter, kind `VALUE` (arg: codec),
    `BORROW` or `OWN` (arg: resource key). `result`: `NONE`, `STATUS`, `VALUE` (`direct`:
    its codec) or `HANDLE` (`direct`: resource key). For a status, `status_cases` names
    its cases in order; `error_class` is raised for an error case with a value of
    `error_type` (`error_cases`: the error type's cases when it is not the status
    enum itself; a case goes by name). `error_class` None: `result` without an error
    type, raised as `WitError()`.
    """

    module: str
    name: str
    export: str
    params: tuple
    result: str = NONE
    direct: Any = None
    status_cases: tuple[str, ...] | None = None
    error_class: Any = None
    error_type: Any = None
    error_cases: tuple[str, ...] | None = None


def call(instance: Any, store: Any, tables: HandleTables | None, spec: ExportSpec,
         *args: Any) -> Any:
    """Call the export `spec` describes with Python values (the body of a generated
    `call_<function>`); see the module docstring."""
    if len(args) != len(spec.params):
        raise TypeError(f"{spec.name}() takes {len(spec.params)} arguments, got {len(args)}")
    if tables is None and (spec.result == HANDLE or any(k != VALUE for k, _, _ in spec.params)):
        raise TypeError(f"{spec.name}() passes handles: it needs `tables`")
    core = [_argument(spec, param, arg) for param, arg in zip(spec.params, args)]
    raw = call_export(instance, store, tables, spec.export, *core)  # type: ignore[arg-type]
    return _result(spec, tables, raw)


def _argument(spec: ExportSpec, param: tuple, arg: Any) -> Any:
    """The core value of one argument (a value checked against its type) or the
    `Borrowed`/`Owned` wrapper `call_export` issues a handle for."""
    kind, name, what = param
    if kind == VALUE:
        return _checked_value(spec, name, what, arg)
    if isinstance(arg, (Borrowed, Owned)):
        if arg.key != what:
            raise BadArgument(f"{spec.name}: `{name}` takes a `{what}`, not a `{arg.key}`")
        return arg
    return Borrowed(what, arg) if kind == BORROW else Owned(what, arg)


def _checked_value(spec: ExportSpec, name: str, codec: Codec, value: Any) -> Any:
    try:
        core = codec.to_core(value)
        codec.from_core(core)  # what the guest will check: a char, an enum case
    except (TypeError, ValueError, OverflowError, GlueFault) as exc:
        raise BadArgument(f"{spec.name}: `{name}` = {value!r} is not a valid value ({exc})") from None
    return core


def _result(spec: ExportSpec, tables: HandleTables | None, raw: Any) -> Any:
    if spec.result == NONE:
        return None
    if spec.result == HANDLE:
        try:
            return tables.remove(raw, spec.direct)  # type: ignore[union-attr]
        except BadHandle:
            raise BadResult(f"{spec.name} returned {raw!r}, no `{spec.direct}` it holds") from None
    if spec.result == STATUS:
        return _status(spec, raw)
    try:
        return spec.direct.from_core(raw)
    except GlueFault:
        raise BadResult(f"{spec.name} returned {raw!r}, not a valid value") from None


def _status(spec: ExportSpec, raw: int) -> None:
    """None for success; raise the typed error a status stands for."""
    cases = spec.status_cases or ()
    if raw == 0:
        return None
    glue = glue_status_positions(cases) or {}
    if not 0 < raw < len(cases) or raw in glue.values():
        raise BadResult(f"{spec.name} returned the status {raw!r}, which is no error case")
    if spec.error_class is None:
        raise WitError()
    if spec.error_cases is None:  # the status enum is the error type itself
        raise spec.error_class(spec.error_type(raw))
    case = cases[raw]
    if case not in spec.error_cases:
        raise BadResult(f"{spec.name} returned the status `{case}`, which is no error of its type")
    raise spec.error_class(spec.error_type(spec.error_cases.index(case)))


__all__ = [
    "BadArgument", "BadResult", "Borrowed", "ExportSpec", "Owned", "call", "call_export",
    "export_name",
]
