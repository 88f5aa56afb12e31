"""The WIT parser (wit2witx/wit/parser.py + grammars/wit.lark).

- every .wit file of the corpus (WASI 0.2 and 0.3, wit-parser's valid UI cases) parses;
- every AST node's span covers its own text (checked on the whole corpus), and a few
  spans are checked by hand;
- docs are attached like wit-parser does (compared with `wasm-tools component wit --json`
  on the WASI packages);
- each type form and each item kind builds the right nodes;
- syntax errors carry file:line:col and a caret, with the message and position that the
  real wasm-tools reports for the same text (hand-written cases, wit-parser's own
  parse-fail cases, and seeded random token mutations of corpus files);
- the LALR table cache survives a read-only, missing or damaged cache directory, and a
  warm process never imports Lark.
"""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
import random
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, corpus_path, run_wasm_tools
from wit2witx.diagnostics import SourceFile, Wit2WitxError, WitSyntaxError
from wit2witx.wit import ast
from wit2witx.wit import parser as wit_parser
from wit2witx.wit.parser import parse_file, parse_text

# --- helpers ---------------------------------------------------------------------------


def corpus_wit_files() -> list[Path]:
    """All valid .wit files of the corpus (not the parse-fail cases)."""
    files: list[Path] = []
    for folder in ("wasi-p2", "wasi-p3", "wit-parser-ui"):
        root = corpus_path(folder)
        files += [p for p in sorted(root.rglob("*.wit")) if "parse-fail" not in p.parts]
    return files


def parse(text: str, path: str = "test.wit") -> ast.File:
    return parse_text(text, path)


def syntax_error(text: str, path: str = "test.wit") -> WitSyntaxError:
    with pytest.raises(WitSyntaxError) as info:
        parse_text(text, path)
    return info.value


_WASM_TOOLS_ERROR = re.compile(r"error: (.*?)\n\s*--> .*?:(\d+):(\d+)", re.S)
_WASM_TOOLS_LONG_LINE = re.compile(r"error: \S+?:(\d+):(\d+): (.*)")


def wasm_tools_error(path: Path) -> tuple[str, int, int] | None:
    """(message, line, column) of wasm-tools' error for one .wit file, or None if valid
    syntax (wasm-tools then fails later, at resolution, or succeeds)."""
    result = run_wasm_tools("component", "wit", str(path))
    if result.returncode == 0:
        return None
    err = result.stderr.decode()
    m = _WASM_TOOLS_ERROR.search(err)
    if m:
        return m.group(1), int(m.group(2)), int(m.group(3))
    m = _WASM_TOOLS_LONG_LINE.search(err)  # wit-parser's format for lines > 500 bytes
    if m:
        return m.group(3).strip(), int(m.group(1)), int(m.group(2))
    return err.strip(), 0, 0


def our_error(text: str, path: str) -> tuple[str, str, int, int] | None:
    try:
        parse_text(text, path)
    except Wit2WitxError as exc:
        d = exc.diagnostic
        assert d.span is not None, "every parser diagnostic has a span"
        return type(exc).__name__, d.message, d.span.line, d.span.col
    return None


def iter_nodes(node, parent_span=None):
    """(node, nearest enclosing span) for every AST dataclass under `node`."""
    todo = [(node, parent_span)]
    while todo:
        item, outer = todo.pop()
        if isinstance(item, list):
            todo.extend((x, outer) for x in item)
            continue
        if not dataclasses.is_dataclass(item):
            continue
        yield item, outer
        own = getattr(item, "span", None) or outer
        for f in dataclasses.fields(item):
            todo.append((getattr(item, f.name), own))


# --- the corpus ------------------------------------------------------------------------


def test_every_corpus_file_parses():
    files = corpus_wit_files()
    assert len(files) >= 100
    failures = []
    for path in files:
        try:
            tree = parse_file(SourceFile(str(path), path.read_text(encoding="utf-8")))
        except Wit2WitxError as exc:
            failures.append(exc.render())
            continue
        assert isinstance(tree, ast.File)
        assert tree.items or tree.package is not None or not path.read_text().strip(" \n")
    assert not failures, "\n\n".join(failures)


def test_wasi_package_headers_and_versions():
    headers: dict[str, set[str]] = {}
    for path in sorted(corpus_path("wasi-p2").rglob("*.wit")):
        tree = parse_file(SourceFile(str(path), path.read_text()))
        if tree.package is not None:  # a package's header may sit in any one file
            assert tree.package.namespace.name == "wasi"
            assert tree.package.name.name == path.parent.name
            assert tree.package.version == "0.2.12"
            headers.setdefault(path.parent.name, set()).add(tree.package.text)
    assert len(headers) == 7
    assert all(texts == {f"wasi:{name}@0.2.12"} for name, texts in headers.items())


# Prefixes each node's text must start with (`@` when it carries attributes).
_FIRST = {
    ast.ListType: ("list",), ast.MapType: ("map",), ast.OptionType: ("option",),
    ast.ResultType: ("result",), ast.TupleType: ("tuple",), ast.FutureType: ("future",),
    ast.StreamType: ("stream",), ast.ErrorContextType: ("error-context",),
    ast.Func: ("func", "async", "constructor"), ast.Record: ("record",),
    ast.Variant: ("variant",), ast.Enum: ("enum",), ast.Flags: ("flags",),
    ast.Resource: ("resource",), ast.Alias: ("type",),
    ast.TypeDef: ("@", "type", "record", "variant", "enum", "flags", "resource"),
    ast.Use: ("@", "use"), ast.TopLevelUse: ("@", "use"), ast.Include: ("@", "include"),
    ast.Interface: ("@", "interface"), ast.World: ("@", "world"),
    ast.Extern: ("@", "import", "export"), ast.NestedPackage: ("package",),
    ast.Since: ("@",), ast.Unstable: ("@",), ast.Deprecated: ("@",),
}
_LAST = {
    ast.ListType: ">", ast.MapType: ">", ast.OptionType: ">", ast.TupleType: ">",
    ast.HandleType: ">", ast.Record: "}", ast.Variant: "}", ast.Enum: "}", ast.Flags: "}",
    ast.Alias: ";", ast.Use: ";", ast.TopLevelUse: ";", ast.Interface: "}",
    ast.World: "}", ast.NestedPackage: "}", ast.InlineInterface: "}", ast.NamedFunc: ";",
    ast.Since: ")", ast.Unstable: ")", ast.Deprecated: ")",
}


