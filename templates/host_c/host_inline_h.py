"""Template: `<module>_host_inline.h`, the host core's bodies (formatting only)."""

from __future__ import annotations


def _glue_table(name: str, ctype: str, values) -> str:
    return ("\n/* " + name + "[W2W_OK, W2W_E_BUFFER_TOO_SMALL, W2W_E_BAD_HANDLE, W2W_E_BAD_POINTER, "
            "W2W_E_BAD_VALUE] */\n"
            f"static const {ctype} {name}[5] = {{ {', '.join(values)} }};\n")


def _codecs(t) -> str:
    return (f"\nstatic inline int {t.decode_name}_inline(const w2w_mem *mem, w2w_handles *handles, "
            f"const uint8_t *src, {t.cname} *dst)\n"
            "{\n"
            "    (void)mem;\n"
            "    (void)handles;\n"
            f"{t.decode_text}\n"
            "    return W2W_OK;\n"
            "}\n"
            "\n"
            f"static inline int {t.encode_name}_inline(w2w_handles *handles, w2w_buf *buf, uint8_t *dst, "
            f"const {t.cname} *src)\n"
            "{\n"
            "    (void)handles;\n"
            "    (void)buf;\n"
            f"{t.encode_text}\n"
            "    return W2W_OK;\n"
            "}\n")


def _release(t) -> str:
    if not t.release_name:
        return ""
    return (f"\nstatic inline void {t.release_name}_inline(w2w_handles *handles, const {t.cname} *src)\n"
            f"{{\n{t.release_text}\n}}\n")


def _trampoline(f, host_t: str) -> str:
    params = "".join(f", {p.decl}" for p in f.core_params)
    return (f"\nstatic inline {f.call_return} {f.call_name}_inline({host_t} *host, const w2w_mem *mem{params})\n"
            f"{{\n{f.body_text}\n}}\n")


def render(u) -> str:
    guard = f"{u.prefix.upper()}HOST_INLINE_H"
    out = [
        f"/* {u.header_line}\n"
        " *\n"
        f" * The bodies of the `{u.module}` core as static inline functions: `{u.module}_host.c`\n"
        f" * wraps them into the public functions of `{u.module}_host.h`, and the runtime\n"
        " * bindings include this file so that binding, checks and encoding compile into one\n"
        " * function per import (no call between binding and core). Include it only from\n"
        " * generated files or from a binding of your own.\n"
        " */\n"
        f"#ifndef {guard}\n"
        f"#define {guard}\n"
        "\n"
        f'#include "{u.module}_host.h"\n'
    ]
    out.extend(_glue_table(name, ctype, values) for name, ctype, values, _ncases in u.glue_tables)
    out.extend(_codecs(t) + _release(t) for t in u.types)
    host_t = u.host_t
    out.extend(_trampoline(f, host_t) for f in u.functions)
    out.append(f"\n#endif /* {guard} */\n")
    return "".join(out)
