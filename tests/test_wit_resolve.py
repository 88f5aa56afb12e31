"""Focused behaviour of the WIT resolver: deps discovery, versions, gates, errors, IR helpers."""

from __future__ import annotations

import gc
import json
import types
from pathlib import Path

import pytest

from conftest import run_wasm_tools
from wit2witx import ir
from wit2witx.diagnostics import InputError, ResolveError, Wit2WitxError
from wit2witx.emit.json import dumps, to_json
from wit2witx.wit.resolve import load


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def error_of(*args, **kwargs) -> Wit2WitxError:
    with pytest.raises(Wit2WitxError) as info:
        load(*args, **kwargs)
    return info.value


def where(exc: Wit2WitxError) -> tuple[int, int]:
    span = exc.diagnostic.span
    assert span is not None, exc.render()
    return span.line, span.col


def iface(resolve: ir.Resolve, qualified: str) -> ir.Interface:
    for i, candidate in enumerate(resolve.interfaces):
        if resolve.interface_qualified_name(i) == qualified:
            return candidate
    raise AssertionError(f"{qualified} not found")


# --- deps discovery ------------------------------------------------------------------------


def test_folder_package_with_folder_and_file_deps(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {
        "a.wit": "package my:app;\ninterface api {\n  use dep:one/types.{t};\n"
                 "  f: func(x: t) -> u32;\n}\n",
        "b.wit": "package my:app;\nworld w {\n  import api;\n  import dep:two/util;\n}\n",
        "deps/one/types.wit": "package dep:one;\ninterface types {\n  type t = string;\n}\n",
        "deps/two.wit": "package dep:two;\ninterface util {\n  use dep:one/types.{t};\n"
                        "  g: func() -> t;\n}\n",
    })
    resolve = load([str(root)])
    names = [str(p.name) for p in resolve.packages]
    # dependencies first; the main package last
    assert names.index("dep:one") < names.index("dep:two") < names.index("my:app")
    assert [str(resolve.packages[p].name) for p in resolve.main_packages] == ["my:app"]
    app = resolve.package_of("my:app")
    assert set(app.interfaces) == {"api"} and set(app.worlds) == {"w"}
    world = resolve.worlds[app.worlds["w"]]
    imported = [resolve.world_key_name(k) for k in world.imports]
    # `dep:one/types` is imported implicitly because `api` and `util` use it
    assert imported == ["dep:one/types", "my:app/api", "dep:two/util"]


def test_nested_packages_in_a_deps_file(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {
        "app.wit": "package my:app;\nworld w {\n  import x:a/i;\n  import x:b/j;\n}\n",
        "deps/bundle.wit": "package x:bundle;\n"
                           "package x:a {\n  interface i { type t = u8; }\n}\n"
                           "package x:b {\n  interface j { use x:a/i.{t}; }\n}\n",
    })
    resolve = load([str(root)])
    assert {"x:a", "x:b", "x:bundle", "my:app"} <= set(resolve.package_names)
    # without its own `package` header the file is rejected, as by wasm-tools
    bundle = root / "deps" / "bundle.wit"
    bundle.write_text(bundle.read_text().replace("package x:bundle;\n", ""))
    assert "no `package` header" in error_of([str(root)]).diagnostic.message
    assert run_wasm_tools("component", "wit", str(root)).returncode != 0


def test_extra_deps_folder(tmp_path: Path) -> None:
    write(tmp_path / "shared", {"lib/lib.wit": "package x:lib;\ninterface l { type t = u8; }\n"})
    app = write(tmp_path / "app", {"app.wit": "package my:app;\ninterface a { use x:lib/l.{t}; }\n"})
    with pytest.raises(ResolveError):
        load([str(app)])
    resolve = load([str(app)], deps=[str(tmp_path / "shared")])
    a = iface(resolve, "my:app/a")
    assert resolve.resolve_alias(a.types["t"]) == "u8"


def test_several_packages_passed_together(tmp_path: Path) -> None:
    write(tmp_path, {
        "b/b.wit": "package x:b;\ninterface j { use x:a/i.{t}; }\n",
        "a/a.wit": "package x:a;\ninterface i { type t = u8; }\n",
    })
    resolve = load([str(tmp_path / "b"), str(tmp_path / "a")])
    assert [str(p.name) for p in resolve.packages] == ["x:a", "x:b"]
    assert len(resolve.main_packages) == 2


