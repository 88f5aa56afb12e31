"""Adversarial WIT packages for differential tests (hypothesis strategies).

`packages()` yields `(name, wit_text)`: one WIT package (one interface, some types and
functions) whose names and docs are chosen to break code generators: names ending like
generated helpers (`-u`, `-t`, `-result`, `-status`, `-list`, `-host`, `-error`,
`-tag`), C, C++ and Python keywords, names equal to generated helper names, types
nested up to wasm-tools' limit (99), and docs holding backslashes, quotes, comment
delimiters, `??/` trigraphs, Markdown/HTML, tabs, lone CRs and any Unicode WIT allows.

What WIT allows in docs (checked against wasm-tools 1.262): a `///` line ends at LF;
it may hold any character but the control codes other than tab and CR, the
bidirectional overrides (U+202A–U+202E, U+2066–U+2069) and eight code points Unicode
discourages (U+0149, U+0673, U+0F77, U+0F79, U+17A3/4, U+17B4/5); a `/** */` doc may also hold
LF but not `*/` (nor `/*`: block comments nest). Every identifier is written `%name`,
so keywords are plain names; names are unique regardless of case, as wasm-tools wants.

`witx_documents()` yields `(module name, WITX text)` for the other front end, whose
names may hold any wasm-text idchar and whose function names are any string.
"""

from __future__ import annotations

from hypothesis import strategies as st

# Tokens that collide with what generators write: suffixes of generated names, C / C++
# / Python keywords, the Python glue's and the C glue's helper names, status names.
SUFFIXES = ("u", "t", "result", "status", "list", "host", "error", "tag", "len", "drop",
            "new", "h", "wasm3", "wamr", "inline", "ptr", "size")
KEYWORDS = ("int", "char", "struct", "union", "static", "register", "default", "case",
            "return", "void", "const", "sizeof", "typedef", "class", "this", "new",
            "delete", "template", "namespace", "operator", "private", "bool", "true",
            "false", "none", "null", "lambda", "from", "import", "self", "def", "pass",
            "yield", "await", "match", "type", "list", "string", "result", "enum",
            "flags", "record", "variant", "errno", "assert", "async", "global")
HELPERS = ("impl", "specs", "add-to-linker", "handle-tables", "any", "protocol",
           "annotations", "dataclass", "rt", "buf", "buf-len", "buf-used", "error-payload",
           "result-capacity", "success", "buffer-too-small", "bad-handle", "bad-pointer",
           "bad-value", "status", "w2w", "tag", "value", "cases", "ok", "err", "memory",
           "retptr0", "caller", "module", "uint32-t", "size-t", "wasm-i32")

_WORD = st.one_of(
    st.sampled_from(KEYWORDS + SUFFIXES),
    st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
    st.sampled_from(KEYWORDS + SUFFIXES).map(str.upper),  # `HTTP-client`: all-caps words
)


@st.composite
def identifiers(draw) -> str:
    """A kebab-case WIT name (without the `%`)."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(HELPERS + KEYWORDS))
    words = draw(st.lists(_WORD, min_size=1, max_size=3))
    if kind == 1:
        words.append(draw(st.sampled_from(SUFFIXES)))
    return "-".join(words)


# refused by wit-parser anywhere in a file: bidi overrides, and code points Unicode
# discourages (U+0149, U+0673, U+0F77, U+0F79, U+17A3, U+17A4, U+17B4, U+17B5)
_REFUSED = (*range(0x202A, 0x202F), *range(0x2066, 0x206A),
            0x149, 0x673, 0xF77, 0xF79, 0x17A3, 0x17A4, 0x17B4, 0x17B5)
_FRAGMENTS = ("\\", '"', '"""', "'''", "*/", "/*", "//", "??/", "\t", "\r", "<script>",
              "</p>", "<!--", "-->", "```", "~~~", "`", "|", "$", "(;", ";)", ";;", "#",
              "%", "{", "}", "\\n", "\\x00", "\u00a0", "\u2028", "\ufeff", "é", "𝄞", "*",
              "<u8>", "[x](javascript:1)", "&lt;", "#endif", "*/ int x; /*")


def _doc_char() -> st.SearchStrategy[str]:
    # controls (tab and CR come from _FRAGMENTS), surrogates, _REFUSED excluded
    return st.characters(blacklist_categories=("Cs", "Cc"),
                         blacklist_characters="".join(map(chr, _REFUSED)))


_DOC_TEXT = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_doc_char(), max_size=6)),
                     max_size=8).map("".join)


@st.composite
def docs(draw, indent: str) -> str:
    """Doc comment lines (each ending in a newline) or ""."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return ""
    if kind == 3:  # a block doc: may span lines, must not close early
        lines = draw(st.lists(_DOC_TEXT, min_size=1, max_size=3))
        body = "\n".join(lines).replace("*/", "* /").replace("/*", "/ *")  # they nest
        if body.startswith("/"):
            body = " " + body  # `/**/` would close at once
        if body.endswith("/"):
            body += " "  # `/*/` would open a nested comment
        return f"{indent}/**{body}*/\n"
    lines = draw(st.lists(_DOC_TEXT, min_size=1, max_size=3))
    # a `///` line ends at LF; a CR right before it would make CRLF
    return "".join(f"{indent}///{line.rstrip(chr(13))}\n" for line in lines)


