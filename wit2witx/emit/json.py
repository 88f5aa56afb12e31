"""The resolved model as JSON, in the schema of `wasm-tools component wit --json`.

Field order and omission rules follow wit-parser's serde derive: empty docs, unknown
stability and absent external ids are left out, anonymous types have `"name": null` and
`"owner": null`, interface keys of world items are written `interface-<id>`.
"""

from __future__ import annotations

import json as _json

from .. import ir


def _docs(out: dict, docs: str | None) -> None:
    if docs is not None:
        out["docs"] = {"contents": docs}


def _stability(out: dict, st: ir.Stability) -> None:
    if st.kind == "unknown":
        return
    body: dict = {"since": st.since} if st.kind == "stable" else {"feature": st.feature}
    if st.deprecated is not None:
        body["deprecated"] = st.deprecated
    out["stability"] = {st.kind: body}


def _external_id(out: dict, external_id: str | None) -> None:
    if external_id is not None:
        out["external_id"] = external_id


def _opt(ref: ir.TypeRef | None):
    return ref  # primitives are names, typedefs ids: both already JSON values


def _kind(kind: ir.TypeDefKind):
    if isinstance(kind, ir.Alias):
        return {"type": kind.target}
    if isinstance(kind, ir.Record):
        fields = []
        for f in kind.fields:
            item = {"name": f.name, "type": f.type}
            _docs(item, f.docs)
            fields.append(item)
        return {"record": {"fields": fields}}
    if isinstance(kind, ir.Resource):
        return "resource"
    if isinstance(kind, ir.Handle):
        return {"handle": {kind.kind: kind.resource}}
    if isinstance(kind, ir.Flags):
        return {"flags": {"flags": [_named(c) for c in kind.flags]}}
    if isinstance(kind, ir.Tuple):
        return {"tuple": {"types": list(kind.types)}}
    if isinstance(kind, ir.Variant):
        cases = []
        for c in kind.cases:
            item = {"name": c.name, "type": _opt(c.type)}
            _docs(item, c.docs)
            cases.append(item)
        return {"variant": {"cases": cases}}
    if isinstance(kind, ir.Enum):
        return {"enum": {"cases": [_named(c) for c in kind.cases]}}
    if isinstance(kind, ir.Option):
        return {"option": kind.inner}
    if isinstance(kind, ir.Result):
        return {"result": {"ok": _opt(kind.ok), "err": _opt(kind.err)}}
    if isinstance(kind, ir.List):
        if kind.size is not None:
            return {"fixed-length-list": [kind.element, kind.size]}
        return {"list": kind.element}
    if isinstance(kind, ir.Map):
        return {"map": [kind.key, kind.value]}
    if isinstance(kind, ir.Future):
        return {"future": _opt(kind.inner)}
    if isinstance(kind, ir.Stream):
        return {"stream": _opt(kind.inner)}
    raise TypeError(f"cannot serialise {kind!r}")


def _named(case: ir.Case) -> dict:
    item = {"name": case.name}
    _docs(item, case.docs)
    return item


def _function(fn: ir.Function) -> dict:
    kind = fn.kind if fn.resource is None else {fn.kind: fn.resource}
    out: dict = {"name": fn.name, "kind": kind, "params": [
        {"name": p.name, "type": p.type} for p in fn.params]}
    if fn.result is not None:
        out["result"] = fn.result
    _docs(out, fn.docs)
    _stability(out, fn.stability)
    _external_id(out, fn.external_id)
    return out


def _world_key(key: ir.WorldKey) -> str:
    return f"interface-{key}" if isinstance(key, int) else key


def _world_item(item: ir.WorldItem) -> dict:
    if isinstance(item, ir.WorldInterface):
        body: dict = {"id": item.id}
        _stability(body, item.stability)
        _external_id(body, item.external_id)  # before docs: wit-parser's field order
        _docs(body, item.docs)
        return {"interface": body}
    if isinstance(item, ir.WorldFunction):
        return {"function": _function(item.function)}
    return {"type": item.id}


def _world(world: ir.World) -> dict:
    out: dict = {
        "name": world.name,
        "imports": {_world_key(k): _world_item(v) for k, v in world.imports.items()},
        "exports": {_world_key(k): _world_item(v) for k, v in world.exports.items()},
        "package": world.package,
    }
    _docs(out, world.docs)
    _stability(out, world.stability)
    return out


def _interface(iface: ir.Interface) -> dict:
    out: dict = {
        "name": iface.name,
        "types": dict(iface.types),
        "functions": {name: _function(fn) for name, fn in iface.functions.items()},
    }
    _docs(out, iface.docs)
    _stability(out, iface.stability)
    out["package"] = iface.package
    if iface.clone_of is not None:
        out["clone_of"] = iface.clone_of
    return out


