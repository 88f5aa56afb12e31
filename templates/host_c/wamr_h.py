"""Template: `<module>_wamr.h`, the WAMR binding's API (formatting only)."""

from __future__ import annotations


def render(u) -> str:
    prefix = u.prefix
    upper = prefix.upper()
    return (f"/* {u.header_line}\n"
            " *\n"
            f" * WAMR binding of `{u.module}`: a NativeSymbol table with signature strings.\n"
            " * Guest addresses are passed as plain `i` (never `*`/`~`, whose runtime check covers\n"
            " * one byte only); the core checks each with its exact size. The table must outlive\n"
            " * the runtime's use of it (WAMR keeps and sorts it), so the embedder owns it.\n"
            " */\n"
            f"#ifndef {upper}WAMR_H\n"
            f"#define {upper}WAMR_H\n"
            "\n"
            "#include <stdbool.h>\n"
            "\n"
            '#include "wasm_export.h"\n'
            f'#include "{u.module}_host.h"\n'
            "\n"
            "#ifdef __cplusplus\n"
            'extern "C" {\n'
            "#endif\n"
            "\n"
            f"#define {upper}WAMR_NATIVE_COUNT {len(u.functions)}\n"
            "\n"
            f"typedef struct {prefix}wamr_natives {{\n"
            f"    NativeSymbol symbols[{upper}WAMR_NATIVE_COUNT];\n"
            f"}} {prefix}wamr_natives;\n"
            "\n"
            f'/* Fill `natives` (host context as attachment) and register them for module "{u.module}". */\n'
            f"bool {prefix}wamr_register({prefix}wamr_natives *natives, {u.host_t} *host);\n"
            "\n"
            "#ifdef __cplusplus\n"
            "}\n"
            "#endif\n"
            "\n"
            "#endif\n")