def test_missing_dependency_names_package_and_searched_folders(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {
        "app.wit": "package my:app;\ninterface a {\n  use wasi:io/streams@0.2.0.{input-stream};\n}\n",
        "deps/other.wit": "package a:other;\ninterface o {}\n",
    })
    exc = error_of([str(root)])
    assert isinstance(exc, ResolveError)
    text = exc.render()
    assert "package 'wasi:io@0.2.0' not found" in text
    assert "a:other" in text  # the packages known so far are listed
    assert str(root / "deps") in text  # and the folders searched
    assert where(exc) == (3, 7)


def test_package_cycle_and_duplicate(tmp_path: Path) -> None:
    root = write(tmp_path / "c", {
        "root.wit": "package x:root;\nworld w { import x:a/i; }\n",
        "deps/a.wit": "package x:a;\ninterface i { use x:b/j.{t}; }\n",
        "deps/b.wit": "package x:b;\ninterface j { use x:a/i.{u}; type t = u8; }\n",
    })
    exc = error_of([str(root)])
    assert "creates a dependency cycle" in exc.diagnostic.message
    dup = write(tmp_path / "d", {
        "root.wit": "package x:root;\n",
        "deps/one.wit": "package x:same;\n",
        "deps/two.wit": "package x:same;\n",
    })
    exc = error_of([str(dup)])
    assert exc.diagnostic.message == "package `x:same` is defined in two different locations"
    assert where(exc) == (1, 9)


# --- versions ----------------------------------------------------------------------------


def _versions_app(tmp_path: Path, wanted: str) -> Path:
    return write(tmp_path / f"app-{wanted}", {
        "app.wit": f"package my:app;\ninterface a {{\n  use x:v/i@{wanted}.{{t}};\n}}\n",
        "deps/v1/v.wit": "package x:v@1.0.0;\ninterface i { type t = u8; }\n",
        "deps/v2/v.wit": "package x:v@2.0.0;\ninterface i { type t = string; }\n",
    })


@pytest.mark.parametrize("wanted,expected", [("1.0.0", "u8"), ("2.0.0", "string")])
def test_version_selects_the_exact_package(tmp_path: Path, wanted: str, expected: str) -> None:
    resolve = load([str(_versions_app(tmp_path, wanted))])
    a = iface(resolve, "my:app/a")
    assert resolve.resolve_alias(a.types["t"]) == expected
    source = resolve.types[a.types["t"]].kind.target
    assert resolve.interface_qualified_name(resolve.types[source].owner.id) == f"x:v/i@{wanted}"


def test_version_must_match_like_wasm_tools(tmp_path: Path) -> None:
    app = _versions_app(tmp_path, "1.0.1")
    exc = error_of([str(app)])
    assert "package 'x:v@1.0.1' not found" in exc.diagnostic.message
    assert "found other versions: x:v@1.0.0, x:v@2.0.0" in exc.render()
    ref = run_wasm_tools("component", "wit", str(app))
    assert ref.returncode != 0 and b"x:v@1.0.1" in ref.stderr


# --- feature gates -----------------------------------------------------------------------

GATED = """package x:g@1.0.0;

interface i {
  @since(version = 1.0.0)
  @deprecated(version = 1.0.0)
  stable: func();

  @unstable(feature = fancy)
  type extra = u32;

  @unstable(feature = fancy)
  uses-extra: func(e: extra);

  @unstable(feature = other)
  only-other: func();
}
"""


def test_unstable_items_need_their_feature(tmp_path: Path) -> None:
    path = write(tmp_path, {"g.wit": GATED}) / "g.wit"
    plain = iface(load([str(path)]), "x:g/i@1.0.0")
    assert set(plain.functions) == {"stable"} and plain.types == {}
    st = plain.functions["stable"].stability
    assert (st.kind, st.since, st.deprecated) == ("stable", "1.0.0", "1.0.0")

    fancy = iface(load([str(path)], features=["fancy"]), "x:g/i@1.0.0")
    assert set(fancy.functions) == {"stable", "uses-extra"} and set(fancy.types) == {"extra"}
    assert fancy.functions["uses-extra"].stability.feature == "fancy"

    everything = iface(load([str(path)], all_features=True), "x:g/i@1.0.0")
    assert set(everything.functions) == {"stable", "uses-extra", "only-other"}


