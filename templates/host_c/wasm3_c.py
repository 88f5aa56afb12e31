"""Template: `<module>_wasm3.c`, one raw wasm3 function per import (formatting only)."""

from __future__ import annotations


def _function(f, prefix: str, host_t: str) -> str:
    result = f.core_result_wasm
    first = 1 if result else 0
    args = "".join(f", {p.name}" for p in f.core_params)
    out = [
        f"\nstatic const void *{f.w3_name}(IM3Runtime runtime, IM3ImportContext ictx, uint64_t *sp, void *base)\n"
        "{\n"
        f"    {host_t} *host = ({host_t} *)ictx->userdata;\n"
        "    w2w_mem mem;\n"
    ]
    if result:
        out.append(f"    {result} result;\n")
    out.extend(f"    {p.decl};\n" for p in f.core_params)
    out.append("    mem.base = (uint8_t *)base;\n    mem.size = m3_GetMemorySize(runtime);\n")
    out.extend(f"    memcpy(&{p.name}, &sp[{i + first}], sizeof {p.name});\n"
               for i, p in enumerate(f.core_params))
    out.append("    w2w_call_enter(host->handles);\n")
    if result:
        out.append(f"    result = {f.call_name}_inline(host, &mem{args});\n"
                   "    w2w_call_leave(host->handles);\n"
                   "    memcpy(&sp[0], &result, sizeof result);\n")
    else:
        out.append(f"    {f.call_name}_inline(host, &mem{args});\n"
                   "    w2w_call_leave(host->handles);\n")
    out.append("    return m3Err_none;\n}\n")
    return "".join(out)


def _link(f, prefix: str) -> str:
    return (f'    r = m3_LinkRawFunctionEx(module, {f.import_module_literal}, {f.import_name_literal}, "{f.wasm3_sig}", '
            f"&{f.w3_name}, host);\n"
            "    if (r != m3Err_none && r != m3Err_functionLookupFailed)\n"
            "        return r;\n")


def render(u) -> str:
    prefix, host_t = u.prefix, u.host_t
    out = [f'/* {u.header_line} */\n#include <string.h>\n\n#include "{u.module}_wasm3.h"\n'
           f'#include "{u.module}_host_inline.h"\n']
    out.extend(_function(f, prefix, host_t) for f in u.functions)
    out.append(f"\nM3Result {prefix}wasm3_link(IM3Module module, {host_t} *host)\n{{\n    M3Result r;\n")
    out.extend(_link(f, prefix) for f in u.functions)
    out.append("    return m3Err_none;\n}\n")
    return "".join(out)
