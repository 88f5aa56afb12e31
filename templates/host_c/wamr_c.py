"""Template: `<module>_wamr.c`, one WAMR native per import and its table (formatting only)."""

from __future__ import annotations


def _function(f, prefix: str, host_t: str) -> str:
    params = "".join(f", {p.decl}" for p in f.core_params)
    args = "".join(f", {p.name}" for p in f.core_params)
    return (f"\nstatic {f.call_return} {f.wamr_name}(wasm_exec_env_t env{params})\n"
            "{\n"
            f"    {host_t} *host = ({host_t} *)wasm_runtime_get_function_attachment(env);\n"
            "    w2w_mem mem;\n"
            f"    {prefix}wamr_memory(env, &mem);\n"
            f"{_wrapped_call(f, args)}"
            "}\n")


def _wrapped_call(f, args: str) -> str:
    """The call between w2w_call_enter/leave (nothing without W2W_THREADS)."""
    result = f.core_result_wasm
    return ((f"    {result} result;\n" if result else "")
            + "    w2w_call_enter(host->handles);\n"
            + f"    {'result = ' if result else ''}{f.call_name}_inline(host, &mem{args});\n"
            + "    w2w_call_leave(host->handles);\n"
            + ("    return result;\n" if result else ""))


def _symbol(i: int, f, prefix: str, upper: str) -> str:
    return (f"    natives->symbols[{i}].symbol = {f.import_name_literal};\n"
            f"    natives->symbols[{i}].func_ptr = {upper}FN_PTR({f.wamr_name});\n"
            f'    natives->symbols[{i}].signature = "{f.wamr_sig}";\n'
            f"    natives->symbols[{i}].attachment = host;\n")


def render(u) -> str:
    prefix, host_t = u.prefix, u.host_t
    upper = prefix.upper()
    out = [
        f"/* {u.header_line} */\n"
        f'#include "{u.module}_wamr.h"\n'
        f'#include "{u.module}_host_inline.h"\n'
        "\n"
        "/* NativeSymbol wants a `void *`: a conversion ISO C leaves to the implementation */\n"
        "#if defined(__GNUC__)\n"
        f"#define {upper}FN_PTR(f) (__extension__(void *)(f))\n"
        "#else\n"
        f"#define {upper}FN_PTR(f) ((void *)(f))\n"
        "#endif\n"
        "\n"
        f"static void {prefix}wamr_memory(wasm_exec_env_t env, w2w_mem *mem)\n"
        "{\n"
        "    wasm_module_inst_t inst = wasm_runtime_get_module_inst(env);\n"
        "    wasm_memory_inst_t memory = wasm_runtime_get_default_memory(inst);\n"
        "    mem->base = NULL;\n"
        "    mem->size = 0;\n"
        "    if (memory != NULL) {\n"
        "        mem->base = (uint8_t *)wasm_memory_get_base_address(memory);\n"
        "        mem->size = wasm_memory_get_cur_page_count(memory) * wasm_memory_get_bytes_per_page(memory);\n"
        "    }\n"
        "}\n"
    ]
    out.extend(_function(f, prefix, host_t) for f in u.functions)
    out.append(f"\nbool {prefix}wamr_register({prefix}wamr_natives *natives, {host_t} *host)\n{{\n")
    out.extend(_symbol(i, f, prefix, upper) for i, f in enumerate(u.functions))
    out.append(f"    return wasm_runtime_register_natives({u.functions[0].import_module_literal}, "
               f"natives->symbols, {upper}WAMR_NATIVE_COUNT);\n}}\n")
    return "".join(out)