def check_spans(tree: ast.File, text: str) -> int:
    checked = 0
    for node, outer in iter_nodes(tree):
        span = getattr(node, "span", None)
        if span is None:
            continue
        assert 0 <= span.start <= span.end <= len(text)
        if outer is not None:  # a child lies inside its parent
            assert outer.start <= span.start and span.end <= outer.end, (node, outer)
        snippet = text[span.start:span.end]
        kind = type(node)
        if kind is ast.Id:
            assert snippet in (node.name, "%" + node.name), (snippet, node)
        elif kind in (ast.Primitive,):
            assert snippet == node.name
        elif kind is ast.NamedType:
            assert snippet in (node.name.name, "%" + node.name.name)
        elif kind is ast.HandleType:
            assert snippet.startswith(node.kind)
        elif kind is ast.NamedFunc:
            assert snippet.startswith(("@", "constructor", node.name.name, "%" + node.name.name))
        elif kind in (ast.PackageName, ast.PackagePath):
            ns = node.namespace if kind is ast.PackageName else node.package.namespace
            assert snippet.startswith((ns.name, "%" + ns.name)), snippet
            if kind is ast.PackageName and node.version_span is not None:
                assert text[node.version_span.start:node.version_span.end] == node.version
        elif kind in (ast.LocalPath, ast.InlineInterface):
            assert snippet.startswith((node.name.name, "%" + node.name.name))
        elif kind is ast.File:
            assert (span.start, span.end) == (0, len(text))
        elif kind is ast.ResultType:
            assert snippet.startswith("result") and snippet[-1] in "t>"
        else:
            assert snippet.startswith(_FIRST[kind]), (kind.__name__, snippet[:40])
        if kind in _LAST:
            assert snippet.endswith(_LAST[kind]), (kind.__name__, snippet[-40:])
        checked += 1
    return checked


def test_spans_cover_their_own_text_across_the_corpus():
    total = 0
    for path in corpus_wit_files():
        text = path.read_text(encoding="utf-8")
        total += check_spans(parse_file(SourceFile(str(path), text)), text)
    assert total > 5_000


def test_spans_by_hand():
    text = (
        "package my:pkg@1.2.3;\n"
        "interface i {\n"
        "  @since(version = 1.0.0)\n"
        "  get: func(a: list<u8>) -> result<string, %type>;\n"
        "}\n"
    )
    tree = parse(text)

    def at(span):
        return text[span.start:span.end]

    assert at(tree.package.span) == "my:pkg@1.2.3"
    assert at(tree.package.version_span) == "1.2.3"
    iface = tree.items[0]
    assert at(iface.name.span) == "i"
    assert at(iface.span).startswith("interface i {") and at(iface.span).endswith("}")
    func = iface.items[0]
    assert at(func.span) == "@since(version = 1.0.0)\n  get: func(a: list<u8>) -> result<string, %type>;"
    assert at(func.attributes[0].span) == "@since(version = 1.0.0)"
    assert at(func.func.span) == "func(a: list<u8>) -> result<string, %type>"
    assert at(func.func.params[0].type.span) == "list<u8>"
    result = func.func.result
    assert at(result.span) == "result<string, %type>"
    assert at(result.err.span) == "%type" and result.err.name.name == "type"
    assert (func.func.params[0].name.span.line, func.func.params[0].name.span.col) == (4, 13)


# --- docs ------------------------------------------------------------------------------


def test_docs_are_every_comment_before_an_item_as_wit_parser_does():
    text = (
        "/// package docs\n"
        "package a:b@1.0.0;\n"
        "\n"
        "// plain comment\n"
        "/// three slashes\n"
        "/** block\n"
        "    second line */\n"
        "interface i {\n"
        "  /// before attribute\n"
        "  @since(version = 1.0.0)\n"
        "  /// between attribute and item: ignored, as in wit-parser\n"
        "  f: func();\n"
        "  record r {\n"
        "    /// field docs\n"
        "    x: u32,\n"
        "  }\n"
        "  type /* not docs */ t = u32;\n"
        "  enum e { /* case docs */ a, b }\n"
        "}\n"
        "/* nested /* comment */ end */\n"
        "world w {}\n"
    )
    tree = parse(text)
    # Markers go, then the smallest common indentation of the comments (one space).
    assert tree.package_docs == "package docs"
    iface = tree.items[0]
    assert iface.docs == "plain comment\nthree slashes\nblock\n    second line"
    func, record, alias, enum = iface.items
    assert func.docs == "before attribute"
    assert record.docs is None
    assert record.kind.fields[0].docs == "field docs"
    assert alias.docs is None
    assert enum.kind.cases[0].docs == "* case docs */" and enum.kind.cases[1].docs is None
    assert tree.items[1].docs == "* nested /* comment */ end */"


def test_crlf_line_endings():
    text = "package a:b;\r\n\r\n/// one\r\n/// two\r\ninterface i {\r\n  f: func();\r\n}\r\n"
    tree = parse(text)
    assert tree.items[0].docs == "one\ntwo"
    assert tree.items[0].items[0].name.span.line == 6


