"""Core wasm signatures (p1.abi) and the witx crate's own `.witxt` test directives.

The `.witxt` runner understands the directives of witx's test suite:
  (witx $name? decl... | (load "file"...))   the document must read (and round-trip)
  (assert_invalid (witx ...) "message")      reading must fail with that message
  (assert_abi (witx ...) (wasm (param ...) (result ...)) (call_wasm ...) ...)
                                             our core signature must equal `wasm`, and
                                             the `call_wasm` instruction stream rebuilt
                                             from our param/result roles must match
  (assert_representable eq|noteq|superset $doc "type" $doc "type")
Directives whose `(load ...)` files do not exist (wasi.witxt points at old paths) are
skipped and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import CORPUS, corpus_path, ziglang_api_h
from wit2witx.diagnostics import SourceFile, WitxError
from wit2witx.emit.witx import print_witx
from wit2witx.p1 import abi
from wit2witx.p1.model import Document, representable, resolve
from wit2witx.witx.reader import DocumentBuilder, read_witx, read_witx_files, read_witx_text
from wit2witx.witx.sexpr import Atom, SList, parse_sexprs

WITXT_FILES = sorted(p.name for p in (CORPUS / "witx-tests").glob("*.witxt")) or ["abi.witxt"]


class MissingFiles(Exception):
    pass


@dataclass
class Tally:
    passed: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def ok(self, kind: str) -> None:
        self.passed[kind] = self.passed.get(kind, 0) + 1


def _document(witx: SList, base: Path) -> Document:
    """The document a `(witx $id? ...)` form describes."""
    items = witx.items[1:]
    if items and isinstance(items[0], Atom) and items[0].is_id:
        items = items[1:]
    if len(items) == 1 and isinstance(items[0], SList) and items[0].head == "load":
        paths = [base / a.text for a in items[0].items[1:]]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise MissingFiles(", ".join(missing))
        return read_witx_files(paths)
    builder = DocumentBuilder()
    builder.add_items(items, str(base))
    return builder.document()


def _doc_id(witx: SList) -> str | None:
    if len(witx.items) > 1 and isinstance(witx.items[1], Atom) and witx.items[1].is_id:
        return witx.items[1].text
    return None


def _wasm_types(wasm: SList) -> tuple[list[str], list[str]]:
    params: list[str] = []
    results: list[str] = []
    for part in wasm.items[1:]:
        assert isinstance(part, SList)
        target = params if part.head == "param" else results
        target.extend(a.text for a in part.items[1:])
    return params, results


_FLOAT_IF = {"f32": "if32", "f64": "if64"}


def _lower_instr(p: abi.CoreParam) -> str | None:
    """witx's lowering instruction for one core param, derived from its role and type."""
    role, wasm = p.role, p.wasm_type.value
    if role is abi.Role.VALUE:
        name = resolve(p.type).name
        return f"{wasm}.from_{_FLOAT_IF.get(name, name)}"
    return {
        abi.Role.POINTER: "i32.from_pointer", abi.Role.CONST_POINTER: "i32.from_const_pointer",
        abi.Role.HANDLE: "i32.from_handle", abi.Role.FLAGS: f"{wasm}.from_bitflags",
        abi.Role.ENUM: "enum.lower", abi.Role.BY_REF: "addr-of",
        abi.Role.LIST_PTR: "list.pointer_length", abi.Role.LIST_LEN: None,
    }[role]


def _lift_instrs(r: abi.CoreResult, outs: list[abi.CoreParam]) -> list[str]:
    role, wasm = r.role, r.wasm_type.value
    if role is abi.Role.VALUE:
        name = resolve(r.type).name
        return [f"{_FLOAT_IF.get(name, name)}.from_{wasm}"]
    if role is not abi.Role.STATUS:
        return [{
            abi.Role.POINTER: "pointer.from_i32", abi.Role.CONST_POINTER: "const_pointer.from_i32",
            abi.Role.HANDLE: "handle.from_i32", abi.Role.FLAGS: f"bitflags.from_{wasm}",
        }[role]]
    # expected: an ok block loading every out-pointer, an err block lifting the status.
    ok = ["block.push"]
    for n, _ in enumerate(outs):
        ok += [f"return_pointer.get{n}", "load"]
    if outs and resolve(resolve(r.type).ok).kind == "tuple":
        ok.append("tuple.lift")
    err_type = resolve(r.type).err
    err = ["block.push"] + (["reuse_return", "enum.lift"] if err_type is not None else [])
    return ok + ["block.finish"] + err + ["block.finish", "result.lift"]


def _call_wasm_instructions(func, sig: abi.CoreSignature) -> list[str]:
    """The instruction stream witx's `call_wasm` emits, rebuilt from our CoreSignature."""
    out: list[str] = []
    arg = 0
    for p in sig.params:
        if p.role is abi.Role.OUT_PTR:
            continue
        instr = _lower_instr(p)
        if instr is not None:
            out += [f"get-arg{arg}", instr]
            arg += 1
    outs = sig.out_params
    for n, _ in enumerate(outs):
        out += ["allocate-space", f"return_pointer.get{n}"]
    out.append("call.wasm")
    for r in sig.results:
        out += _lift_instrs(r, outs)
    return out + ["return"]


