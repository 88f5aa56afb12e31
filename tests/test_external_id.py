"""`@external-id("...")`: accepted where wasm-tools accepts it, refused where it refuses it.

The ground truth is the real `wasm-tools component wit --json`: for valid inputs our
JSON must be byte-identical to its output (the id sits on functions, type definitions
and world interface items, and is inherited by an export's dependencies); for invalid
ones our message and line:column must be its message and line:column. wasm-tools counts
columns in bytes and wit2witx in characters, so the inputs here are ASCII.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import wit2witx
from conftest import run_wasm_tools
from wit2witx import ir
from wit2witx.diagnostics import ResolveError, Wit2WitxError, WitSyntaxError
from wit2witx.emit.json import dumps
from wit2witx.wit import ast
from wit2witx.wit.parser import parse_text
from wit2witx.wit.resolve import load


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return root


def assert_same_json(path: Path, *, features: tuple[str, ...] = ()) -> str:
    """Our JSON for `path` is wasm-tools' JSON, byte for byte; returns it."""
    args = ["--features", ",".join(features)] if features else []
    ref = run_wasm_tools("component", "wit", "--json", *args, str(path))
    assert ref.returncode == 0, ref.stderr.decode()
    ours = dumps(load([str(path)], features=features))
    assert ours == ref.stdout.decode()
    return ours


_ERROR = re.compile(r"error: (.*?)\n\s*--> .*?:(\d+):(\d+)", re.S)


def assert_same_error(path: Path) -> Wit2WitxError:
    """We reject `path` with wasm-tools' message, at its line:column."""
    ref = run_wasm_tools("component", "wit", str(path))
    assert ref.returncode != 0, f"wasm-tools accepts {path.name}"
    m = _ERROR.search(ref.stderr.decode())
    assert m, ref.stderr.decode()
    with pytest.raises(Wit2WitxError) as info:
        load([str(path)])
    diag = info.value.diagnostic
    assert (diag.message, diag.span.line, diag.span.col) == (m.group(1), int(m.group(2)),
                                                             int(m.group(3)))
    assert diag.location == f"{path}:{m.group(2)}:{m.group(3)}"
    return info.value


# --- every position it is allowed in: byte-identical JSON ------------------------------------

INTERFACE_ITEMS = """package x:items@1.0.0;

interface types {
  @external-id("alias")
  type t = u32;

  /// a record
  @external-id("record")
  record point { x: t, y: t }

  @external-id("resource")
  resource file {
    @external-id("ctor")
    constructor();
    @since(version = 1.0.0)
    @external-id("method")
    read: func() -> list<u8>;
    @external-id("static")
    open: static func(name: string) -> file;
  }

  /// docs, a gate and an id: the id comes last in the JSON
  @since(version = 1.0.0)
  @external-id("func")
  origin: func() -> point;
}

interface user {
  @external-id("use")
  use types.{t, point as p};
  plain: func(a: t, b: p);
}

// Interfaces, worlds and includes may carry it, even twice: wasm-tools ignores it there.
@external-id("ignored") @external-id("twice")
interface other { g: func(); }
"""

WORLD_ITEMS = """package x:worlds@1.0.0;

interface base { type t = u32; }
interface mid { use base.{t}; }
interface top { use mid.{t}; get: func() -> t; }

world w {
  @external-id("world-type")
  type wt = string;

  @external-id("world-use")
  use base.{t};

  @external-id("world-resource")
  resource wr {
    @external-id("world-ctor")
    constructor();
  }

  /// an import by path
  @external-id("import-path")
  import base;

  @external-id("import-named")
  import primary: mid;

  @external-id("import-inline")
  import inline: interface {
    @external-id("inline-func")
    f: func() -> u32;
  }

  @external-id("import-func")
  import log: func(msg: string);

  @external-id("export-func")
  export run: func() -> wt;

  @external-id("export-inline")
  export hooks: interface { h: func(); }
}

// `top` needs `mid` and `base`: an export's dependencies take its id, an import's not.
world exports {
  @external-id("export-top")
  export top;
}

world imports {
  @external-id("import-top")
  import top;
}

// Exported dependencies last: elaborating `top` exports them first, with its id.
world reverse {
  @external-id("export-top")
  export top;
  @external-id("export-mid")
  export mid;
  @external-id("export-base")
  export base;
}

// Included items keep their ids; an interface the world imports itself keeps its own.
world includer {
  @external-id("own-base")
  import base;
  @external-id("ignored") @external-id("twice")
  include w with { log as log2 }
}
"""

STRINGS = r"""package x:strings;

interface i {
  @external-id("tab\t newline\n quote\" backslash\\ apostrophe\'")
  a: func();
  @external-id("\u{48}\u{1_F6_00} \c3\a9 \u{0}\u{8}\u{c}\u{1f}\u{7f}\u{2028}")
  b: func();
  @external-id("")
  c: func();
  @external-id("urn:example:c?x=1&y=%20#frag")
  d: func();
}
"""


