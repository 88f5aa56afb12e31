"""Template: `<module>_host.h`, the host core's API, from `emit.host_c.HUnit` (formatting only)."""

from __future__ import annotations


def _doc(lines) -> str:
    return "".join(f"/// {line}\n" for line in lines)


def _type(t) -> str:
    typedef = "".join(f"{line}\n" for line in t.typedef)
    constants = "".join(f"#define {c.name} {c.value}\n" for c in t.constants)
    descriptor = f"extern const w2w_type {t.descriptor};\n" if t.descriptor else ""
    return (f"\n{_doc(t.doc)}{typedef}{constants}{descriptor}"
            f"/* guest layout: {t.guest_size} bytes, align {t.guest_align} */\n"
            f"int {t.decode_name}(const w2w_mem *mem, w2w_handles *handles, const uint8_t *src, {t.cname} *dst);\n"
            f"int {t.encode_name}(w2w_handles *handles, w2w_buf *buf, uint8_t *dst, const {t.cname} *src);\n"
            + (f"void {t.release_name}(w2w_handles *handles, const {t.cname} *src);\n" if t.release_name else ""))


def _impl(f) -> str:
    params = ", ".join(p.decl for p in f.impl_params)
    return f"\n{_doc(f.doc)}{f.impl_return} {f.impl_name}({params});\n"


def render(u) -> str:
    host_t = u.host_t
    prefix = u.prefix
    out = [
        f"/* {u.header_line}\n"
        " *\n"
        f" * Host glue core for the P1 module `{u.module}` ({u.origin}).\n"
        " *\n"
        f" * The embedder implements every `{prefix}impl_*` function below and calls the\n"
        f" * trampolines `{prefix}call_*` from a runtime binding (`{u.module}_wasm3.c`,\n"
        f" * `{u.module}_wamr.c`) or its own. A trampoline checks every guest pointer,\n"
        " * length, enum value, flag bit, variant tag and handle before the implementation runs;\n"
        " * on failure it returns a glue status and calls nothing. Implementations return the\n"
        " * module's status (0 = success).\n"
        " */\n"
        f"#ifndef {u.guard}\n"
        f"#define {u.guard}\n"
        "\n"
        '#include "w2w_host.h"\n'
    ]
    out.extend(f'#include "{inc}"\n' for inc in u.includes)
    out.append(
        "\n"
        "#ifdef __cplusplus\n"
        'extern "C" {\n'
        "#endif\n"
        "\n"
        "/* The host context of this module: owned by the embedder, one per guest instance. */\n"
        f"typedef struct {host_t[:-2]} {{\n"
        "    w2w_handles *handles; /* the guest's handle table (shared by all its modules) */\n"
        "    void *user;           /* the embedder's data */\n"
        "    w2w_mem mem;          /* the guest memory, valid during a call */\n"
        f"}} {host_t};\n"
        "\n"
    )
    if u.module_key:
        out.append(
            f"/* This module's resource types: `host_init` registers the host context with the\n"
            " * handle table, so that handles of them issued by a failed call (of any module)\n"
            " * are released through this module's `<r>_drop` implementation. */\n"
            f"extern const w2w_module {u.module_key};\n"
            "\n"
            "/* Initialize the handle table first; false when the table has no room left to\n"
            " * register this module (raise W2W_MAX_OWNERS). */\n")
        register = f"    return w2w_handles_set_owner(handles, &{u.module_key}, host);\n"
    else:
        register = "    return true;\n"
    out.append(
        f"static inline bool {prefix}host_init({host_t} *host, w2w_handles *handles, void *user)\n"
        "{\n"
        "    host->handles = handles;\n"
        "    host->user = user;\n"
        "    host->mem.base = NULL;\n"
        "    host->mem.size = 0;\n"
        f"{register}"
        "}\n"
        "\n"
        "/* ---- types (host representation) ---- */\n"
    )
    out.extend(_type(t) for t in u.types)
    if u.functions:
        out.append("\n/* ---- the embedder's implementation ---- */\n")
        out.extend(_impl(f) for f in u.functions)
        out.append("\n/* ---- trampolines: raw core arguments in, checked, implementation called ---- */\n")
        out.extend(f"{f.call_return} {f.call_name}({host_t} *host, const w2w_mem *mem"
                   f"{''.join(', ' + p.decl for p in f.core_params)});\n" for f in u.functions)
    out.append(f'\n#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {u.guard} */\n')
    return "".join(out)
