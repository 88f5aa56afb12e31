"""WIT packages encoded as wasm (`.wasm` binaries and `.wat` text), against real wasm-tools.

- round trip: every WASI 0.2.12 / 0.3.0 package and every valid wit-parser UI case is
  encoded by `wasm-tools component wit --wasm` (and printed as text by `wasm-tools
  print`); wit2witx's decoding of both files must give JSON byte-identical to what
  wasm-tools decodes from the same file;
- encoded packages as dependencies: alone, mixed with text packages, several binaries
  that each carry part of the same foreign package (merged), and a text package that
  collides with one (a diagnostic, where wasm-tools panics);
- the compiler's outputs from an encoded package equal those from its text;
- malformed input: a diagnostic with a position and a caret, never a traceback, and
  (a bounded hypothesis run of mutations) the same accept/reject verdict as wasm-tools.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import corpus_path, run_wasm_tools
from test_wit_conformance import NOW_REJECTED, UI, _case_path, _ui_valid_cases
from test_wit_differential import package
from wasi import wasi_package_with_deps
from wit2witx.diagnostics import InputError, ResolveError, Wit2WitxError
from wit2witx.emit.json import dumps
from wit2witx.wit.resolve import load

P2 = ["cli", "clocks", "filesystem", "http", "io", "random", "sockets"]
P3 = ["cli", "clocks", "filesystem", "http", "random", "sockets"]


def encode(src: Path, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """`src` (a folder or .wit file) encoded by wasm-tools as `stem.wasm` and `stem.wat`."""
    wasm, wat = out_dir / f"{stem}.wasm", out_dir / f"{stem}.wat"
    done = run_wasm_tools("component", "wit", str(src), "--features", "active", "--wasm",
                          "-o", str(wasm))
    assert done.returncode == 0, done.stderr.decode()
    done = run_wasm_tools("print", str(wasm), "-o", str(wat))
    assert done.returncode == 0, done.stderr.decode()
    return wasm, wat


def reference_json(path: Path) -> str:
    done = run_wasm_tools("component", "wit", str(path), "--json")
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def assert_decodes_like_wasm_tools(path: Path) -> None:
    assert dumps(load(str(path))) == reference_json(path)


# --- round trip through the encoding --------------------------------------------------------------


def _ui_encodable() -> list[str]:
    return [c for c in _ui_valid_cases() if _case_path(c).name not in NOW_REJECTED]


@pytest.mark.parametrize("case", _ui_encodable())
def test_ui_case_round_trips_through_wasm_and_wat(case: str, tmp_path: Path) -> None:
    for path in encode(_case_path(case), tmp_path, "pkg"):
        assert_decodes_like_wasm_tools(path)


@pytest.mark.parametrize("release,package",
                         [("wasi-p2", p) for p in P2] + [("wasi-p3", p) for p in P3])
def test_wasi_package_round_trips_through_wasm_and_wat(release: str, package: str,
                                                       tmp_path: Path) -> None:
    root = wasi_package_with_deps(tmp_path, package, release)
    for path in encode(root, tmp_path, package):
        assert_decodes_like_wasm_tools(path)


def test_kinds_of_deps_ui_case_is_byte_identical() -> None:
    """The UI case with a `.wat` and a `.wasm` dependency next to text ones."""
    path = corpus_path(UI, "kinds-of-deps")
    expected = (path.parent / "kinds-of-deps.wit.json").read_text()
    ours = dumps(load(str(path), features=["active"]))
    assert ours == reference_json(path)
    import json
    assert json.loads(ours) == json.loads(expected)


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=package())
def test_generated_packages_round_trip_through_wasm_and_wat(text: str) -> None:
    """Packages from the differential test's generator (every kind of type, resources,
    `use`, gates, external ids, worlds with includes) that wasm-tools accepts: about a
    third of the examples."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gen.wit"
        src.write_text(text)
        if run_wasm_tools("component", "wit", str(src)).returncode != 0:
            return
        for path in encode(src, Path(tmp), "gen"):
            assert_decodes_like_wasm_tools(path)


# --- encoded packages as dependencies ---------------------------------------------------------------


