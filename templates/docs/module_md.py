"""Template: one module's Markdown page, from the views of `emit.docs` (formatting only).

Every text in the views is already Markdown: names and types as code spans, docs
escaped (`emit.docs.md_prose`, `md_cell`), the WITX as a fenced block."""

from __future__ import annotations


def _function(f, out: list) -> None:
    out.append(f"\n### {f.name}\n")
    if f.origin:
        out.append(f"\nWIT: {f.origin}\n")
    if f.docs:
        out.append(f"\n{f.docs}\n")
    out.append("\n| param | WITX type | docs |\n|---|---|---|\n")
    out.extend(f"| {p.name} | {p.type} | {p.docs} |\n" for p in f.params)
    core_params = f" — {f.core_params}" if f.core_params else ""
    out.append(f"\nResult: {f.result}\n\nCore: {f.core}{core_params}\n")
    if f.statuses:
        out.append(f"\nStatuses ({f.status_type}): {f.statuses}.\n")
    out.extend(f"\n{note}\n" for note in f.notes)


def _type(t, out: list) -> None:
    out.append(f"\n### {t.name} ({t.kind}, size {t.size}, align {t.align})\n")
    if t.docs:
        out.append(f"\n{t.docs}\n")
    out.append(f"\n{t.witx}\n")
    if t.members:
        out.append(f"\n| member | {t.members_heading} | type | docs |\n|---|---|---|---|\n")
        out.extend(f"| {m.name} | {m.detail} | {m.type} | {m.docs} |\n"
                   for m in t.members)


def render(*, header, name, origin, version, docs, uses, functions, types) -> str:
    out = [f"<!-- {header} -->\n# {name}\n\n"]
    if origin:
        out.append(f"Backported from {origin}" + (f" (version {version})" if version else "") + ".\n")
    if docs:
        out.append(f"\n{docs}\n")
    if uses:
        out.append(f"\nUses: {uses}.\n")
    out.append('\nA function whose result is `(expected T (error S))` returns the status S (0 = success)\n'
               'and writes T through out-pointers. "Core" is the wasm import a guest sees.\n\n## Functions\n')
    for f in functions:
        _function(f, out)
    if not functions:
        out.append("\n(none)\n")
    out.append("\n## Types\n")
    for t in types:
        _type(t, out)
    if not types:
        out.append("\n(none)\n")
    return "".join(out)
