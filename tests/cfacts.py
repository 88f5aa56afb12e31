"""Extract ABI facts from a C header, with the real compiler doing the arithmetic.

Used to compare our generated headers with wasi-libc's `wasi/api.h` without copying a
single number from it into the repository. Three steps:

1. Preprocess the header with `zig cc -E -dD` and keep only the lines that come from the
   header itself (line markers tell which file a line came from). The compiler resolves
   conditionals and strips comments, so what is left is regular enough to split into
   declarations textually: `#define`s, typedefs (with struct/union member names) and
   function prototypes.
2. Generate a probe C file that includes the header and stores `sizeof`, `_Alignof`,
   `offsetof` and every constant's value in one array (behind a magic marker), and takes
   the address of every function. Compile it with `-c` for wasm32-wasi.
3. Read the relocatable wasm object: the array from the data section, and from the import
   section the module, name and core signature the compiler gave every function.

So a size or offset here is what clang computes for wasm32, and an import signature is
what a guest would really import.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

TARGET = "--target=wasm32-wasi"
MAGIC = 0x5749543257495458  # "WIT2WITX": marks our array among the object's data segments
ABSENT = 0xFFFFFFFFFFFFFFFF

# --------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    ctype: str  # normalized spelling, e.g. "const uint8_t *"


@dataclass(frozen=True, slots=True)
class TypeFact:
    name: str
    kind: str  # "scalar" | "struct" | "union"
    size: int
    align: int
    members: tuple[Member, ...] = ()
    offsets: tuple[tuple[str, int], ...] = ()
    aliased: str = ""  # for scalars: the spelled underlying type


@dataclass(frozen=True, slots=True)
class CoreSig:
    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"({' '.join(self.params)}) -> ({' '.join(self.results)})"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    ctype: str


@dataclass(frozen=True, slots=True)
class FunctionFact:
    name: str
    returns: str
    params: tuple[Param, ...]
    noreturn: bool
    warn_unused_result: bool
    import_module: str | None
    import_name: str | None
    core: CoreSig | None  # the signature the compiler lowered the prototype to


@dataclass(slots=True)
class HeaderFacts:
    types: dict[str, TypeFact] = field(default_factory=dict)
    constants: dict[str, int] = field(default_factory=dict)
    functions: dict[str, FunctionFact] = field(default_factory=dict)
    # every import with an explicit module seen in the probe and the extra sources
    imports: dict[tuple[str, str], CoreSig] = field(default_factory=dict)


# --------------------------------------------------------------------------- toolchain


def zig(*args: str, cxx: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ziglang", "c++" if cxx else "cc", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _checked(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed:\n{proc.stderr}")
    return proc


def preprocess_own_lines(header: Path, defines: Sequence[str] = ()) -> str:
    """The header after preprocessing, without the text of the files it includes."""
    args = [TARGET, "-E", "-dD", "-x", "c", *(f"-D{d}" for d in defines), str(header)]
    out = _checked(zig(*args), f"preprocessing {header}").stdout
    own = str(header.resolve())
    keep: list[str] = []
    current = ""
    for line in out.splitlines():
        marker = re.match(r'#\s+\d+\s+"((?:[^"\\]|\\.)*)"', line)
        if marker:
            current = marker.group(1)
            continue
        if current and Path(current).resolve().as_posix() == own:
            keep.append(line)
    return "\n".join(keep)


def compile_object(source: str, *, workdir: Path, extra_args: Sequence[str] = ()) -> bytes:
    src = workdir / "probe.c"
    obj = workdir / "probe.o"
    src.write_text(source)
    _checked(zig(TARGET, "-std=c11", "-c", "-O0", *extra_args, str(src), "-o", str(obj)),
             "compiling the probe")
    return obj.read_bytes()


# --------------------------------------------------------------------------- header text


def normalize_type(text: str) -> str:
    """`uint8_t * * ` -> `uint8_t **`; words separated by one space, stars glued."""
    out = ""
    for tok in re.findall(r"\w+|\*|[^\s\w]", text):
        if tok == "*":
            out += "*" if out.endswith("*") else " *"
        else:
            out += (" " if out else "") + tok
    return out.strip()


def _skip_balanced(text: str, i: int) -> int:
    """Index just past the parenthesised group starting at text[i] == '('."""
    depth = 0
    while i < len(text):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif text[i] == '"':
            i = text.index('"', i + 1)
        i += 1
    raise ValueError("unbalanced parentheses")


def strip_attributes(text: str) -> tuple[str, str]:
    """Remove every `__attribute__((...))`; return (rest, the attributes' text)."""
    rest, attrs, i = [], [], 0
    while True:
        j = text.find("__attribute__", i)
        if j < 0:
            rest.append(text[i:])
            break
        rest.append(text[i:j])
        k = text.index("(", j)
        end = _skip_balanced(text, k)
        attrs.append(text[k:end])
        i = end
    return "".join(rest), " ".join(attrs)


def split_declarations(code: str) -> list[str]:
    """Top-level declarations (text up to `;` outside braces and parentheses)."""
    decls, depth, start = [], 0, 0
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            i = code.index('"', i + 1)
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == ";" and depth == 0:
            decls.append(code[start:i].strip())
            start = i + 1
        i += 1
    return [d for d in decls if d]


@dataclass(slots=True)
class ParsedHeader:
    macros: list[str] = field(default_factory=list)
    scalars: dict[str, str] = field(default_factory=dict)  # typedef name -> spelled type
    aggregates: dict[str, tuple[str, tuple[Member, ...]]] = field(default_factory=dict)
    functions: list[FunctionFact] = field(default_factory=list)


def _members(body: str) -> tuple[Member, ...]:
    out = []
    for decl in split_declarations(body):
        m = re.match(r"(.*?)(\w+)\s*$", decl, re.S)
        if m:
            out.append(Member(m.group(2), normalize_type(m.group(1))))
    return tuple(out)


def _param(text: str) -> Param:
    m = re.match(r"(.*?)(\w+)\s*$", text, re.S)
    if not m or not m.group(1).strip():
        raise AssertionError(f"cannot parse parameter `{text}`")
    return Param(m.group(2), normalize_type(m.group(1)))


def _function(decl: str) -> FunctionFact | None:
    code, attrs = strip_attributes(decl)
    m = re.match(r"(.*?)\b(\w+)\s*\((.*)\)\s*$", code.strip(), re.S)
    if not m:
        return None
    ret, name, params_text = m.groups()
    noreturn = "_Noreturn" in ret or "noreturn" in attrs
    ret = normalize_type(ret.replace("_Noreturn", "").replace("extern", ""))
    parts = [p.strip() for p in params_text.split(",")] if params_text.strip() else []
    params = () if parts in ([], ["void"]) else tuple(_param(p) for p in parts)
    module = re.search(r'__import_module__\s*\(\s*"([^"]*)"', attrs)
    imp = re.search(r'__import_name__\s*\(\s*"([^"]*)"', attrs)
    return FunctionFact(
        name, ret, params, noreturn, "warn_unused_result" in attrs,
        module.group(1) if module else None, imp.group(1) if imp else None, None,
    )


def parse_header(text: str, macro_prefix: str) -> ParsedHeader:
    out = ParsedHeader()
    code_lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            m = re.match(r"\s*#\s*define\s+(\w+)(\(?)\s*(.*)$", line)
            if m and not m.group(2) and m.group(3).strip() and m.group(1).startswith(macro_prefix):
                out.macros.append(m.group(1))
            continue
        code_lines.append(line)
    for decl in split_declarations("\n".join(code_lines)):
        # `__extension__` only silences -pedantic; it says nothing about the ABI.
        decl = re.sub(r"\b__extension__\s*", "", decl)
        if decl.startswith(("_Static_assert", "static_assert")):
            continue
        agg = re.match(r"typedef\s+(struct|union)\s*\w*\s*\{(.*)\}\s*(\w+)\s*$", decl, re.S)
        if agg:
            out.aggregates[agg.group(3)] = (agg.group(1), _members(agg.group(2)))
            continue
        alias = re.match(r"typedef\s+(.*?)\s*\b(\w+)\s*$", decl, re.S)
        if alias:
            out.scalars[alias.group(2)] = normalize_type(alias.group(1))
            continue
        fn = _function(decl)
        if fn is not None:
            out.functions.append(fn)
    return out


# --------------------------------------------------------------------------- probe


def probe_source(header: Path, parsed: ParsedHeader) -> tuple[str, list[tuple[str, ...]]]:
    """C source computing every fact, and the key of each array slot after the header."""
    keys: list[tuple[str, ...]] = []
    exprs: list[str] = []

    def add(key: tuple[str, ...], expr: str) -> None:
        keys.append(key)
        exprs.append(f"(unsigned long long)({expr})")

    for name in list(parsed.scalars) + list(parsed.aggregates):
        add(("size", name), f"sizeof({name})")
        add(("align", name), f"_Alignof({name})")
    for name, (_kind, members) in parsed.aggregates.items():
        for m in members:
            add(("offset", name, m.name), f"offsetof({name}, {m.name})")
    for macro in parsed.macros:
        add(("const", macro), macro)
    lines = [
        f'#include "{header.resolve()}"',
        "#include <stddef.h>",
        f"const unsigned long long wit2witx_facts[] = {{ {MAGIC}ULL, {len(exprs)}ULL,",
        *(f"    {e}," for e in exprs),
        "};",
        "void *volatile wit2witx_sink;",
        "void wit2witx_touch(void) {",
        *(f"    wit2witx_sink = (void *)&{f.name};" for f in parsed.functions),
        "}",
    ]
    return "\n".join(lines) + "\n", keys


# --------------------------------------------------------------------------- wasm object


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    def name(self) -> str:
        n = self.uleb()
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def skip_const_expr(self) -> None:
        # Only i32/i64.const ... end appear in object files' segment offsets.
        while self.byte() != 0x0B:
            self.uleb()


_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64"}


@dataclass(slots=True)
class WasmObject:
    func_imports: list[tuple[str, str, CoreSig]]
    data_segments: list[bytes]


def read_object(blob: bytes) -> WasmObject:
    assert blob[:4] == b"\0asm", "not a wasm object"
    r = _Reader(blob, 8)
    types: list[CoreSig] = []
    imports: list[tuple[str, str, CoreSig]] = []
    segments: list[bytes] = []
    while r.pos < len(blob):
        sid, size = r.byte(), r.uleb()
        end = r.pos + size
        if sid == 1:  # types
            for _ in range(r.uleb()):
                assert r.byte() == 0x60
                params = tuple(_VALTYPES[r.byte()] for _ in range(r.uleb()))
                results = tuple(_VALTYPES[r.byte()] for _ in range(r.uleb()))
                types.append(CoreSig(params, results))
        elif sid == 2:  # imports
            for _ in range(r.uleb()):
                module, name, kind = r.name(), r.name(), r.byte()
                if kind == 0:
                    imports.append((module, name, types[r.uleb()]))
                elif kind == 1:  # table: reftype + limits
                    r.byte()
                    flags = r.byte()
                    r.uleb()
                    if flags & 1:
                        r.uleb()
                elif kind == 2:  # memory: limits
                    flags = r.byte()
                    r.uleb()
                    if flags & 1:
                        r.uleb()
                elif kind == 3:  # global
                    r.byte()
                    r.byte()
                else:
                    raise AssertionError(f"unexpected import kind {kind}")
        elif sid == 11:  # data
            for _ in range(r.uleb()):
                flags = r.uleb()
                if flags == 2:
                    r.uleb()
                if flags in (0, 2):
                    r.skip_const_expr()
                n = r.uleb()
                segments.append(blob[r.pos:r.pos + n])
                r.pos += n
        r.pos = end
    return WasmObject(imports, segments)


def _facts_array(segments: Iterable[bytes]) -> list[int]:
    for seg in segments:
        words = [int.from_bytes(seg[i:i + 8], "little") for i in range(0, len(seg) - 7, 8)]
        if len(words) >= 2 and words[0] == MAGIC:
            return words[2:2 + words[1]]
    raise AssertionError("the probe's fact array is missing from the object")


# --------------------------------------------------------------------------- entry point


def extract_facts(header: Path, *, macro_prefix: str = "", extra_sources: Sequence[Path] = (),
                  defines: Sequence[str] = ()) -> HeaderFacts:
    """Every ABI fact of `header`; `extra_sources` (compiled with -c) add their imports."""
    parsed = parse_header(preprocess_own_lines(header, defines), macro_prefix)
    source, keys = probe_source(header, parsed)
    with tempfile.TemporaryDirectory(prefix="cfacts") as tmp:
        obj = read_object(compile_object(source, workdir=Path(tmp),
                                         extra_args=[f"-D{d}" for d in defines]))
        extra = [read_object(compile_object(p.read_text(), workdir=Path(tmp),
                                            extra_args=[f"-I{p.parent}"]))
                 for p in extra_sources]
    values = dict(zip(keys, _facts_array(obj.data_segments), strict=True))
    facts = HeaderFacts()
    for name, spelled in parsed.scalars.items():
        facts.types[name] = TypeFact(name, "scalar", values[("size", name)],
                                     values[("align", name)], aliased=spelled)
    for name, (kind, members) in parsed.aggregates.items():
        offsets = tuple((m.name, values[("offset", name, m.name)]) for m in members)
        facts.types[name] = TypeFact(name, kind, values[("size", name)],
                                     values[("align", name)], members, offsets)
    facts.constants = {m: values[("const", m)] for m in parsed.macros}
    lowered = {(mod, nm): sig for mod, nm, sig in obj.func_imports}
    for fn in parsed.functions:
        key = (fn.import_module or "env", fn.import_name or fn.name)
        facts.functions[fn.name] = FunctionFact(
            fn.name, fn.returns, fn.params, fn.noreturn, fn.warn_unused_result,
            fn.import_module, fn.import_name, lowered.get(key),
        )
    for o in (obj, *extra):
        for mod, nm, sig in o.func_imports:
            if mod != "env":
                facts.imports[(mod, nm)] = sig
    return facts
