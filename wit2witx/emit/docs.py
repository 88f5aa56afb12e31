"""`--emit docs`: one Markdown file per P1 module, from the P1 model.

For every function: its docs, its WIT origin when the lowering recorded one, its WITX
params and result, its core wasm signature, the status values it can return and the
ABI notes that apply (caller buffer, error payload, read-only inputs). For every type
the unit defines: its WITX form, size and alignment, and member offsets or values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..p1.facts import Facts, facts_of
from ..p1.model import (
    Expected, Function, Ref, TypeName, canonical_fields, canonical_variant_cases, resolve,
)
from .templating import render
from .witx import definition_text, format_type, program_memo


# The views below are only read by templates, never compared or printed: `eq=False,
# repr=False` spares generating methods nobody calls (class creation is import time).


@dataclass(slots=True, eq=False, repr=False)
class MemberDoc:
    name: str
    detail: str  # offset (records), value (enum cases, flags)
    type: str
    docs: str


@dataclass(slots=True, eq=False, repr=False)
class TypeDoc:
    name: str
    kind: str
    witx: str
    size: int
    align: int
    docs: str
    members_heading: str
    members: list[MemberDoc]


@dataclass(slots=True, eq=False, repr=False)
class ParamDoc:
    name: str
    type: str
    docs: str


@dataclass(slots=True, eq=False, repr=False)
class FunctionDoc:
    name: str
    docs: str
    origin: str
    params: list[ParamDoc]
    result: str
    core: str
    core_params: str  # "`name: i32 (role)`, ..."
    statuses: str  # "0 `success`, 1 `...`"
    status_type: str
    notes: list[str] = field(default_factory=list)


def emit_files(program) -> dict[str, str]:
    header = program.header_line()
    facts = facts_of(program)
    memo = program_memo(program)
    return {f"{unit.name}.md": render_unit(unit, header, facts, memo) for unit in program.units}


def render_unit(unit, header: str, facts: Facts | None = None, witx_memo: dict | None = None) -> str:
    """One page; `facts` and `witx_memo` are what the run's back ends share."""
    facts = facts if facts is not None else Facts()
    module = unit.module
    return render(
        "docs/module_md.py",
        header=header,
        name=unit.name,
        origin=unit.origin,
        version=unit.version or "",
        docs=(module.docs if module else "").strip(),
        uses=", ".join(f"[`{use}`]({use}.md)" for use in unit.uses),
        functions=[_function_doc(f, facts) for f in (module.functions if module else [])],
        types=[_type_doc(tn, facts, witx_memo) for tn in unit.own_typenames],
    )


def _one_line(docs: str) -> str:
    return " ".join(docs.split())


def _type_doc(tn: TypeName, facts: Facts, witx_memo: dict | None) -> TypeDoc:
    sa = facts.size_align(tn.type)
    ty = resolve(tn.type)
    members: list[MemberDoc] = []
    heading = ""
    fields = canonical_fields(ty)
    if fields is not None and ty.kind in ("record", "tuple"):
        heading = "offset"
        for fl in facts.record_layout(tn.type):
            members.append(MemberDoc(fl.name, str(fl.offset), format_type(fl.type), _one_line(_member_docs(ty, fl.name))))
    elif ty.kind == "flags":
        heading = "bit"
        for bit, flag in enumerate(ty.flags):
            members.append(MemberDoc(flag.name, f"1 << {bit}", "", _one_line(flag.docs)))
    else:
        cases = canonical_variant_cases(ty)
        if cases is not None and ty.kind in ("enum", "variant", "union"):
            heading = "value"
            for value, case in enumerate(cases):
                payload = format_type(case.type) if case.type is not None else ""
                members.append(MemberDoc(case.name, str(value), payload, _one_line(case.docs)))
    return TypeDoc(
        name=tn.name, kind=ty.kind, witx=definition_text(tn, witx_memo).rstrip("\n"),
        size=sa.size, align=sa.align, docs=tn.docs.strip(),
        members_heading=heading, members=members,
    )


def _member_docs(ty, name: str) -> str:
    for fl in getattr(ty, "fields", []):
        if fl.name == name:
            return fl.docs
    return ""


def _status_cases(func: Function) -> tuple[str, list[tuple[int, str]]]:
    """The status type a function returns and its values (empty if not an enum)."""
    if len(func.results) != 1:
        return "", []
    result = resolve(func.results[0].type)
    if not isinstance(result, Expected) or not isinstance(result.err, Ref):
        return "", []
    cases = canonical_variant_cases(resolve(result.err)) or []
    return result.err.name, [(i, c.name) for i, c in enumerate(cases)]


def _function_doc(func: Function, facts: Facts) -> FunctionDoc:
    sig = facts.core_signature(func)
    status_type, statuses = _status_cases(func)
    names = {p.name for p in func.params}
    notes = []
    if {"buf", "buf_len", "buf_used"} <= names:
        notes.append("Caller buffer: every string and list of the result is written into "
                     "`buf` (`buf_len` bytes); `*buf_used` receives the bytes used, or the "
                     "bytes needed with `buffer_too_small`, in which case nothing else is "
                     "written and the call has no effect.")
    if "error_payload" in names:
        notes.append("Error payload: when the status names an error case, the full error "
                     "value is written through `error_payload`.")
    const_inputs = [p.name for p in func.params if resolve(p.type).kind == "const_pointer"]
    if const_inputs:
        notes.append("Read-only inputs (may live in ROM): " + ", ".join(f"`{n}`" for n in const_inputs) + ".")
    return FunctionDoc(
        name=func.name,
        docs=func.docs.strip(),
        origin=getattr(func, "origin", "") or "",
        params=[ParamDoc(p.name, format_type(p.type), _one_line(p.docs)) for p in func.params],
        result=", ".join(format_type(r.type) for r in func.results) or "(none)",
        core=f"(func {sig.to_wat()})".replace("(func )", "(func)"),
        core_params=", ".join(f"`{p.name}: {p.wasm_type.value} ({p.role.value})`" for p in sig.params),
        statuses=", ".join(f"{value} `{case}`" for value, case in statuses),
        status_type=status_type,
        notes=notes,
    )
