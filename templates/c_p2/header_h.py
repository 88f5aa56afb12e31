"""Template: the c-p2 header `<world>.h`, from `emit.c_p2.P2View` (formatting only)."""

from __future__ import annotations


def _doc(lines, indent: str = "") -> str:
    return "".join(f"{indent}// {line}\n" if line else f"{indent}//\n" for line in lines)


def _member(mb, indent: str) -> str:
    return f"{_doc(mb.doc, indent)}{indent}{mb.ctype} {mb.name};\n"


def _type(t, out: list) -> None:
    name = t.name
    out.append(f"\n{_doc(t.doc)}")
    if t.shape == "handle":
        out.append(f"typedef struct {name} {{\n  int32_t __handle;\n}} {name};\n")
    elif t.shape == "alias":
        out.append(f"typedef {t.aliased} {name};\n")
    else:
        out.append(f"typedef struct {name} {{\n" if t.tag else "typedef struct {\n")
        if t.shape == "struct":
            out.extend(_member(mb, "  ") for mb in t.members)
        else:
            out.append(f"  {t.tag_ctype} {t.tag_member};\n")
            if t.union:
                out.append("  union {\n")
                out.extend(_member(mb, "    ") for mb in t.union)
                out.append("  } val;\n")
        out.append(f"}} {name};\n")
    if t.defines:
        out.append("\n")
        out.extend(f"{_doc(doc)}#define {macro} {value}\n" for macro, value, doc in t.defines)


def render(v) -> str:
    w = v.world
    out = [f"// {v.generated}\n#ifndef {v.guard}\n#define {v.guard}\n#ifdef __cplusplus\n"
           'extern "C" {\n#endif\n\n#include <stdint.h>\n#include <stdbool.h>\n#include <stddef.h>\n']
    if v.needs_string:
        out.append(f"\ntypedef struct {w}_string_t {{\n  uint8_t *ptr;\n  size_t len;\n}} {w}_string_t;\n")
    for t in v.types:
        _type(t, out)
    for section in v.sections:
        out.append(f"\n// {section.title}\n")
        out.extend(f"{_doc(f.doc)}extern {f.decl};\n" for f in section.functions)
    if v.helpers:
        out.append("\n// Helper Functions\n")
        out.extend(f"\n{_doc(h.doc)}{h.decl};\n" for h in v.helpers)
    out.append(f"\n#ifdef __cplusplus\n}}\n#endif\n#endif // {v.guard}\n")
    return "".join(out)