@pytest.mark.parametrize("text", [INTERFACE_ITEMS, WORLD_ITEMS, STRINGS],
                         ids=["interface-items", "world-items", "string-escapes"])
def test_json_is_byte_identical_to_wasm_tools(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, {"pkg.wit": text}) / "pkg.wit"
    ours = assert_same_json(path)
    assert ours.count('"external_id"') >= 4


def test_ids_in_the_ir(tmp_path: Path) -> None:
    r = load([str(write(tmp_path, {"pkg.wit": WORLD_ITEMS}) / "pkg.wit")])
    pkg = r.package_of("x:worlds@1.0.0")
    w = r.worlds[pkg.worlds["w"]]
    assert w.imports[pkg.interfaces["base"]].external_id == "import-path"
    assert w.imports["primary"].external_id == "import-named"
    assert w.imports["log"].function.external_id == "import-func"
    assert w.exports["run"].function.external_id == "export-func"
    assert r.types[w.imports["wt"].id].external_id == "world-type"
    assert r.types[w.imports["t"].id].external_id == "world-use"
    inline = r.interfaces[w.imports["inline"].id]
    assert inline.functions["f"].external_id == "inline-func"
    exports = r.worlds[pkg.worlds["exports"]]
    assert {r.interfaces[k].name: v.external_id for k, v in exports.imports.items()} == {
        "base": "export-top", "mid": "export-top"}
    imports = r.worlds[pkg.worlds["imports"]]
    assert {r.interfaces[k].name: v.external_id for k, v in imports.imports.items()} == {
        "base": None, "mid": None, "top": "import-top"}
    reverse = r.worlds[pkg.worlds["reverse"]]
    assert {v.external_id for v in reverse.exports.values()} == {"export-top"}
    includer = r.worlds[pkg.worlds["includer"]]
    assert includer.imports[pkg.interfaces["base"]].external_id == "own-base"
    assert includer.imports["log2"].function.external_id == "import-func"


def test_ids_across_packages_and_feature_gates(tmp_path: Path) -> None:
    root = write(tmp_path / "app", {
        "deps/dep.wit": """package x:dep@1.0.0;
interface types {
  @external-id("dep-type")
  type t = u32;
  @external-id("dep-resource")
  resource r { @external-id("dep-method") m: func(); }
}
world dw {
  @external-id("dep-import")
  import types;
  @external-id("dep-func")
  import f: func() -> u32;
}
""",
        "main.wit": """package x:main@1.0.0;
interface api {
  @external-id("foreign-use")
  use x:dep/types@1.0.0.{t, r as rr};
  @unstable(feature = extra)
  @external-id("gated")
  g: func();
  f: func(a: t) -> own<rr>;
}
world w {
  @external-id("export-api")
  export api;
  include x:dep/dw@1.0.0;
  @unstable(feature = extra)
  @external-id("gated-import")
  import h: func();
}
""",
    })
    assert '"gated"' not in assert_same_json(root)
    assert '"gated"' in assert_same_json(root, features=("extra",))


def test_no_effect_on_p1_outputs(tmp_path: Path) -> None:
    """The id names the import in a component; a P1 module has no place for it."""
    text = INTERFACE_ITEMS.replace("types {", "types {\n  mark: func();")
    stripped = re.sub(r'@external-id\("[^"]*"\)\s*', "", text)
    assert "external-id" not in stripped
    emit = ["witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs"]
    with_ids = wit2witx.compile([str(write(tmp_path / "a", {"p.wit": text}))], emit=emit)
    without = wit2witx.compile([str(write(tmp_path / "b", {"p.wit": stripped}))], emit=emit)
    assert dict(with_ids) == dict(without)


# --- the attribute in the syntax tree ------------------------------------------------------------


def test_parsed_with_value_and_spans() -> None:
    text = 'interface i {\n  /// docs\n  @external-id("a\\tb") @since(version = 1.0.0)\n  f: func();\n}\n'
    func = parse_text(text, "t.wit").items[0].items[0]
    attr, since = func.attributes
    assert isinstance(attr, ast.ExternalId) and isinstance(since, ast.Since)
    assert attr.id == "a\tb"
    assert text[attr.span.start:attr.span.end] == '@external-id("a\\tb")'
    assert text[attr.name_span.start:attr.name_span.end] == "external-id"
    # docs before the attributes still belong to the item, whose span starts at the `@`
    assert func.docs == "docs" and func.span.start == attr.span.start


# --- where wasm-tools refuses it -------------------------------------------------------------------