def _run_directive(d: SList, base: Path, docs: dict[str, Document], tally: Tally) -> None:
    where = f"{d.span.path}:{d.span.line}"
    head = d.head
    if head == "witx":
        doc = _document(d, base)
        # Like witx's own runner: every valid document must survive print → read.
        again = read_witx_text(print_witx(doc), str(base / "roundtrip.witx"))
        if again != doc:
            tally.failures.append(f"{where}: print → read changed the document")
            return
        if (name := _doc_id(d)) is not None:
            docs[name] = doc
        tally.ok("witx")
    elif head == "assert_invalid":
        witx, message = d.items[1], d.items[2]
        assert isinstance(witx, SList) and isinstance(message, Atom)
        try:
            _document(witx, base)
        except WitxError as exc:
            diag = exc.diagnostic
            if message.text not in diag.message:
                tally.failures.append(f"{where}: expected {message.text!r}, got {diag.message!r}")
            elif diag.span is None or diag.span.line < 1:
                tally.failures.append(f"{where}: error without a location")
            else:
                tally.ok("assert_invalid")
            return
        tally.failures.append(f"{where}: accepted, expected {message.text!r}")
    elif head == "assert_abi":
        witx, wasm = d.items[1], d.items[2]
        assert isinstance(witx, SList) and isinstance(wasm, SList)
        doc = _document(witx, base)
        func = doc.modules[0].functions[0]
        sig = abi.core_signature(func)
        want = _wasm_types(wasm)
        got = (sig.param_types, sig.result_types)
        call_wasm = next(x for x in d.items if isinstance(x, SList) and x.head == "call_wasm")
        want_instrs = [a.text for a in call_wasm.items[1:]]
        got_instrs = _call_wasm_instructions(func, sig)
        if got != want:
            tally.failures.append(f"{where}: {func.name}: expected {want}, got {got}")
        elif got_instrs != want_instrs:
            tally.failures.append(f"{where}: call_wasm: expected {want_instrs}, got {got_instrs}")
        else:
            tally.ok("assert_abi")
    elif head == "assert_representable":
        rep, d1, t1, d2, t2 = (a.text for a in d.items[1:6])  # type: ignore[union-attr]
        a = docs[d1].typename(t1)
        b = docs[d2].typename(t2)
        assert a is not None and b is not None, where
        got = representable(a.type, b.type)
        if got != rep:
            tally.failures.append(f"{where}: expected {rep}, got {got}")
        else:
            tally.ok("assert_representable")
    else:
        tally.failures.append(f"{where}: unknown directive {head}")


@pytest.mark.parametrize("name", WITXT_FILES)
def test_witxt_directives(name: str) -> None:
    path = corpus_path("witx-tests", name)
    src = SourceFile(str(path), path.read_text(encoding="utf-8"))
    tally = Tally()
    docs: dict[str, Document] = {}
    directives = parse_sexprs(src)
    for d in directives:
        assert isinstance(d, SList)
        try:
            _run_directive(d, path.parent, docs, tally)
        except MissingFiles as exc:
            tally.skipped.append(f"{d.span.path}:{d.span.line}: missing {exc}")
    print(f"{name}: passed {tally.passed}, skipped {len(tally.skipped)}")
    for s in tally.skipped:
        print("  skipped (file not in corpus):", s)
    assert not tally.failures, "\n".join(tally.failures)
    # Only wasi.witxt may skip, and only because its paths are gone (corpus README).
    if name != "wasi.witxt":
        assert not tally.skipped
        assert sum(tally.passed.values()) == len(directives)
    else:
        assert len(tally.skipped) + sum(tally.passed.values()) == len(directives)


def test_all_assert_abi_cases_pass() -> None:
    """The headline figure: every `assert_abi` case in abi.witxt matches."""
    path = corpus_path("witx-tests", "abi.witxt")
    src = SourceFile(str(path), path.read_text(encoding="utf-8"))
    cases = [d for d in parse_sexprs(src) if isinstance(d, SList) and d.head == "assert_abi"]
    tally = Tally()
    for d in cases:
        _run_directive(d, path.parent, {}, tally)
    print(f"assert_abi: {tally.passed.get('assert_abi', 0)}/{len(cases)} match")
    assert len(cases) >= 40
    assert tally.passed.get("assert_abi", 0) == len(cases), tally.failures


# --- core signatures of wasi_snapshot_preview1 against wasi/api.h's prototypes ----------

_PROTO = re.compile(r"^(?:__wasi_errno_t|_Noreturn void|int32_t) __wasi_(\w+)\(\n(.*?)\n\)", re.M | re.S)
_C_PARAM = re.compile(r"^\s*(.*?)\b(\w+),?$")