def _collect_ast_docs(trees: list[ast.File]) -> dict[tuple, str | None]:
    docs: dict[tuple, str | None] = {}

    def typedef(owner: str, td: ast.TypeDef) -> None:
        docs[("type", owner, td.name.name)] = td.docs
        kind = td.kind
        members = getattr(kind, "fields", None) or getattr(kind, "cases", None) or getattr(kind, "flags", None) or []
        for m in members:
            docs[("member", owner, td.name.name, m.name.name)] = m.docs
        for rf in getattr(kind, "funcs", []):
            r, f = td.name.name, rf.func.name.name
            key = {"constructor": f"[constructor]{r}", "method": f"[method]{r}.{f}",
                   "static": f"[static]{r}.{f}"}[rf.kind]
            docs[("func", owner, key)] = rf.func.docs

    def use(owner: str, u: ast.Use) -> None:
        # wasm-tools lists a `use`d name as a type of the user; it has no docs of its own.
        for n in u.names:
            docs[("type", owner, (n.alias or n.name).name)] = None

    for tree in trees:
        for item in tree.items:
            if isinstance(item, (ast.Interface, ast.World)):
                kind = "interface" if isinstance(item, ast.Interface) else "world"
                docs[(kind, item.name.name)] = item.docs
                for sub in item.items:
                    if isinstance(sub, ast.TypeDef):
                        typedef(item.name.name, sub)
                    elif isinstance(sub, ast.NamedFunc):
                        docs[("func", item.name.name, sub.name.name)] = sub.docs
                    elif isinstance(sub, ast.Use):
                        use(item.name.name, sub)
    return docs


def _collect_json_docs(doc: dict, package: str) -> dict[tuple, str | None]:
    pid = next(i for i, p in enumerate(doc["packages"]) if p["name"] == package)
    docs: dict[tuple, str | None] = {}

    def text(node):
        return (node.get("docs") or {}).get("contents")

    owners = {}
    for i, iface in enumerate(doc["interfaces"]):
        if iface.get("package") == pid and iface["name"]:
            owners[("interface", i)] = iface["name"]
            docs[("interface", iface["name"])] = text(iface)
            for fname, func in iface["functions"].items():
                docs[("func", iface["name"], fname)] = text(func)
    for i, world in enumerate(doc["worlds"]):
        if world.get("package") == pid:
            owners[("world", i)] = world["name"]
            docs[("world", world["name"])] = text(world)
    for t in doc["types"]:
        owner = t.get("owner") or {}
        key = next(((k, v) for k, v in owner.items()), None)
        if key not in owners or t["name"] is None:
            continue
        name = owners[key]
        docs[("type", name, t["name"])] = text(t)
        kind = t["kind"]
        if isinstance(kind, dict):
            for k in ("record", "variant", "enum", "flags"):
                if k in kind:
                    members = kind[k].get("fields") or kind[k].get("cases") or kind[k].get("flags") or []
                    for m in members:
                        docs[("member", name, t["name"], m["name"])] = text(m)
    return docs


@pytest.mark.parametrize("release,package", [("wasi-p2", "http"), ("wasi-p2", "filesystem"),
                                              ("wasi-p2", "sockets"), ("wasi-p3", "cli")])
def test_docs_match_wasm_tools_json(tmp_path, release, package):
    root = corpus_path(release)
    work = tmp_path / package
    shutil.copytree(root / package, work)
    for sibling in sorted(p for p in root.iterdir() if p.is_dir() and p.name != package):
        shutil.copytree(sibling, work / "deps" / sibling.name)
    result = run_wasm_tools("component", "wit", "--json", str(work))
    assert result.returncode == 0, result.stderr.decode()
    doc = json.loads(result.stdout)
    trees = [parse_file(SourceFile(str(p), p.read_text())) for p in sorted((root / package).glob("*.wit"))]
    version = next(t.package.version for t in trees if t.package is not None)
    theirs = _collect_json_docs(doc, f"wasi:{package}@{version}")
    ours = _collect_ast_docs(trees)
    assert set(theirs) <= set(ours)
    mismatched = {k: (ours[k], theirs[k]) for k in theirs if ours[k] != theirs[k]}
    assert not mismatched
    assert sum(v is not None for v in theirs.values()) > 20
    package_docs = [t.package_docs for t in trees if t.package_docs is not None]
    json_package = next(p for p in doc["packages"] if p["name"].startswith(f"wasi:{package}@"))
    assert package_docs[:1] == ([json_package["docs"]["contents"]] if json_package.get("docs") else [])


# --- the AST for each form -------------------------------------------------------------


def test_every_type_form():
    text = (
        "package a:b;\n"
        "interface types {\n"
        "  type all = tuple<bool, s8, u8, s16, u16, s32, u32, s64, u64, f32, f64, char, string,>;\n"
        "  type l = list<u8>;\n"
        "  type fixed = list<u32, 4>;\n"
        "  type m = map<string, u32>;\n"
        "  type o = option<named>;\n"
        "  type r0 = result;\n"
        "  type r1 = result<u8>;\n"
        "  type r2 = result<_, u8>;\n"
        "  type r3 = result<u8, string>;\n"
        "  type empty = tuple<>;\n"
        "  type h1 = own<res>;\n"
        "  type h2 = borrow<res>;\n"
        "  type f0 = future;\n"
        "  type f1 = future<u8>;\n"
        "  type s0 = stream;\n"
        "  type s1 = stream<u8>;\n"
        "  type ec = error-context;\n"
        "  type old = float32;\n"
        "}\n"
    )
    items = {td.name.name: td.kind.target for td in parse(text).items[0].items}
    prims = items["all"]
    assert isinstance(prims, ast.TupleType)
    assert [p.name for p in prims.types] == list(ast.PRIMITIVES)
    assert isinstance(items["l"], ast.ListType) and items["l"].size is None
    assert items["l"].element.name == "u8"
    fixed = items["fixed"]
    assert fixed.size == 4 and text[fixed.size_span.start:fixed.size_span.end] == "4"
    assert isinstance(items["m"], ast.MapType)
    assert (items["m"].key.name, items["m"].value.name) == ("string", "u32")
    assert isinstance(items["o"].inner, ast.NamedType) and items["o"].inner.name.name == "named"
    assert (items["r0"].ok, items["r0"].err) == (None, None)
    assert items["r1"].ok.name == "u8" and items["r1"].err is None
    assert items["r2"].ok is None and items["r2"].err.name == "u8"
    assert (items["r3"].ok.name, items["r3"].err.name) == ("u8", "string")
    assert items["empty"].types == []
    assert (items["h1"].kind, items["h1"].resource.name) == ("own", "res")
    assert (items["h2"].kind, items["h2"].resource.name) == ("borrow", "res")
    assert isinstance(items["f0"], ast.FutureType) and items["f0"].inner is None
    assert items["f1"].inner.name == "u8"
    assert isinstance(items["s0"], ast.StreamType) and items["s0"].inner is None
    assert items["s1"].inner.name == "u8"
    assert isinstance(items["ec"], ast.ErrorContextType)
    # wit-parser lexes the old float names as identifiers; resolution rejects them.
    assert isinstance(items["old"], ast.NamedType) and items["old"].name.name == "float32"


