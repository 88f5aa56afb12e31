"""Template: one Python host-glue module, from `emit.host_py.PyModule` (formatting only)."""

from __future__ import annotations


def docstring(lines, indent: str) -> str:
    """A docstring at `indent` (no trailing newline)."""
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""'
    body = "".join(f"{indent}{line}\n" if line else "\n" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}{indent}"""'


def _comments(lines, indent: str) -> str:
    return "".join(f"{indent}#: {line}\n" for line in lines)


def _type(t, out: list) -> None:
    out.append("\n\n")
    shape = t.shape
    if shape == "alias":
        out.append(f"{_comments(t.docs, '')}{t.name} = {t.alias}\n")
    elif shape == "enum" or shape == "flags":
        base = "IntFlag" if shape == "flags" else "IntEnum"
        out.append(f"class {t.name}(enum.{base}):\n{docstring(t.doc_lines, '    ')}\n\n")
        out.extend(f"{_comments(mem.docs, '    ')}    {mem.name} = {mem.value}\n" for mem in t.members)
    elif shape == "record":
        out.append(f"@dataclass(slots=True)\nclass {t.name}:\n{docstring(t.doc_lines, '    ')}\n\n")
        out.extend(f"{_comments(f.docs, '    ')}    {f.name}: {f.annotation}\n" for f in t.fields)
        if not t.fields:
            out.append("    pass\n")
    elif shape == "variant":
        tag = t.tag_name
        out.append(f'class {tag}(enum.IntEnum):\n    """The cases of `${t.witx_name}`."""\n\n')
        out.extend(f"    {c.tag} = {i}\n" for i, c in enumerate(t.cases))
        out.append(f"\n\n@dataclass(frozen=True, slots=True)\nclass {t.name}:\n"
                   f"{docstring(t.doc_lines, '    ')}\n\n    tag: {tag}\n    value: Any = None\n")
        for c in t.cases:
            if c.annotation is None:
                out.append(f'\n    @classmethod\n    def {c.name}(cls) -> "{t.name}":\n'
                           f"        return cls({tag}.{c.tag})\n")
            else:
                out.append(f'\n    @classmethod\n    def {c.name}(cls, value: "{c.annotation}") -> "{t.name}":\n'
                           f"        return cls({tag}.{c.tag}, value)\n")


def _error(e) -> str:
    if e.is_status:
        default = f" = {e.default}" if e.default != "None" else ""
        return (f"\n\nclass {e.name}(_rt.WitError):\n"
                f'    """Raise to return the status `value` (a `${e.witx_name}` error case); `payload`\n'
                '    goes through `$error_payload` for a function that has one."""\n\n'
                f"    value: {e.value_annotation}\n\n"
                f"    def __init__(self, value: {e.value_annotation}{default}, payload: Any = None) -> None:\n"
                "        super().__init__(value, payload)\n")
    return (f"\n\nclass {e.name}(_rt.WitError):\n"
            f'    """Raise to return the `${e.witx_name}` `value` from an implementation method."""\n\n'
            f"    value: {e.value_annotation}\n\n"
            f"    def __init__(self, value: {e.value_annotation}) -> None:\n"
            "        super().__init__(value)\n")


def _method(f) -> str:
    params = "".join(f", {p.name}: {p.annotation}" for p in f.params)
    capacity = ", *, result_capacity: int" if f.result_capacity else ""
    return (f"\n    def {f.method}(self{params}{capacity}) -> {f.returns}:\n"
            f"{docstring(f.doc_lines, '        ')}\n        ...\n")


def _spec(f) -> str:
    lines = "".join(f"        {line},\n" for line in f.spec_lines)
    return f"    _rt.FuncSpec(\n{lines}    ),\n"


def render(m) -> str:
    name = m.title
    origin = f" ({m.origin})" if m.origin else ""
    out = [f'# {m.header}\n"""Python host glue (wasmtime) for the P1 module `{name}`{origin}.\n\n']
    if m.docs:
        out.extend(f"{line}\n" for line in m.docs)
        out.append("\n")
    out.append("Implement `Impl` and call `add_to_linker(linker, store, impl, tables=tables)`; share one\n"
               "`HandleTables` between the modules of a store. Raise the `<E>Error` exceptions below to\n"
               'return a WIT error. Checks and statuses: see `wit2witx.hosts.runtime`.\n"""\n\n'
               "from __future__ import annotations\n\n")
    if m.needs_enum:
        out.append("import enum\n")
    if m.needs_dataclass:
        out.append("from dataclasses import dataclass\n")
    out.append("from typing import Any, Protocol\n\nfrom wit2witx.hosts import runtime as _rt\n"
               "from wit2witx.hosts.runtime import HandleTables\n")
    out.extend(f"\ntry:\n    from . import {imp.module} as {imp.alias}\nexcept ImportError:\n"
               f"    import {imp.module} as {imp.alias}  # type: ignore[no-redef]\n" for imp in m.imports)
    out.append("\n__all__ = [\n")
    out.extend(f'    "{export}",\n' for export in m.exports)
    out.append("]\n")
    for t in m.types:
        _type(t, out)
    out.extend(_error(e) for e in m.errors)
    if m.codecs:
        out.append("\n\n# --- codecs: how each type sits in linear memory (size, align, offsets from p1.layout)\n")
    out.extend(f"{c.name} = {c.expr}\n" for c in m.codecs)
    out.append(f'\n\nclass Impl(Protocol):\n    """What the host implements for `{name}`: one method per function."""\n')
    out.extend(_method(f) for f in m.functions)
    if not m.functions:
        out.append("    pass\n")
    out.append("\n")
    if m.case_tuples:
        out.append("\n")
        out.extend(f"{const} = {text}\n" for const, text in m.case_tuples)
    out.append("\nSPECS: tuple[_rt.FuncSpec, ...] = (\n")
    out.extend(_spec(f) for f in m.functions)
    out.append(")\n\n\ndef add_to_linker(linker: Any, store: Any, impl: Impl, *,\n"
               "                  tables: HandleTables | None = None) -> HandleTables:\n"
               f'    """Define every import of `{name}` on a `wasmtime.Linker`.\n\n'
               "    `store` is accepted for symmetry with wasmtime's own `add_to_linker` helpers; the\n"
               "    functions reach the caller's memory through `Caller`. Returns the handle tables\n"
               "    (pass the same object to the other modules' `add_to_linker`).\n"
               '    """\n    del store\n    return _rt.define_all(linker, SPECS, impl, tables)\n')
    return "".join(out)