def test_gated_out_items_leave_no_dangling_ids(tmp_path: Path) -> None:
    path = write(tmp_path, {"g.wit": GATED}) / "g.wit"
    resolve = load([str(path)])
    doc = to_json(resolve)
    count = len(doc["types"])
    for td in resolve.types:
        for ref in (getattr(td.kind, "target", None), getattr(td.kind, "inner", None)):
            assert not isinstance(ref, int) or ref < count


def test_reference_to_gated_type_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, {"g.wit": "package x:g;\ninterface i {\n  @unstable(feature = f)\n"
                                      "  type t = u8;\n  use-it: func(x: t);\n}\n"}) / "g.wit"
    exc = error_of([str(path)])
    assert "excluded due to its feature not being activated" in exc.diagnostic.message
    assert where(exc) == (5, 3)
    assert "use-it" in iface(load([str(path)], features=["f"]), "x:g/i").functions


def test_since_newer_than_package_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, {"g.wit": "package x:g@0.1.0;\n@since(version = 0.2.0)\n"
                                      "interface i {}\n"}) / "g.wit"
    exc = error_of([str(path)])
    assert "unreleased version 0.2.0" in exc.diagnostic.message
    assert where(exc) == (3, 11)


# --- errors ----------------------------------------------------------------------------------


def test_unknown_name_points_at_the_reference(tmp_path: Path) -> None:
    path = write(tmp_path, {"t.wit": "package x:t;\ninterface i {\n"
                                      "  connect: func(addr: string) -> result<u32, errno>;\n}\n"})
    exc = error_of([str(path / "t.wit")])
    assert isinstance(exc, ResolveError)
    assert exc.diagnostic.message == "name `errno` does not exist"
    assert where(exc) == (3, 46)
    assert "^----" in exc.render()


@pytest.mark.parametrize("body,message,loc", [
    ("type a = b;\n  type b = a;", "type `b` depends on itself", (3, 12)),
    ("record r { x: u8 }\n  record r { y: u8 }", "name `r` is defined more than once", (4, 10)),
    ("resource r;\n  f: func() -> borrow<r>;",
     "function `f` returns a type which contains a `borrow<T>` which is not supported", (4, 3)),
    ("type t = u8;\n  f: func(x: own<t>);", "type `t` used in a handle must be a resource", (4, 18)),
    ("record r {}", "empty record", (3, 10)),
])
def test_validation_errors(tmp_path: Path, body: str, message: str, loc) -> None:
    path = write(tmp_path, {"t.wit": f"package x:t;\ninterface i {{\n  {body}\n}}\n"}) / "t.wit"
    exc = error_of([str(path)])
    assert exc.diagnostic.message == message
    assert where(exc) == loc


def test_export_needing_import_and_export_is_rejected(tmp_path: Path) -> None:
    text = ("package x:t;\ninterface a { type t = u8; }\ninterface b { use a.{t}; }\n"
            "interface c { use a.{t}; use b.{t as t2}; }\nworld w {\n  export a;\n  export c;\n}\n")
    path = write(tmp_path, {"t.wit": text}) / "t.wit"
    exc = error_of([str(path)])
    assert "transitively depends on an interface in incompatible ways" in exc.diagnostic.message


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    exc = error_of([str(tmp_path / "nope")])
    assert isinstance(exc, InputError) and "nope" in exc.diagnostic.message
    (tmp_path / "empty").mkdir()
    exc = error_of([str(tmp_path / "empty")])
    assert isinstance(exc, InputError) and "no .wit files" in exc.diagnostic.message
    headerless = write(tmp_path / "headerless", {"a.wit": "interface i {}\n"})
    exc = error_of([str(headerless)])
    assert "no `package` header" in exc.diagnostic.message and exc.diagnostic.span is not None


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.wit"
    path.write_bytes(b"package x:t;\ninterface \xff {}\n")
    exc = error_of([str(path)])
    assert isinstance(exc, InputError)
    assert "UTF-8" in exc.diagnostic.message and where(exc) == (2, 11)


# --- the IR and JSON ---------------------------------------------------------------------------

WORLDS = """package x:w@1.0.0;

interface types {
  resource file {
    constructor(path: string);
    read: func(n: u32) -> list<u8>;
    open: static func(path: string) -> file;
  }
  type handle = file;
  record stat { size: u64, name: string }
}

world base {
  import types;
  import log: func(msg: string);
  export run: func() -> u32;
}

world app {
  include base with { log as trace }
  use types.{stat};
  import extra: interface { ping: func(); }
}
"""