_PRIMS = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64", "char",
          "bool", "string")


@st.composite
def _type(draw, named: list[str], depth: int) -> str:
    """A type expression: primitives, earlier named types, nesting up to `depth`."""
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(list(_PRIMS) + [f"%{n}" for n in named]))
    kind = draw(st.sampled_from(("list", "option", "tuple", "result")))
    inner = draw(_type(named, depth - 1))
    if kind == "list":
        return f"list<{inner}>"
    if kind == "option":
        return f"option<{inner}>"
    if kind == "tuple":
        return f"tuple<{inner}, {draw(_type(named, 0))}>"
    return f"result<{inner}, {draw(_type(named, 0))}>"


def deep_type(depth: int, kind: str = "tuple") -> str:
    """A type `depth` levels deep (wasm-tools accepts at most 99)."""
    t = "u32"
    for i in range(depth):
        t = {"tuple": f"tuple<{t}, u8>", "list": f"list<{t}>", "option": f"option<{t}>"}[
            kind if kind != "mixed" else ("tuple", "list", "option")[i % 3]]
    return t


@st.composite
def packages(draw, max_types: int = 6, max_funcs: int = 4):
    """(package name, WIT text) of one adversarial package (see the module docs)."""
    # WIT names are unique regardless of case (wasm-tools: `FOO-bar` conflicts with `foo-bar`)
    names = draw(st.lists(identifiers(), min_size=3, max_size=3 + max_types + max_funcs,
                          unique_by=str.lower))
    iface = draw(identifiers())
    ns = draw(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True))
    pkg = draw(identifiers())
    out = [draw(docs("")), f"package %{ns}:%{pkg};\n\n", draw(docs("")), f"interface %{iface} {{\n"]
    named: list[str] = []
    n_types = draw(st.integers(0, min(max_types, len(names) - 1)))
    for name in names[:n_types]:
        out.append(draw(docs("  ")))
        kind = draw(st.sampled_from(("record", "enum", "flags", "variant", "alias", "deep", "resource",
                                     "wide")))
        members = draw(st.lists(identifiers(), min_size=1, max_size=4, unique_by=str.lower))
        if kind == "record":
            body = "".join(f"{draw(docs('    '))}    %{m}: {draw(_type(named, 3))},\n" for m in members)
            out.append(f"  record %{name} {{\n{body}  }}\n")
        elif kind == "enum":
            body = "".join(f"{draw(docs('    '))}    %{m},\n" for m in members)
            out.append(f"  enum %{name} {{\n{body}  }}\n")
        elif kind == "flags":
            body = "".join(f"{draw(docs('    '))}    %{m},\n" for m in members)
            out.append(f"  flags %{name} {{\n{body}  }}\n")
        elif kind == "variant":
            cases = []
            for m in members:
                payload = draw(st.one_of(st.none(), _type(named, 2)))
                cases.append(f"{draw(docs('    '))}    %{m}{'' if payload is None else f'({payload})'},\n")
            out.append(f"  variant %{name} {{\n{''.join(cases)}  }}\n")
        elif kind == "alias":
            out.append(f"  type %{name} = {draw(_type(named, 4))};\n")
        elif kind == "resource":
            out.append(draw(_resource(name, members, named)))
        elif kind == "wide":  # past a u8 tag (257 cases) or at the 32-flag limit
            shape = draw(st.sampled_from(("enum", "flags", "variant")))
            count = 32 if shape == "flags" else draw(st.integers(255, 300))
            payload = "(u8)" if shape == "variant" else ""
            body = ", ".join(f"%{members[0]}-{i}{payload if i % 2 else ''}" for i in range(count))
            out.append(f"  {shape} %{name} {{ {body} }}\n")
        else:
            depth = draw(st.sampled_from((8, 33, 67, 98, 99)))
            out.append(f"  type %{name} = {deep_type(depth, draw(st.sampled_from(('tuple', 'list', 'option', 'mixed'))))};\n")
        named.append(name)
    for name in names[n_types:]:
        out.append(draw(docs("  ")))
        params = draw(st.lists(identifiers(), max_size=3, unique_by=str.lower))
        plist = ", ".join(f"%{p}: {draw(_type(named, 2))}" for p in params)
        res = draw(st.one_of(st.none(), _type(named, 2)))
        out.append(f"  %{name}: func({plist}){'' if res is None else f' -> {res}'};\n")
    out.append("}\n")
    if named and draw(st.booleans()):
        out.append(draw(_user_interface(iface, named, names)))
    return f"{ns}:{pkg}", "".join(out)