def _typedef(td: ir.TypeDef) -> dict:
    owner = None if td.owner is None else {td.owner.kind: td.owner.id}
    out: dict = {"name": td.name, "kind": _kind(td.kind), "owner": owner}
    _docs(out, td.docs)
    _stability(out, td.stability)
    _external_id(out, td.external_id)
    return out


def _package(pkg: ir.Package) -> dict:
    out: dict = {"name": str(pkg.name)}
    _docs(out, pkg.docs)
    out["interfaces"] = dict(pkg.interfaces)
    out["worlds"] = dict(pkg.worlds)
    return out


def to_json(resolve: ir.Resolve) -> dict:
    """The whole `Resolve` as a JSON-ready dict."""
    return {
        "worlds": [_world(w) for w in resolve.worlds],
        "interfaces": [_interface(i) for i in resolve.interfaces],
        "types": [_typedef(t) for t in resolve.types],
        "packages": [_package(p) for p in resolve.packages],
    }


def dumps(resolve: ir.Resolve) -> str:
    """JSON text, indented like wasm-tools (2 spaces)."""
    return pretty(to_json(resolve))


def pretty(value) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, byte for byte, at twice the
    speed: with `indent` the standard library falls back to its pure-Python encoder,
    while this walks only the shapes a resolve has (dict, list, str, int, bool, None)
    and escapes strings with the C-accelerated `encode_basestring`."""
    from json.encoder import encode_basestring as quote  # noqa: PLC0415

    out: list[str] = []
    put = out.append

    def walk(node, indent: str) -> None:
        kind = type(node)
        if kind is str:
            put(quote(node))
        elif kind is dict or kind is list:
            if not node:
                put("{}" if kind is dict else "[]")
                return
            inner = indent + "  "
            sep = ("{\n" if kind is dict else "[\n") + inner
            if kind is dict:
                for key, item in node.items():
                    put(sep)
                    put(quote(key if type(key) is str else _json.dumps(key).strip('"')))
                    put(": ")
                    walk(item, inner)
                    sep = ",\n" + inner
            else:
                for item in node:
                    put(sep)
                    walk(item, inner)
                    sep = ",\n" + inner
            put("\n" + indent + ("}" if kind is dict else "]"))
        elif kind is int:
            put(int.__repr__(node))
        else:  # null, true, false, floats: as the standard encoder writes them
            put(_json.dumps(node))

    walk(value, "")
    return "".join(out)


def emit_files(program) -> dict[str, str]:
    """`--emit json`. WIT input: `resolve.json`, the resolved packages in the schema of
    `wasm-tools component wit --json`. WITX input: `<unit>.p1.json`, the P1 model.

    JSON has no comments, so these files carry no "Generated by" line.
    """
    if program.resolve is not None:
        return {"resolve.json": dumps(program.resolve) + "\n"}
    return {
        f"{unit.name}.p1.json": pretty(model_to_json(unit.document)) + "\n"
        for unit in program.units
    }


# --- WITX input: the P1 model (its only caller is `emit_files` above)


def _param_json(p) -> dict:
    from ..p1.model import type_to_json  # noqa: PLC0415

    out = {"name": p.name, "type": type_to_json(p.type), "docs": p.docs}
    if p.own:  # a guest export's `own<r>` parameter (`(@w2w own)`)
        out["own"] = True
    if p.utf8:  # the pointer of a WIT `string` parameter (`(@w2w string)`): UTF-8 text
        out["utf8"] = True
    return out


def model_to_json(doc) -> dict:
    """The whole document as plain JSON data, in definition order (deterministic)."""
    from ..p1 import abi, layout  # noqa: PLC0415 - only WITX input needs them
    from ..p1.model import type_to_json  # noqa: PLC0415

    typenames = []
    for tn in doc.typenames:
        sa = layout.size_align(tn.type)
        typenames.append({
            "name": tn.name, "docs": tn.docs, "type": type_to_json(tn.type),
            "size": sa.size, "align": sa.align,
        })
    def function_json(f) -> dict:
        return {
            "name": f.name, "docs": f.docs, "noreturn": f.noreturn,
            "params": [_param_json(p) for p in f.params],
            "results": [_param_json(p) for p in f.results],
            "core": abi.core_signature(f).to_json(),
        }

    modules = []
    for m in doc.modules:
        module = {
            "name": m.name, "docs": m.docs,
            "imports": [{"name": i.name, "kind": i.kind} for i in m.imports],
            "functions": [function_json(f) for f in m.functions],
        }
        if m.exports:  # functions the guest implements (`(@w2w guest_export)`)
            module["exports"] = [function_json(f) for f in m.exports]
        modules.append(module)
    constants = [
        {"type": c.type_name, "name": c.name, "value": c.value, "docs": c.docs}
        for c in doc.constants
    ]
    return {"typenames": typenames, "constants": constants, "modules": modules}
