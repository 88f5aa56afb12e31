"""Differential test: wit2witx accepts exactly the WIT that `wasm-tools component wit` accepts.

Hypothesis builds small packages (interfaces with every kind of type definition,
resources, `use`, feature gates and `@external-id`s, worlds with imports, exports and
includes), then sometimes breaks them (drops a token, renames a reference, duplicates or
swaps a line).
Each text is given to the real wasm-tools and to `wit2witx.wit.resolve.load`; the
verdicts must agree, and wit2witx may only ever fail with a `Wit2WitxError`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import corpus_path, run_wasm_tools
from wit2witx.diagnostics import Wit2WitxError
from wit2witx.wit.resolve import load

PRIMS = ["u8", "u32", "s64", "f64", "bool", "char", "string"]
# Mostly ungated; `f` is never enabled; 2.0.0 is newer than the package. An external id
# is not a gate, but goes where they go (twice is an error, except on an interface).
GATES = [""] * 9 + ["@since(version = 1.0.0)\n  ", "@since(version = 1.0.0)\n  ",
                    "@unstable(feature = f)\n  ", "@since(version = 2.0.0)\n  ",
                    '@external-id("e")\n  ', '@external-id("e") @since(version = 1.0.0)\n  ',
                    '@external-id("a") @external-id("b")\n  ']
# For world imports and exports.
EXTERNAL_IDS = ["", "", "", '@external-id("w") ']


@st.composite
def type_expr(draw, names: list[str], resources: list[str], depth: int = 0,
              allow_borrow: bool = False) -> str:
    choices = ["prim", "prim"] + (["name"] if names else []) + (
        ["list", "option", "result", "tuple", "future", "stream"] if depth < 2 else []) + (
        ["borrow"] if allow_borrow and resources else []) + (["own"] if resources else [])
    kind = draw(st.sampled_from(choices))
    if kind == "prim":
        return draw(st.sampled_from(PRIMS))
    if kind == "name":
        return draw(st.sampled_from(names))
    if kind in ("borrow", "own"):
        return f"{kind}<{draw(st.sampled_from(resources))}>"
    inner = draw(type_expr(names, resources, depth + 1))
    if kind == "list":
        return f"list<{inner}>"
    if kind == "option":
        return f"option<{inner}>"
    if kind in ("future", "stream"):
        return f"{kind}<{inner}>"
    if kind == "tuple":
        other = draw(type_expr(names, resources, depth + 1))
        return f"tuple<{inner}, {other}>"
    err = draw(st.sampled_from(["", ", string", ", " + inner]))
    return f"result<{inner}{err}>"


@st.composite
def interface(draw, name: str, previous: dict[str, list[str]]) -> tuple[str, list[str]]:
    lines: list[str] = []
    names: list[str] = []
    resources: list[str] = []
    if previous and draw(st.booleans()):
        src = draw(st.sampled_from(sorted(previous)))
        if previous[src]:
            used = draw(st.sampled_from(previous[src]))
            alias = draw(st.sampled_from([used, used, f"{used}-alias"]))
            lines.append(f"use {src}.{{{used}{'' if alias == used else ' as ' + alias}}};")
            names.append(alias)
    for k in range(draw(st.integers(0, 4))):
        tname = f"{name}-t{k}"
        gate = draw(st.sampled_from(GATES))
        kind = draw(st.sampled_from(["record", "enum", "variant", "flags", "alias", "resource"]))
        if kind == "record":
            fields = ", ".join(f"f{j}: {draw(type_expr(names, resources))}"
                               for j in range(draw(st.integers(1, 3))))
            lines.append(f"{gate}record {tname} {{ {fields} }}")
        elif kind == "enum":
            lines.append(f"{gate}enum {tname} {{ a, b }}")
        elif kind == "flags":
            lines.append(f"{gate}flags {tname} {{ read, write }}")
        elif kind == "variant":
            payload = draw(type_expr(names, resources))
            lines.append(f"{gate}variant {tname} {{ none, some({payload}) }}")
        elif kind == "alias":
            lines.append(f"{gate}type {tname} = {draw(type_expr(names, resources))};")
        else:
            methods = []
            if draw(st.booleans()):
                methods.append(f"constructor(x: {draw(type_expr(names, resources))});")
            if draw(st.booleans()):
                methods.append(f"get: func() -> {draw(type_expr(names, resources))};")
            if draw(st.booleans()):
                methods.append(f"make: static func() -> {tname};")
            lines.append(f"{gate}resource {tname} {{ {' '.join(methods)} }}")
            resources.append(tname)
        names.append(tname)
    for k in range(draw(st.integers(0, 3))):
        gate = draw(st.sampled_from(GATES))
        param = draw(type_expr(names, resources, allow_borrow=True))
        result = draw(st.sampled_from(["", " -> " + draw(type_expr(names, resources))]))
        prefix = draw(st.sampled_from(["", "", "async "]))
        lines.append(f"{gate}fn{k}: {prefix}func(p: {param}){result};")
    body = "\n  ".join(lines)
    gate = draw(st.sampled_from(GATES)).strip()
    return f"{gate}\ninterface {name} {{\n  {body}\n}}\n", names


@st.composite
def package(draw) -> str:
    version = draw(st.sampled_from(["", "@1.0.0", "@1.0.0", "@1.0.0"]))
    parts = [f"package t:gen{version};\n"]
    previous: dict[str, list[str]] = {}
    iface_names = [f"i{k}" for k in range(draw(st.integers(1, 3)))]
    for name in iface_names:
        text, names = draw(interface(name, previous))
        parts.append(text)
        previous[name] = names
    worlds: list[str] = []
    for w in range(draw(st.integers(0, 2))):
        items = []
        for name in iface_names:
            how = draw(st.sampled_from(["", "import", "export"]))
            if how:
                items.append(f"{draw(st.sampled_from(EXTERNAL_IDS))}{how} {name};")
        if draw(st.booleans()):
            items.append(f"import log: func(msg: {draw(st.sampled_from(PRIMS))});")
        if draw(st.booleans()):
            items.append("export run: func() -> u32;")
        usable = [(i, t) for i in iface_names for t in previous[i]]
        if usable and draw(st.booleans()):
            src, used = draw(st.sampled_from(usable))
            items.append(f"use {src}.{{{used}}};")
            items.append(f"import take: func(x: {used});")
        if draw(st.booleans()):
            items.append("type wt = list<u8>;")
            items.append("export give: func() -> wt;")
        if usable and draw(st.booleans()):
            src, used = draw(st.sampled_from(usable))
            items.append(f"import inline: interface {{ use {src}.{{{used}}}; g: func() -> {used}; }}")
        if worlds and draw(st.booleans()):
            rename = draw(st.sampled_from(["", " with { log as log2 }", " with { run as go }"]))
            items.append(f"include {worlds[-1]}{rename}" + ("" if rename else ";"))
        name = f"w{w}"
        parts.append(f"world {name} {{\n  " + "\n  ".join(items) + "\n}\n")
        worlds.append(name)
    return "\n".join(parts)


_TOKEN = re.compile(r"%?[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*|->|\S")


@st.composite
def mutated(draw, text: str) -> str:
    how = draw(st.sampled_from(["none", "none", "drop", "rename", "duplicate", "swap", "case"]))
    tokens = list(_TOKEN.finditer(text))
    lines = text.split("\n")
    if how == "drop" and tokens:
        m = draw(st.sampled_from(tokens))
        return text[: m.start()] + text[m.end():]
    if how == "rename":
        idents = [m for m in tokens if m.group()[0].isalpha()]
        if idents:
            m = draw(st.sampled_from(idents))
            return text[: m.start()] + "zz-unknown" + text[m.end():]
    if how == "case":
        idents = [m for m in tokens if m.group()[0].isalpha()]
        if idents:
            m = draw(st.sampled_from(idents))
            return text[: m.start()] + m.group().upper() + text[m.end():]
    if how == "duplicate" and len(lines) > 1:
        i = draw(st.integers(1, len(lines) - 1))
        return "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if how == "swap" and len(lines) > 2:
        i = draw(st.integers(1, len(lines) - 2))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        return "\n".join(lines)
    return text


@st.composite
def wit_inputs(draw) -> str:
    return draw(mutated(draw(package())))


def _verdicts(text: str) -> tuple[bool, bool, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.wit"
        path.write_text(text)
        ref = run_wasm_tools("component", "wit", str(path))
        try:
            load([str(path)])
            ours, why = True, ""
        except Wit2WitxError as exc:  # anything else is a bug and propagates
            ours, why = False, exc.render()
    return ref.returncode == 0, ours, ref.stderr.decode(errors="replace"), why


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(wit_inputs())
def test_accepts_exactly_what_wasm_tools_accepts(text: str) -> None:
    theirs, ours, their_error, our_error = _verdicts(text)
    assert ours == theirs, (
        f"wasm-tools {'accepts' if theirs else 'rejects'}, wit2witx "
        f"{'accepts' if ours else 'rejects'}:\n{text}\n--- wasm-tools:\n{their_error}\n"
        f"--- wit2witx:\n{our_error}")


def test_generator_produces_both_verdicts() -> None:
    """The differential test is only meaningful if it sees valid and invalid inputs."""
    seen = {True: 0, False: 0}

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(wit_inputs())
    def sample(text: str) -> None:
        theirs, _, _, _ = _verdicts(text)
        seen[theirs] += 1

    sample()
    assert seen[True] >= 5 and seen[False] >= 5, seen


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_mutated_corpus_files_agree_with_wasm_tools(data) -> None:
    """Real-world inputs: wit-parser's own single-file UI cases, valid and not, mutated."""
    root = corpus_path("wit-parser-ui")
    files = sorted(root.glob("*.wit")) + sorted((root / "parse-fail").glob("*.wit"))
    source = data.draw(st.sampled_from(files), label="file")
    text = data.draw(mutated(source.read_text()), label="text")
    theirs, ours, their_error, our_error = _verdicts(text)
    assert ours == theirs, (
        f"{source.name}: wasm-tools {'accepts' if theirs else 'rejects'}, wit2witx "
        f"{'accepts' if ours else 'rejects'}:\n{text}\n--- wasm-tools:\n{their_error}\n"
        f"--- wit2witx:\n{our_error}")
