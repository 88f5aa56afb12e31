"""Template: a guest C header, from `emit.c_header.CHeader` (formatting only)."""

from __future__ import annotations


def c_doc(lines, indent: str = "") -> str:
    """A `/** ... */` block, one ` * line` per doc line ("" without docs)."""
    if not lines:
        return ""
    body = "".join(f"{indent} * {line}\n" if line else f"{indent} *\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def _type(t, out: list) -> None:
    name = t.name
    out.append(f"\n#ifndef {t.guard}\n#define {t.guard}\n{c_doc(t.doc)}")
    if t.shape == "alias":
        out.append(f"typedef {t.aliased} {name};\n")
    elif t.shape == "struct":
        out.append(f"typedef struct {name} {{\n")
        out.extend(f"{c_doc(m.doc, '    ')}    {m.decl};\n\n" for m in t.members)
        out.append(f"}} {name};\n")
    else:
        union = t.union_name
        out.append(f"typedef union {union} {{\n")
        out.extend(f"{c_doc(m.doc, '    ')}    {m.decl};\n" for m in t.union_members)
        out.append(f"}} {union};\ntypedef struct {name} {{\n    {t.tag_ctype} tag;\n"
                   f"    {union} u;\n}} {name};\n")
    out.extend(f"\n{c_doc(c.doc)}#define {c.name} {c.value}\n" for c in t.constants)
    out.append(f'\n__extension__ _Static_assert(sizeof({name}) == {t.size}, "witx calculated size");\n'
               f'__extension__ _Static_assert(_Alignof({name}) == {t.align}, "witx calculated align");\n')
    out.extend(f'__extension__ _Static_assert(offsetof({name}, {member}) == {offset}, '
               f'"witx calculated offset");\n' for member, offset in t.offsets)
    out.append("#endif\n")


def _function(f, out: list) -> None:
    noreturn = "__extension__ _Noreturn " if f.noreturn else ""
    out.append(f"\n{c_doc(f.doc)}{noreturn}{f.return_type} {f.name}(\n")
    params = f.params
    if params:
        last = len(params) - 1
        out.extend(f"{c_doc(p.doc, '    ')}    {p.decl}{',' if i != last else ''}\n"
                   for i, p in enumerate(params))
    else:
        out.append("    void\n")
    attrs = f.attributes
    out.append(") __attribute__((\n" + ",\n".join(f"    {a}" for a in attrs)
               + ("\n" if attrs else "") + "));\n")


def render(h) -> str:
    guard = h.guard
    out = [
        f"{c_doc(h.comment)}\n#ifndef {guard}\n#define {guard}\n\n"
        "#ifndef __wasm32__\n"
        "#error this header describes wasm32 imports; compile with --target=wasm32-wasi\n"
        "#endif\n\n#include <stddef.h>\n#include <stdint.h>\n",
    ]
    out.extend(f'#include "{inc}"\n' for inc in h.includes)
    if h.layout_asserts:
        out.append("\n")
        out.extend(f'__extension__ _Static_assert(_Alignof({ctype}) == {align}, "non-wasi data layout");\n'
                   for ctype, align in h.layout_asserts)
    out.append('\n#ifdef __cplusplus\nextern "C" {\n#endif\n')
    for t in h.types:
        _type(t, out)
    if h.module_name:
        out.append(f"\n/**\n * @defgroup {h.module_name}\n")
        out.extend(f" * {line}\n" if line else " *\n" for line in h.module_doc)
        out.append(" * @{\n */\n")
        for f in h.functions:
            _function(f, out)
        out.append("/** @} */\n")
    out.append(f"\n#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n")
    return "".join(out)