def test_ir_functions_worlds_and_includes(tmp_path: Path) -> None:
    path = write(tmp_path, {"w.wit": WORLDS}) / "w.wit"
    r = load([str(path)])
    types = iface(r, "x:w/types@1.0.0")
    assert list(types.types) == ["file", "handle", "stat"]  # definition order
    kinds = {name: fn.kind for name, fn in types.functions.items()}
    assert kinds == {"[constructor]file": "constructor", "[method]file.read": "method",
                     "[static]file.open": "static"}
    read = types.functions["[method]file.read"]
    assert read.item_name == "read" and read.params[0].name == "self"
    self_kind = r.types[read.params[0].type].kind
    assert isinstance(self_kind, ir.Handle) and self_kind.kind == "borrow"
    assert r.resolve_alias(types.types["handle"]) == types.types["file"]
    assert r.owner_interface(types.types["stat"]) is types
    app = r.worlds[r.package_of("x:w@1.0.0").worlds["app"]]
    assert "trace" in app.imports and "log" not in app.imports
    assert app.imports["trace"].function.name == "trace"
    assert "run" in app.exports
    extra = app.imports["extra"]
    assert isinstance(extra, ir.WorldInterface) and r.interfaces[extra.id].name is None
    # imports are ordered: interfaces, then types, then functions
    order = [type(v).__name__ for v in app.imports.values()]
    assert order == sorted(order, key=["WorldInterface", "WorldType", "WorldFunction"].index)
    assert r.interface_direct_deps(r.package_of("x:w@1.0.0").interfaces["types"]) is not None


def test_json_is_deterministic_and_schema_shaped(tmp_path: Path) -> None:
    path = write(tmp_path, {"w.wit": WORLDS}) / "w.wit"
    first, second = dumps(load([str(path)])), dumps(load([str(path)]))
    assert first == second
    doc = json.loads(first)
    assert list(doc) == ["worlds", "interfaces", "types", "packages"]
    assert doc["packages"][0]["name"] == "x:w@1.0.0"
    kinds = {json.dumps(t["kind"])[:12] for t in doc["types"]}
    assert '"resource"' in kinds


def test_json_matches_wasm_tools(tmp_path: Path) -> None:
    from test_wit_conformance import normalize

    path = write(tmp_path, {"w.wit": WORLDS}) / "w.wit"
    ref = run_wasm_tools("component", "wit", "--json", str(path))
    assert ref.returncode == 0, ref.stderr.decode()
    assert normalize(to_json(load([str(path)]))) == normalize(json.loads(ref.stdout))


# --- named interface imports and exports (`import label: iface;`) ----------------------------


NAMED = """package x:t@1.0.0;
interface types { type t = u32; }
interface store { use types.{t}; get: func() -> t; }
world w {
  /// the primary store
  import primary: store;
  import secondary: store;
  import store;
  export out: store;
  @since(version = 1.0.0)
  export out2: store;
}
"""


def test_named_imports_are_keyed_by_label(tmp_path: Path) -> None:
    resolve = load([str(write(tmp_path, {"t.wit": NAMED}) / "t.wit")])
    world = resolve.worlds[0]
    store = resolve.packages[0].interfaces["store"]
    types = resolve.packages[0].interfaces["types"]
    # the label is the key; the same interface may appear under several labels, and
    # plainly too; what it uses is imported by interface id first
    assert list(world.imports) == [types, "primary", "secondary", store]
    assert list(world.exports) == ["out", "out2"]
    for key in ("primary", "secondary"):
        item = world.imports[key]
        assert isinstance(item, ir.WorldInterface) and item.id == store
    assert world.imports["primary"].docs == "the primary store"
    assert world.imports["primary"].span.line == 6 and world.imports["primary"].span.col == 10
    assert world.exports["out2"].id == store
    assert world.exports["out2"].stability.kind == "stable"
    # no anonymous interface is made: the interface itself is referenced
    assert len(resolve.interfaces) == 2