def test_type_definitions_and_resources():
    text = (
        "package a:b;\n"
        "interface defs {\n"
        "  record point { x: s32, y: s32, }\n"
        "  record empty {}\n"
        "  variant shape { none, circle(f32), square(point) }\n"
        "  enum color { red, green, }\n"
        "  flags perms { read, write }\n"
        "  resource bare;\n"
        "  resource file {\n"
        "    constructor(path: string);\n"
        "    read: func(n: u32) -> list<u8>;\n"
        "    open: static func(path: string) -> file;\n"
        "    close: async func();\n"
        "  }\n"
        "  resource fallible { constructor() -> result<fallible, string>; }\n"
        "}\n"
    )
    items = {td.name.name: td for td in parse(text).items[0].items}
    point = items["point"].kind
    assert isinstance(point, ast.Record)
    assert [(f.name.name, f.type.name) for f in point.fields] == [("x", "s32"), ("y", "s32")]
    assert items["empty"].kind.fields == []
    shape = items["shape"].kind
    assert isinstance(shape, ast.Variant)
    assert [c.name.name for c in shape.cases] == ["none", "circle", "square"]
    assert shape.cases[0].type is None and shape.cases[1].type.name == "f32"
    assert shape.cases[2].type.name.name == "point"
    assert isinstance(items["color"].kind, ast.Enum)
    assert [c.name.name for c in items["color"].kind.cases] == ["red", "green"]
    assert isinstance(items["perms"].kind, ast.Flags)
    assert [c.name.name for c in items["perms"].kind.flags] == ["read", "write"]
    assert isinstance(items["bare"].kind, ast.Resource) and items["bare"].kind.funcs == []
    funcs = items["file"].kind.funcs
    assert [(f.kind, f.func.name.name) for f in funcs] == [
        ("constructor", "constructor"), ("method", "read"), ("static", "open"), ("method", "close")]
    ctor = funcs[0].func
    assert ctor.func.params[0].name.name == "path" and ctor.func.result is None
    assert text[ctor.name.span.start:ctor.name.span.end] == "constructor"
    assert funcs[2].func.func.result.name.name == "file"
    assert funcs[3].func.func.is_async and not funcs[1].func.func.is_async
    fallible = items["fallible"].kind.funcs[0].func.func.result
    assert isinstance(fallible, ast.ResultType) and fallible.ok.name.name == "fallible"


def test_interface_items_use_and_functions():
    text = (
        "package a:b;\n"
        "interface i {\n"
        "  use other.{a, b as c,};\n"
        "  use wasi:io/streams@0.2.0.{input-stream};\n"
        "  use x:y/z.{};\n"
        "  no-args: func();\n"
        "  args: func(a: u32, b: string,) -> u64;\n"
        "  later: async func(s: stream<u8>) -> future<string>;\n"
        "  %interface: func();\n"
        "  GET-XML: func();\n"
        "}\n"
    )
    items = parse(text).items[0].items
    local, versioned, empty = items[:3]
    assert isinstance(local.path, ast.LocalPath) and local.path.name.name == "other"
    assert [(n.name.name, n.alias.name if n.alias else None) for n in local.names] == [("a", None), ("b", "c")]
    path = versioned.path
    assert isinstance(path, ast.PackagePath)
    assert (path.package.namespace.name, path.package.name.name, path.name.name) == ("wasi", "io", "streams")
    assert path.package.version == "0.2.0" and path.package.text == "wasi:io@0.2.0"
    assert text[path.span.start:path.span.end] == "wasi:io/streams@0.2.0"
    assert text[path.package.span.start:path.package.span.end] == "wasi:io"
    assert empty.names == [] and empty.path.package.version is None
    no_args, args, later, escaped, upper = items[3:]
    assert no_args.func.params == [] and no_args.func.result is None
    assert [p.name.name for p in args.func.params] == ["a", "b"] and args.func.result.name == "u64"
    assert later.func.is_async and isinstance(later.func.params[0].type, ast.StreamType)
    assert escaped.name.name == "interface"
    assert upper.name.name == "GET-XML"


def test_world_items():
    text = (
        "package a:b@0.1.0;\n"
        "world w {\n"
        "  import local;\n"
        "  import wasi:cli/stdout@0.2.0;\n"
        "  export ns:pkg/iface;\n"
        "  import f: func(x: u32) -> u32;\n"
        "  export g: async func();\n"
        "  import inline: interface { type t = u8; h: func(); }\n"
        "  export empty: interface {}\n"
        "  use types.{t};\n"
        "  type alias = u32;\n"
        "  record rec { a: u8 }\n"
        "  include other;\n"
        "  include ns:pkg/wld@1.0.0 with { a as b, c as d, }\n"
        "  @unstable(feature = fancy)\n"
        "  import gated;\n"
        "}\n"
    )
    items = parse(text).items[0].items
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Extern"] * 7 + ["Use", "TypeDef", "TypeDef", "Include", "Include", "Extern"]
    assert [e.direction for e in items[:7]] == ["import", "import", "export", "import", "export", "import", "export"]
    assert isinstance(items[0].kind, ast.LocalPath)
    assert isinstance(items[1].kind, ast.PackagePath) and items[1].kind.package.version == "0.2.0"
    assert items[2].kind.name.name == "iface" and items[2].kind.package.version is None
    assert isinstance(items[3].kind, ast.ExternFunc) and items[3].kind.name.name == "f"
    assert items[4].kind.func.is_async
    inline = items[5].kind
    assert isinstance(inline, ast.InlineInterface) and inline.name.name == "inline"
    assert [type(i).__name__ for i in inline.items] == ["TypeDef", "NamedFunc"]
    assert items[6].kind.items == []
    assert items[10].names == [] and isinstance(items[10].path, ast.LocalPath)
    with_names = items[11]
    assert [(n.name.name, n.alias.name) for n in with_names.names] == [("a", "b"), ("c", "d")]
    assert with_names.path.package.version == "1.0.0"
    gated = items[12]
    assert isinstance(gated.attributes[0], ast.Unstable) and gated.attributes[0].feature.name == "fancy"


