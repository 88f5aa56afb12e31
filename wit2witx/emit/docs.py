"""`--emit docs`: one Markdown file per P1 module, from the P1 model.

For every function: its docs, its WIT origin when the lowering recorded one, its WITX
params and result, its core wasm signature, the status values it can return and the
ABI notes that apply (caller buffer, error payload, read-only inputs). For every type
the unit defines: its WITX form, size and alignment, and member offsets or values.
"""

from __future__ import annotations

import re
from dataclasses import field
from functools import lru_cache

from ..p1.facts import Facts, facts_of
from ..p1.model import (
    Expected, Function, Ref, TypeName, canonical_fields, canonical_variant_cases, resolve,
)
from ..p1.names import guest_export_name
from ..records import record
from .templating import render, template_dirs
from .witx import definition_text, format_type, program_memo


# --------------------------------------------------------------------------- escaping
# Docs are data. WIT docs are Markdown by intent (emphasis, lists, code spans and
# fences stay), but they must not break the page around them: no raw HTML (every `<`
# outside code is written `&lt;`, so no tag or comment can open; http(s) autolinks
# stay), no fence
# left open (it would swallow the rest of the page), no line break CommonMark sees
# that we did not (lone CR), and in a table cell no `|` that splits the row. Names and
# types go into code spans whose backtick fence is longer than any run inside.

_MD_LINE_BREAK = re.compile(r"\r\n?|\n")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BACKTICKS = re.compile(r"`+")


