"""The backport on real interfaces: every WASI 0.2.12 package, and the WASI 0.3 drafts.

The reference for "which functions exist" is the real `wasm-tools` (its resolved JSON),
not our own resolver, so a function the front end or the lowering drops is noticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

import wit2witx
from conftest import ROOT, run_wasm_tools
from wasi import wasi_package_with_deps
from wit2witx.diagnostics import UnsupportedError
from wit2witx.emit import witx as witx_emit
from wit2witx.emit.witx import print_unit
from wit2witx.p1 import abi, model
from wit2witx.p1.lower import Lowered, lower
from wit2witx.p1.unit import Unit
from wit2witx.witx.reader import read_witx

P2_PACKAGES = ("cli", "clocks", "filesystem", "http", "io", "random", "sockets")
P3_PACKAGES = ("cli", "clocks", "filesystem", "http", "random", "sockets")
# wasi:random 0.3 has no async function, stream or future: it lowers as it is.
P3_UNSUPPORTED = ("cli", "clocks", "filesystem", "http", "sockets")
CORE_TYPES = {"i32", "i64", "f32", "f64"}
ABI_DOC = ROOT / "README.md"  # its ABI section shows three real functions


# --- helpers ------------------------------------------------------------------------------


def write_units(units: list[Unit], folder: Path) -> None:
    for unit in units:
        (folder / f"{unit.name}.witx").write_text(print_unit(unit), encoding="utf-8")


def wasm_tools_json(root: Path) -> dict:
    proc = run_wasm_tools("component", "wit", "--json", "--all-features", str(root))
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def snake(name: str) -> str:
    return name.lstrip("%").replace("-", "_")


def reference_functions(doc: dict) -> dict[str, set[str]]:
    """Qualified interface name → the P1 function names the ABI promises, from wasm-tools."""
    out: dict[str, set[str]] = {}
    for iface_id, iface in enumerate(doc["interfaces"]):
        if iface.get("name") is None:
            continue
        pkg = doc["packages"][iface["package"]]["name"]
        base, _, version = pkg.partition("@")
        qualified = f"{base}/{iface['name']}" + (f"@{version}" if version else "")
        names = {p1_function_name(f) for f in iface["functions"].values()}
        for tid in iface["types"].values():
            t = doc["types"][tid]
            if t["kind"] == "resource" and t.get("owner") == {"interface": iface_id}:
                names.add(f"{snake(t['name'])}_drop")
        out[qualified] = names
    return out


def p1_function_name(func: dict) -> str:
    name = func["name"]
    m = re.fullmatch(r"\[(\w+(?:-\w+)?)\]([^.]+)(?:\.(.+))?", name)
    if m is None:
        return snake(name)
    kind, resource, item = m.groups()
    return f"{snake(resource)}_new" if kind == "constructor" else f"{snake(resource)}_{snake(item)}"


def holds_list(tref: model.TypeRef | None) -> bool:
    if tref is None:
        return False
    ty = model.resolve(tref)
    if isinstance(ty, (model.String, model.List)):
        return True
    fields = model.canonical_fields(ty)
    if fields is not None:
        return any(holds_list(f.type) for f in fields)
    cases = model.canonical_variant_cases(ty)
    return cases is not None and any(holds_list(c.type) for c in cases)


def lowered_package(tmp_path_factory, release: str, package: str, **options) -> tuple[Lowered, dict]:
    root = wasi_package_with_deps(tmp_path_factory.mktemp(package), package, release)
    resolve = wit2witx.load([root], all_features=True)
    return lower(resolve, **options), wasm_tools_json(root)


@pytest.fixture(scope="module")
def p2(tmp_path_factory) -> dict[str, tuple[Lowered, dict]]:
    return {pkg: lowered_package(tmp_path_factory, "wasi-p2", pkg) for pkg in P2_PACKAGES}


# --- WASI 0.2.12 ---------------------------------------------------------------------------


@pytest.mark.parametrize("package", P2_PACKAGES)
def test_no_function_is_left_out(p2, package):
    lowered, doc = p2[package]
    expected = reference_functions(doc)
    main = f"wasi:{package}/"
    assert any(u.origin.startswith(main) for u in lowered.units)
    wit_count = p1_count = 0
    for unit in lowered.units:
        assert unit.origin in expected, unit.origin
        got = [f.name for f in unit.module.functions]
        assert len(got) == len(set(got)), unit.name
        assert set(got) == expected[unit.origin], unit.origin
        wit_count += len(expected[unit.origin])
        p1_count += len(got)
    for origin in expected:  # every interface of the main package has a unit
        if origin.startswith(main):
            assert origin in {u.origin for u in lowered.units}
    assert lowered.warnings == []
    print(f"{package}: {len(lowered.units)} modules, {wit_count} WIT functions "
          f"(incl. drops) -> {p1_count} P1 functions")


@pytest.mark.parametrize("package", P2_PACKAGES)
def test_core_signatures_are_plain_numbers_and_one_status(p2, package):
    lowered, _ = p2[package]
    for unit in lowered.units:
        for func in unit.module.functions:
            sig = abi.core_signature(func)
            assert set(sig.param_types + sig.result_types) <= CORE_TYPES, func.name
            assert sig.result_types == ["i32"], func.name
            assert sig.results[0].role is abi.Role.STATUS, func.name


@pytest.mark.parametrize("package", P2_PACKAGES)
def test_no_function_needs_a_guest_allocator(p2, package):
    """Every string/list the host returns lands in the caller's buffer."""
    lowered, _ = p2[package]
    for unit in lowered.units:
        for func in unit.module.functions:
            params = {p.name: p for p in func.params}
            expected = func.results[0].type
            assert isinstance(expected, model.Expected)
            status = model.resolve(expected.err)
            assert isinstance(status, model.Enum) and status.cases[0].name == "success"
            assert [c.name for c in status.cases[-4:]] == [
                "buffer_too_small", "bad_handle", "bad_pointer", "bad_value"]
            payload = params.get("error_payload")
            if payload is not None:
                assert func.params[-1] is payload, func.name
                assert isinstance(payload.type, model.Pointer)
            needs_buffer = holds_list(expected.ok) or (
                payload is not None and holds_list(payload.type.pointee))
            has_buffer = {"buf", "buf_len", "buf_used"} <= params.keys()
            assert needs_buffer == has_buffer, func.name
            if has_buffer:
                assert model.resolve(params["buf"].type) == model.Pointer(model.Builtin("u8"))
                assert params["buf_len"].type == model.Builtin("usize")
                assert params["buf_used"].type == model.Pointer(model.Builtin("usize"))
            for p in func.params:  # inputs are read-only: no list/string passed by value
                assert not isinstance(model.resolve(p.type), (model.String, model.List)), func.name