@st.composite
def _resource(draw, name: str, members: list[str], named: list[str]) -> str:
    """A resource: maybe a constructor, methods and static functions named `members`."""
    body = []
    if draw(st.booleans()):
        body.append(f"    constructor(%{draw(identifiers())}: {draw(_type(named, 1))});\n")
    for m in members:
        if m.lower() == name.lower():
            continue  # wit-parser: `[method]r.r` conflicts with `r`
        static = "static " if draw(st.booleans()) else ""
        param = draw(st.sampled_from(("", f"%x: borrow<%{name}>", f"%other: %{name}", "%n: u32")))
        res = draw(st.sampled_from(("", f" -> %{name}", " -> string", " -> result<u32>")))
        body.append(f"{draw(docs('    '))}    %{m}: {static}func({param}){res};\n")
    return f"  resource %{name} {{\n{''.join(body)}  }}\n"


@st.composite
def _user_interface(draw, iface: str, named: list[str], taken: list[str]) -> str:
    """A second interface that uses the first one's types (cross-module names)."""
    taken_lower = {t.lower() for t in taken}
    name = draw(identifiers().filter(lambda n: n.lower() not in taken_lower | {iface.lower()}))
    funcs = draw(st.lists(identifiers(), min_size=1, max_size=3,
                          unique_by=str.lower).map(lambda fs: [f for f in fs if f.lower() not in
                                                               {n.lower() for n in named}]))
    out = [draw(docs("")), f"interface %{name} {{\n",
           f"  use %{iface}.{{{', '.join(f'%{n}' for n in named)}}};\n"]
    for f in funcs:
        out.append(f"  %{f}: func(%a: {draw(_type(named, 2))}) -> {draw(_type(named, 2))};\n")
    out.append("}\n")
    return "".join(out)


__all__ = ["packages", "identifiers", "docs", "deep_type", "KEYWORDS", "HELPERS", "SUFFIXES"]


# --- WITX documents: the other front end, where names may hold `.`, `'`, `\`, `|`, ... ---

_WITX_IDCHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&'*+-./:<=>?@\\^_`|~"
_WITX_ID = st.one_of(
    st.text(st.sampled_from(_WITX_IDCHARS), min_size=1, max_size=8),
    st.sampled_from(KEYWORDS + HELPERS).map(lambda n: n.replace("-", "_")),
    st.sampled_from(("None", "True", "self", "error", "tag", "value", "x.y", "X_Y", "x-y")),
)
_WITX_BUILTINS = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64", "char",
                  "string", "(@witx usize)")


def _witx_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@st.composite
def _witx_docs(draw, indent: str) -> str:
    lines = draw(st.lists(_DOC_TEXT.map(lambda t: t.replace("\n", " ").replace("\r", "\\r")),
                          max_size=2))
    return "".join(f"{indent};;;{line}\n" for line in lines)


@st.composite
def witx_documents(draw, max_types: int = 5, max_funcs: int = 3):
    """(module name, WITX text) of one adversarial WITX document with one module."""
    names = draw(st.lists(_WITX_ID, min_size=1, max_size=max_types, unique=True))
    out: list[str] = []
    enums: list[str] = []
    named: list[str] = []
    for name in names:
        members = draw(st.lists(_WITX_ID, min_size=1, max_size=4, unique=True))
        kind = draw(st.sampled_from(("enum", "flags", "record", "variant")))
        refs = [f"${n}" for n in named] + list(_WITX_BUILTINS)
        out.append(draw(_witx_docs("")))
        if kind == "enum":
            body = "".join(f"{draw(_witx_docs('    '))}    ${m}\n" for m in members)
            out.append(f"(typename ${name}\n  (enum (@witx tag u8)\n{body}  )\n)\n")
            enums.append(name)
        elif kind == "flags":
            body = "".join(f"    ${m}\n" for m in members)
            out.append(f"(typename ${name}\n  (flags (@witx repr u8)\n{body}  )\n)\n")
        elif kind == "record":
            body = "".join(f"    (field ${m} {draw(st.sampled_from(refs))})\n" for m in members)
            out.append(f"(typename ${name}\n  (record\n{body}  )\n)\n")
        else:
            body = "".join(
                f"    (case ${m}{draw(st.sampled_from(['', *(' ' + r for r in refs)]))})\n"
                for m in members)
            out.append(f"(typename ${name}\n  (variant (@witx tag u8)\n{body}  )\n)\n")
        named.append(name)
    module = draw(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
    funcs = draw(st.lists(st.text(max_size=8), min_size=1, max_size=max_funcs, unique=True))
    out.append(draw(_witx_docs("")) + f"(module ${module}\n  (import \"memory\" (memory))\n")
    refs = [f"${n}" for n in named] + ["u32", "u8", "s64", "f64"]
    for func in funcs:
        params = draw(st.lists(_WITX_ID.filter(lambda p: p != "error"), max_size=3, unique=True))
        body = "".join(f"    (param ${p} {draw(st.sampled_from(refs))})\n" for p in params)
        if enums:
            ok = draw(st.sampled_from(["", *(f" ${n}" for n in named)]))  # witx: named only
            body += f"    (result $error (expected{ok} (error ${draw(st.sampled_from(enums))})))\n"
        out.append(f"{draw(_witx_docs('  '))}  (@interface func (export {_witx_string(func)})\n{body}  )\n")
    out.append(")\n")
    return module, "".join(out)


__all__ += ["witx_documents"]
