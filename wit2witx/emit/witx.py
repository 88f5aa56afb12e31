"""The WITX printer: a pure formatter of the P1 model.

Layout rules, chosen to read like the upstream WASI `.witx` files and to be a fixed
point (printing what was read from our own output gives the same text):

- one top-level form per definition, a blank line between definitions;
- docs as `;;; ` lines right above what they document;
- two-space indentation; a type that fits on one line stays inline (`(list u8)`,
  `(expected $size (error $errno))`); enum, flags, record, variant and union put
  one member per line and their closing `)` on its own line;
- tags and reprs are always written out (`(@witx tag u32)`), except a variant's
  default u32 tag when the source did not write it.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from ..p1.model import (
    Bool, Builtin, Case, Constant, ConstPointer, Document, Enum, Expected, Flags, Function,
    Handle, Import, IntRepr, List, Module, OptionType, Param, Pointer, Record, Ref, String,
    Tuple, TypeName, TypeRef, Union, Variant,
)

__all__ = ["print_witx", "print_unit", "render_unit", "emit_files", "format_type", "definition_text"]

INDENT = "  "

Lines = list[str]


# Docs are data: a `;;` comment ends at a line break, and readers differ on which
# characters break a line (wast: LF; editors and `str.splitlines`: CR, VT, FF, NEL,
# U+2028...), while wast refuses bidirectional controls in comments. Such characters
# (every control but tab, NEL, the line/paragraph separators, bidi controls, BOM) are
# written as `\u{hex}`; the text stays a fixed point of print → read → print.
_COMMENT_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_STRING_UNSAFE = re.compile('[\x00-\x1f\x7f"\\\\]')


def comment_line(line: str) -> str:
    """One line of text, safe after `;;` (escaping function of WITX comments)."""
    return _COMMENT_UNSAFE.sub(lambda m: f"\\u{{{ord(m.group()):x}}}", line)


def _doc_lines(docs: str, indent: str) -> Lines:
    if not docs:
        return []
    text = docs[:-1] if docs.endswith("\n") else docs
    return [f"{indent};;; {comment_line(line)}".rstrip() for line in text.split("\n")]


def _string(text: str) -> str:
    """A WITX string literal: quote, backslash and every control character escaped."""
    return '"' + _STRING_UNSAFE.sub(_string_escape, text) + '"'


def _string_escape(m: re.Match) -> str:
    ch = m.group()
    return {"\n": "\\n", "\t": "\\t", '"': '\\"', "\\": "\\\\"}.get(ch) or f"\\{ord(ch):02x}"


def _builtin(name: str) -> str:
    return f"(@witx {name})" if name in ("usize", "char8") else name


def format_type(tref: TypeRef) -> str:
    """A type on one line (for messages and simple uses)."""
    return " ".join(line.strip() for line in _type_lines(tref))


def _inline(tref: TypeRef | None) -> str | None:
    """The one-line form of a type if it has one."""
    if tref is None:
        return None
    lines = _type_lines(tref)
    return lines[0] if len(lines) == 1 else None


def _wrap(head: str, parts: Sequence[Lines]) -> Lines:
    """`(head part...)`: inline when every part is one line, else one part per line."""
    inline = "(" + head
    for p in parts:
        if len(p) != 1:
            break
        inline += " " + p[0]
    else:
        return [inline + ")"]
    out = ["(" + head]
    for p in parts:
        out += [INDENT + line for line in p]
    out.append(")")
    return out


def _block(head: str, members: Iterable[Lines]) -> Lines:
    """`(head` / indented members / `)` on its own line."""
    out = ["(" + head]
    for m in members:
        out += [INDENT + line for line in m]
    out.append(")")
    return out


def _documented(docs: str, body: Lines) -> Lines:
    return _doc_lines(docs, "") + body


def _tag_clause(tag: IntRepr, tag_name: Ref | None, written: bool) -> str | None:
    if tag_name is not None:
        return f"(@witx tag ${tag_name.name})"
    if written or tag is not IntRepr.U32:
        return f"(@witx tag {tag.value})"
    return None


class _Nest:
    """Keeps printed types shallow. WITX readers stop at 100 nested parentheses (wast,
    and ours), but a WIT type may nest 99 deep, inside a field of a function's param:
    a compound type reached `_MAX_TYPE_DEPTH` parentheses below its definition is
    printed as a reference to a typename of its own (`$<stem>_nest<k>`, printed before
    the definition, itself kept shallow the same way). Reading the file back gives
    those typenames as written, so print → read → print is still a fixed point."""

    def __init__(self, taken: set[str], stem: str) -> None:
        self.taken = taken
        self.stem = stem
        self.hoisted: list[Lines] = []

    def hoist(self, tref: TypeRef) -> Lines:
        name = f"{self.stem}_nest{len(self.hoisted)}"
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        body = _type_lines(tref, self, 0)  # what it hoists comes first
        self.hoisted.append(_wrap(f"typename ${name}", [body]))
        return [f"${name}"]


_MAX_TYPE_DEPTH = 32


def _type_lines(tref: TypeRef, nest: _Nest | None = None, depth: int = 0) -> Lines:  # noqa: PLR0911
    """The lines of a type; `depth`: the parentheses around it within its definition."""
    if isinstance(tref, Ref):
        return [f"${tref.name}"]
    ty = tref
    if isinstance(ty, Builtin):
        return [_builtin(ty.name)]
    if isinstance(ty, String):
        return ["string"]
    if isinstance(ty, Bool):
        return ["bool"]
    if isinstance(ty, Handle):
        return ["(handle)"]
    if nest is not None and depth >= _MAX_TYPE_DEPTH:
        return nest.hoist(ty)
    d1, d2 = depth + 1, depth + 2
    if isinstance(ty, List):
        return _wrap("list", [_type_lines(ty.element, nest, d1)])
    if isinstance(ty, Pointer):
        return _wrap("@witx pointer", [_type_lines(ty.pointee, nest, d1)])
    if isinstance(ty, ConstPointer):
        return _wrap("@witx const_pointer", [_type_lines(ty.pointee, nest, d1)])
    if isinstance(ty, Tuple):
        return _wrap("tuple", [_type_lines(t, nest, d1) for t in ty.types])
    if isinstance(ty, Expected):
        parts = [] if ty.ok is None else [_type_lines(ty.ok, nest, d1)]
        parts.append(["(error)"] if ty.err is None else _wrap("error", [_type_lines(ty.err, nest, d2)]))
        return _wrap("expected", parts)
    if isinstance(ty, Enum):
        return _block(f"enum (@witx tag {ty.tag.value})",
                      (_documented(c.docs, [f"${c.name}"]) for c in ty.cases))
    if isinstance(ty, Flags):
        return _block(f"flags (@witx repr {ty.repr.value})",
                      (_documented(f.docs, [f"${f.name}"]) for f in ty.flags))
    if isinstance(ty, Record):
        return _block("record", (
            _documented(f.docs, _wrap(f"field ${f.name}", [_type_lines(f.type, nest, d2)]))
            for f in ty.fields
        ))
    if isinstance(ty, Variant):
        head = " ".join(filter(None, ["variant", _tag_clause(ty.tag, ty.tag_name, ty.tag_written)]))
        return _block(head, (_case_lines(c, nest, d2) for c in ty.cases))
    if isinstance(ty, Union):
        head = " ".join(filter(None, ["union", _tag_clause(ty.tag, ty.tag_name, ty.tag_written)]))
        return _block(head, (_documented(c.docs, _type_lines(c.type, nest, d1)) for c in ty.cases))  # type: ignore[arg-type]
    if isinstance(ty, OptionType):
        # No WITX shorthand for option: spell out the variant it is laid out as.
        return _block(f"variant (@witx tag {ty.tag.value})",
                      [["(case $none)"], _case_lines(Case("some", ty.some), nest, d2)])
    raise TypeError(f"cannot print {ty!r} as WITX")


def _case_lines(case: Case, nest: _Nest | None = None, depth: int = 0) -> Lines:
    parts = [] if case.type is None else [_type_lines(case.type, nest, depth)]
    return _documented(case.docs, _wrap(f"case ${case.name}", parts))


def _typename_lines(tn: TypeName, nest: _Nest | None = None) -> Lines:
    return _documented(tn.docs, _wrap(f"typename ${tn.name}", [_type_lines(tn.type, nest)]))


def _constant_lines(c: Constant) -> Lines:
    return _documented(c.docs, [f"(@witx const ${c.type_name} ${c.name} {c.value})"])


def _param_lines(keyword: str, p: Param, nest: _Nest | None = None) -> Lines:
    marks = [mark for mark, on in ((OWN_PARAM, p.own), (STRING_PARAM, p.utf8)) if on]
    head = " ".join([f"{keyword} ${p.name}", *marks])
    return _documented(p.docs, _wrap(head, [_type_lines(p.type, nest)]))


def _import_lines(imp: Import) -> Lines:
    return _documented(imp.docs, [f"(import {_string(imp.name)} ({imp.kind}))"])


#: What marks a function the guest implements (`Module.exports`): an annotation of
#: our own, which witx tools skip (the `wast` lexer ignores every annotation a parser
#: has not registered; witx registers only `@interface` and `@witx`), so to them the
#: function reads as one more function of the module; our reader reads it back.
GUEST_EXPORT = "(@w2w guest_export)"
#: What marks an `own<r>` handle parameter of a guest export (`Param.own`), between the
#: parameter's name and its type; skipped by witx tools as `GUEST_EXPORT` is.
OWN_PARAM = "(@w2w own)"
#: What marks the pointer of a WIT `string` parameter (`Param.utf8`), in the same place:
#: to witx tools it is the `const_pointer u8` of a `list<u8>`, to our glue UTF-8 text.
STRING_PARAM = "(@w2w string)"


def _function_lines(func: Function, nest: _Nest | None = None, export: bool = False) -> Lines:
    members: list[Lines] = [[GUEST_EXPORT]] if export else []
    members += [_param_lines("param", p, nest) for p in func.params]
    members += [_param_lines("result", r, nest) for r in func.results]
    if func.noreturn:
        members.append(["(@witx noreturn)"])
    head = f"@interface func (export {_string(func.name)})"
    if not members:
        return _documented(func.docs, [f"({head})"])
    return _documented(func.docs, _block(head, members))


def _module_lines(module: Module, nest: _Nest | None = None) -> Lines:
    members: list[Lines] = [_import_lines(i) for i in module.imports]
    members += [_function_lines(f, nest) for f in module.functions]
    members += [_function_lines(f, nest, export=True) for f in module.exports]
    out = _doc_lines(module.docs, "") + [f"(module ${module.name}"]
    for k, m in enumerate(members):
        if k and (len(m) > 1 or len(members[k - 1]) > 1):
            out.append("")  # a blank line between multi-line members reads better
        out.extend(INDENT + line if line else line for line in m)
    out.append(")")
    return out


def definition_text(d: TypeName | Constant | Module, memo: dict | None = None) -> str:
    """The WITX text of one definition, without a trailing newline.

    `memo` (id(definition) -> (definition, text)) keeps the texts of one run, so that
    the docs back end shows the very text the WITX back end printed without printing
    it again."""
    if memo is None:
        return "\n".join(_definition_lines(d))
    hit = memo.get(id(d))
    if hit is None or hit[0] is not d:
        hit = memo[id(d)] = (d, "\n".join(_definition_lines(d)))
    return hit[1]


def _definition_lines(d: TypeName | Constant | Module, nest: _Nest | None = None) -> Lines:
    if isinstance(d, TypeName):
        return _typename_lines(d, nest)
    if isinstance(d, Constant):
        return _constant_lines(d)
    if isinstance(d, Module):
        return _module_lines(d, nest)
    raise TypeError(f"cannot print {d!r} as WITX")


def print_witx(
    item: Document | Module | TypeName | Constant | Sequence[TypeName | Constant | Module],
    *,
    header: str | None = None,
    uses: Sequence[str] = (),
    memo: dict | None = None,
    stem: str = "",
    taken: set[str] | None = None,
) -> str:
    """WITX text for a document, a module, a definition or a list of definitions.

    `header` becomes `;; ` comment lines at the top (not docs, so they are not part of
    the model); `uses` adds `(use "file")` lines before the definitions, for output split
    over several files; `memo` is `definition_text`'s; `stem` and `taken` name the
    typenames `_Nest` introduces (prefix; names in use).
    """
    if isinstance(item, Document):
        definitions = list(item.definitions)
    elif isinstance(item, (Module, TypeName, Constant)):
        definitions = [item]
    else:
        definitions = list(item)
    chunks: list[str] = []
    if header:
        chunks.append("\n".join(_banner_lines(header)))
    if uses:
        chunks.append("\n".join(f"(use {_string(u)})" for u in uses))
    chunks.extend(_shallow_texts(definitions, memo, stem, taken))
    return "\n\n".join(chunks) + "\n"


def _shallow_texts(definitions, memo: dict | None, stem: str, taken: set[str] | None) -> list[str]:
    """The definitions' texts, each preceded by the typenames `_Nest` hoisted from it.
    A definition printed without hoisting is the `definition_text` the docs show."""
    if taken is None:
        taken = {d.name for d in definitions if isinstance(d, TypeName)}
    out: list[str] = []
    for d in definitions:
        hit = memo.get(id(d)) if memo is not None else None
        if hit is not None and hit[0] is d:
            out.append(hit[1])
            continue
        nest = _Nest(taken, f"{stem}{d.name}" if stem else d.name)
        text = "\n".join(_definition_lines(d, nest))
        if nest.hoisted:
            out.extend("\n".join(lines) for lines in nest.hoisted)
        elif memo is not None:
            memo[id(d)] = (d, text)
        out.append(text)
    return out


def print_unit(unit, header_line: str | None = None, memo: dict | None = None) -> str:
    """The WITX file of one emitted unit: its `(use …)`s and its own definitions."""
    taken = {d.name for d in unit.document.definitions if isinstance(d, TypeName)}
    return print_witx(unit.own, header=header_line, uses=[f"{name}.witx" for name in unit.uses],
                      memo=memo, stem=f"{unit.name}_", taken=taken)


def program_memo(program) -> dict | None:
    """The `definition_text` memo the back ends of one run share (None without one).

    Only a run that also emits docs reads the texts again: without docs the memo would
    hold a second copy of every WITX definition until the run ends (7% of the peak
    memory of a witx+c run)."""
    views = getattr(program, "views", None)
    options = getattr(program, "options", None)
    if views is None or "docs" not in getattr(options, "emit", ("docs",)):
        return None
    return views.setdefault("witx", {})


def render_unit(unit, header_line: str, memo: dict | None = None, templates: Sequence[str] = ()) -> str:
    """`print_unit`'s text through the template `witx/module.witx.j2` (which users may
    override): the view holds every line already printed."""
    from .templating import render  # noqa: PLC0415

    taken = {d.name for d in unit.document.definitions if isinstance(d, TypeName)}
    return render(
        "witx/module.witx.j2", templates=templates,
        banner=_banner_lines(header_line),
        uses=[f"(use {_string(f'{name}.witx')})" for name in unit.uses],
        definitions=_shallow_texts(unit.own, memo, f"{unit.name}_", taken),
    )


def _banner_lines(header: str | None) -> list[str]:
    """The `;; ` comment lines of a header (as `print_witx` writes them)."""
    if not header:
        return []
    return [f";; {comment_line(line)}".rstrip() for line in header.rstrip("\n").split("\n")]


def emit_files(program) -> dict[str, str]:
    """`--emit witx`: `<unit>.witx` for every unit, each re-readable on its own folder."""
    from .templating import template_dirs  # noqa: PLC0415

    header = program.header_line()
    memo = program_memo(program)
    templates = template_dirs(program)
    return {f"{unit.name}.witx": render_unit(unit, header, memo, templates) for unit in program.units}