@pytest.mark.parametrize("package", P2_PACKAGES)
def test_witx_reads_back_equal(p2, package, tmp_path):
    lowered, _ = p2[package]
    write_units(lowered.units, tmp_path)
    for unit in lowered.units:
        document = read_witx(tmp_path / f"{unit.name}.witx")
        assert document == unit.document, unit.name
        assert [d.name for d in document.definitions] == [d.name for d in unit.document.definitions]


def test_units_come_dependencies_first(p2):
    for lowered, _ in p2.values():
        seen: set[str] = set()
        for unit in lowered.units:
            assert set(unit.uses) <= seen, unit.name
            seen.add(unit.name)
        assert len(seen) == len(lowered.units)


class WitxSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "witx"


@pytest.mark.parametrize(("package", "module"), [
    ("sockets", "wasi_sockets_tcp"), ("io", "wasi_io_streams"), ("http", "wasi_http_types"),
])
def test_witx_snapshot(p2, package, module, snapshot):
    unit = next(u for u in p2[package][0].units if u.name == module)
    assert snapshot.use_extension(WitxSnapshot) == print_unit(unit)


# --- the README shows what the lowering produces now ------------------------------------------

DOC_EXAMPLES = {
    "tcp_socket_start_connect": ("sockets", "wasi_sockets_tcp"),
    "input_stream_read": ("io", "wasi_io_streams"),
    "fields_entries": ("http", "wasi_http_types"),
}


def function_snippet(unit: Unit, function: str) -> str:
    """The WITX of one function (docs left out) and the result typenames made for it."""
    text = witx_emit.print_witx([d for d in unit.own if isinstance(d, model.TypeName)
                                 and d.name.startswith(f"{function}_result")])
    module = witx_emit.print_witx(unit.module)
    lines = module.split("\n")
    start = lines.index(f'  (@interface func (export "{function}")')
    end = lines.index("  )", start)
    func = "\n".join(line[2:] for line in lines[start:end + 1])
    return (text.strip() + "\n\n" + func).strip() + "\n"


def abi_doc_snippets() -> dict[str, str]:
    text = ABI_DOC.read_text(encoding="utf-8")
    found = re.findall(r"<!-- lowered: (\w+) -->\n```witx\n(.*?)```", text, re.S)
    return dict(found)


