"""S-expressions with spans and doc comments: the lexical layer of WITX.

WITX is written in the WebAssembly text format's S-expression syntax: `(` `)`,
atoms (keywords like `typename`, identifiers like `$fd`, annotations like `@witx`,
integers), strings `"..."`, line comments `;; ...` and nestable block comments
`(; ... ;)`. Doc comments are `;;;` (and `(;; ... ;)`): the docs of a node are the
doc comments between the previous token and the node's first token.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import Union

from ..diagnostics import SourceFile, Span, WitxError, error
from ..records import record

# Characters wasm text allows in keywords/ids/annotations (its "idchar" set).
_IDCHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\n]+)"
    r"|(?P<line>;;[^\n]*)"
    r"|(?P<block>\(;)"
    r"|(?P<lparen>\()"
    r"|(?P<rparen>\))"
    r'|(?P<string>"(?:[^"\\\n]|\\.)*")'
    rf"|(?P<atom>[{_IDCHARS}]+)"
)
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


@record(slots=True)
class Atom:
    """A keyword, `$identifier`, annotation (`@witx`), integer or string token."""

    text: str  # for strings: the decoded value
    span: Span
    is_string: bool = False
    docs: list[str] = field(default_factory=list)

    @property
    def is_id(self) -> bool:
        return not self.is_string and self.text.startswith("$") and len(self.text) > 1

    def __repr__(self) -> str:
        return repr(self.text) if self.is_string else self.text


@record(slots=True)
class SList:
    """A parenthesised list. `span` covers `(` through `)`."""

    items: list["SExpr"]
    span: Span
    docs: list[str] = field(default_factory=list)

    @property
    def head(self) -> str | None:
        """The first item's text if it is a keyword or annotation atom."""
        if self.items and isinstance(self.items[0], Atom) and not self.items[0].is_string:
            return self.items[0].text
        return None

    def __repr__(self) -> str:
        return "(" + " ".join(map(repr, self.items)) + ")"


SExpr = Union[Atom, SList]


def _fail(src: SourceFile, start: int, end: int, message: str, *notes: str) -> WitxError:
    return WitxError(error(message, src.span(start, max(end, start + 1)), *notes))


def block_comment_end(text: str, start: int) -> int | None:
    """End offset of the (nestable) `(; ... ;)` comment opening at `start`, or None if
    it never closes. WITX and the wasm text format share this lexical rule."""
    depth = 0
    i = start
    while i < len(text):
        if text.startswith("(;", i):
            depth += 1
            i += 2
        elif text.startswith(";)", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return None


def _skip_block_comment(src: SourceFile, start: int) -> int:
    end = block_comment_end(src.text, start)
    if end is None:
        raise _fail(src, start, start + 2, "unterminated block comment")
    return end


def _doc_line(comment: str) -> str | None:
    """The doc text of one comment (`;;;x` → `x`), or None if it is no doc comment."""
    body = comment[2:] if comment.startswith(";;") else comment[2:-2]
    body = body.rstrip()
    return body[1:] if body.startswith(";") else None


def docs_text(lines: list[str]) -> str:
    """Join doc comment lines the way witx does: common indentation removed, "\\n" each."""
    if not lines:
        return ""
    indents = [len(d) - len(d.lstrip()) for d in lines if d.strip()]
    trim = min(indents) if indents else 0
    return "".join((d[trim:].rstrip() if d.strip() else "") + "\n" for d in lines)


def _decode_string(src: SourceFile, start: int, raw: str) -> str:
    out = []
    i = 1
    while i < len(raw) - 1:
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[nxt])
            i += 2
        elif re.match(r"[0-9a-fA-F]{2}", raw[i + 1:i + 3]):
            out.append(chr(int(raw[i + 1:i + 3], 16)))
            i += 3
        else:
            raise _fail(src, start + i, start + i + 2, f"invalid string escape `\\{nxt}`")
    return "".join(out)


# Deeper nesting is refused, as wast does; it also keeps the recursive readers of the
# tree far from Python's recursion limit.
MAX_NESTING = 100


def parse_sexprs(src: SourceFile) -> list[SExpr]:
    """All top-level S-expressions of a file, with spans and docs."""
    text = src.text
    match = _TOKEN.match
    stack: list[tuple[int, list[SExpr], list[str]]] = []  # (open offset, items, docs)
    top: list[SExpr] = []
    items = top
    docs: list[str] = []  # doc comments since the last token
    pos = 0
    n = len(text)
    while pos < n:
        m = match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == '"':
                raise _fail(src, pos, pos + 1, "unterminated string")
            raise _fail(src, pos, pos + 1, f"unexpected character `{ch}`")
        kind = m.lastgroup
        end = m.end()
        if kind == "ws":
            pass
        elif kind == "line":
            line = _doc_line(m.group())
            if line is not None:
                docs.append(line)
        elif kind == "block":
            end = _skip_block_comment(src, pos)
            line = _doc_line(text[pos:end])
            if line is not None:
                docs.extend(line.split("\n"))
        elif kind == "lparen":
            if len(stack) >= MAX_NESTING:  # the witx crate's parser (wast) stops here too
                raise _fail(src, pos, end, "item nesting too deep")
            stack.append((pos, items, docs))
            items = []
            docs = []
        elif kind == "rparen":
            if not stack:
                raise _fail(src, pos, end, "unexpected `)`: no matching `(`")
            start, parent, open_docs = stack.pop()
            parent.append(SList(items, src.span(start, end), open_docs))
            items = parent
            docs = []
        elif kind == "string":
            raw = m.group()
            items.append(Atom(_decode_string(src, pos, raw), src.span(pos, end), True, docs))
            docs = []
        else:
            items.append(Atom(m.group(), src.span(pos, end), False, docs))
            docs = []
        pos = end
    if stack:
        start = stack[-1][0]
        raise _fail(src, start, start + 1, "unclosed `(`: missing `)` before the end of the file")
    return top