def test_top_level_items_and_nested_packages():
    text = (
        "use wasi:http/types@0.2.0 as http-types;\n"
        "use local-iface;\n"
        "/// nested docs\n"
        "package ns:inner@1.0.0 {\n"
        "  interface i {}\n"
        "  world w {}\n"
        "}\n"
        "package ns:other {}\n"
    )
    tree = parse(text)
    assert tree.package is None  # only nested packages: no header
    use1, use2, inner, other = tree.items
    assert isinstance(use1, ast.TopLevelUse) and use1.alias.name == "http-types"
    assert use1.path.package.text == "wasi:http@0.2.0"
    assert use2.alias is None and use2.path.name.name == "local-iface"
    assert isinstance(inner, ast.NestedPackage) and inner.package.text == "ns:inner@1.0.0"
    assert inner.docs == "nested docs"
    assert [type(i).__name__ for i in inner.items] == ["Interface", "World"]
    assert other.items == [] and other.package.version is None


def test_header_then_nested_packages_and_empty_files():
    tree = parse("package a:b;\npackage c:d { interface i {} }\n")
    assert tree.package.text == "a:b" and isinstance(tree.items[0], ast.NestedPackage)
    assert parse("package a:b;").items == []
    empty = parse("// only a comment\n")
    assert empty.package is None and empty.items == []


def test_attributes():
    text = (
        "package a:b@2.0.0;\n"
        "@since(version = 1.0.0)\n"
        "@deprecated(version = 2.0.0-rc.1+build.5)\n"
        "@unstable(feature = my-feature)\n"
        "interface i {\n"
        "  @since(version = 1.1.0) type t = u32;\n"
        "  @unstable(feature = x) use o.{y};\n"
        "}\n"
        "world w { @since(version = 1.0.0) include i2; @since(version = 1.0.0) export e; }\n"
    )
    tree = parse(text)
    iface, world = tree.items
    since, deprecated, unstable = iface.attributes
    assert isinstance(since, ast.Since) and since.version == "1.0.0"
    assert isinstance(deprecated, ast.Deprecated) and deprecated.version == "2.0.0-rc.1+build.5"
    assert isinstance(unstable, ast.Unstable) and unstable.feature.name == "my-feature"
    assert iface.items[0].attributes[0].version == "1.1.0"
    assert iface.items[1].attributes[0].feature.name == "x"
    assert [type(i).__name__ for i in world.items] == ["Include", "Extern"]
    assert all(len(i.attributes) == 1 for i in world.items)


def test_identifier_rules():
    ok = ["apple", "apple-pear", "APPLE", "APPLE-PEAR", "apple-PEAR-grape", "is-XML",
          "apple-0", "a0-000-3d4a-54FF", "%bool", "%interface"]
    for name in ok:
        tree = parse(f"package a:b;\ninterface {name} {{}}\n")
        assert tree.items[0].name.name == name.lstrip("%")
    bad = {
        "Apple": "invalid character in identifier 'p'",
        "applE": "invalid character in identifier 'E'",
        "apple_pear": "invalid character in identifier '_'",
        "apple--pear": "identifiers must have characters between '-'s",
        "a0-000-3d4A-54Ff": "invalid character in identifier 'A'",
        "%": "identifiers must have characters between '-'s",
        "%0a": "identifiers must have characters between '-'s",  # `%` then `0a`
        "garçon": "invalid character in identifier 'ç'",
    }
    for name, message in bad.items():
        err = syntax_error(f"package a:b;\ninterface {name} {{}}\n")
        assert err.diagnostic.message == message, name
        assert (err.diagnostic.span.line, err.diagnostic.span.col) == (2, 11)


def test_keywords_are_not_names():
    for word in ("type", "record", "func", "option", "string", "include", "from", "_"):
        err = syntax_error(f"package a:b;\ninterface i {{\n  record r {{ {word}: u32 }}\n}}\n")
        assert err.diagnostic.message == f"expected an identifier or string, found keyword `{word}`"
        assert (err.diagnostic.span.line, err.diagnostic.span.col) == (3, 14)


def test_named_interface_imports_and_exports():
    """`import label: path;` (wit-parser's NamedPath): the label names an interface,
    local or of another package; `import a:b/c;` stays a plain package path."""
    text = ("package a:b;\nworld w {\n"
            "  /// docs\n  import primary: store;\n"
            "  export %secondary: ns:pkg/store@1.2.0;\n"
            "  import ns:pkg/store;\n"
            "  @since(version = 1.0.0)\n  import x : ns : pkg / other;\n"
            "}\n")
    world = parse(text).items[0]
    first, second, plain, gated = world.items
    assert isinstance(first.kind, ast.NamedPath)
    assert first.direction == "import" and first.docs == "docs"
    assert first.kind.name.name == "primary"
    assert (first.kind.name.span.line, first.kind.name.span.col) == (4, 10)
    assert isinstance(first.kind.path, ast.LocalPath) and first.kind.path.name.name == "store"
    assert text[first.kind.span.start:first.kind.span.end] == "primary: store"
    assert text[first.span.start:first.span.end] == "import primary: store;"
    assert second.direction == "export" and second.kind.name.name == "secondary"
    path = second.kind.path
    assert isinstance(path, ast.PackagePath)
    assert (path.package.text, path.name.name) == ("ns:pkg@1.2.0", "store")
    assert isinstance(plain.kind, ast.PackagePath) and plain.kind.package.text == "ns:pkg"
    assert isinstance(gated.kind, ast.NamedPath) and gated.kind.path.package.text == "ns:pkg"
    assert gated.attributes and gated.attributes[0].version == "1.0.0"


