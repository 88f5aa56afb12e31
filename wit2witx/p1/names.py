"""Names in the backport: WIT kebab-case → WITX snake_case, module names, reserved names.

Kept apart from `lower.py` because the back ends and docs want the same spelling
rules without pulling in the whole lowering.
"""

from __future__ import annotations

import re

#: Status cases every status enum ends with (the glue's own failures), in order.
GLUE_STATUSES = ("buffer_too_small", "bad_handle", "bad_pointer", "bad_value")
#: The first case of every status enum: 0 means the call succeeded.
SUCCESS = "success"
#: The case of a module's generic `$status` that means "the WIT error happened".
GENERIC_ERROR = "error"
#: Names a case of an error enum/variant may not have: they are status cases already.
RESERVED_STATUS_CASES = frozenset((SUCCESS, *GLUE_STATUSES))

#: Parameters the lowering adds to a function (besides `<x>_len` for each list param).
SELF_PARAM = "self"
BUF_PARAMS = ("buf", "buf_len", "buf_used")
ERROR_PAYLOAD_PARAM = "error_payload"
RESULT_NAME = "error"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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
