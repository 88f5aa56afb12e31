"""WIT text -> `ast.File`: a one-regex lexer feeding an LALR(1) table built by Lark.

    parse_file(source: SourceFile) -> ast.File     # raises WitSyntaxError
    parse_text(text, path="<input>") -> ast.File

How it works, and why:
- The grammar is `grammars/wit.lark`. Lark turns it into an LALR table once; the table
  (plain dicts and tuples) is cached with `marshal` in the per-user cache directory, so
  a warm process never imports Lark (an import costs ~40 ms, a table load ~1 ms).
- The lexer is one compiled regex (keywords through a dict); it produces three parallel
  lists (terminal names, start and end offsets). Comments are not tokens: each run of
  comments is remembered under the offset of the token that follows it, and becomes
  the docs of the item starting there -- exactly when wit-parser's `parse_docs` would
  take it. As in wit-parser, *every* comment before an item counts (`//` and `/* */`
  too), with the same marker stripping, so docs match `wasm-tools component wit --json`.
- A small LR driver runs the table and calls `_Builder` methods named in the grammar
  (`-> name`), which build AST nodes directly: no parse tree, no second pass.
- Errors mimic wit-parser's recursive-descent messages ("expected ';', found '}'"): the
  terminals that are really acceptable at the bad token are found by replaying the
  LALR reductions, then described the way wit-parser's `expect`/`err_expected` would.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import zlib
from pathlib import Path

from .. import _resources
from ..diagnostics import (
    SourceFile,
    Span,
    WitSyntaxError,
    error,
)
from . import ast

#: identifiers repeat (parameter and type names): one string per spelling, not per use
_intern = sys.intern

__all__ = ["parse_file", "parse_text"]

# wit-parser's limits (MAX_TYPE_DEPTH, MAX_ITEM_DEPTH in ast.rs).
MAX_TYPE_DEPTH = 100
MAX_PACKAGE_DEPTH = 100

# Bump when the cached table's layout changes.
_TABLE_FORMAT = 1


def parse_text(text: str, path: str = "<input>") -> ast.File:
    """Parse WIT source text (a path is used only in diagnostics)."""
    return parse_file(SourceFile(path, text))


def parse_file(source: SourceFile) -> ast.File:
    """Parse one .wit file into its unresolved syntax tree.

    Raises WitSyntaxError (with a span) for text wit-parser rejects while parsing.
    """
    _reject_invalid_codepoints(source)
    tokens = _lex(source)
    builder = _Builder(source, tokens)
    tree = _run_lr(_tables(), tokens, builder)
    if tokens.kinds.count("LT") >= MAX_TYPE_DEPTH or tokens.kinds.count("PACKAGE") >= MAX_PACKAGE_DEPTH:
        _check_nesting(tree, source)
    return tree


# =====================================================================================
# Lexer
# =====================================================================================

KEYWORDS = {
    "use": "USE", "type": "TYPE", "func": "FUNC",
    "u8": "U8", "u16": "U16", "u32": "U32", "u64": "U64",
    "s8": "S8", "s16": "S16", "s32": "S32", "s64": "S64",
    "f32": "F32", "f64": "F64", "char": "CHAR",
    "resource": "RESOURCE", "own": "OWN", "borrow": "BORROW", "record": "RECORD",
    "flags": "FLAGS", "variant": "VARIANT", "enum": "ENUM", "bool": "BOOL",
    "string": "STRING", "option": "OPTION", "result": "RESULT", "future": "FUTURE",
    "stream": "STREAM", "error-context": "ERROR_CONTEXT", "list": "LIST", "map": "MAP",
    "_": "UNDERSCORE", "as": "AS", "from": "FROM", "static": "STATIC",
    "interface": "INTERFACE", "tuple": "TUPLE", "world": "WORLD", "import": "IMPORT",
    "export": "EXPORT", "package": "PACKAGE", "constructor": "CONSTRUCTOR",
    "include": "INCLUDE", "with": "WITH", "async": "ASYNC",
}

PUNCTUATION = {
    "=": "EQUALS", ",": "COMMA", ":": "COLON", ".": "PERIOD", ";": "SEMI",
    "(": "LPAR", ")": "RPAR", "{": "LBRACE", "}": "RBRACE", "<": "LT", ">": "GT",
    "->": "RARROW", "*": "STAR", "@": "AT", "/": "SLASH", "+": "PLUS", "-": "MINUS",
}

# How wit-parser names each token in "expected X, found Y".
_DESCRIBE = {
    "EQUALS": "'='", "COMMA": "','", "COLON": "':'", "PERIOD": "'.'", "SEMI": "';'",
    "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "LT": "'<'",
    "GT": "'>'", "RARROW": "`->`", "STAR": "`*`", "AT": "`@`", "SLASH": "`/`",
    "PLUS": "`+`", "MINUS": "`-`", "STRING_LIT": "a string literal",
    "ID": "an identifier", "BAD": "an identifier", "INTEGER": "an integer",
    "VERSION": "an integer", "BADVERSION": "an integer", "$END": "eof",
}
for _word, _kind in KEYWORDS.items():
    _DESCRIBE[_kind] = f"keyword `{_word}`"

# One token per match, after whitespace. Group numbers (m.lastindex) select the kind:
#   1 a run of line comments, or a block comment's start   2 punctuation
#   3 a keylike word (keyword, identifier, or an invalid identifier)   4 %-identifier
#   5 version   6 integer   7 string start   8 end of input   9 anything else
# wit-parser only takes CR as part of CRLF; files with a lone CR use the strict variant
# (the fast one lets the whitespace class take any CR).
_TOKEN_TEMPLATE = r"""WS(?:
      (//[^\n]*(?:WS//[^\n]*)*|/\*)
    | (->|[=,:.;(){}<>*@/+-])
    | ([^\W\d][\w-]*)
    | (%(?:[^\W\d][\w-]*)?)
    | (\d+\.\d+\.\d+(?:-(?!>)(?:[\w-]+(?:\.[\w-]+)*)?)?(?:\+(?:[\w-]+(?:\.[\w-]+)*)?)?)
    | (\d+)
    | (")
    | (\Z)
    | (.)
    )"""
_TOKEN = re.compile(_TOKEN_TEMPLATE.replace("WS", r"[ \t\n\r]*"), re.VERBOSE | re.DOTALL)
_TOKEN_STRICT = re.compile(_TOKEN_TEMPLATE.replace("WS", r"(?:[ \t\n]|\r\n)*"), re.VERBOSE | re.DOTALL)
_LONE_CR = re.compile(r"\r(?!\n)")
# The parts of a version token. wit-parser eats a `-` or `+` with nothing after it but
# leaves it out of the version: `1.0.0-` is version 1.0.0.
_VERSION_PARTS = re.compile(r"(\d+\.\d+\.\d+)(?:-([\w-]+(?:\.[\w-]+)*)?)?(?:\+([\w-]+(?:\.[\w-]+)*)?)?")
_VALID_ID = re.compile(r"(?:[a-z][a-z0-9]*|[A-Z][A-Z0-9]*)(?:-(?:[a-z0-9]+|[A-Z0-9]+))*\Z")
_KEYLIKE = re.compile(r"[^\W\d][\w-]*")
_BLOCK_MARK = re.compile(r"/\*|\*/")
_LINE_COMMENT_BODY = re.compile(r"//+([^\n]*)")
_ASCII_SPACE = " \t\n\r\x0c"

# wit-parser's `detect_invalid_input`: control codes (other than tab/CR/LF), bidi
# overrides, and a few deprecated code points are rejected anywhere in the file.
_INVALID_CODEPOINT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u202a-\u202e\u2066-\u2069"
    "\u0149\u0673\u0f77\u0f79\u17a3\u17a4\u17b4\u17b5]"
)


class _Tokens:
    """The lexer's output: parallel lists, plus comment runs keyed by the next token."""

    __slots__ = ("kinds", "starts", "ends", "comments", "strings", "lex_error")

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.comments: dict[int, list[tuple[int, int]]] = {}
        # The decoded value of each string literal, by its start offset.
        self.strings: dict[int, str] = {}
        # A lexing error is raised only if the parser reaches it (as in wit-parser,
        # whose lexer runs on demand), so an earlier syntax error wins.
        self.lex_error: tuple[str, int, int] | None = None


def _reject_invalid_codepoints(source: SourceFile) -> None:
    m = _INVALID_CODEPOINT.search(source.text)
    if m is None:
        return
    ch = m.group()
    code = f"\\u{{{ord(ch):x}}}"
    # The first two are Rust's `{:?}` of `char::escape_unicode()`, verbatim.
    if ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        msg = f"Input contains bidirectional override codepoint EscapeUnicode(EscapeIterInner('{code}'))"
    elif ch in "\u0149\u0673\u0f77\u0f79\u17a3\u17a4\u17b4\u17b5":
        msg = f"Codepoint EscapeUnicode(EscapeIterInner('{code}')) is discouraged by Unicode"
    else:
        msg = f"Control code '{code}'"
    raise WitSyntaxError(error(msg, source.span(m.start(), m.start() + 1)))


def _lex(source: SourceFile) -> _Tokens:
    text = source.text
    strict = "\r" in text and _LONE_CR.search(text) is not None
    finditer = (_TOKEN_STRICT if strict else _TOKEN).finditer
    toks = _Tokens()
    add_kind, add_start, add_end = toks.kinds.append, toks.starts.append, toks.ends.append
    comments = toks.comments
    punctuation = PUNCTUATION
    words = dict(KEYWORDS)  # word -> kind, filled in as identifiers are met
    valid_id = _VALID_ID.match
    pending: list[tuple[int, int]] = []
    resume = 1 if text.startswith("\ufeff") else 0  # a byte-order mark is skipped
    while resume >= 0:
        scan_from, resume = resume, -1
        for m in finditer(text, scan_from):
            group = m.lastindex
            start = m.start(group)
            end = m.end()
            if group == 3:
                word = text[start:end]
                kind = words.get(word)
                if kind is None:
                    kind = words[word] = "ID" if valid_id(word) else "BAD"
            elif group == 2:
                kind = punctuation[text[start:end]]
            elif group == 1:
                if text[start + 1] == "*":  # nestable: found by hand, then rescan
                    end = _block_comment_end(text, start)
                    if end < 0:
                        _lex_failure(toks, "unterminated block comment", start)
                    else:
                        pending.append((start, end))
                        resume = end
                    break
                pending.append((start, end))
                continue
            elif group == 5:
                # Checked now, reported only if the parser wants a version here.
                word = text[start:end]
                kind = words.get(word)
                if kind is None:
                    problem = _semver_problem(_version_text(word))
                    kind = words[word] = "BADVERSION" if problem else "VERSION"
            elif group == 6:
                kind = "INTEGER"
            elif group == 4:
                kind = "ID" if valid_id(text, start + 1, end) else "BAD"
            elif group == 8:
                break
            elif group == 7:
                try:
                    toks.strings[start], end = _read_string(text, start)
                except _BadString as bad:
                    _lex_failure(toks, bad.message, bad.at)
                    break
                kind = "STRING_LIT"
                resume = end  # the regex only took the opening quote
                if pending:
                    comments[start] = pending
                    pending = []
                add_kind(kind)
                add_start(start)
                add_end(end)
                break
            else:
                _lex_failure(toks, f"unexpected character {_rust_char(text[start])}", start)
                break
            if pending:
                comments[start] = pending
                pending = []
            add_kind(kind)
            add_start(start)
            add_end(end)
    end = len(text)
    add_kind("$END")
    add_start(end)
    add_end(end)
    return toks


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = {'"': b'"', "'": b"'", "t": b"\t", "n": b"\n", "r": b"\r", "\\": b"\\"}


class _BadString(Exception):
    """A malformed string literal: wit-parser's message and the offset it points at."""

    def __init__(self, message: str, at: int) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The value of the string literal whose `"` is at `start`, and its end offset.

    Raises _BadString. Only `@external-id("...")` takes a string, but wit-parser's lexer
    decodes every literal it meets, so a bad one is a lexing error wherever it is.
    """
    return _StringReader(text, start).read()


class _StringReader:
    r"""wit-parser's `expect_string_literal`, with its errors at the same offsets.

    Escapes: `\"` `\'` `\t` `\n` `\r` `\\`; `\u{hex}`, one code point (`_` may follow
    any digit but the last); `\XY`, one *byte*, so that `\c3\a9` is "é": the bytes
    must be UTF-8 together, which is checked (and reported at the `"`) at the end.
    Raw control characters are refused; as everywhere in wit-parser, CRLF reads as LF.
    """

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.start = start
        self.pos = start + 1

    def read(self) -> tuple[str, int]:
        buf = bytearray()
        while True:
            at, ch = self.next()
            if ch == '"':
                return self.utf8(buf), self.pos
            if ch == "\\":
                buf += self.escape()
            elif ch < " " or ch == "\x7f":
                raise _BadString(f"invalid string character {_rust_char(ch)}", at)
            else:
                buf += ch.encode()

    def next(self) -> tuple[int, str]:
        """The next character and its offset; the end of the file is an error."""
        pos = self.pos
        if pos >= len(self.text):
            raise _BadString("unexpected end of file", len(self.text))
        ch = self.text[pos]
        self.pos = pos + 1
        if ch == "\r" and self.text.startswith("\n", self.pos):
            self.pos += 1
            ch = "\n"
        return pos, ch

    def peek(self) -> str:
        if self.pos >= len(self.text):
            raise _BadString("unexpected end of file", len(self.text))
        return self.text[self.pos]

    def escape(self) -> bytes:
        at, ch = self.next()
        simple = _SIMPLE_ESCAPES.get(ch)
        if simple is not None:
            return simple
        if ch == "u":
            return self.code_point(at).encode()
        if ch in _HEX_DIGITS:
            return bytes((int(ch + self.hex_digit()[1], 16),))
        raise _BadString(f"invalid string escape {_rust_char(ch)}", at)

    def code_point(self, at: int) -> str:
        """`{hex}` after the `u` of an escape (at `at`)."""
        self.expect("{")
        value = self.hex_number()
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise _BadString(f"invalid unicode value {value:#x}", at)
        self.expect("}")
        return chr(value)

    def expect(self, want: str) -> None:
        at, ch = self.next()
        if ch != want:
            raise _BadString(f"expected character {_rust_char(want)}", at)

    def hex_digit(self) -> tuple[int, str]:
        at, ch = self.next()
        if ch not in _HEX_DIGITS:
            raise _BadString(f"invalid hex digit {_rust_char(ch)}", at)
        return at, ch

    def hex_number(self) -> int:
        """Hex digits, maybe separated by `_`, fitting a u32 (wit-parser's `eat_hexnum`)."""
        first, digit = self.hex_digit()
        value = int(digit, 16)
        trailing_underscore = False
        while True:
            ch = self.peek()
            if ch == "_":
                self.pos += 1
                trailing_underscore = True
                continue
            if ch not in _HEX_DIGITS:
                break
            value = value * 16 + int(ch, 16)
            if value > 0xFFFF_FFFF:
                raise _BadString("number is too big to fit in a u32", self.pos)
            self.pos += 1
            trailing_underscore = False
        if trailing_underscore:
            raise _BadString("trailing underscore in number", first)
        return value

    def utf8(self, buf: bytearray) -> str:
        """The bytes as text; else Rust's `Utf8Error` message (Python finds the same
        first bad sequence, and its length, as Rust does)."""
        try:
            return buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":
                detail = f"incomplete utf-8 byte sequence from index {exc.start}"
            else:
                detail = f"invalid utf-8 sequence of {exc.end - exc.start} bytes from index {exc.start}"
            raise _BadString(f"invalid UTF-8: {detail}", self.start) from None


def _lex_failure(toks: _Tokens, message: str, at: int) -> None:
    toks.lex_error = (message, at, at + 1)
    toks.kinds.append("LEXERR")
    toks.starts.append(at)
    toks.ends.append(at + 1)


def _block_comment_end(text: str, start: int) -> int:
    """End offset of the (nestable) block comment opened at `start`, or -1."""
    depth = 0
    pos = start
    search = _BLOCK_MARK.search
    while True:
        m = search(text, pos)
        if m is None:
            return -1
        pos = m.end()
        depth += 1 if m.group() == "/*" else -1
        if depth == 0:
            return pos


def _rust_char(ch: str) -> str:
    """A character the way Rust's `{:?}` prints it (wit-parser's messages use it)."""
    escapes = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "'": "\\'", "\\": "\\\\"}
    if ch in escapes:
        return f"'{escapes[ch]}'"
    if not ch.isprintable():
        return f"'\\u{{{ord(ch):x}}}'"
    return f"'{ch}'"


def _id_error(name: str) -> str:
    """wit-parser's `validate_id` message for an identifier that is not kebab-case."""
    if not name:
        return "identifiers must have characters between '-'s"
    for index, part in enumerate(name.split("-")):
        if not part:
            return "identifiers must have characters between '-'s"
        if index == 0 and not ("a" <= part[0].lower() <= "z"):
            return f"invalid character in identifier {_rust_char(part[0])}"
        case = None
        for ch in part:
            if ch.isdigit() and ch.isascii():
                continue
            if ch.isascii() and ch.isupper():
                if case is False:
                    return f"invalid character in identifier {_rust_char(ch)}"
                case = True
            elif ch.isascii() and ch.islower():
                if case is True:
                    return f"invalid character in identifier {_rust_char(ch)}"
                case = False
            else:
                return f"invalid character in identifier {_rust_char(ch)}"
    return "invalid identifier"


# =====================================================================================
# Semantic versions (the rules of the `semver` crate, with its messages)
# =====================================================================================

_SEMVER_PARTS = ("major version number", "minor version number", "patch version number")


def _version_text(token: str) -> str:
    """A version token without a dangling `-` or `+`."""
    if token[-1] not in "-+":
        return token
    m = _VERSION_PARTS.fullmatch(token)
    return token[:max(m.end(g) for g in (1, 2, 3) if m.group(g) is not None)]


def _semver_problem(text: str) -> str | None:
    core, plus, build = text.partition("+")
    core, dash, pre = core.partition("-")
    for number, what in zip(core.split("."), _SEMVER_PARTS):
        if len(number) > 1 and number[0] == "0":
            return f"invalid leading zero in {what}"
        if int(number) > 0xFFFF_FFFF_FFFF_FFFF:
            return f"value of {what} exceeds u64::MAX"
    for present, body, what in ((dash, pre, "pre-release identifier"), (plus, build, "build metadata")):
        if not present:
            continue
        for ident in body.split("."):
            if not ident:
                return f"empty identifier segment in {what}"
            if not all(c.isascii() and (c.isalnum() or c == "-") for c in ident):
                return f"unexpected character in {what}"
            if what.startswith("pre") and ident.isdigit() and len(ident) > 1 and ident[0] == "0":
                return f"invalid leading zero in {what}"
    return None


# =====================================================================================
# Docs: wit-parser keeps every comment that precedes an item, and cleans them up thus
# =====================================================================================


def _docs_text(text: str, runs: list[tuple[int, int]]) -> str:
    """wit-parser's `docs()`: strip the markers (`/**` + `*/`, or every leading `/`) and
    trailing blanks, then the common indentation (spaces), one line per line."""
    docs: list[str] = []
    for start, end in runs:
        if text[start + 1] == "/":  # a run of line comments
            docs.extend(body.rstrip() for body in _LINE_COMMENT_BODY.findall(text, start, end))
        elif text.startswith("/**", start):
            docs.append(text[start + 3:end - 2].rstrip())
        else:
            docs.append(text[start:end].lstrip("/").rstrip())
    indent = min((len(d) - len(d.lstrip(_ASCII_SPACE)) for d in docs if d), default=0)
    if indent:
        prefix = " " * indent
        docs = [d[indent:] if d.startswith(prefix) else d for d in docs]
    joined = "\n".join(docs)
    if "\r" in joined:  # Rust's `lines()` drops the CR of a CRLF inside a block comment
        joined = joined.replace("\r\n", "\n")
    return joined.rstrip("\n")


# =====================================================================================
# The LALR table: built by Lark from grammars/wit.lark, cached with marshal
# =====================================================================================


class _Tables:
    """rows[state][symbol] -> int: >= 0 shift/goto to that state, < 0 reduce rule ~n."""

    __slots__ = ("rows", "rules", "start", "accessing", "reductions")

    def __init__(self, rows, rules, start, accessing) -> None:
        self.rows: list[dict[str, int]] = rows
        self.rules: list[tuple[str, int, str | None]] = rules  # (lhs, length, builder)
        self.start: int = start
        self.accessing: list[str] = accessing  # the symbol that leads into each state
        # What the driver calls: (lhs, length, _Builder function or None to pass through).
        self.reductions = [
            (lhs, length, getattr(_Builder, name) if name else None) for lhs, length, name in rules
        ]


_LOADED: _Tables | None = None


def _tables() -> _Tables:
    global _LOADED
    if _LOADED is None:
        grammar = _resources.grammar_path().read_bytes()
        cache = _resources.cache_dir() / f"wit-lalr-{_table_key(grammar)}.marshal"
        tables = _tables_from(_read_cache(cache))
        if tables is None:
            data = _build_tables(grammar.decode("utf-8"))
            _write_cache(cache, data)
            tables = _Tables(*data)
        _LOADED = tables
    return _LOADED


def _table_key(grammar: bytes) -> str:
    """Changes with the grammar, with the builder's method names (which decide what is a
    pass-through rule), and with the cache format."""
    builders = ",".join(sorted(name for name in vars(_Builder) if not name.startswith("_")))
    return f"{zlib.crc32(grammar):08x}{zlib.crc32(builders.encode()):08x}-{_TABLE_FORMAT}"


def _tables_from(data) -> _Tables | None:
    """The cached table, or None if it is missing, damaged or does not fit this code."""
    if not (isinstance(data, tuple) and len(data) == 4 and isinstance(data[0], list)):
        return None
    try:
        return _Tables(*data)
    except (AttributeError, TypeError, ValueError):
        return None


def _read_cache(path: Path):
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None  # missing or damaged: rebuilt


def _write_cache(path: Path, data) -> None:
    """Best effort: a read-only or missing cache directory only costs a rebuild."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass


def _build_tables(grammar: str):
    from lark import Lark  # noqa: PLC0415 - only when the cache is cold
    from lark.lexer import Lexer  # noqa: PLC0415
    from lark.parsers.lalr_analysis import Reduce  # noqa: PLC0415

    class _ExternalLexer(Lexer):  # the real lexer is `_lex`; Lark only builds the table
        def __init__(self, conf) -> None:
            pass

        def lex(self, lexer_state, parser_state):
            raise NotImplementedError

    lark = Lark(grammar, parser="lalr", lexer=_ExternalLexer, start="file", strict=True)
    table = lark.parser.parser._parse_table
    rule_index: dict[object, int] = {}
    rules: list[tuple[str, int, str | None]] = []
    state_ids = sorted(table.states)
    position = {s: i for i, s in enumerate(state_ids)}
    rows: list[dict[str, int]] = [{} for _ in state_ids]
    accessing = ["" for _ in state_ids]
    for state in state_ids:
        row = rows[position[state]]
        for symbol in sorted(table.states[state]):
            action, arg = table.states[state][symbol]
            symbol = str(symbol)
            if action is Reduce:
                if arg not in rule_index:
                    rule_index[arg] = len(rules)
                    rules.append(_rule_entry(arg))
                row[symbol] = ~rule_index[arg]
            else:
                row[symbol] = position[arg]
                accessing[position[arg]] = symbol
    return rows, rules, position[table.start_states["file"]], accessing


def _rule_entry(rule) -> tuple[str, int, str | None]:
    name = str(rule.alias or rule.origin.name)
    length = len(rule.expansion)
    if not hasattr(_Builder, name):
        if length != 1 or rule.alias:
            raise RuntimeError(f"grammar rule `{name}` has no builder in parser._Builder")
        return str(rule.origin.name), 1, None  # a pass-through: the child is the value
    return str(rule.origin.name), length, name


# =====================================================================================
# The LR driver
# =====================================================================================


def _run_lr(tables: _Tables, toks: _Tokens, builder: "_Builder") -> ast.File:
    rows = tables.rows
    reductions = tables.reductions
    kinds = toks.kinds
    stack = [tables.start]
    values: list = []
    push_state = stack.append
    push_value = values.append
    index = 0
    kind = kinds[0]
    row = rows[tables.start]
    while True:
        action = row.get(kind)
        if action is None:
            raise _syntax_error(tables, toks, builder, stack, values, index)
        if action >= 0:  # shift: a token's value is its index
            push_state(action)
            push_value(index)
            index += 1
            kind = kinds[index]
            row = rows[action]
            continue
        lhs, length, callback = reductions[~action]
        if callback is None:  # a pass-through rule keeps its child's value
            del stack[-1]
        elif length:
            args = values[-length:]
            del values[-length:]
            del stack[-length:]
            push_value(callback(builder, args))
        else:
            push_value(callback(builder, ()))
        if lhs == "file":  # the start symbol: only reduced at end of input
            return values[-1]
        row = rows[stack[-1]]
        state = row[lhs]
        push_state(state)
        row = rows[state]


# =====================================================================================
# Syntax errors, worded like wit-parser's
# =====================================================================================

_TYPE_STARTS = {"U32", "LIST", "OPTION", "RESULT", "TUPLE"}


def _acceptable(tables: _Tables, stack: list[int], terminal: str) -> bool:
    """Would `terminal` be shifted after the reductions it triggers? (LALR tables may
    list a lookahead for a reduction that a later state then rejects.)"""
    rows, rules = tables.rows, tables.rules
    states = list(stack)
    while True:
        action = rows[states[-1]].get(terminal)
        if action is None:
            return False
        if action >= 0:
            return True
        lhs, length, _ = rules[~action]
        if length:
            del states[-length:]
        if lhs == "file":
            return True
        states.append(rows[states[-1]][lhs])


def _syntax_error(tables, toks, builder, stack, values, index) -> WitSyntaxError:
    kind = toks.kinds[index]
    symbols = [tables.accessing[s] for s in stack[1:]]
    # wit-parser checks an attribute's name and key as soon as it has read them.
    problem = _attribute_problem(symbols, values, builder)
    if problem is not None:
        return problem
    if kind == "LEXERR":
        return _lex_error(toks, builder)
    if _attribute_name(symbols, values, builder, 3) == "external-id":
        # `@external-id(` takes nothing but a string (wit-parser `expect`s one).
        found = _describe_found(toks, builder, index)
        return WitSyntaxError(error(f"expected a string literal, found {found}",
                                    builder.span_of(index)))
    expected = {
        t for t in tables.rows[stack[-1]]
        if (t.isupper() or t == "$END") and _acceptable(tables, stack, t)
    }
    at = builder.span_of(index)
    if "VERSION" in expected and "ID" in expected:
        # An attribute's value: `@unstable(feature = name)`, else `@since(version = 1.2.3)`.
        expected = {"ID"} if builder.name_of(values[-4]) == "unstable" else {"VERSION"}
    if kind == "BAD" and ("ID" in expected or ("FUNC" in expected and symbols[-1] in ("COLON", "STATIC"))):
        # (wasm-tools also checks a word where `func` should follow `name:` or `static`.)
        start = toks.starts[index]
        return WitSyntaxError(error(_id_error(builder.name_of(index)), builder.file.span(start, start + 1)))
    if "VERSION" in expected and kind == "BADVERSION":
        version, span = builder.version(index)
        return WitSyntaxError(error(_semver_problem(version), span))
    if "VERSION" in expected and kind == "INTEGER":
        return _version_error(toks, builder, index)
    want = _describe_expected(expected, symbols)
    return WitSyntaxError(error(f"expected {want}, found {_describe_found(toks, builder, index)}", at))


def _describe_found(toks: _Tokens, builder: "_Builder", index: int) -> str:
    kind = toks.kinds[index]
    if kind in ("ID", "BAD"):
        return builder.describe(index)
    return _DESCRIBE.get(kind, kind)


def _lex_error(toks: _Tokens, builder: "_Builder") -> WitSyntaxError:
    message, start, end = toks.lex_error
    return WitSyntaxError(error(message, builder.file.span(start, end)))


_ATTRIBUTE_KEYS = {"since": "version", "deprecated": "version", "unstable": "feature", "external-id": ""}


def _attribute_problem(symbols, values, builder) -> WitSyntaxError | None:
    """An unknown `@name`, or a wrong `key` in `@name(key = ...)`, already read (or,
    where the key should be, a string; for `@external-id`, anything but a string)."""
    for depth in range(1, min(len(symbols), 6) + 1):
        if symbols[-depth] != "AT":
            continue
        # `ns:name@1.2.3` has an `@` too, after an identifier.
        if depth == 1 or (depth < len(symbols) and symbols[-depth - 1] == "ID"):
            return None
        name_index = values[-depth + 1]
        name = builder.name_of(name_index)
        if name not in _ATTRIBUTE_KEYS:
            return WitSyntaxError(error(f"unknown attribute `{name}`", builder.span_of(name_index)))
        if depth < 4:
            return None
        key = _ATTRIBUTE_KEYS[name]
        after_paren, token = symbols[-depth + 3], values[-depth + 3]
        if not key and after_paren != "STRING_LIT":
            found = builder.describe(token)
            return WitSyntaxError(error(f"expected a string literal, found {found}", builder.span_of(token)))
        if key and after_paren == "STRING_LIT":
            return WitSyntaxError(error("expected an identifier or string, found a string literal",
                                        builder.span_of(token)))
        if key and after_paren == "ID" and builder.name_of(token) != key:
            found = builder.name_of(token)
            return WitSyntaxError(error(f"expected `{key}`, found `{found}`", builder.span_of(token)))
        return None
    return None


def _attribute_name(symbols, values, builder, depth: int) -> str | None:
    """The name of the attribute whose `@` is `depth` symbols down the stack, if any."""
    if len(symbols) < depth or symbols[-depth] != "AT":
        return None
    if len(symbols) > depth and symbols[-depth - 1] == "ID":  # `ns:name@1.2.3`
        return None
    return builder.name_of(values[-depth + 1])


def _describe_expected(expected: set[str], symbols: list[str]) -> str:
    if _TYPE_STARTS <= expected:
        return "a type"
    if "IMPORT" in expected:
        return "`import`, `export`, `include`, `use`, or type definition"
    if "INTERFACE" in expected and "WORLD" in expected:
        return "`world`, `interface` or `use`"
    if "CONSTRUCTOR" in expected:
        return "`constructor` or identifier"
    if "TYPE" in expected:
        return "`type`, `resource` or `func`"
    if "ID" in expected:
        return "an identifier or string"
    if "INTEGER" in expected:
        return "fixed-length"
    if "VERSION" in expected:
        return "an integer"
    if "FUNC" in expected:
        return _DESCRIBE["FUNC"]
    # `package a:b` is followed by `;` only as the file's header; wit-parser then
    # reads it again as a nested package, and asks for its `{`.
    if "LBRACE" in expected and "PACKAGE" in symbols[-6:]:
        return _DESCRIBE["LBRACE"]
    # Otherwise the token wit-parser `expect`s after its optional `eat`s.
    for terminal in ("GT", "RPAR", "RBRACE", "SEMI", "PERIOD", "SLASH", "COLON", "EQUALS",
                     "LPAR", "LBRACE", "LT", "AS", "COMMA"):
        if terminal in expected:
            return _DESCRIBE[terminal]
    if not expected:
        return "nothing"
    return " or ".join(sorted(_DESCRIBE.get(t, t) for t in expected))


def _version_error(toks: _Tokens, builder: "_Builder", index: int) -> WitSyntaxError:
    """Where wit-parser's `parse_version` (integer '.' integer '.' integer) gives up."""
    pattern = ("INTEGER", "PERIOD", "INTEGER", "PERIOD", "INTEGER")
    for offset, want in enumerate(pattern):
        i = index + offset
        kind = toks.kinds[i]
        if kind == "LEXERR":
            return _lex_error(toks, builder)
        if kind != want:
            found = _describe_found(toks, builder, i)
            return WitSyntaxError(error(f"expected {_DESCRIBE[want]}, found {found}", builder.span_of(i)))
    return WitSyntaxError(error("a version must be written without spaces", builder.span_of(index)))


# =====================================================================================
# Nesting limits (checked only for files with enough `<` or `package` to reach them)
# =====================================================================================


def _check_nesting(tree: ast.File, source: SourceFile) -> None:
    # Packages: wit-parser refuses the 101st level of `package x:y { ... }`.
    todo = [(item, 0) for item in reversed(tree.items)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, ast.NestedPackage):
            if depth >= MAX_PACKAGE_DEPTH:
                start = item.span.start
                raise WitSyntaxError(error("package nesting too deep", source.span(start, start + 7)))
            todo.extend((child, depth + 1) for child in reversed(item.items))
    # Types: the first type (in source order) at depth 100.
    deepest = None
    for root in _type_roots(tree):
        found = _too_deep(root)
        if found is not None and (deepest is None or found.span.start < deepest.span.start):
            deepest = found
    if deepest is not None:
        start = deepest.span.start
        m = _KEYLIKE.match(source.text, start)
        end = m.end() if m else start + 1
        raise WitSyntaxError(error("type nesting too deep", source.span(start, end)))


def _type_children(t) -> list:
    if isinstance(t, (ast.ListType, ast.OptionType)):
        return [t.element] if isinstance(t, ast.ListType) else [t.inner]
    if isinstance(t, ast.MapType):
        return [t.key, t.value]
    if isinstance(t, ast.ResultType):
        return [x for x in (t.ok, t.err) if x is not None]
    if isinstance(t, ast.TupleType):
        return list(t.types)
    if isinstance(t, (ast.FutureType, ast.StreamType)):
        return [t.inner] if t.inner is not None else []
    return []


def _too_deep(root):
    """The first node at depth MAX_TYPE_DEPTH under `root`, depth first, left to right."""
    todo = [(root, 0)]
    while todo:
        node, depth = todo.pop()
        if depth >= MAX_TYPE_DEPTH:
            return node
        todo.extend((child, depth + 1) for child in reversed(_type_children(node)))
    return None


def _type_roots(tree: ast.File):
    for item in tree.items:
        yield from _item_types(item)


# Module-level generators rather than closures inside `_type_roots`: a nested function
# that calls itself is a reference cycle (function -> cell -> function), left for the
# cyclic collector.
def _item_types(item):
    """The outermost types an item (or the items inside it) writes, in source order."""
    if isinstance(item, ast.TypeDef):
        kind = item.kind
        if isinstance(kind, ast.Alias):
            yield kind.target
        elif isinstance(kind, ast.Record):
            yield from (f.type for f in kind.fields)
        elif isinstance(kind, ast.Variant):
            yield from (c.type for c in kind.cases if c.type is not None)
        elif isinstance(kind, ast.Resource):
            for rf in kind.funcs:
                yield from _func_types(rf.func.func)
    elif isinstance(item, ast.NamedFunc):
        yield from _func_types(item.func)
    elif isinstance(item, ast.Extern):
        if isinstance(item.kind, ast.ExternFunc):
            yield from _func_types(item.kind.func)
        elif isinstance(item.kind, ast.InlineInterface):
            for sub in item.kind.items:
                yield from _item_types(sub)
    elif isinstance(item, (ast.Interface, ast.World, ast.NestedPackage)):
        for sub in item.items:
            yield from _item_types(sub)


def _func_types(func: ast.Func):
    for p in func.params:
        yield p.type
    if func.result is not None:
        yield func.result


# =====================================================================================
# AST construction: one method per named grammar alternative
# =====================================================================================


class _Builder:
    """Callbacks of the LR driver. Children arrive as a list: a token is its index in
    the token lists, anything else is the value an earlier callback returned."""

    def __init__(self, source: SourceFile, toks: _Tokens) -> None:
        self.file = source
        self.text = source.text
        self.starts = toks.starts
        self.ends = toks.ends
        self.comments = toks.comments
        self.strings = toks.strings

    # --- helpers --------------------------------------------------------------------

    def text_of(self, index: int) -> str:
        return self.text[self.starts[index]:self.ends[index]]

    def describe(self, index: int) -> str:
        """An identifier token as wit-parser names it in "found ..." messages."""
        return "an '%' identifier" if self.text[self.starts[index]] == "%" else "an identifier"

    def name_of(self, index: int) -> str:
        """An identifier token's name, without the `%` escape."""
        text = self.text[self.starts[index]:self.ends[index]]
        return text[1:] if text[:1] == "%" else text

    def span_of(self, index: int) -> Span:
        return Span(self.file, self.starts[index], self.ends[index])

    def span(self, first: int, last: int) -> Span:
        """From the start of token `first` to the end of token `last`."""
        return Span(self.file, self.starts[first], self.ends[last])

    def id(self, index: int) -> ast.Id:
        start = self.starts[index]
        name = self.text[start:self.ends[index]]
        if name[0] == "%":
            name = name[1:]
        return ast.Id(_intern(name), Span(self.file, start, self.ends[index]))

    def docs(self, offset: int) -> str | None:
        runs = self.comments.get(offset)
        return None if runs is None else _docs_text(self.text, runs)

    def version(self, index: int) -> tuple[str, Span]:
        """A VERSION token's text and span (the lexer checked it against semver)."""
        start = self.starts[index]
        text = _version_text(self.text[start:self.ends[index]])
        return text, Span(self.file, start, start + len(text))

    # --- generic lists --------------------------------------------------------------

    def list1(self, c):
        return [c[0]]

    def list_add(self, c):
        items = c[0]
        items.append(c[1] if len(c) == 2 else c[2])
        return items

    def empty_list(self, c):
        return []

    def first(self, c):
        return c[0]

    # --- files and packages ---------------------------------------------------------

    def file_header(self, c):
        name = c[1]
        return ast.File(self.file.path, name, c[3], self.docs(self.starts[c[0]]),
                        Span(self.file, 0, len(self.text)))

    def file_header_only(self, c):
        return self.file_header([c[0], c[1], c[2], []])

    def file_plain(self, c):
        return ast.File(self.file.path, None, c[0], None, Span(self.file, 0, len(self.text)))

    def file_empty(self, c):
        return ast.File(self.file.path, None, [], None, Span(self.file, 0, len(self.text)))

    def nested_package(self, c):
        start = self.starts[c[0]]
        items = c[3] if len(c) == 5 else []
        return ast.NestedPackage(c[1], items, self.docs(start),
                                 Span(self.file, start, self.ends[c[-1]]))

    def nested_package_empty(self, c):
        return self.nested_package(c)

    def package_name(self, c):
        return ast.PackageName(self.id(c[0]), self.id(c[2]), None, self.span(c[0], c[2]))

    def package_name_version(self, c):
        version, vspan = self.version(c[4])
        return ast.PackageName(self.id(c[0]), self.id(c[2]), version, self.span(c[0], c[4]), vspan)

    # --- attributes -----------------------------------------------------------------

    def _attr_name(self, c, key: str) -> str:
        name = self.name_of(c[1])
        if name not in _ATTRIBUTE_KEYS:
            raise WitSyntaxError(error(f"unknown attribute `{name}`", self.span_of(c[1])))
        if name == "external-id":
            # `@external-id(key = ...)`: wit-parser wants the string where the key is.
            raise WitSyntaxError(error(f"expected a string literal, found {self.describe(c[3])}",
                                       self.span_of(c[3])))
        if key != "" and self.name_of(c[3]) != key:
            found = self.name_of(c[3])
            raise WitSyntaxError(error(f"expected `{key}`, found `{found}`",
                                       self.span_of(c[3])))
        return name

    def attr_version(self, c):  # AT ID LPAR ID EQUALS VERSION RPAR
        name = self.name_of(c[1])
        if name == "unstable":
            self._attr_name(c, "feature")
            raise WitSyntaxError(error("expected an identifier or string, found an integer",
                                       self.span_of(c[5])))
        self._attr_name(c, "version")
        version, _ = self.version(c[5])
        span = self.span(c[0], c[6])
        return ast.Since(version, span) if name == "since" else ast.Deprecated(version, span)

    def attr_name(self, c):  # AT ID LPAR ID EQUALS ID RPAR
        name = self.name_of(c[1])
        if name != "unstable":
            self._attr_name(c, "version")
            raise WitSyntaxError(error(f"expected an integer, found {self.describe(c[5])}",
                                       self.span_of(c[5])))
        self._attr_name(c, "feature")
        return ast.Unstable(self.id(c[5]), self.span(c[0], c[6]))

    def attr_string(self, c):  # AT ID LPAR STRING_LIT RPAR
        name = self.name_of(c[1])
        if name != "external-id":
            self._attr_name(c, "")
            raise WitSyntaxError(error("expected an identifier or string, found a string literal",
                                       self.span_of(c[3])))
        return ast.ExternalId(self.strings[self.starts[c[3]]], self.span(c[0], c[4]),
                              self.span_of(c[1]))

    def attributed(self, c):
        """`attrs item`: docs come before the attributes, and so does the item's span."""
        attrs, node = c
        target = node.func if isinstance(node, ast.ResourceFunc) else node
        if isinstance(target, ast.NestedPackage):
            start = target.span.start
            raise WitSyntaxError(error("cannot place attributes on nested packages",
                                       Span(self.file, start, start + len("package"))))
        start = attrs[0].span.start  # the first `@`
        target.attributes = attrs
        if hasattr(target, "docs"):
            target.docs = self.docs(start)
        target.span = Span(self.file, start, target.span.end)
        return node

    # --- use ------------------------------------------------------------------------

    def toplevel_use(self, c):
        return ast.TopLevelUse(c[1], None, [], self.span(c[0], c[-1]), self.span_of(c[0]))

    def toplevel_use_as(self, c):
        return ast.TopLevelUse(c[1], self.id(c[3]), [], self.span(c[0], c[-1]),
                               self.span_of(c[0]))

    def local_path(self, c):
        ident = self.id(c[0])
        return ast.LocalPath(ident, ident.span)

    def package_path(self, c):
        package = ast.PackageName(self.id(c[0]), self.id(c[2]), None, self.span(c[0], c[2]))
        return ast.PackagePath(package, self.id(c[4]), self.span(c[0], c[-1]))

    def package_path_version(self, c):
        path = self.package_path(c)
        path.package.version, path.package.version_span = self.version(c[6])
        return path

    def use(self, c):
        return ast.Use(c[1], c[4], [], self.span(c[0], c[-1]))

    def use_nothing(self, c):
        return ast.Use(c[1], [], [], self.span(c[0], c[-1]))

    def use_name(self, c):
        return ast.UseName(self.id(c[0]))

    def use_name_as(self, c):
        return ast.UseName(self.id(c[0]), self.id(c[2]))

    # --- interfaces and functions ---------------------------------------------------

    def interface(self, c):
        start = self.starts[c[0]]
        items = c[3] if len(c) == 5 else []
        return ast.Interface(self.id(c[1]), items, self.docs(start), [],
                             Span(self.file, start, self.ends[c[-1]]))

    def interface_empty(self, c):
        return self.interface(c)

    def named_func(self, c):  # ID COLON func_sig SEMI
        start = self.starts[c[0]]
        return ast.NamedFunc(self.id(c[0]), c[2], self.docs(start), [],
                             Span(self.file, start, self.ends[c[3]]))

    def _func(self, c, first: int, params, result, is_async: bool) -> ast.Func:
        end = result.span.end if result is not None else self.ends[c[-1]]
        return ast.Func(params, result, Span(self.file, self.starts[c[first]], end), is_async)

    def func(self, c):  # FUNC LPAR params RPAR
        return self._func(c, 0, c[2], None, False)

    def func_result(self, c):  # FUNC LPAR params RPAR RARROW type
        return self._func(c, 0, c[2], c[5], False)

    def async_func(self, c):  # ASYNC FUNC LPAR params RPAR
        return self._func(c, 0, c[3], None, True)

    def async_func_result(self, c):
        return self._func(c, 0, c[3], c[6], True)

    def param(self, c):
        return ast.Param(self.id(c[0]), c[2])

    # --- type definitions -----------------------------------------------------------

    def _typedef(self, c, kind) -> ast.TypeDef:
        start = self.starts[c[0]]
        return ast.TypeDef(self.id(c[1]), kind, self.docs(start), [], kind.span)

    def alias(self, c):  # TYPE ID EQUALS type SEMI
        return self._typedef(c, ast.Alias(c[3], self.span(c[0], c[4])))

    def record(self, c):  # RECORD ID LBRACE fields RBRACE
        return self._typedef(c, ast.Record(c[3], self.span(c[0], c[4])))

    def field(self, c):  # ID COLON type
        return ast.Field(self.id(c[0]), c[2], self.docs(self.starts[c[0]]))

    def _plain_cases(self, tokens) -> list[ast.Case]:
        return [ast.Case(self.id(t), None, self.docs(self.starts[t])) for t in tokens]

    def flags(self, c):
        return self._typedef(c, ast.Flags(self._plain_cases(c[3]), self.span(c[0], c[4])))

    def enum(self, c):
        return self._typedef(c, ast.Enum(self._plain_cases(c[3]), self.span(c[0], c[4])))

    def variant(self, c):
        return self._typedef(c, ast.Variant(c[3], self.span(c[0], c[4])))

    def case(self, c):
        return ast.Case(self.id(c[0]), None, self.docs(self.starts[c[0]]))

    def case_typed(self, c):  # ID LPAR type RPAR
        return ast.Case(self.id(c[0]), c[2], self.docs(self.starts[c[0]]))

    def resource_bare(self, c):  # RESOURCE ID SEMI
        return self._typedef(c, ast.Resource([], self.span(c[0], c[-1])))

    def resource(self, c):  # RESOURCE ID LBRACE resource_items RBRACE
        return self._typedef(c, ast.Resource(c[3], self.span(c[0], c[-1])))

    def resource_empty(self, c):
        return self.resource_bare(c)

    def _resource_func(self, kind: str, name: ast.Id, func: ast.Func, first: int, last: int):
        start = self.starts[first]
        named = ast.NamedFunc(name, func, self.docs(start), [], Span(self.file, start, self.ends[last]))
        return ast.ResourceFunc(kind, named)

    def constructor(self, c):  # CONSTRUCTOR LPAR params RPAR [RARROW type] SEMI
        result = c[5] if len(c) == 7 else None
        end = result.span.end if result is not None else self.ends[c[3]]
        func = ast.Func(c[2], result, Span(self.file, self.starts[c[0]], end))
        name = ast.Id("constructor", self.span_of(c[0]))
        return self._resource_func("constructor", name, func, c[0], c[-1])

    def constructor_result(self, c):
        return self.constructor(c)

    def method(self, c):  # ID COLON func_sig SEMI
        return self._resource_func("method", self.id(c[0]), c[2], c[0], c[3])

    def static(self, c):  # ID COLON STATIC func_sig SEMI
        return self._resource_func("static", self.id(c[0]), c[3], c[0], c[4])

    # --- types ----------------------------------------------------------------------

    def primitive(self, c):
        return ast.Primitive(self.text_of(c[0]), self.span_of(c[0]))

    def named_type(self, c):
        ident = self.id(c[0])
        return ast.NamedType(ident, ident.span)

    def list_type(self, c):  # LIST LT type GT
        return ast.ListType(c[2], self.span(c[0], c[3]))

    def fixed_list_type(self, c):  # LIST LT type COMMA INTEGER GT
        size_span = self.span_of(c[4])
        size = int(self.text_of(c[4]))
        if size > 0xFFFF_FFFF:
            raise WitSyntaxError(error("invalid list size: number too large to fit in target type",
                                       size_span))
        return ast.ListType(c[2], self.span(c[0], c[5]), size, size_span)

    def map_type(self, c):  # MAP LT type COMMA type GT
        return ast.MapType(c[2], c[4], self.span(c[0], c[5]))

    def option_type(self, c):
        return ast.OptionType(c[2], self.span(c[0], c[3]))

    def result_bare(self, c):
        return ast.ResultType(None, None, self.span_of(c[0]))

    def result_ok(self, c):  # RESULT LT type GT
        return ast.ResultType(c[2], None, self.span(c[0], c[3]))

    def result_err(self, c):  # RESULT LT UNDERSCORE COMMA type GT
        return ast.ResultType(None, c[4], self.span(c[0], c[5]))

    def result_ok_err(self, c):  # RESULT LT type COMMA type GT
        return ast.ResultType(c[2], c[4], self.span(c[0], c[5]))

    def tuple_type(self, c):
        return ast.TupleType(c[2], self.span(c[0], c[3]))

    def future_bare(self, c):
        return ast.FutureType(None, self.span_of(c[0]))

    def future_type(self, c):
        return ast.FutureType(c[2], self.span(c[0], c[3]))

    def stream_bare(self, c):
        return ast.StreamType(None, self.span_of(c[0]))

    def stream_type(self, c):
        return ast.StreamType(c[2], self.span(c[0], c[3]))

    def error_context(self, c):
        return ast.ErrorContextType(self.span_of(c[0]))

    def handle_type(self, c):  # OWN|BORROW LT ID GT
        return ast.HandleType(self.text_of(c[0]), self.id(c[2]), self.span(c[0], c[3]))

    # --- worlds ---------------------------------------------------------------------

    def world(self, c):
        start = self.starts[c[0]]
        items = c[3] if len(c) == 5 else []
        return ast.World(self.id(c[1]), items, self.docs(start), [],
                         Span(self.file, start, self.ends[c[-1]]))

    def world_empty(self, c):
        return self.world(c)

    def extern(self, c):  # IMPORT|EXPORT extern_kind ; the kind carries its end
        kind, end = c[1]
        start = self.starts[c[0]]
        return ast.Extern(self.text_of(c[0]), kind, self.docs(start), [],
                          Span(self.file, start, end))

    def extern_func(self, c):  # ID COLON func_sig SEMI
        return ast.ExternFunc(self.id(c[0]), c[2]), self.ends[c[3]]

    def extern_interface(self, c):  # ID COLON INTERFACE LBRACE [iface_items] RBRACE
        items = c[4] if len(c) == 6 else []
        name = self.id(c[0])
        return ast.InlineInterface(name, items, self.span(c[0], c[-1])), self.ends[c[-1]]

    def extern_interface_empty(self, c):
        return self.extern_interface(c)

    def extern_named_path(self, c):  # ID COLON use_path SEMI
        # `import a: b/c;` never gets here: after `a: b` a `/` makes `a:b/c` one package
        # path (extern_path), as wit-parser's look-ahead decides.
        path = c[2]
        name = self.id(c[0])
        return ast.NamedPath(name, path, Span(self.file, name.span.start, path.span.end)), \
            self.ends[c[3]]

    def extern_path(self, c):  # use_path SEMI
        return c[0], self.ends[c[1]]

    def include(self, c):  # INCLUDE use_path SEMI
        return ast.Include(c[1], [], [], self.span(c[0], c[2]))

    def include_with(self, c):  # INCLUDE use_path WITH LBRACE include_names RBRACE
        return ast.Include(c[1], c[4], [], self.span(c[0], c[5]))

    def include_name(self, c):
        return ast.IncludeName(self.id(c[0]), self.id(c[2]))