def test_named_interface_import_syntax_errors():
    for text, message, where in [
        ("world w {\n  import a: b:c;\n}\n", "expected `/`, found ';'", (2, 16)),
        ("world w {\n  import a: b.c;\n}\n", "expected ';', found '.'", (2, 14)),
        ("world w {\n  import a: b\n}\n", "expected ';', found '}'", (3, 1)),
        ("world w {\n  export a: ;\n}\n", "expected an identifier or string, found ';'", (2, 13)),
    ]:
        err = syntax_error("package a:b;\n" + text)
        assert err.diagnostic.message == message, text
        assert (err.diagnostic.span.line - 1, err.diagnostic.span.col) == where, text


# --- syntax errors against the real wasm-tools -----------------------------------------

_DEEP_TYPE = "package a:b;\ninterface i {\n  type t = " + "list<" * 120 + "u8" + ">" * 120 + ";\n}\n"
_DEEP_PACKAGES = "".join(f"package a:p{i} {{\n" for i in range(105)) + "}\n" * 105

BROKEN = [
    "package a:b;\ninterface i {\n  type t = list<u32;\n}\n",
    "package a:b;\ninterface i {\n  f: func()\n}\n",
    "package a:b;\ninterface i {\n  record r { type: u32 }\n}\n",
    "package a:b;\ninterface i {\n  foo_bar: func();\n}\n",
    "package a:b;\ninterface Foo {}\n",
    "package a:b;\ninterface a--b {}\n",
    "package a:b;\ninterface a- {}\n",
    "package a:b;\n/* never closed /* */\ninterface i {}\n",
    "package a:b;\ninterface i { $ }\n",
    "package a:b;\ninterface i {\x0b}\n",
    "package a:b;\ninterface i {\u202e}\n",
    "package a:b@1.0;\n",
    "package a:b@01.0.0;\n",
    "package a:b@1.0.0-01;\n",
    "package a:b;\n@foo(bar = baz)\ninterface i {}\n",
    "package a:b;\n@foo\ninterface i {}\n",
    "package a:b;\n@since(feature = x)\ninterface i {}\n",
    "package a:b;\n@unstable(feature = 1.0.0)\ninterface i {}\n",
    "package a:b;\n@since(version = x)\ninterface i {}\n",
    "package a:b;\n@since(version 1.0.0)\ninterface i {}\n",
    "package a:b;\n@since(version = 0.2.01.0.0)\ninterface i {}\n",
    "package a:b@1.0.0;\n@unstable(feature = 42)\ninterface i {}\n",
    "package a:b@1.0.0;\n@since(version = foo_x)\ninterface i {}\n",
    "package a:b@1.0.0;\n@unstable(feature = foo_x)\ninterface i {}\n",
    "package a:b@1.0.0;\n@since(version = 1.0)\ninterface i {}\n",
    "package a:b@1.0.0;\n@deprecated(version = 01.0.0)\ninterface i {}\n",
    "package a:b@1.0.0;\n@%foo(version = 1.0.0)\ninterface i {}\n",
    "package a:b@1.0.0;\n@since(version = %foo)\ninterface i {}\n",
    "package a:b;\ninterface i {\n  t1: fun_;\n}\n",
    "package a:b;\ninterface i {\n  resource r { x: static fun_(); }\n}\n",
    "package a:b;\n@since(vers.on = 1.0.0)\ninterface i {}\n",
    "package a:b;\n@sinc\\re(version = 1.0.0)\ninterface i {}\n",
    "package a:b;\n@since(version = 0.2/*0)\ninterface i {}\n",
    "package a:b;\n@since(versio\"n = 0.3.0)\ninterface i {}\n",
    "package a:b@1.0.0-+x;\n",
    "package a:b;\n@since(version = 0.2.0->\ninterface i {}\n",
    "package a:b;\nworld w {\n  include a with { b }\n}\n",
    "package a:b;\ninterface i {\n  use a.{b c};\n}\n",
    "package a:b;\ninterface i {\n  x: func() -> ();\n}\n",
    "package a:b;\ninterface i {\n  resource r {\n    x: async static func();\n  }\n}\n",
    "package a:b;\ninterface i {\n  resource r {\n    async constructor();\n  }\n}\n",
    "package a:b;\ninterface % {}\n",
    "package a:b;\ninterface i {\n  type t = tuple<u32 u32>;\n}\n",
    "package a:b;\ninterface i {\n  type t = result<_>;\n}\n",
    "package a:b;\nworld w {\n  export;\n}\n",
    "package a:b;\n@since(version = 1.0.0)\npackage a:c {}\n",
    "package a:b;\npackage c:d;\n",
    "package a:b;\ninterface i {",
    "package a:b;\ninterface i {\n  type t = list<u32, 99999999999>;\n}\n",
    "package a:b;\ninterface i {\n  type t = list<u32, >;\n}\n",
    "package a:b;\ninterface i {}\r\n\rworld w {}\n",
    "package a:b;\ninterface i {\n  enum e { a, b,, }\n}\n",
    "package a:b;\nworld w {\n  import foo: interface\n}\n",
    "package a:b;\nuse a:b/c@1.0.0.{x};\n",
    "package a:b;\ninterface i {\n  use a:b/c@1.0.0 as x;\n}\n",
    "package a:b;\ninterface i {\n  x: func(a: u32 b: u32);\n}\n",
    "package a:b;\ninterface i {\n  variant v { a(u32, b }\n}\n",
    "package a:b;\nworld w {\n  import a:b/c@1.0.0\n}\n",
    "package a:b;\ninterface i {\n  type t = own<r>\n}\n",
    "package a:b;\ninterface i {\n  type t = own<u32>;\n}\n",
    "package a:b;\ninterface i {\n  type t = map<u32>;\n}\n",
    "package a:b;\ninterface i {\n  resource r\n}\n",
    "package a:b;\ninterface i {\n  constructor();\n}\n",
    "package a:b;\nworld w {\n  type t = u32\n}\n",
    "package a:b;\nworld w {\n  func: func();\n}\n",
    "package a:b;\ninterface i {\n  x: func(a: \"s\");\n}\n",
    "package a:b;\ninterface i {\n  x: func(a: \"unterminated);\n}\n",
    "package a:b;\ninterface i {\n  @deprecated(version = 1.0.0\n  x: func();\n}\n",
    "package a:b;\ninterface i { x: func(); } garbage\n",
    "package a:b {\n  interface i {}\n}\npackage c:d;\n",
    "package a:b;\ninterface i {\n  type t = future<>;\n}\n",
    "package a:b;\ninterface i {\n  type t = stream<u8, u8>;\n}\n",
    "package a:b;\ninterface i {\n  type t = u32;;\n}\n",
    "package a:b;\nworld w {\n  import x: func() -> u32 u32;\n}\n",
    "package a:b;\ninterface i {\n  flags f { a: u32 }\n}\n",
    "package a:b;\ninterface i {\n  type t = error-context<u8>;\n}\n",
    "\ufeffpackage a:b;\ninterface i {\n  type t = list<u32;\n}\n",
    "package a:b;\ninterface i {\n  type t = list<u32, 4, 5>;\n}\n",
    "package a:b;\ninterface i {\n  x: func(a: borrow<%>);\n}\n",
    "package a:b;\ninterface i {\n  x: func(a: u32) -> result<u32, string> {}\n}\n",
    "package a:b;\nworld w {\n  import a:b/c@1.x.0;\n}\n",
    "package;\n",
    "package a:b;\nuse;\n",
    "interface i {}\nworld w { include i with {} extra }\n",
    # named interface imports/exports (`label: path`)
    "package a:b;\nworld w {\n  import a: b:c;\n}\n",
    "package a:b;\nworld w {\n  import a: b.c;\n}\n",
    "package a:b;\nworld w {\n  import a: b\n}\n",
    "package a:b;\nworld w {\n  export a: ;\n}\n",
    "package a:b;\nworld w {\n  export a: b:c/d@1.x.0;\n}\n",
    "package a:b;\nworld w {\n  import a: b:c/d/e;\n}\n",
    _DEEP_TYPE,
    _DEEP_PACKAGES,
]