def _api_h_prototypes() -> dict[str, list[tuple[str, str]]]:
    text = ziglang_api_h().read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in _PROTO.finditer(text):
        params = []
        for line in m.group(2).split("\n"):
            if line.strip() and line.strip() != "void":
                pm = _C_PARAM.match(line)
                assert pm, line
                params.append((pm.group(1).strip(), pm.group(2)))
        out[m.group(1)] = params
    return out


@pytest.fixture(scope="module")
def preview1() -> Document:
    return read_witx(corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx"))


def test_core_params_match_api_h_prototypes(preview1: Document) -> None:
    """Every P1 function's core params line up with the C prototype in wasi/api.h.

    api.h passes `string` params as a NUL-terminated `const char *` (it calls strlen
    itself), so the core `_len` of a string param has no C counterpart.
    """
    protos = _api_h_prototypes()
    module = preview1.modules[0]
    checked = 0
    # wasi-libc dropped `proc_raise` from its header; `thread_spawn` is not in P1.
    assert {f.name for f in module.functions} - set(protos) == {"proc_raise"}
    assert set(protos) - {f.name for f in module.functions} == {"thread_spawn"}
    for func in module.functions:
        c_params = protos.get(func.name)
        if c_params is None:
            continue
        sig = abi.core_signature(func)
        ours = [p for p in sig.params
                if not (p.role is abi.Role.LIST_LEN and p.type.kind == "string")]
        assert [p.name for p in ours] == [n for _, n in c_params], func.name
        for p, (ctype, _) in zip(ours, c_params):
            if p.role in (abi.Role.OUT_PTR, abi.Role.POINTER, abi.Role.CONST_POINTER, abi.Role.LIST_PTR):
                assert "*" in ctype, (func.name, p.name, ctype)
            else:
                assert "*" not in ctype, (func.name, p.name, ctype)
            if p.role is abi.Role.CONST_POINTER or (p.role is abi.Role.LIST_PTR):
                assert ctype.startswith("const "), (func.name, p.name, ctype)
        checked += 1
    print(f"core signatures matching api.h prototypes: {checked}")
    assert checked == len(module.functions) - 1 == len(protos) - 1


def test_roles_of_fd_read(preview1: Document) -> None:
    func = preview1.modules[0].function("fd_read")
    sig = abi.core_signature(func)
    assert [(p.name, p.wasm_type.value, p.role.value) for p in sig.params] == [
        ("fd", "i32", "handle"),
        ("iovs", "i32", "list_ptr"),
        ("iovs_len", "i32", "list_len"),
        ("retptr0", "i32", "out_ptr"),
    ]
    assert [(r.wasm_type.value, r.role.value) for r in sig.results] == [("i32", "status")]
    assert sig.to_wat() == "(param i32 i32 i32 i32) (result i32)"
    out = sig.out_params[0]
    assert out.source == "error" and out.type.name == "size"


def test_roles_of_scalars_flags_and_tuples(preview1: Document) -> None:
    m = preview1.modules[0]
    seek = abi.core_signature(m.function("fd_seek"))
    assert [(p.name, p.wasm_type.value, p.role.value) for p in seek.params] == [
        ("fd", "i32", "handle"), ("offset", "i64", "value"),
        ("whence", "i32", "enum"), ("retptr0", "i32", "out_ptr"),
    ]
    sizes = abi.core_signature(m.function("args_sizes_get"))
    assert [p.name for p in sizes.out_params] == ["retptr0", "retptr1"]
    rights = abi.core_signature(m.function("fd_fdstat_set_rights"))
    assert [p.wasm_type.value for p in rights.params] == ["i32", "i64", "i64"]
    assert [p.role.value for p in rights.params] == ["handle", "flags", "flags"]
    exit_ = m.function("proc_exit")
    assert exit_.noreturn and abi.core_signature(exit_).results == ()


def test_invalid_results_are_rejected_with_location() -> None:
    text = '(typename $r (record (field $x u8)))\n(module $m (@interface func (export "f") (result $p $r)))\n'
    with pytest.raises(WitxError) as info:
        read_witx_text(text, "bad.witx")
    diag = info.value.diagnostic
    assert diag.message == "ABI error: invalid return type"
    assert (diag.span.line, diag.span.col) == (2, 37)
    two = '(module $m (@interface func (export "f") (result $a u8) (result $b u8)))'
    with pytest.raises(WitxError, match="more than one result"):
        read_witx_text(two)


def test_signature_json_is_plain_data(preview1: Document) -> None:
    sig = abi.core_signature(preview1.modules[0].function("path_open"))
    data = sig.to_json()
    assert data["results"] == [{"name": "error", "type": "i32", "role": "status", "source": "error"}]
    assert [p["name"] for p in data["params"]][-1] == "retptr0"
    names = [p["name"] for p in data["params"]]
    assert len(names) == len(set(names))
    assert {p["role"] for p in data["params"]} >= {"handle", "flags", "list_ptr", "list_len", "out_ptr"}