def md_code(text: str) -> str:
    """`text` as one code span, whatever backticks it holds."""
    if "`" not in text:  # most names and types: one backtick each side
        return f"` {text} `" if not text.strip() else f"`{text}`"
    fence = "`" * (max(map(len, _BACKTICKS.findall(text))) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fenced(text: str, info: str) -> str:
    """A fenced code block holding `text` (a fence longer than any backtick run in it)."""
    runs = _BACKTICKS.findall(text)
    fence = "`" * max(3, max(map(len, runs)) + 1 if runs else 0)
    return f"{fence}{info}\n{text}\n{fence}"


_AUTOLINK = re.compile(r"<https?://[^\x00-\x20<>]*>")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


#: where `_md_inline` has something to decide; the text between is copied as it is
_INLINE_SPECIAL = re.compile(r"[\\`<]")


@lru_cache(maxsize=None)
def _closing_run(run: str) -> re.Pattern:
    """A backtick run of exactly the length of `run` (it closes a code span `run` opens)."""
    return re.compile(rf"(?<!`){run}(?!`)")


def _md_inline(line: str) -> str:
    """One line outside fences, scanned as CommonMark scans inlines: a backslash escape
    is kept; a backtick run closed later on the line by a run of the same length is a
    code span, kept as is; an unclosed run is escaped (`\\``), so that no span can
    start here and end on another line where this scan would not follow it; every
    other `<` but an http(s) autolink's is written `&lt;`."""
    if "<" not in line and "`" not in line:
        return line
    out = []
    pos = 0
    n = len(line)
    while (special := _INLINE_SPECIAL.search(line, pos)) is not None:
        out.append(line[pos:special.start()])
        pos = special.start()
        ch = line[pos]
        if ch == "\\":
            escape = pos + 1 < n and line[pos + 1] in _ASCII_PUNCT
            out.append(line[pos:pos + 2] if escape else ch)
            pos += 2 if escape else 1
        elif ch == "`":
            run = _BACKTICKS.match(line, pos).group()
            close = _closing_run(run).search(line, pos + len(run))
            if close is None:
                out.append("\\`" * len(run))
                pos += len(run)
            else:
                out.append(line[pos:close.end()])
                pos = close.end()
        else:  # "<"
            link = _AUTOLINK.match(line, pos)  # a web link stays a link
            out.append(link.group() if link else "&lt;")
            pos = link.end() if link else pos + 1
    out.append(line[pos:])
    return "".join(out)


def md_prose(text: str) -> str:
    """A doc as Markdown paragraphs that cannot break the page (see above)."""
    out = []
    fence = None  # the fence of the open code block
    for line in _MD_LINE_BREAK.split(text.strip()):
        m = _FENCE.match(line)
        if m and m.group(1)[0] == "`" and "`" in line[m.end():]:
            m = None  # a backtick fence's info string has no backtick: not a fence
        if fence is None:
            if m:
                fence = m.group(1)
                out.append(line)
            else:
                out.append(_md_inline(line))
        else:
            out.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line[m.end():].strip():
                fence = None
    if fence is not None:
        out.append(fence)
    return "\n".join(out)


def md_cell(text: str) -> str:
    """A doc in one table cell: one line, no HTML, every `|` escaped."""
    return _md_inline(" ".join(text.split())).replace("|", "\\|")


def md_comment(text: str) -> str:
    """Text inside `<!-- -->`: it cannot close the comment."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text.replace("\n", " ")


# The views below are only read by templates, never compared or printed: `eq=False,
# repr=False` spares generating methods nobody calls (class creation is import time).


@record(slots=True, eq=False, repr=False)
class MemberDoc:
    name: str
    detail: str  # offset (records), value (enum cases, flags)
    type: str
    docs: str


@record(slots=True, eq=False, repr=False)
class TypeDoc:
    name: str
    kind: str
    witx: str
    size: int
    align: int
    docs: str
    members_heading: str
    members: list[MemberDoc]


@record(slots=True, eq=False, repr=False)
class ParamDoc:
    name: str
    type: str
    docs: str


@record(slots=True, eq=False, repr=False)
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
    #: a function the guest defines: its core export's name (a code span), else ""
    export_name: str = ""


def emit_files(program) -> dict[str, str]:
    header = program.header_line()
    facts = facts_of(program)
    memo = program_memo(program)
    templates = template_dirs(program)
    return {f"{unit.name}.md": render_unit(unit, header, facts, memo, templates)
            for unit in program.units}


def render_unit(unit, header: str, facts: Facts | None = None, witx_memo: dict | None = None,
                templates: tuple[str, ...] = ()) -> str:
    """One page; `facts` and `witx_memo` are what the run's back ends share, `templates`
    the run's override folders."""
    facts = facts if facts is not None else Facts()
    module = unit.module
    return render(
        "docs/module.md.j2",
        templates=templates,
        header=md_comment(header),
        name=md_code(unit.name),
        origin=md_code(unit.origin) if unit.origin else "",
        version=md_cell(unit.version or ""),
        docs=md_prose(module.docs if module else ""),
        uses=", ".join(f"[{md_code(use)}]({use}.md)" for use in unit.uses),  # C identifiers
        functions=[_function_doc(f, facts, unit.document) for f in (module.functions if module else [])],
        exports=[_export_doc(module, f, facts, unit.document) for f in (module.exports if module else [])],
        types=[_type_doc(tn, facts, witx_memo) for tn in unit.own_typenames],
    )


def _cell_code(text: str) -> str:
    """A name or type as a code span in a table cell."""
    return md_code(text).replace("|", "\\|") if text else ""


def _type_doc(tn: TypeName, facts: Facts, witx_memo: dict | None) -> TypeDoc:
    sa = facts.size_align(tn.type)
    ty = resolve(tn.type)
    members: list[MemberDoc] = []
    heading = ""
    fields = canonical_fields(ty)
    if fields is not None and ty.kind in ("record", "tuple"):
        heading = "offset"
        for fl in facts.record_layout(tn.type):
            members.append(MemberDoc(_cell_code(fl.name), str(fl.offset), _cell_code(format_type(fl.type)),
                                     md_cell(_member_docs(ty, fl.name))))
    elif ty.kind == "flags":
        heading = "bit"
        for bit, flag in enumerate(ty.flags):
            members.append(MemberDoc(_cell_code(flag.name), f"1 << {bit}", "", md_cell(flag.docs)))
    else:
        cases = canonical_variant_cases(ty)
        if cases is not None and ty.kind in ("enum", "variant", "union"):
            heading = "value"
            for value, case in enumerate(cases):
                payload = format_type(case.type) if case.type is not None else ""
                members.append(MemberDoc(_cell_code(case.name), str(value), _cell_code(payload), md_cell(case.docs)))
    return TypeDoc(
        name=md_code(tn.name), kind=ty.kind,
        witx=md_fenced(definition_text(tn, witx_memo).rstrip("\n"), "witx"),
        size=sa.size, align=sa.align, docs=md_prose(tn.docs),
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


def _export_doc(module, func: Function, facts: Facts, document=None) -> FunctionDoc:
    """A function the guest defines: documented as an import is, with its export name."""
    doc = _function_doc(func, facts, document)
    doc.export_name = md_code(guest_export_name(module.name, func.name))
    owned = [p.name for p in func.params if p.own]
    if owned:  # WIT's `own<r>`: the other handle parameters are lent for the call
        doc.notes.append("Owned by the guest after the call (it drops them): "
                         + ", ".join(md_code(n) for n in owned) + ".")
    return doc


def _function_doc(func: Function, facts: Facts, document=None) -> FunctionDoc:
    sig = facts.core_signature(func)
    status_type, statuses = _status_cases(func)
    notes = []
    # Which parameters are the caller buffer and the error payload: the call plan says.
    result = facts.call_plan(func, document).result
    buffer = result.buffer
    if buffer is not None:
        # the status's own name for it (renamed where the error type has the name too,
        # P1's errno spelling in a hand-written enum), as the call plan has it
        glue = {g.name: g.case for g in result.status.glue} if result.status is not None else {}
        too_small = glue.get("buffer_too_small") or "buffer_too_small"
        notes.append("Caller buffer: every string and list of the result is written into "
                     f"{md_code(buffer.data.name)} ({md_code(buffer.capacity.name)} bytes); "
                     f"{md_code('*' + buffer.used.name)} receives the bytes used, or the "
                     f"bytes needed with {md_code(too_small)}, in which case nothing else is "
                     "written and the call has no effect.")
    if result.error_payload is not None:
        notes.append("Error payload: when the status names an error case, the full error "
                     f"value is written through {md_code(result.error_payload.name)}.")
    const_inputs = [p.name for p in func.params if resolve(p.type).kind == "const_pointer"]
    if const_inputs:
        notes.append("Read-only inputs (may live in ROM): " + ", ".join(md_code(n) for n in const_inputs) + ".")
    return FunctionDoc(
        name=md_code(func.name),
        docs=md_prose(func.docs),
        origin=md_code(func.origin) if getattr(func, "origin", "") else "",
        params=[ParamDoc(_cell_code(p.name), _cell_code(format_type(p.type)), md_cell(p.docs))
                for p in func.params],
        result=md_code(", ".join(format_type(r.type) for r in func.results) or "(none)"),
        core=md_code(f"(func {sig.to_wat()})".replace("(func )", "(func)")),
        core_params=", ".join(md_code(f"{p.name}: {p.wasm_type.value} ({p.role.value})") for p in sig.params),
        statuses=", ".join(f"{value} {md_code(case)}" for value, case in statuses),
        status_type=md_code(status_type) if status_type else "",
        notes=notes,
    )
