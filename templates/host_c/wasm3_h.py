"""Template: `<module>_wasm3.h`, the wasm3 binding's API (formatting only)."""

from __future__ import annotations


def render(u) -> str:
    guard = f"{u.prefix.upper()}WASM3_H"
    return (f"/* {u.header_line}\n"
            " *\n"
            f" * wasm3 binding of `{u.module}`: links every import the module has into a wasm3\n"
            " * module, with the host context as each function's userdata. Imports the guest does\n"
            " * not declare are skipped.\n"
            " */\n"
            f"#ifndef {guard}\n"
            f"#define {guard}\n"
            "\n"
            '#include "wasm3.h"\n'
            f'#include "{u.module}_host.h"\n'
            "\n"
            "#ifdef __cplusplus\n"
            'extern "C" {\n'
            "#endif\n"
            "\n"
            f"M3Result {u.prefix}wasm3_link(IM3Module module, {u.host_t} *host);\n"
            "\n"
            "#ifdef __cplusplus\n"
            "}\n"
            "#endif\n"
            "\n"
            "#endif\n")
