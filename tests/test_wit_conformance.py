"""wit2witx's resolver against wit-parser's own UI tests and against real wasm-tools.

- every valid case of `wit-parser-ui/` resolves (feature `active` on) to the same
  structure as its expected `.wit.json`, after `normalize` (ids replaced by what they
  point at, docs dropped: arena order and doc formatting may differ), and in fact to
  the identical JSON;
- every `parse-fail/` case is rejected with a `Wit2WitxError`; the share of first
  diagnostics at the expected line:column is measured and held above a floor;
- every WASI 0.2.12 and 0.3.0 package resolves like `wasm-tools component wit --json`.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import CORPUS, corpus_path, run_wasm_tools
from wit2witx.diagnostics import Wit2WitxError
from wit2witx.emit.json import dumps, to_json
from wit2witx.wit.resolve import load

UI = "wit-parser-ui"
# Valid in the wit-parser 0.257.1 snapshot, rejected by today's wasm-tools ("empty record").
NOW_REJECTED = {"multi-file", "types.wit", "union-fuzz-2.wit", "use-chain.wit"}
# Share of parse-fail cases whose first diagnostic is at the expected line:column.
SPAN_MATCH_FLOOR = 1.0


# --- normalization ------------------------------------------------------------------------


def normalize(doc: dict) -> dict:
    """A structure equal for two JSON resolves that differ only in arena order and docs."""
    types, ifaces, worlds, pkgs = doc["types"], doc["interfaces"], doc["worlds"], doc["packages"]

    def pkg_name(pid):
        return pkgs[pid]["name"] if pid is not None else "?"

    anon_iface_names: dict[int, str] = {}
    for world in worlds:
        for direction in ("imports", "exports"):
            for key, item in world[direction].items():
                if "interface" in item:
                    iid = item["interface"]["id"]
                    if ifaces[iid]["name"] is None:
                        anon_iface_names[iid] = (f"{pkg_name(world['package'])}/"
                                                 f"{world['name']}#{direction}:{key}")

    def iface_ref(iid: int) -> str:
        iface = ifaces[iid]
        if iface["name"] is None:
            return "anon:" + anon_iface_names.get(iid, "?")
        return f"{pkg_name(iface['package'])}/{iface['name']}"

    def owner_ref(owner) -> str | None:
        if owner is None:
            return None
        if "interface" in owner:
            return "interface:" + iface_ref(owner["interface"])
        world = worlds[owner["world"]]
        return f"world:{pkg_name(world['package'])}/{world['name']}"

    def ty(ref):
        if isinstance(ref, int):
            td = types[ref]
            if td["name"] is not None:
                return ["ref", owner_ref(td["owner"]), td["name"]]
            out = {"anon": kind(td["kind"])}
            if "stability" in td:
                out["stability"] = td["stability"]
            return out
        return ref

    def kind(k):
        if isinstance(k, str):
            return k
        (tag, body), = k.items()
        if tag in ("type", "option", "list"):
            return {tag: ty(body)}
        if tag in ("future", "stream"):
            return {tag: None if body is None else ty(body)}
        if tag == "handle":
            (hk, rid), = body.items()
            return {tag: {hk: ty(rid)}}
        if tag == "record":
            return {tag: [[f["name"], ty(f["type"])] for f in body["fields"]]}
        if tag == "variant":
            return {tag: [[c["name"], None if c["type"] is None else ty(c["type"])]
                          for c in body["cases"]]}
        if tag in ("enum", "flags"):
            return {tag: [c["name"] for c in body["cases" if tag == "enum" else "flags"]]}
        if tag == "tuple":
            return {tag: [ty(t) for t in body["types"]]}
        if tag == "result":
            return {tag: [None if body["ok"] is None else ty(body["ok"]),
                          None if body["err"] is None else ty(body["err"])]}
        if tag == "map":
            return {tag: [ty(body[0]), ty(body[1])]}
        if tag == "fixed-length-list":
            return {tag: [ty(body[0]), body[1]]}
        raise AssertionError(f"unknown kind {tag}")

    def typedef(tid: int) -> dict:
        td = types[tid]
        out = {"name": td["name"], "kind": kind(td["kind"]), "owner": owner_ref(td["owner"])}
        if "stability" in td:
            out["stability"] = td["stability"]
        return out

    def function(fn: dict) -> dict:
        k = fn["kind"]
        if isinstance(k, dict):
            (tag, rid), = k.items()
            k = {tag: ty(rid)}
        out = {"name": fn["name"], "kind": k,
               "params": [[p["name"], ty(p["type"])] for p in fn["params"]],
               "result": ty(fn["result"]) if "result" in fn else None}
        if "stability" in fn:
            out["stability"] = fn["stability"]
        return out

    def interface(iid: int) -> dict:
        iface = ifaces[iid]
        out = {"types": {n: typedef(t) for n, t in iface["types"].items()},
               "functions": {n: function(f) for n, f in iface["functions"].items()}}
        if "stability" in iface:
            out["stability"] = iface["stability"]
        return out

    def world_items(items: dict) -> dict:
        out = {}
        for key, item in items.items():
            m = re.fullmatch(r"interface-(\d+)", key)
            nkey = "interface:" + iface_ref(int(m.group(1))) if m else key
            if "interface" in item:
                body = item["interface"]
                value = {"interface": iface_ref(body["id"])}
                if ifaces[body["id"]]["name"] is None:
                    value["inline"] = interface(body["id"])
                if "stability" in body:
                    value["stability"] = body["stability"]
            elif "function" in item:
                value = {"function": function(item["function"])}
            else:
                value = {"type": typedef(item["type"])}
            out[nkey] = value
        return out

    def world(wid: int) -> dict:
        w = worlds[wid]
        # Named imports keep their order (interfaces, types, functions); interface keys
        # are ids, whose order depends on arena order, so they are compared as a set.
        out = {"imports": world_items(w["imports"]), "exports": world_items(w["exports"]),
               "import-order": [k for k in w["imports"] if not k.startswith("interface-")]}
        if "stability" in w:
            out["stability"] = w["stability"]
        return out

    return {
        p["name"]: {
            "interfaces": {n: interface(i) for n, i in p["interfaces"].items()},
            "worlds": {n: world(w) for n, w in p["worlds"].items()},
        }
        for p in pkgs
    }


def test_corpus_present() -> None:
    """The parametrized cases below come from the corpus: make its absence visible."""
    for part in (UI, "wasi-p2", "wasi-p3"):
        assert corpus_path(part).is_dir()


# --- valid UI cases --------------------------------------------------------------------------


def _ui_valid_cases() -> list[str]:
    root = CORPUS / UI
    if not root.exists():
        return []
    return sorted(p.name[: -len(".json")] for p in root.glob("*.wit.json"))


def _case_path(case: str) -> Path:
    """`foo.wit.json` describes `foo.wit` (a file) or `foo/` (a directory)."""
    root = corpus_path(UI)
    as_file = root / case
    return as_file if as_file.exists() else root / case[: -len(".wit")]


@pytest.mark.parametrize("case", _ui_valid_cases())
def test_ui_valid_case(case: str) -> None:
    path = _case_path(case)
    if path.name in NOW_REJECTED:
        with pytest.raises(Wit2WitxError) as info:
            load([str(path)], features=["active"])
        assert info.value.diagnostic.message == "empty record"
        assert info.value.diagnostic.span is not None
        ref = run_wasm_tools("component", "wit", "--features", "active", str(path))
        assert ref.returncode != 0 and b"empty record" in ref.stderr
        return
    resolve = load([str(path)], features=["active"])
    ours = to_json(resolve)
    json.dumps(ours)  # must be serialisable
    expected = json.loads((path.parent / f"{case}.json").read_text())
    assert normalize(ours) == normalize(expected)
    # Stronger than required: the arenas are built in wit-parser's order, and docs are
    # carried the same way, so the JSON is identical, not just equivalent.
    assert ours == expected


# --- parse-fail cases ---------------------------------------------------------------------------

_LOCATION = re.compile(r"(?:-->\s*|^\s*\*\s*|^)(\S+?):(\d+):(\d+)(?::|$)", re.M)


def _expected_location(text: str) -> tuple[int, int] | None:
    m = _LOCATION.search(text)
    return (int(m.group(2)), int(m.group(3))) if m else None


def _wasm_tools_error(case: str) -> str:
    root = corpus_path(UI, "parse-fail")
    path = root / f"{case}.wit"
    if not path.exists():
        path = root / case
    ref = run_wasm_tools("component", "wit", "--features", "active", str(path))
    return ref.stderr.decode(errors="replace") if ref.returncode != 0 else ""


def _parse_fail_cases() -> list[str]:
    root = CORPUS / UI / "parse-fail"
    if not root.exists():
        return []
    return sorted(p.name[: -len(".wit.result")] for p in root.glob("*.wit.result"))


def _run_parse_fail(case: str):
    root = corpus_path(UI, "parse-fail")
    path = root / f"{case}.wit"
    if not path.exists():
        path = root / case
    expected = (root / f"{case}.wit.result").read_text()
    try:
        load([str(path)], features=["active"])
    except Wit2WitxError as exc:
        return exc, expected
    return None, expected


@pytest.mark.parametrize("case", _parse_fail_cases())
def test_ui_parse_fail_rejected(case: str) -> None:
    exc, _ = _run_parse_fail(case)
    assert exc is not None, f"{case} was accepted"
    assert exc.diagnostics and exc.render()


def test_ui_parse_fail_locations() -> None:
    cases = _parse_fail_cases()
    assert cases, "no parse-fail cases found"
    matched, misses = 0, []
    for case in cases:
        exc, expected = _run_parse_fail(case)
        if exc is None:
            misses.append(f"{case}: accepted")
            continue
        diag = exc.diagnostic
        want = _expected_location(expected)
        if want is None:
            ok = diag.message.split("\n")[0] in expected
        else:
            ok = diag.span is not None and (diag.span.line, diag.span.col) == want
        if not ok and diag.span is not None:
            # Where the snapshot and today's wasm-tools disagree, today's is the reference.
            now = _expected_location(_wasm_tools_error(case))
            ok = now is not None and (diag.span.line, diag.span.col) == now
        if ok:
            matched += 1
        else:
            got = f"{diag.span.line}:{diag.span.col}" if diag.span else "-"
            misses.append(f"{case}: want {want} got {got}: {diag.message[:80]}")
    ratio = matched / len(cases)
    print(f"\nparse-fail location matches: {matched}/{len(cases)} = {ratio:.3f}")
    for miss in misses:
        print("  miss:", miss)
    assert ratio >= SPAN_MATCH_FLOOR


# --- named interface imports/exports (`import label: iface;`) vs real wasm-tools -----------------

# Each case: files (relative path -> text); the first one's folder is what is loaded.
NAMED_IMPORTS = {
    "labels": {"t.wit": """package foo:foo;