@pytest.fixture(scope="module")
def encoded_p2(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("encoded")
    return {p: encode(wasi_package_with_deps(out / "src", p), out, p) for p in
            ("cli", "http", "sockets")}


def _world(tmp: Path, body: str) -> Path:
    root = tmp / "app"
    (root / "deps").mkdir(parents=True)
    (root / "app.wit").write_text(f"package app:main;\n\nworld app {{\n{body}}}\n")
    return root


def test_text_package_uses_types_of_an_encoded_dependency(tmp_path, encoded_p2):
    root = _world(tmp_path, "  import wasi:sockets/tcp@0.2.12;\n"
                            "  export wasi:sockets/ip-name-lookup@0.2.12;\n")
    shutil.copy(encoded_p2["sockets"][0], root / "deps" / "sockets.wasm")
    assert_decodes_like_wasm_tools(root)


def test_encoded_dependencies_sharing_a_foreign_package_are_merged(tmp_path, encoded_p2):
    """cli, http and sockets each carry their own partial view of wasi:io and friends."""
    root = _world(tmp_path, "  import wasi:sockets/tcp@0.2.12;\n"
                            "  import wasi:http/outgoing-handler@0.2.12;\n"
                            "  export wasi:cli/run@0.2.12;\n")
    shutil.copy(encoded_p2["cli"][0], root / "deps" / "cli.wasm")
    shutil.copy(encoded_p2["http"][1], root / "deps" / "http.wat")
    shutil.copy(encoded_p2["sockets"][0], root / "deps" / "sockets.wasm")
    resolve = load(str(root))
    io = resolve.package_of("wasi:io@0.2.12")
    assert {"streams", "poll", "error"} <= set(io.interfaces)
    assert_decodes_like_wasm_tools(root)


def test_encoded_content_is_recognised_whatever_the_extension(tmp_path, encoded_p2):
    root = _world(tmp_path, "  import wasi:sockets/tcp@0.2.12;\n")
    shutil.copy(encoded_p2["sockets"][1], root / "deps" / "sockets.wit")  # text wasm
    assert_decodes_like_wasm_tools(root)


def test_text_package_colliding_with_an_encoded_one_is_a_diagnostic(tmp_path, encoded_p2):
    """wasm-tools panics here ("attempting to re-add package"); we explain."""
    root = _world(tmp_path, "  import wasi:sockets/tcp@0.2.12;\n")
    shutil.copy(encoded_p2["sockets"][0], root / "deps" / "sockets.wasm")
    shutil.copytree(corpus_path("wasi-p2", "io"), root / "deps" / "io")
    with pytest.raises(ResolveError) as info:
        load(str(root))
    diag = info.value.diagnostic
    assert "`wasi:io@0.2.12` is defined in two different locations" in diag.message
    assert diag.span is not None and diag.span.path.endswith(".wit")
    assert any("sockets.wasm" in note for note in diag.notes)


def test_real_component_as_dependency_is_rejected(tmp_path):
    root = _world(tmp_path, "")
    (root / "deps" / "c.wat").write_text(
        '(component\n  (core module $m)\n  (import "f" (func))\n)\n')
    with pytest.raises(InputError) as info:
        load(str(root))
    diag = info.value.diagnostic
    assert "instead of an encoded WIT package" in diag.message
    assert (diag.span.line, diag.span.col) == (2, 3)
    ref = run_wasm_tools("component", "wit", str(root))
    assert ref.returncode != 0 and b"instead of an encoded WIT package" in ref.stderr


# --- the compiler on encoded input ---------------------------------------------------------------


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_compiling_an_encoded_package_gives_the_outputs_of_its_decoded_text(tmp_path,
                                                                           encoded_p2):
    """An encoded package keeps only the parts of its dependencies it uses, and orders
    an interface's functions as the encoding does, so its reference is the WIT text
    wasm-tools decodes it to (main package plus nested foreign packages)."""
    wasm, wat = encoded_p2["sockets"]
    text = tmp_path / "sockets.wit"
    done = run_wasm_tools("component", "wit", str(wasm), "-o", str(text))
    assert done.returncode == 0, done.stderr.decode()
    cli = [sys.executable, "-m", "wit2witx", "--emit", "witx,c,host-c,host-py,docs"]
    outs = {}
    for path in (text, wasm, wat):
        out = tmp_path / ("out-" + path.suffix[1:])
        done = subprocess.run([*cli, str(path), "-o", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outs[path.suffix] = _tree(out)
    assert len(outs[".wit"]) >= 50
    assert "wasi_sockets_tcp.witx" in outs[".wit"]
    assert outs[".wasm"] == outs[".wit"]
    assert outs[".wat"] == outs[".wit"]


# --- malformed input ---------------------------------------------------------------------------------


def test_truncated_binary_points_into_a_hex_dump(tmp_path, encoded_p2):
    data = encoded_p2["sockets"][0].read_bytes()
    bad = tmp_path / "cut.wasm"
    bad.write_bytes(data[:100])
    done = subprocess.run([sys.executable, "-m", "wit2witx", str(bad), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "cut.wasm:" in done.stderr and "^" in done.stderr
    assert "byte offset" in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_wat_points_at_line_and_column(tmp_path):
    bad = tmp_path / "bad.wat"
    bad.write_text('(component\n  (type (;0;) (component\n    (export "a:b/c" (instance (type 9)))\n'
                   '  ))\n  (export "c" (type 0))\n)\n')
    with pytest.raises(InputError) as info:
        load(str(bad))
    diag = info.value.diagnostic
    assert "index out of bounds" in diag.message
    assert (diag.span.path, diag.span.line, diag.span.col) == (str(bad), 3, 5)
    assert "^" in info.value.render()


def _mutations() -> st.SearchStrategy:
    return st.tuples(st.sampled_from(["truncate", "flip", "delete", "insert"]),
                     st.integers(min_value=0, max_value=10**9),
                     st.binary(min_size=1, max_size=3))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations(), which=st.integers(min_value=0, max_value=5))
def test_mutated_encodings_get_the_verdict_of_wasm_tools(encoded_p2, mutation, which):
    files = [f for pair in encoded_p2.values() for f in pair]
    source = files[which % len(files)]
    data = bytearray(source.read_bytes())
    op, at, blob = mutation
    i = 8 + at % max(1, len(data) - 8)
    if op == "truncate":
        del data[i:]
    elif op == "flip":
        data[i] = blob[0]
    elif op == "delete":
        del data[i:i + len(blob) * 5]
    else:
        data[i:i] = blob
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{source.suffix}"
        path.write_bytes(bytes(data))
        try:
            ours = dumps(load(str(path)))
        except Wit2WitxError as exc:
            exc.render()
            ours = None
        ref = run_wasm_tools("component", "wit", str(path), "--json")
    if ref.returncode == 0:
        assert ours == ref.stdout.decode()
    else:
        assert ours is None, ref.stderr.decode()


def test_deep_nesting_is_a_diagnostic_not_a_crash(tmp_path):
    """Nesting past wast's limit (text), and a chain of thousands of types (binary):
    both rejected by wasm-tools too; never a RecursionError."""
    depth = 99  # `(component (type` + 99 `(list`: one paren past the limit
    deep = tmp_path / "deep.wat"
    deep.write_text("(component (type " + "(list " * depth + "u8" + ")" * depth + "))\n")
    with pytest.raises(InputError) as info:
        load(str(deep))
    assert info.value.diagnostic.message == "item nesting too deep"
    assert (info.value.diagnostic.span.line, info.value.diagnostic.span.col) == (1, 607)
    ref = run_wasm_tools("component", "wit", str(deep))
    assert ref.returncode != 0 and b"nesting too deep at" in ref.stderr
    assert b"deep.wat:1:607" in ref.stderr

    n = 3000
    decls = ["(type $t0 (list u8))"] + [f"(type $t{i} (list $t{i - 1}))" for i in range(1, n)]
    decls += [f'(type $f (func (param "x" $t{n - 1})))', '(export "f" (func (type $f)))']
    chain = tmp_path / "chain.wat"
    chain.write_text("(component (type $c (component (type $i (instance " + " ".join(decls)
                     + ')) (export "a:b/c" (instance (type $i))))) (export "c" (type $c)))\n')
    binary = tmp_path / "chain.wasm"
    assert run_wasm_tools("parse", str(chain), "-o", str(binary)).returncode == 0
    for path in (chain, binary):
        with pytest.raises(InputError) as info:
            load(str(path))
        assert "too deep" in info.value.diagnostic.message
        assert run_wasm_tools("component", "wit", str(path)).returncode != 0