ERRORS = {
    "twice-on-function": 'package a:b;\ninterface i {\n  @external-id("a") @external-id("b")\n'
                         "  f: func();\n}\n",
    "twice-around-a-gate": 'package a:b@1.0.0;\ninterface i {\n  @external-id("a")\n'
                           '  @since(version = 1.0.0)\n  @external-id("a")\n  type t = u32;\n}\n',
    "twice-on-method": 'package a:b;\ninterface i {\n  resource r {\n'
                       '    @external-id("a") @external-id("b") m: func();\n  }\n}\n',
    "twice-on-use": 'package a:b;\ninterface i { type t = u32; }\ninterface j {\n'
                    '  @external-id("a") @external-id("b")\n  use i.{t};\n}\n',
    "twice-on-import": 'package a:b;\ninterface i {}\nworld w {\n'
                       '  @external-id("a") @external-id("b")\n  import i;\n}\n',
    "twice-on-inline-import": 'package a:b;\nworld w {\n  @external-id("a") @external-id("b")\n'
                              "  export x: interface { f: func(); }\n}\n",
    "twice-on-world-function": 'package a:b;\nworld w {\n  @external-id("a")\n'
                               '  @external-id("b") import f: func();\n}\n',
    # wit-parser resolves a type's definition before reading its attributes
    "twice-but-the-type-is-wrong-first": 'package a:b;\ninterface i {\n'
                                         '  @external-id("a") @external-id("b")\n'
                                         "  type t = nope;\n}\n",
    "on-top-level-use": 'package a:b;\ninterface i {}\n@external-id("a")\nuse i as j;\n',
    "on-nested-package": 'package a:b;\n@external-id("a")\npackage c:d { interface i {} }\n',
    "not-a-string": "package a:b;\ninterface i {\n  @external-id(a)\n  f: func();\n}\n",
    "empty": "package a:b;\ninterface i {\n  @external-id()\n  f: func();\n}\n",
    "a-key": "package a:b;\ninterface i {\n  @external-id(version = 1.0.0)\n  f: func();\n}\n",
    "no-parenthesis": 'package a:b;\ninterface i {\n  @external-id "a"\n  f: func();\n}\n',
    "two-strings": 'package a:b;\ninterface i {\n  @external-id("a" "b")\n  f: func();\n}\n',
    "string-for-a-gate": 'package a:b;\ninterface i {\n  @since("1.0.0")\n  f: func();\n}\n',
    "string-elsewhere": 'package a:b;\ninterface "i" {}\n',
    "bad-escape": 'package a:b;\ninterface i {\n  @external-id("a\\qb")\n  f: func();\n}\n',
    "surrogate": 'package a:b;\ninterface i {\n  @external-id("\\u{d800}")\n  f: func();\n}\n',
    "too-big": 'package a:b;\ninterface i {\n  @external-id("\\u{123456789}")\n  f: func();\n}\n',
    "leading-underscore": 'package a:b;\ninterface i {\n  @external-id("\\u{_1}")\n  f: func();\n}\n',
    "trailing-underscore": 'package a:b;\ninterface i {\n  @external-id("\\u{1_}")\n  f: func();\n}\n',
    "no-brace": 'package a:b;\ninterface i {\n  @external-id("\\u41")\n  f: func();\n}\n',
    "unclosed-brace": 'package a:b;\ninterface i {\n  @external-id("\\u{41")\n  f: func();\n}\n',
    "bad-byte-escape": 'package a:b;\ninterface i {\n  @external-id("\\4z")\n  f: func();\n}\n',
    "bytes-not-utf8": 'package a:b;\ninterface i {\n  @external-id("ok \\e2\\82\\41")\n  f: func();\n}\n',
    "bytes-cut-short": 'package a:b;\ninterface i {\n  @external-id("ok \\f0\\9f\\98")\n  f: func();\n}\n',
    "raw-tab": 'package a:b;\ninterface i {\n  @external-id("a\tb")\n  f: func();\n}\n',
    "raw-newline": 'package a:b;\ninterface i {\n  @external-id("a\r\nb")\n  f: func();\n}\n',
    "unterminated": 'package a:b;\ninterface i {\n  @external-id("abc',
    "bad-string-in-a-type": 'package a:b;\ninterface i { type t = "\\ff"; }\n',
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_rejected_like_wasm_tools(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, {"bad.wit": ERRORS[name]}) / "bad.wit"
    exc = assert_same_error(path)
    assert isinstance(exc, (WitSyntaxError, ResolveError))
    assert f"--> {path}:" in exc.render()


def test_duplicate_points_at_the_second_name(tmp_path: Path) -> None:
    path = write(tmp_path, {"bad.wit": ERRORS["twice-on-function"]}) / "bad.wit"
    exc = assert_same_error(path)
    assert exc.render().splitlines()[-1].strip() == "|                      ^----------"


def test_ir_defaults_are_none() -> None:
    assert ir.TypeDef("t", ir.Resource()).external_id is None
    assert ir.Function("f", "freestanding", []).external_id is None
    assert ir.WorldInterface(0).external_id is None
