"""Names in the backport: WIT kebab-case → WITX snake_case, module names, reserved names.

Kept apart from `lower.py` because the back ends and docs want the same spelling
rules without pulling in the whole lowering.
"""

from __future__ import annotations

import re
from typing import Collection, Sequence

#: Status cases every status enum ends with (the glue's own failures), in order.
GLUE_STATUSES = ("buffer_too_small", "bad_handle", "bad_pointer", "bad_value")
#: The first case of every status enum: 0 means the call succeeded.
SUCCESS = "success"
#: What an error type's status enum is named after it: `$<e>_status`.
STATUS_SUFFIX = "_status"
#: The case of a module's generic `$status` that means "the WIT error happened".
GENERIC_ERROR = "error"
#: What a glue status is prefixed with (again, as often as needed) while its name is a
#: case of the error type its status enum is made from: `bad_handle` → `glue_bad_handle`.
GLUE_CLASH_PREFIX = "glue_"

#: Parameters the lowering adds to a function (besides `<x>_len` for each list param).
SELF_PARAM = "self"
BUF_PARAMS = ("buf", "buf_len", "buf_used")
ERROR_PAYLOAD_PARAM = "error_payload"
RESULT_NAME = "error"
#: The result of a guest export that returns one value as itself (no status).
VALUE_RESULT_NAME = "result"
#: The core import every P1 module has: `(import "memory" (memory))`.
MEMORY_IMPORT = "memory"
#: What a user's name takes (again, as often as needed) when it meets a name the
#: backport gives itself: WIT kebab-case never ends in `_`, so the result is free.
CLASH_SUFFIX = "_"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def glue_status_names(taken: Collection[str]) -> tuple[str, ...]:
    """The glue statuses' case names in a status enum whose other cases are `taken`.

    Each is its own name unless an error case has it; then `glue_` is put in front,
    again while that is taken too. The error type's cases keep their names, so a
    status is always its error case's name, and the result is the same for the same
    cases, whatever else is in the input.
    """
    names: list[str] = []
    for status in GLUE_STATUSES:
        name = status
        while name in taken:
            name = GLUE_CLASH_PREFIX + name
        names.append(name)
    return tuple(names)


def yield_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `name_`, `name__`, ... the first not `taken`: how a user's name gives
    way to one the backport owns (`buf` → `buf_`, a function `memory` → `memory_`)."""
    while name in taken:
        name += CLASH_SUFFIX
    return name


def status_error_name(status: str) -> str | None:
    """`e` for a status enum named `e_status`, or `e_status_`... where it gave way to a
    user's type `e-status` (see `yield_name`); None for any other name. Only a
    candidate: the caller checks that `$e` exists and has the status's cases."""
    name = status.rstrip(CLASH_SUFFIX)
    return name[: -len(STATUS_SUFFIX)] if name.endswith(STATUS_SUFFIX) else None


def glue_status_positions(case_names: Sequence[str]) -> dict[str, int] | None:
    """Where the glue statuses are in a status enum the lowering made, by glue status.

    Every status enum of the backport ends with the four glue statuses, in the order of
    `GLUE_STATUSES`, each maybe prefixed by `glue_` (see `glue_status_names`); that
    is how a back end tells them from an error case of the same name. None for an
    enum that does not end so (a hand-written status such as P1's `$errno`): back ends
    then look the statuses up by their P1 names.
    """
    count = len(GLUE_STATUSES)
    if len(case_names) < count:
        return None
    first = len(case_names) - count
    for offset, status in enumerate(GLUE_STATUSES):
        name = case_names[first + offset]
        while name.startswith(GLUE_CLASH_PREFIX) and name != status:
            name = name[len(GLUE_CLASH_PREFIX):]
        if name != status:
            return None
    return {status: first + offset for offset, status in enumerate(GLUE_STATUSES)}


def guest_export_name(module: str, function: str) -> str:
    """The core export of a function the guest implements (`Module.exports`):
    `<P1 module>#<P1 function>`. `#` is in no WITX identifier, so no export can meet
    another module's name or a core import's."""
    return f"{module}#{function}"


def snake(name: str) -> str:
    """`start-bind` → `start_bind`; a `%`-escaped WIT keyword loses its `%`."""
    return name.lstrip("%").replace("-", "_")


def module_name(namespace: str, package: str, item: str) -> str:
    """`wasi:sockets/tcp` → `wasi_sockets_tcp` (the version stays out of the name)."""
    return f"{snake(namespace)}_{snake(package)}_{snake(item)}"


def is_identifier(name: str) -> bool:
    """Whether a user-chosen module name is usable as a WITX/C identifier."""
    return bool(_IDENTIFIER.match(name))


def resource_function_name(resource: str, kind: str, item: str) -> str:
    """`[constructor]r` → `r_new`, `[method]r.m` → `r_m`, `[static]r.s` → `r_s`."""
    if kind == "constructor":
        return f"{snake(resource)}_new"
    return f"{snake(resource)}_{snake(item)}"


def drop_function_name(resource: str) -> str:
    return f"{snake(resource)}_drop"


def tag_repr_name(count: int) -> str:
    """The smallest unsigned tag that numbers `count` cases (enum/variant)."""
    if count <= 1 << 8:
        return "u8"
    if count <= 1 << 16:
        return "u16"
    return "u32"


def flags_repr_name(count: int) -> str | None:
    """The smallest unsigned integer with a bit per flag; None beyond 64 flags."""
    for bits, name in ((8, "u8"), (16, "u16"), (32, "u32"), (64, "u64")):
        if count <= bits:
            return name
    return None