@pytest.mark.parametrize("index", range(len(BROKEN)))
def test_syntax_errors_match_wasm_tools(tmp_path, index):
    text = BROKEN[index]
    path = tmp_path / "broken.wit"
    path.write_bytes(text.encode("utf-8"))
    ours = our_error(text, str(path))
    theirs = wasm_tools_error(path)
    assert ours is not None and ours[0] == "WitSyntaxError", ours
    assert theirs is not None, "wasm-tools accepted it"
    assert ours[1:] == theirs


@pytest.mark.parametrize("seed", [11, 22])
def test_random_mutations_match_wasm_tools(tmp_path, seed):
    """Delete, duplicate, swap or replace one token of a corpus file, or put a stray
    character somewhere: whenever we report a syntax error, wasm-tools reports the same
    message at the same line and column; when we accept the text, wasm-tools' complaint
    (if any) is not a syntax error."""
    rng = random.Random(seed)
    files = corpus_wit_files()
    replacements = ["type", "u32", "(", ")", "{", "}", ";", ",", "<", ">", "@", "foo", "%foo",
                    "1.0.0", "42", "_", "->", ":", ".", "/", "func", "as", "with", "static", "$"]
    stray = ["_", "-", "%", ".", "0", "A", '"', "/*", "*/", "//", "\\", "\r", "é", "@", "+", "1.0"]
    path = tmp_path / "mutant.wit"
    compared = 0
    for _ in range(50):
        text = rng.choice(files).read_text()
        toks = wit_parser._lex(SourceFile("x", text))
        count = len(toks.kinds) - 1
        k = rng.randrange(count)
        s, e = toks.starts[k], toks.ends[k]
        op = rng.choice(["delete", "duplicate", "swap", "replace", "stray"])
        if op == "stray":
            at = rng.randrange(len(text))
            new = text[:at] + rng.choice(stray) + text[at + rng.randrange(2):]
        elif op == "delete":
            new = text[:s] + text[e:]
        elif op == "duplicate":
            new = text[:e] + " " + text[s:e] + text[e:]
        elif op == "swap" and k + 1 < count:
            s2, e2 = toks.starts[k + 1], toks.ends[k + 1]
            new = text[:s] + text[s2:e2] + text[e:s2] + text[s:e] + text[e2:]
        else:
            new = text[:s] + rng.choice(replacements) + text[e:]
        if new.lstrip().startswith("("):
            continue  # wasm-tools would read it as the WebAssembly text format
        path.write_bytes(new.encode("utf-8"))
        ours = our_error(new, str(path))
        theirs = wasm_tools_error(path)
        if ours is None or ours[0] != "WitSyntaxError":
            if theirs is not None:
                assert not theirs[0].startswith(("expected ", "unexpected", "invalid character")), (new, theirs)
            continue
        assert ours[1:] == theirs, (op, new[max(0, s - 60):s + 60])
        compared += 1
    assert compared >= 20


@pytest.mark.parametrize("version", ["1.0.0-", "1.0.0+", "1.0.0-+", "1.0.0-rc+", "1.0.0--", "1.0.0-rc-"])
def test_dangling_version_signs_match_wasm_tools(tmp_path, version):
    text = f"package a:b@{version};\ninterface i {{}}\n"
    path = tmp_path / "v.wit"
    path.write_text(text)
    printed = run_wasm_tools("component", "wit", str(path))
    assert printed.returncode == 0, printed.stderr.decode()
    header = printed.stdout.decode().splitlines()[0]
    package = parse(text).package
    assert header == f"package {package.text};"
    assert text[package.version_span.start:package.version_span.end] == package.version


def _parse_fail_cases():
    root = corpus_path("wit-parser-ui", "parse-fail")
    for result in sorted(root.glob("*.wit.result")):
        case = root / result.name[: -len(".result")]
        folder = root / result.name[: -len(".wit.result")]
        files = [case] if case.is_file() else sorted(folder.rglob("*.wit"))
        yield result, files


