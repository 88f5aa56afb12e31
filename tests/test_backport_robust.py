"""Issue 12 items 1, 2 and 9 (front end and lowering): what the backport must not refuse
or get wrong.

- JSON needs no backport: `--emit json` resolves every package wasm-tools accepts (WASI
  0.2 and 0.3 alike) to wasm-tools' own JSON, without `--skip-unsupported` and without
  a warning; with P1 back ends, `--skip-unsupported` warns of exactly the items missing
  from the P1 model, and of every interface it leaves without functions.
- Errno-style error types: an error enum (or payload-less variant) whose case 0 is
  `success` is its own status; a case named like a glue status makes the glue status
  give way (`glue_` prefix). Checked as a property over generated error types (lowered
  model, host-c's glue tables, host-py's run-time lookup) and end to end: the guest
  header compiles with zig, the host C with gcc, and a real guest calling the host-py
  glue in wasmtime gets E's own values and the renamed glue statuses.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, corpus_path, import_from, run_wasm_tools, zig_cc

import wit2witx
from wit2witx.compiler import Options, build_program
from wit2witx.diagnostics import ResolveError, UnsupportedError, UsageError
from wit2witx.emit import host_c
from wit2witx.hosts import runtime
from wit2witx.p1 import model
from wit2witx.p1.lower import lower
from wit2witx.p1.names import (
    GLUE_CLASH_PREFIX, GLUE_STATUSES, SUCCESS, drop_function_name, glue_status_positions,
    resource_function_name, snake,
)

ALL_BACKENDS = ("witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs", "json")
P1_BACKENDS = tuple(b for b in ALL_BACKENDS if b != "json")


def _wasi_packages(*gens: str) -> list[tuple[str, str]]:
    out = []
    for gen in gens or ("wasi-p2", "wasi-p3"):
        root = CORPUS / gen
        if root.exists():
            out.extend((gen, p.name) for p in sorted(root.iterdir()) if p.is_dir())
        else:
            out.append((gen, "missing"))  # corpus_path() then fails (CI) or skips
    return out


def _package_with_deps(tmp_path: Path, gen: str, name: str) -> Path:
    """One WASI package with every sibling package of its generation in deps/ (as
    tests/test_wit_conformance.py builds them)."""
    root = corpus_path(gen)
    pkg = tmp_path / name
    shutil.copytree(corpus_path(gen, name), pkg)
    (pkg / "deps").mkdir(exist_ok=True)
    for other in sorted(root.iterdir()):
        if other.is_dir() and other.name != name:
            shutil.copytree(other, pkg / "deps" / other.name)
    return pkg


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wit2witx", *args],
                          capture_output=True, text=True)


# --- item 1: JSON needs no backport ----------------------------------------------------------


@pytest.mark.parametrize("gen,name", _wasi_packages())
def test_json_of_every_wasi_package_is_wasm_tools_json(tmp_path, gen, name):
    pkg = _package_with_deps(tmp_path, gen, name)
    ref = run_wasm_tools("component", "wit", "--json", str(pkg))
    assert ref.returncode == 0, ref.stderr.decode()
    for skip in (False, True):
        artifacts = wit2witx.compile(str(pkg), emit="json", skip_unsupported=skip)
        assert list(artifacts) == ["resolve.json"]
        assert json.loads(artifacts["resolve.json"]) == json.loads(ref.stdout)
        assert artifacts.warnings == [] and artifacts.emptied == []


def test_json_cli_on_wasi_03_needs_no_flag_and_warns_nothing(tmp_path):
    pkg = _package_with_deps(tmp_path, "wasi-p3", "sockets")
    out = tmp_path / "out"
    for extra in ([], ["--skip-unsupported"]):
        proc = _cli(str(pkg), "--emit", "json", "-o", str(out), *extra)
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr and "left" not in proc.stderr
    # a P1 back end in the same run still needs the backport, and refuses WASI 0.3
    proc = _cli(str(pkg), "--emit", "json,witx", "-o", str(tmp_path / "out2"))
    assert proc.returncode == 1 and "async func" in proc.stderr
    assert not (tmp_path / "out2").exists()


def test_json_only_runs_still_check_world_and_module_names(tmp_path):
    pkg = _package_with_deps(tmp_path, "wasi-p3", "random")
    with pytest.raises(ResolveError, match="world `nope` not found"):
        wit2witx.compile(str(pkg), emit="json", world="nope")
    with pytest.raises(UsageError, match="not an identifier"):
        wit2witx.compile(str(pkg), emit="json", module_names={"wasi:random/random": "a-b"})
    assert list(wit2witx.compile(str(pkg), emit="json", world="imports")) == ["resolve.json"]


_LEFT_OUT = re.compile(r"left out (function|type) `([^`]+)` of `([^`]+)`")


@pytest.mark.parametrize("gen,name", _wasi_packages("wasi-p3"))
def test_skip_unsupported_warns_of_exactly_what_the_p1_model_lacks(tmp_path, gen, name):
    """Every function and type of the input is either in its unit or warned of, never
    both; an interface with none of its functions left gets its own warning."""
    pkg = _package_with_deps(tmp_path, gen, name)
    resolve = wit2witx.load([pkg])
    lowered = lower(resolve, skip_unsupported=True)
    warned = set()
    emptied_warned = set()
    for w in lowered.warnings:
        assert w.severity == "warning" and w.span is not None
        hit = _LEFT_OUT.search(w.message)
        if hit:
            warned.add((hit.group(3), hit.group(1), hit.group(2)))
        elif "has no function left" in w.message:
            emptied_warned.add(re.search(r"`([^`]+)`", w.message).group(1))
        else:
            raise AssertionError(f"unexpected warning: {w.message}")
    units = {u.origin: u for u in lowered.units}
    missing = set()
    emptied = set()
    for origin, unit in units.items():
        iface = next(i for i in resolve.interfaces
                     if i.name and i.package is not None
                     and resolve.packages[i.package].name.qualify(i.name) == origin)
        present = {f.name for f in unit.module.functions}
        typenames = {d.name for d in unit.own if isinstance(d, model.TypeName)}
        left = 0
        for func in iface.functions.values():
            if func.resource is None:
                p1 = snake(func.name)
            else:
                p1 = resource_function_name(resolve.types[func.resource].name, func.kind,
                                            func.item_name)
            display = (f"{func.name.split(']', 1)[1]}.constructor"
                       if func.name.startswith("[constructor]")
                       else func.name.split("]", 1)[-1])
            if p1 not in present:
                missing.add((origin, "function", display))
                left += 1
        if iface.functions and left == len(iface.functions):
            emptied.add(origin)
        for tname, tid in iface.types.items():
            td = resolve.types[tid]
            target = td.kind.target if isinstance(td.kind, wit2witx.ir.Alias) else None
            if isinstance(target, int) and resolve.types[target].owner != td.owner:
                continue  # a `use`: warned of (if at all) where it is defined
            if not any(t == snake(tname) or t.endswith("_" + snake(tname)) for t in typenames):
                missing.add((origin, "type", tname))
            elif isinstance(td.kind, wit2witx.ir.Resource):
                assert drop_function_name(tname) in present
    assert warned == missing
    assert emptied_warned == emptied == set(lowered.emptied)


def test_summary_line_counts_interfaces_left_without_functions(tmp_path):
    pkg = _package_with_deps(tmp_path, "wasi-p3", "sockets")
    proc = _cli(str(pkg), "--skip-unsupported", "--emit", "witx", "-o", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    emptied = wit2witx.compile(str(pkg), emit="witx", skip_unsupported=True).emptied
    assert emptied, "sockets 0.3 has an interface of async functions only"
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary.startswith("wrote ") and f"; {len(emptied)} interface" in summary
    for origin in emptied:
        assert f"`{origin}` has no function left" in proc.stderr


# --- item 2: errno-style error types ------------------------------------------------------------


def _load_text(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.wit"
        path.write_text(text, encoding="utf-8")
        return wit2witx.load([path])


_CASE_POOL = ("success", "access", "badf", "again", *GLUE_STATUSES,
              *(GLUE_CLASH_PREFIX + g for g in GLUE_STATUSES),
              *(GLUE_CLASH_PREFIX * 2 + g for g in GLUE_STATUSES))


@st.composite
def error_types(draw):
    names = draw(st.lists(st.sampled_from(_CASE_POOL), min_size=1, max_size=9, unique=True))
    kind = draw(st.sampled_from(["enum", "variant", "payload-variant"]))
    payload = draw(st.integers(0, len(names) - 1)) if kind == "payload-variant" else None
    return names, kind, payload


def _error_wit(names: list[str], kind: str, payload: int | None) -> str:
    kebab = [n.replace("_", "-") for n in names]
    if kind == "enum":
        body = f"enum e {{ {', '.join(kebab)} }}"
    else:
        body = "variant e { " + ", ".join(
            f"{n}(string)" if i == payload else n for i, n in enumerate(kebab)) + " }"
    return (f"package t:st;\ninterface i {{\n  {body}\n"
            "  resource r;\n  f: func(x: borrow<r>) -> result<list<u8>, e>;\n}\n")


def _check_status_enum(names: list[str], status_cases: list[str]) -> None:
    errno_style = names[0] == SUCCESS
    head = names if errno_style else [SUCCESS, *names]
    # E itself is the status (no second success), or success then E's cases
    assert status_cases[: len(head)] == head
    assert status_cases.count(SUCCESS) == 1 and status_cases[0] == SUCCESS
    assert len(status_cases) == len(head) + len(GLUE_STATUSES)
    assert len(set(status_cases)) == len(status_cases)
    glue = glue_status_positions(status_cases)
    assert glue is not None
    for status, index in glue.items():
        assert index >= len(head)  # never an error case
        spelled = status_cases[index]
        assert spelled.endswith(status) and set(spelled[: -len(status)].split(
            GLUE_CLASH_PREFIX)) <= {""}
        # renamed exactly when (and only as far as) the plain name is E's
        assert spelled == status or spelled[len(GLUE_CLASH_PREFIX):] in names


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(error_types())
def test_status_enum_of_any_error_type(case):
    """The class of error types: any case names (success, glue names, prefixed glue
    names) in any order, enum or variant. Either refused with a diagnostic (a
    `success` that cannot be the status's 0) or a status enum that keeps E's values,
    has its glue statuses last and distinct, and every back end finds them there."""
    names, kind, payload = case
    text = _error_wit(names, kind, payload)
    resolve = _load_text(text)
    refused = SUCCESS in names and (names[0] != SUCCESS or payload is not None)
    if refused:
        with pytest.raises(UnsupportedError) as info:
            lower(resolve)
        assert "success" in info.value.diagnostic.message
        return
    lowered = lower(resolve)
    unit = lowered.units[0]
    status = unit.document.typename("e_status")
    status_cases = [c.name for c in status.type.cases]
    _check_status_enum(names, status_cases)
    f = unit.module.function("f")
    assert f.results[0].type.err.name == "e_status"
    too_small = status_cases[glue_status_positions(status_cases)["buffer_too_small"]]
    assert f"`{too_small}`" in next(p for p in f.params if p.name == "buf_used").docs
    # the same again: deterministic
    assert [c.name for c in lower(_load_text(text)).units[0].document.typename(
        "e_status").type.cases] == status_cases
    # host-py's run-time lookup and host-c's glue tables take the glue statuses
    glue = glue_status_positions(status_cases)
    for fault in ("bad_pointer", "bad_handle", "bad_value", "buffer_too_small"):
        assert runtime._status_of(tuple(status_cases), fault) == glue[fault]
    program = build_program([str(_write(text))], Options(emit=("host-c",)))
    tables = {t[0]: t for hu in host_c.build_units(program) for t in hu.glue_tables}
    table = next(t for name, t in tables.items() if name.endswith("glue_e_status"))
    assert table[2] == ["0", *(str(glue[g]) for g in GLUE_STATUSES)]


def _write(text: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="w2w-errno-"))
    path = folder / "e.wit"
    path.write_text(text, encoding="utf-8")
    return path


ERRNO_WIT = """package test:errno@0.1.0;

interface fs {
  /// P1's convention: case 0 is success, the other cases are failures.
  enum errno { success, access, badf, bad-handle, buffer-too-small, glue-bad-value }
  /// A payload-less variant in the same style, with a case a glue status has too.
  variant code { success, nope, bad-pointer }

  resource file {
    read: func(n: u32) -> result<list<u8>, errno>;
  }
  open: func(path: string) -> result<file, errno>;
  stat: func(fd: u32) -> result<u64, code>;
}
"""


@pytest.fixture(scope="module")
def errno_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("errno")
    (folder / "fs.wit").write_text(ERRNO_WIT, encoding="utf-8")
    artifacts = wit2witx.compile(str(folder / "fs.wit"), emit=ALL_BACKENDS)
    assert artifacts.warnings == []
    out = folder / "out"
    wit2witx.write(artifacts, out)
    return out, artifacts


def test_errno_style_guest_header_compiles(errno_out):
    out, artifacts = errno_out
    header = out / "test_errno_fs.h"
    assert header.exists()
    for cxx, std in ((False, "-std=c11"), (True, "-std=c++17")):
        src = out / ("use.cc" if cxx else "use.c")
        src.write_text(f'#include "{header.name}"\nint main(void) {{ return 0; }}\n')
        proc = zig_cc("--target=wasm32-wasi", std, "-Wall", "-Wextra", "-Werror", "-c",
                      str(src), "-o", str(out / "use.o"), cxx=cxx)
        assert proc.returncode == 0, proc.stderr


def test_errno_style_host_c_compiles(errno_out):
    out, _ = errno_out
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed"
    proc = subprocess.run([gcc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-c",
                           str(out / "test_errno_fs_host.c"), "-I", str(out),
                           "-o", str(out / "host.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def errno_glue(errno_out):
    out, _ = errno_out
    return import_from(out, "test_errno_fs_host")[0]


class _FsImpl:
    def __init__(self, g):
        self.g = g
        self.fail_with = None

    def open(self, path):
        if self.fail_with is not None:
            raise self.g.ErrnoError(self.fail_with)
        return {"path": path}

    def file_read(self, self_, n, *, result_capacity):
        if self.fail_with is not None:
            raise self.g.ErrnoError(self.fail_with)
        return b"x" * n

    def file_drop(self, self_):
        pass

    def stat(self, fd):
        if fd:
            raise self.g.CodeError(self.g.Code(fd))
        return 7


def _guest(glue, tmp_path):
    import wasmtime  # noqa: PLC0415  (a test dependency: missing it fails, never skips)
    lines = ["(module"]
    for i, spec in enumerate(glue.SPECS):
        ps, rs = " ".join(spec.core_params), " ".join(spec.core_results)
        lines.append(f'  (import "{spec.module}" "{spec.name}" (func $f{i}'
                     + (f" (param {ps})" if ps else "") + (f" (result {rs})" if rs else "") + "))")
    lines.append('  (memory (export "memory") 1)')
    for i, spec in enumerate(glue.SPECS):
        ps, rs = " ".join(spec.core_params), " ".join(spec.core_results)
        gets = " ".join(f"local.get {k}" for k in range(len(spec.core_params)))
        lines.append(f'  (func (export "call_{spec.name}")' + (f" (param {ps})" if ps else "")
                     + (f" (result {rs})" if rs else "") + f" {gets} call $f{i})")
    lines.append(")")
    (tmp_path / "g.wat").write_text("\n".join(lines))
    proc = run_wasm_tools("parse", str(tmp_path / "g.wat"), "-o", str(tmp_path / "g.wasm"))
    assert proc.returncode == 0, proc.stderr.decode()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    impl = _FsImpl(glue)
    glue.add_to_linker(linker, store, impl)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(tmp_path / "g.wasm")))
    exports = instance.exports(store)

    def call(name, *args):
        return exports[f"call_{name}"](store, *args)

    def u32(addr):
        return int.from_bytes(bytes(exports["memory"].read(store, addr, addr + 4)), "little")

    return call, u32, impl


def test_errno_style_statuses_through_wasmtime(errno_glue, tmp_path):
    g = errno_glue
    call, u32, impl = _guest(g, tmp_path)
    errno_cases = [c.name.lower() for c in g.Errno]
    status_cases = [c.name.lower() for c in g.ErrnoStatus]
    _check_status_enum(errno_cases, status_cases)
    glue = glue_status_positions(status_cases)
    # success is 0, and the handle comes back
    assert call("open", 0, 4, 100) == 0
    handle = u32(100)
    # every WIT error is E's own value: E itself is the status
    for value in g.Errno:
        if value == 0:
            continue
        impl.fail_with = value
        assert call("open", 0, 4, 100) == int(value)
    impl.fail_with = None
    # glue statuses: at their own (renamed) cases, never E's case of the same name
    assert call("open", 65536 - 2, 4, 100) == glue["bad_pointer"]
    assert call("file_read", handle + 1000, 4, 200, 64, 300, 304) == glue["bad_handle"]
    assert glue["bad_handle"] != g.Errno.BAD_HANDLE
    assert call("file_read", handle, 8, 200, 4, 300, 304) == glue["buffer_too_small"]
    assert glue["buffer_too_small"] != g.Errno.BUFFER_TOO_SMALL
    assert u32(300) == 8
    assert call("file_read", handle, 8, 200, 64, 300, 304) == 0
    # the payload-less variant: its case `bad-pointer` vs the glue's
    code_cases = [c.name.lower() for c in g.CodeStatus]
    code_glue = glue_status_positions(code_cases)
    assert call("stat", 2, 104) == g.Code.BAD_POINTER == 2  # (104: aligned for the u64)
    assert call("stat", 0, 104) == 0 and u32(104) == 7
    assert call("stat", 0, 65536) == code_glue["bad_pointer"] != 2


def test_errno_style_reads_back_from_witx_and_docs_name_the_statuses(errno_out):
    out, artifacts = errno_out
    from wit2witx.witx.reader import read_witx

    doc = read_witx(str(out / "test_errno_fs.witx"))
    for error, status in (("errno", "errno_status"), ("code", "code_status")):
        names = [c.name for c in model.canonical_variant_cases(
            model.resolve(model.Ref(error, doc.typename(error))))]
        status_cases = [c.name for c in doc.typename(status).type.cases]
        _check_status_enum(names, status_cases)
        assert f"Statuses (`{status}`): " + ", ".join(
            f"{i} `{c}`" for i, c in enumerate(status_cases)) in artifacts["test_errno_fs.md"]


# --- item 9: list arguments given as one string --------------------------------------------


def test_list_arguments_accept_one_string_or_path(tmp_path):
    """`emit`, `features`, `deps` and `paths` given as a single str or PathLike are one
    item (not its characters), and give the same result as a one-item list."""
    folder = tmp_path / "pkg"
    (folder / "deps" / "dep").mkdir(parents=True)
    (folder / "deps" / "dep" / "d.wit").write_text(
        "package t:dep;\ninterface d { type n = u32; }\n")
    (folder / "main.wit").write_text(
        "package t:main;\ninterface i {\n  use t:dep/d.{n};\n"
        "  @unstable(feature = fancy)\n  f: func(x: n) -> n;\n  g: func();\n}\n")
    extra = tmp_path / "extra"
    extra.mkdir()
    listed = wit2witx.compile([str(folder)], emit=["witx"], features=["fancy"],
                              deps=[str(extra)])
    for single in (dict(emit="witx"), dict(features="fancy"), dict(deps=str(extra)),
                   dict(deps=extra)):
        options = dict(emit=["witx"], features=["fancy"], deps=[str(extra)])
        options.update(single)
        assert dict(wit2witx.compile(folder, **options)) == dict(listed)
    assert any("(export \"f\")" in text for text in listed.values())
    with pytest.raises(UsageError, match="unknown --emit kind `w`"):
        wit2witx.compile(folder, emit="w")


# --- item 9: dangling symlinks where wasm-tools reads ---------------------------------------


@pytest.mark.parametrize("where", ["main", "deps", "deps/dep"])
@pytest.mark.parametrize("entry", ["notes", "x.wit", "x.wasm", "x.txt", "loop"])
def test_dangling_symlinks_fail_exactly_where_wasm_tools_fails(tmp_path, where, entry):
    """A symlink that leads nowhere (or to itself), by name and place: the input is
    refused (a diagnostic naming the path) exactly when wasm-tools refuses it."""
    from wit2witx.diagnostics import Wit2WitxError

    pkg = tmp_path / "pkg"
    (pkg / "deps" / "dep").mkdir(parents=True)
    (pkg / "main.wit").write_text("package t:main;\ninterface i { f: func(); }\n")
    (pkg / "deps" / "dep" / "d.wit").write_text("package t:dep;\ninterface d {}\n")
    folder = pkg if where == "main" else pkg / where
    link = folder / entry
    link.symlink_to(link.name if entry == "loop" else tmp_path / "nowhere" / entry)
    ref = run_wasm_tools("component", "wit", str(pkg))
    try:
        wit2witx.compile(str(pkg), emit="json")
        ours_failed = False
    except Wit2WitxError as exc:
        ours_failed = True
        assert exc.diagnostic.severity == "error" and entry in exc.diagnostic.message
    assert ours_failed == (ref.returncode != 0), ref.stderr.decode()


# --- issue 16 item 3: world exports are the guest's (`Module.exports`) ------------------------


def _exported_interfaces(resolve, world) -> list[tuple[str, int]]:
    """(qualified name, id) of each named interface the world exports."""
    out = []
    for key in world.exports:
        if isinstance(key, int):
            iface = resolve.interfaces[key]
            out.append((resolve.packages[iface.package].name.qualify(iface.name), key))
    return out


@pytest.mark.parametrize("gen,name", _wasi_packages("wasi-p2"))
def test_every_world_export_is_the_guests(tmp_path, gen, name):
    """With `--world`, each interface the world exports is a module whose functions
    are all exports (the guest's), each kept or warned of as left out; none is lowered
    as an import any more, and no export is warned of otherwise."""
    pkg = _package_with_deps(tmp_path, gen, name)
    resolve = wit2witx.load([pkg])
    main = resolve.packages[resolve.main_packages[0]]
    for wname, wid in main.worlds.items():
        world = resolve.worlds[wid]
        lowered = lower(resolve, world=wname, skip_unsupported=True)
        assert not any("lowered as P1 imports" in w.message for w in lowered.warnings)
        by_origin = {u.origin.split("@")[0]: u for u in lowered.units}
        for qualified, iid in _exported_interfaces(resolve, world):
            module = by_origin[qualified.split("@")[0]].module
            left_out = [w for w in lowered.warnings if w.message.startswith("left out function")
                        and f"of `{qualified}`" in w.message]
            assert module.functions == [], qualified
            assert len(module.exports) + len(left_out) == len(resolve.interfaces[iid].functions)
        for other in lowered.units:
            if other.origin.split("@")[0] not in {q.split("@")[0] for q, _ in
                                                  _exported_interfaces(resolve, world)}:
                assert other.module is None or other.module.exports == [], other.origin


def test_inline_and_function_exports_are_the_guests(tmp_path):
    path = tmp_path / "w.wit"
    path.write_text("""package t:exp;
interface api { f: func(); }
interface handler { handle: func(x: u32) -> u32; }
world w {
  import api;
  import helper: func();
  export handler;
  export run: func();
  export inline: interface { g: func(); }
  export later: async func();
}
""")
    resolve = wit2witx.load([path])
    for world in (None, "w"):
        lowered = lower(resolve, world=world, skip_unsupported=True)
        units = {u.name: u.module for u in lowered.units}
        assert [f.name for f in units["t_exp_w"].functions] == ["helper"]
        assert [f.name for f in units["t_exp_w"].exports] == ["run"]
        assert [f.name for f in units["t_exp_w_inline"].exports] == ["g"]
        assert units["t_exp_w_inline"].functions == []
        assert [f.name for f in units["t_exp_api"].functions] == ["f"]
        # without --world, `handler` is lowered as one of the package's interfaces
        handler = units["t_exp_handler"]
        exported = world is not None
        assert [f.name for f in (handler.exports if exported else handler.functions)] == ["handle"]
        assert (handler.functions if exported else handler.exports) == []
        # `later` (async) is left out, and warned of as such only
        assert sum("`later`" in w.message for w in lowered.warnings) == 1
        assert not any("lowered as P1 imports" in w.message for w in lowered.warnings)
    # the CLI shows the left-out export with its place, and marks the kept ones
    proc = _cli(str(path), "--emit", "witx", "--skip-unsupported", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0 and f"{path}:10:" in proc.stderr and f"{path}:8:" not in proc.stderr
    assert "(@w2w guest_export)" in (tmp_path / "out" / "t_exp_w.witx").read_text()


def test_json_of_every_valid_wit_parser_case_needs_no_backport():
    """Every valid case of wit-parser's own UI tests (wasm-tools' corpus of odd but legal
    WIT) compiles to JSON equal to wit-parser's expected JSON, without warnings, also
    the ones the P1 lowering refuses (streams, error-context, >64 flags, clashes)."""
    from wit2witx.diagnostics import Wit2WitxError

    root = corpus_path("wit-parser-ui")
    refused_by_p1 = 0
    cases = sorted(root.glob("*.wit.json"))
    assert cases
    for expected_file in cases:
        case = expected_file.name[: -len(".json")]
        path = root / case if (root / case).exists() else root / case[: -len(".wit")]
        try:
            wit2witx.load([path], features=["active"])
        except Wit2WitxError:
            continue  # rejected by today's wasm-tools too (see test_wit_conformance)
        artifacts = wit2witx.compile(path, emit="json", features="active")
        assert artifacts.warnings == [], case
        assert json.loads(artifacts["resolve.json"]) == json.loads(expected_file.read_text()), case
        try:
            wit2witx.compile(path, emit="witx", features="active")
        except Wit2WitxError:
            refused_by_p1 += 1
    print(f"{len(cases)} wit-parser UI cases; JSON for all, {refused_by_p1} refused by P1")
    assert refused_by_p1 > 0  # the class exists in the corpus: JSON must not depend on P1
