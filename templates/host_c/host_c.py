"""Template: `<module>_host.c`, the host core's public functions (formatting only)."""

from __future__ import annotations


def _codecs(t) -> str:
    return (f"\nint {t.decode_name}(const w2w_mem *mem, w2w_handles *handles, const uint8_t *src, {t.cname} *dst)\n"
            "{\n"
            f"    return {t.decode_name}_inline(mem, handles, src, dst);\n"
            "}\n"
            "\n"
            f"int {t.encode_name}(w2w_handles *handles, w2w_buf *buf, uint8_t *dst, const {t.cname} *src)\n"
            "{\n"
            f"    return {t.encode_name}_inline(handles, buf, dst, src);\n"
            "}\n")


def _release(t) -> str:
    if not t.release_name:
        return ""
    return (f"\nvoid {t.release_name}(w2w_handles *handles, const {t.cname} *src)\n"
            "{\n"
            f"    {t.release_name}_inline(handles, src);\n"
            "}\n")


def _descriptor(t) -> str:
    if not t.dropper:
        return f'\nconst w2w_type {t.descriptor} = {{ {t.descriptor_label}, &{t.module_key}, NULL }};\n'
    return (f"\n/* Releases a `{t.descriptor_comment}` object the guest never got (undoing a failed call). */\n"
            f"static void {t.dropper}(void *host, void *obj)\n"
            "{\n"
            f"    (void){t.drop_impl}(({t.host_t} *)host, obj);\n"
            "}\n"
            f'\nconst w2w_type {t.descriptor} = {{ {t.descriptor_label}, &{t.module_key}, {t.dropper} }};\n')


def _call(f, host_t: str) -> str:
    params = "".join(f", {p.decl}" for p in f.core_params)
    args = "".join(f", {p.name}" for p in f.core_params)
    result = f.core_result_wasm
    return (f"\n{f.call_return} {f.call_name}({host_t} *host, const w2w_mem *mem{params})\n"
            "{\n"
            + (f"    {result} result;\n" if result else "")
            + "    w2w_call_enter(host->handles);\n"
            + f"    {'result = ' if result else ''}{f.call_name}_inline(host, mem{args});\n"
            + "    w2w_call_leave(host->handles);\n"
            + ("    return result;\n" if result else "")
            + "}\n")


def render(u) -> str:
    out = [f'/* {u.header_line} */\n#include "{u.module}_host_inline.h"\n']
    if u.module_key:
        out.append(f'\nconst w2w_module {u.module_key} = {{ {u.module_literal} }};\n')
    out.extend(_descriptor(t) for t in u.types if t.descriptor)
    out.extend(_codecs(t) + _release(t) for t in u.types)
    host_t = u.host_t
    out.extend(_call(f, host_t) for f in u.functions)
    return "".join(out)