_SYNTAX_MESSAGE = re.compile(r"^(expected |unexpected |invalid character|type nesting|package nesting"
                             r"|unknown attribute|identifiers must|unterminated)")


def test_wit_parser_parse_fail_cases():
    """Every parse-time failure of wit-parser's UI tests is reported with its message
    at its line:column; nothing else is rejected as a syntax error."""
    matched = 0
    for result, files in _parse_fail_cases():
        expected = result.read_text()
        m = re.search(r"--> tests/ui/parse-fail/(\S+):(\d+):(\d+)", expected) or \
            re.search(r"tests/ui/parse-fail/(\S+?):(\d+):(\d+): (.*)", expected)
        message = expected.split("\n")[0].split(": ")[-1] if m else None
        if m and m.lastindex == 4:
            message = m.group(4)
        ours = None
        for path in files:
            try:
                parse_file(SourceFile(str(path), path.read_text()))
            except WitSyntaxError as exc:
                ours = (path, exc.diagnostic)
                break
        wants_syntax_error = message is not None and _SYNTAX_MESSAGE.match(message)
        if ours is None:
            assert not wants_syntax_error, f"{result.name}: not rejected: {message}"
            continue
        path, diag = ours
        assert wants_syntax_error, f"{result.name}: rejected with {diag.message!r}, expected {message!r}"
        relative = path.relative_to(corpus_path("wit-parser-ui", "parse-fail")).as_posix()
        assert (diag.message, relative, diag.span.line, diag.span.col) == \
            (message, m.group(1), int(m.group(2)), int(m.group(3))), result.name
        matched += 1
    assert matched >= 15


def test_rendered_diagnostic_points_at_the_token():
    err = syntax_error("package a:b;\ninterface i {\n  type t = list<u32;\n}\n", "dir/file.wit")
    diag = err.diagnostic
    assert diag.location == "dir/file.wit:3:20"
    rendered = err.render()
    assert rendered.splitlines() == [
        "error: expected '>', found ';'",
        " --> dir/file.wit:3:20",
        "  |",
        "3 |   type t = list<u32;",
        "  |                    ^",
    ]
    eof = syntax_error("package a:b;\ninterface i {\n  f: func();\n")
    assert eof.diagnostic.message == "expected `type`, `resource` or `func`, found eof"
    assert (eof.diagnostic.span.line, eof.diagnostic.span.col) == (4, 1)


def test_errors_are_never_tracebacks_for_odd_input():
    odd = ["", "\n", "}", "package", "@", "%", "\"", "/*", "//", "->", "0.1.0", "\ufeff",
           "package a:b; interface i { type t = list<list<list<", "world w { import",
           "package a:b;\ninterface i { x: func(a: u32,,); }", "interface i { \\ }"]
    for text in odd:
        try:
            parse_text(text)
        except Wit2WitxError as exc:
            assert exc.diagnostic.span is not None
            assert "-->" in exc.render()


# --- the table cache -------------------------------------------------------------------


@pytest.fixture
def fresh_tables(monkeypatch):
    """Forget the in-process table so that the next parse goes through the cache."""
    monkeypatch.setattr(wit_parser, "_LOADED", None)
    yield
    monkeypatch.setattr(wit_parser, "_LOADED", None)


def test_cache_is_written_then_reused(tmp_path, monkeypatch, fresh_tables):
    monkeypatch.setenv("WIT2WITX_CACHE_DIR", str(tmp_path / "cache"))
    assert parse("package a:b;\ninterface i {}\n").items[0].name.name == "i"
    written = list((tmp_path / "cache").glob("wit-lalr-*.marshal"))
    assert len(written) == 1
    monkeypatch.setattr(wit_parser, "_LOADED", None)
    monkeypatch.setattr(wit_parser, "_build_tables", lambda grammar: pytest.fail("cache not used"))
    assert parse("package a:b;\nworld w {}\n").items[0].name.name == "w"


def test_cache_from_other_code_is_rebuilt(tmp_path, monkeypatch, fresh_tables):
    # A table that names a builder this code lacks (an older checkout, say) is not used.
    monkeypatch.setenv("WIT2WITX_CACHE_DIR", str(tmp_path))
    key = wit_parser._table_key(wit_parser._resources.grammar_path().read_bytes())
    rows, rules, start, accessing = wit_parser._build_tables(
        wit_parser._resources.grammar_path().read_text())
    rules = [(lhs, n, "no_such_builder" if name else None) for lhs, n, name in rules]
    (tmp_path / f"wit-lalr-{key}.marshal").write_bytes(marshal.dumps((rows, rules, start, accessing)))
    assert parse("package a:b;\ninterface i {}\n").items[0].name.name == "i"


@pytest.mark.parametrize("problem", ["read-only", "not-a-directory", "corrupt"])
def test_cache_problems_only_cost_a_rebuild(tmp_path, monkeypatch, fresh_tables, problem):
    if problem == "read-only":
        cache = tmp_path / "ro"
        cache.mkdir()
        cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    elif problem == "not-a-directory":
        (tmp_path / "file").write_text("x")
        cache = tmp_path / "file" / "sub"
    else:
        cache = tmp_path / "bad"
        cache.mkdir()
        key = wit_parser._table_key(wit_parser._resources.grammar_path().read_bytes())
        (cache / f"wit-lalr-{key}.marshal").write_bytes(b"\x00garbage")
    monkeypatch.setenv("WIT2WITX_CACHE_DIR", str(cache))
    try:
        tree = parse("package a:b;\ninterface i { f: func(); }\n")
    finally:
        if problem == "read-only":
            cache.chmod(stat.S_IRWXU)
    assert tree.items[0].items[0].name.name == "f"


def test_warm_process_does_not_import_lark(tmp_path):
    env = dict(os.environ, WIT2WITX_CACHE_DIR=str(tmp_path / "cache"))
    code = ("import sys; from wit2witx.wit.parser import parse_text; "
            "parse_text('package a:b; interface i {}'); print('lark' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert (first.stdout.strip(), second.stdout.strip()) == ("True", "False"), first.stderr + second.stderr