interface types {
  type t = u32;
}
interface store {
  use types.{t};
  get: func() -> option<t>;
}
world test {
  /// primary docs
  import primary: store;
  // a plain comment is docs too
  import secondary: store;
  import store;
  export out: store;
  import f: func();
}
"""},
    "foreign-and-include": {
        "main.wit": """package foo:bar;
interface local { f: func(); }
world w {
  import one: ns:dep/store@1.0.0;
  import two: ns:dep/store@1.0.0;
  import ns:dep/store@1.0.0;
  export three: ns:dep/store@1.0.0;
  export local;
  export loc: local;
  import f: func();
}
world w2 {
  include w with { one as uno, f as g }
  import x: local;
}
""",
        "deps/dep/dep.wit": """package ns:dep@1.0.0;
interface base { resource r { get: func() -> u32; } }
interface store { use base.{r}; make: func() -> r; }
"""},
    "export-deps": {"t.wit": """package foo:foo;
interface a { type t = u32; }
interface b { use a.{t}; }
world w1 { export x: b; export a; }
world w2 { export x: a; export b; }
world w3 { import a: a; import a; export a: a; export a; }
"""},
    "gates": {"t.wit": """package foo:foo@1.0.0;
interface a { type t = u32; }
@unstable(feature = nope)
interface b { f: func(); }
world w {
  @unstable(feature = nope)
  import x: a;
  @since(version = 1.0.0)
  import y: a;
  export %y: a;
  @unstable(feature = nope)
  import z: b;
}
"""},
    "dependency-only-by-label": {
        "main.wit": "package app:main;\nworld w {\n  import s: zz:dep/store;\n"
                    "  export t: zz:dep/store;\n}\n",
        "deps/dep.wit": "package zz:dep;\ninterface base { type t = u32; }\n"
                        "interface store { use base.{t}; get: func() -> t; }\n"},
}


@pytest.mark.parametrize("case", sorted(NAMED_IMPORTS))
def test_named_imports_match_wasm_tools(tmp_path: Path, case: str) -> None:
    files = NAMED_IMPORTS[case]
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    target = tmp_path / next(iter(files)) if len(files) == 1 else tmp_path
    ref = run_wasm_tools("component", "wit", "--json", str(target))
    assert ref.returncode == 0, ref.stderr.decode()
    resolve = load([str(target)])
    assert dumps(resolve).strip() == ref.stdout.decode().strip()


NAMED_IMPORT_ERRORS = [
    "world w {\n  import x: a;\n  import X: a;\n}\n",
    "world v { import x: a; export y: a; }\nworld w {\n  include v;\n  import x: a;\n}\n",
    "world w {\n  use a.{t};\n  import t: a;\n}\n",
    "world w {\n  import x: interface { f: func(); }\n  import x: a;\n}\n",
    "world w {\n  import a: foo:foo/a;\n}\n",
    "world w {\n  export e: nope:nope/a;\n}\n",
    "world w {\n  import x: a;\n  export x: func();\n  export x: a;\n}\n",
    # `b` needs `a` imported (its key is the interface), yet `a` is exported by label
    "interface b { use a.{t}; }\nworld w {\n  export x: b;\n  export %a: a;\n}\n",
]


@pytest.mark.parametrize("index", range(len(NAMED_IMPORT_ERRORS)))
def test_named_import_errors_match_wasm_tools(tmp_path: Path, index: int) -> None:
    text = "package foo:foo;\ninterface a { type t = u32; }\n" + NAMED_IMPORT_ERRORS[index]
    path = tmp_path / "t.wit"
    path.write_text(text)
    ref = run_wasm_tools("component", "wit", str(path))
    assert ref.returncode != 0, "wasm-tools accepted it"
    theirs = ref.stderr.decode()
    with pytest.raises(Wit2WitxError) as info:
        load([str(path)])
    diag = info.value.diagnostic
    assert diag.message.split("\n")[0] in theirs.split("\n")[0]
    assert (diag.span.line, diag.span.col) == _expected_location(theirs)


# --- WASI packages vs real wasm-tools ---------------------------------------------------------------


def _wasi_cases() -> list[tuple[str, str]]:
    out = []
    for gen in ("wasi-p2", "wasi-p3"):
        root = CORPUS / gen
        if root.exists():
            out.extend((gen, p.name) for p in sorted(root.iterdir()) if p.is_dir())
    return out


def wasi_package_with_deps(tmp_path: Path, gen: str, name: str) -> Path:
    """A copy of one WASI package in tmp_path with every sibling package in its deps/."""
    root = corpus_path(gen)
    pkg = tmp_path / name
    shutil.copytree(root / name, pkg)
    deps = pkg / "deps"
    deps.mkdir(exist_ok=True)
    for other in sorted(root.iterdir()):
        if other.is_dir() and other.name != name:
            shutil.copytree(other, deps / other.name)
    return pkg


@pytest.mark.parametrize("gen,name", _wasi_cases())
def test_wasi_package_matches_wasm_tools(tmp_path: Path, gen: str, name: str) -> None:
    pkg = wasi_package_with_deps(tmp_path, gen, name)
    ref = run_wasm_tools("component", "wit", "--json", str(pkg))
    assert ref.returncode == 0, ref.stderr.decode()
    expected = json.loads(ref.stdout)
    resolve = load([str(pkg)])
    ours = to_json(resolve)
    assert normalize(ours) == normalize(expected)
    # and byte for byte the text wasm-tools prints
    assert dumps(resolve).strip() == ref.stdout.decode().strip()


def test_wasi_p2_load_speed() -> None:
    """Not a budget test: prints the in-process load time of all of WASI 0.2.12."""
    root = corpus_path("wasi-p2")
    pkgs = [str(p) for p in sorted(root.iterdir()) if p.is_dir()]
    load(pkgs)  # warm: grammar tables, imports
    times = []
    for _ in range(5):
        start = time.perf_counter()
        resolve = load(pkgs)
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"\nWASI 0.2.12 load (parse+resolve): median {times[2] * 1000:.1f} ms, "
          f"min {times[0] * 1000:.1f} ms")
    assert len(resolve.packages) == len(pkgs)