@pytest.mark.parametrize("body,message,loc", [
    ("import primary: func();\n  import primary: store;",
     "import `primary` conflicts with prior func of same name", (5, 10)),
    ("import primary: store;\n  import primary: store;",
     "import `primary` conflicts with prior interface of same name", (5, 10)),
    ("export p: interface { f: func(); }\n  export p: store;",
     "export `p` conflicts with prior interface of same name", (5, 10)),
    ("import primary: nonexistent;", "interface or world `nonexistent` does not exist", (4, 19)),
    ("import primary: w;", "name `w` is defined as a world, not an interface", (4, 19)),
    ("import p: store;\n  import P: store;", "name `P` conflicts with previous name `p`", (5, 10)),
    ("import p: x:none/store;", "package 'x:none' not found", (4, 13)),
    ("import p: x:t/nope;", "package `x:t` creates a dependency cycle", (4, 13)),
])
def test_named_import_errors(tmp_path: Path, body: str, message: str, loc) -> None:
    text = f"package x:t;\ninterface store {{ f: func(); }}\nworld w {{\n  {body}\n}}\n"
    exc = error_of([str(write(tmp_path, {"t.wit": text}) / "t.wit")])
    assert exc.diagnostic.message.split(".")[0] == message.split(".")[0]
    assert where(exc) == loc


def test_named_import_gates_point_at_the_label(tmp_path: Path) -> None:
    text = ("package x:t@1.0.0;\n@unstable(feature = f)\ninterface i { g: func(); }\n"
            "world w {\n  import a: i;\n  @unstable(feature = f)\n  import b: i;\n}\n")
    path = write(tmp_path, {"t.wit": text}) / "t.wit"
    exc = error_of([str(path)])
    assert "excluded due to its feature not being activated" in exc.diagnostic.message
    assert where(exc) == (5, 10)
    world = load([str(path)], features=["f"]).worlds[0]
    assert list(world.imports) == ["a", "b"]
    text = text.replace("  import a: i;\n", "")
    world = load([str(write(tmp_path / "gated", {"t.wit": text}) / "t.wit")]).worlds[0]
    assert world.imports == {}


def test_named_import_from_a_dependency_orders_packages(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {
        "main.wit": "package app:main;\nworld w {\n  import s: zz:dep/store;\n}\n",
        "deps/dep.wit": "package zz:dep;\ninterface store { f: func(); }\n",
    })
    resolve = load([str(root)])
    assert [str(p.name) for p in resolve.packages] == ["zz:dep", "app:main"]
    world = resolve.worlds[0]
    assert list(world.imports) == ["s"]
    assert resolve.interface_qualified_name(world.imports["s"].id) == "zz:dep/store"


def test_component_binary_in_deps_is_not_a_package(tmp_path):
    """An (empty) component where an encoded package is expected: wasm-tools' verdict,
    pointing into a hex dump of the file."""
    (tmp_path / "a.wit").write_text("package a:a;\nworld w {\n  import d:d/d;\n}\n")
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "d.wasm").write_bytes(b"\0asm\x0d\0\x01\0")
    with pytest.raises(InputError) as info:
        load([tmp_path])
    diag = info.value.diagnostic
    assert "instead of an encoded WIT package" in diag.message
    assert diag.span.path.endswith("d.wasm") and (diag.span.line, diag.span.col) == (1, 11)
    assert "00000000: 00 61 73 6d" in info.value.render()


def test_load_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    """Nothing `load` builds is a reference cycle (e.g. a nested function that calls
    itself), so the AST and the model are freed as soon as they are dropped. A compile
    pauses the cyclic collector; a cycle would leave them all for it to scan later."""
    deep = "list<" * 60 + "u8" + ">" * 60  # >= 100 `<` in a file: the nesting check runs
    root = write(tmp_path / "app", {
        "main.wit": "package app:main;\ninterface api {\n  use dep:one/types.{t};\n"
                    "  f: func(x: t);\n}\nworld w {\n  import api;\n"
                    "  export e: interface { use dep:one/types.{t}; g: func() -> t; }\n}\n",
        "deps/one/types.wit": f"package dep:one;\ninterface types {{\n  type t = u8;\n"
                              f"  type a = {deep};\n  type b = {deep};\n}}\n",
    })
    load([str(root)])  # first, the lazy imports
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        load([str(root)])
        gc.collect()
        # what of ours is garbage: functions by name, other objects by type
        ours = sorted({o.__qualname__ if isinstance(o, types.FunctionType)
                       else type(o).__qualname__ for o in gc.garbage
                       if getattr(o, "__module__", "").startswith("wit2witx")})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert ours == []