def test_abi_doc_examples_are_current(p2):
    snippets = abi_doc_snippets()
    assert set(snippets) == set(DOC_EXAMPLES)
    for function, (package, module) in DOC_EXAMPLES.items():
        unit = next(u for u in p2[package][0].units if u.name == module)
        assert snippets[function] == function_snippet(unit, function), function


# --- WASI 0.3 ---------------------------------------------------------------------------------


def unsupported_functions(doc: dict) -> dict[str, set[str]]:
    """Per interface, the P1 names of functions WASI 0.3 constructs make unsupported."""
    memo: dict[int, bool] = {}

    def bad(ref) -> bool:
        if isinstance(ref, str):
            return ref == "error-context"
        if ref in memo:
            return memo[ref]
        memo[ref] = False
        kind = doc["types"][ref]["kind"]
        result = False
        if isinstance(kind, dict):
            (tag, value), = kind.items()
            if tag in ("stream", "future"):
                result = True
            else:
                result = any(bad(r) for r in _refs(tag, value))
        memo[ref] = result
        return result

    out: dict[str, set[str]] = {}
    for iface in doc["interfaces"]:
        if iface.get("name") is None:
            continue
        pkg = doc["packages"][iface["package"]]["name"]
        base, _, version = pkg.partition("@")
        qualified = f"{base}/{iface['name']}@{version}"
        names = set()
        for f in iface["functions"].values():
            kind = f["kind"] if isinstance(f["kind"], str) else next(iter(f["kind"]))
            refs = [p["type"] for p in f["params"]] + ([f["result"]] if "result" in f else [])
            if kind.startswith("async") or any(bad(r) for r in refs):
                names.add(p1_function_name(f))
        out[qualified] = names
    return out


def _refs(tag: str, value) -> list:
    if tag == "record":
        return [f["type"] for f in value["fields"]]
    if tag == "variant":
        return [c["type"] for c in value["cases"] if c.get("type") is not None]
    if tag == "tuple":
        return value["types"]
    if tag in ("option", "list", "type"):
        return [value]
    if tag == "result":
        return [value[k] for k in ("ok", "err") if value.get(k) is not None]
    if tag == "handle":
        return []
    if tag in ("fixed-size-list", "fixed-length-list", "map"):
        return [v for v in (value.values() if isinstance(value, dict) else value)
                if isinstance(v, (int, str))]
    return []


@pytest.mark.parametrize("package", P3_UNSUPPORTED)
def test_wasi_p3_is_unsupported_with_spans(package, tmp_path):
    root = wasi_package_with_deps(tmp_path, package, "wasi-p3")
    resolve = wit2witx.load([root], all_features=True)
    with pytest.raises(UnsupportedError) as info:
        lower(resolve)
    diags = info.value.diagnostics
    assert diags and all(d.severity == "error" and d.span is not None for d in diags)
    assert all("WASI 0.3" in d.message for d in diags)
    for d in diags:
        assert d.span.path.endswith(".wit") and d.span.line >= 1
        assert "`" in d.message  # names the function or type


@pytest.mark.parametrize("package", P3_PACKAGES)
def test_wasi_p3_lowers_the_rest_with_skip_unsupported(package, tmp_path):
    root = wasi_package_with_deps(tmp_path, package, "wasi-p3")
    lowered = lower(wit2witx.load([root], all_features=True), skip_unsupported=True)
    doc = wasm_tools_json(root)
    expected = reference_functions(doc)
    unsupported = unsupported_functions(doc)
    if package in P3_UNSUPPORTED:
        assert any(d.severity == "warning" for d in lowered.warnings)
    else:
        assert lowered.warnings == []
        assert lower(wit2witx.load([root], all_features=True)).units  # no option needed
    assert all(d.severity == "warning" and d.span is not None for d in lowered.warnings)
    left_out = 0
    for unit in lowered.units:
        got = {f.name for f in unit.module.functions}
        assert got == expected[unit.origin] - unsupported[unit.origin], unit.origin
        left_out += len(expected[unit.origin] & unsupported[unit.origin])
    out = tmp_path / "out"
    out.mkdir()
    write_units(lowered.units, out)
    for unit in lowered.units:
        assert read_witx(out / f"{unit.name}.witx") == unit.document
    print(f"wasi-p3 {package}: {len(lowered.units)} modules, {left_out} functions left out, "
          f"{len(lowered.warnings)} warnings")
