"""Reader for the component text format (`.wat`), limited to what encodes a WIT package.

Reads what `wasm-tools print` writes for an encoded package and the hand-written
forms of the same constructs: `$id`s anywhere an index goes, inline type definitions
(a value type written in place, `(instance (export ...))` as an import's type), the
older `(interface "ns:pkg/i")` name form, `(@custom "name" "data"...)` annotations.
Inline definitions are hoisted into type declarations placed just before the item
that uses them, as the wast crate does, so indices mean the same as in the binary.

Positions are character offsets into the text; `WasmError` carries them.
"""

from __future__ import annotations

import re

from ..witx.sexpr import block_comment_end
from . import ast
from .errors import WasmError

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<line>;;[^\n]*)
  | (?P<block>\(;)
  | (?P<lpar>\()
  | (?P<rpar>\))
  | (?P<str>"(?:[^"\\\x00-\x1f\x7f]|\\.)*")
  | (?P<atom>[^\s()";]+)
""", re.VERBOSE)
_IDCHARS = re.compile(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+")
_SEPARATORS = frozenset(" \t\r\n();")
_ESCAPE = re.compile(r"\\(?:u\{([0-9a-fA-F_]+)\}|([0-9a-fA-F]{2})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def looks_like_wat(data: bytes) -> bool:
    """True if the bytes start, after whitespace and comments, with `(component` or
    `(module`: enough to tell wasm text from a `.wit` file."""
    try:
        text = data[:4096].decode("utf-8", errors="ignore")
    except Exception:  # noqa: BLE001 - any undecodable prefix is simply not text
        return False
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return False
        kind = m.lastgroup
        if kind in ("ws", "line"):
            pos = m.end()
        elif kind == "block":
            try:
                pos = _skip_block_comment(text, m.start())
            except WasmError:
                return False
        elif kind == "lpar":
            head = _TOKEN.match(text, m.end())
            return head is not None and head.lastgroup == "atom" \
                and head.group() in ("component", "module")
        else:
            return False
    return False


def _skip_block_comment(text: str, start: int) -> int:
    end = block_comment_end(text, start)
    if end is None:
        raise WasmError("unterminated block comment", (start, start + 2))
    return end


# --- s-expressions -----------------------------------------------------------------------------


class _Atom:
    __slots__ = ("text", "pos", "is_str")

    def __init__(self, text: str, pos: ast.Pos, is_str: bool) -> None:
        self.text = text
        self.pos = pos
        self.is_str = is_str


class _List:
    __slots__ = ("items", "pos")

    def __init__(self, items: list, pos: ast.Pos) -> None:
        self.items = items
        self.pos = pos

    @property
    def head(self) -> str | None:
        first = self.items[0] if self.items else None
        return first.text if isinstance(first, _Atom) and not first.is_str else None


def _tokens(text: str):
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise WasmError(f"unexpected character `{text[pos]}`", (pos, pos + 1))
        kind = m.lastgroup
        if kind == "block":
            pos = _skip_block_comment(text, pos)
            continue
        pos = m.end()
        if kind in ("str", "atom") and pos < n and text[pos] not in _SEPARATORS \
                and not (m.group() == "@" and text[pos] == '"'):  # `(@"id" ...)`
            raise WasmError("tokens must be separated by whitespace or parentheses",
                            (pos, pos + 1))
        if kind == "atom" and m.group() == "$":
            raise WasmError("empty identifier", (m.start(), pos))
        if kind == "atom" and m.group().startswith("@") \
                and not _IDCHARS.fullmatch(m.group()[1:]):
            raise WasmError("empty or invalid annotation id", (m.start(), pos))
        if kind not in ("ws", "line"):
            yield kind, m.group(), m.start(), m.end()


# As the wast crate: deeper nesting is refused (at the token after the 101st `(`), which
# also keeps the recursive readers below far from Python's recursion limit.
MAX_NESTING = 100


def _parse_sexprs(text: str) -> list:
    stack: list[tuple[list, int]] = []
    top: list = []
    current = top
    for kind, tok, start, end in _tokens(text):
        if len(stack) > MAX_NESTING:
            raise WasmError("item nesting too deep", (start, end))
        if kind == "lpar":
            stack.append((current, start))
            current = []
        elif kind == "rpar":
            if not stack:
                raise WasmError("unexpected `)`", (start, end))
            parent, open_at = stack.pop()
            parent.append(_List(current, (open_at, end)))
            current = parent
        elif kind == "str":
            current.append(_Atom(_unescape(tok[1:-1], start), (start, end), True))
        else:
            current.append(_Atom(tok, (start, end), False))
    if stack:
        open_at = stack[-1][1]
        raise WasmError("unclosed `(`", (open_at, open_at + 1))
    return top


def _unescape(body: str, at: int) -> str:
    """String contents; `\\hh` bytes are kept as code points < 256 (latin-1), so
    `_bytes_of` gets the exact bytes back and `_name_of` can check for UTF-8."""
    def sub(m: re.Match) -> str:
        if m.group(1) is not None:
            return chr(int(m.group(1).replace("_", ""), 16))
        if m.group(2) is not None:
            return chr(int(m.group(2), 16))
        ch = m.group(3)
        if ch not in _SIMPLE_ESCAPES:
            raise WasmError(f"invalid string escape `\\{ch}`", (at, at + 1))
        return _SIMPLE_ESCAPES[ch]

    return _ESCAPE.sub(sub, body) if "\\" in body else body


def _bytes_of(atom: _Atom) -> bytes:
    out = bytearray()
    for ch in atom.text:
        code = ord(ch)
        out.extend(bytes([code]) if code < 256 else ch.encode("utf-8"))
    return bytes(out)


def _name_of(atom) -> str:
    if not isinstance(atom, _Atom) or not atom.is_str:
        raise WasmError("expected a string", atom.pos)
    if all(ord(c) < 128 for c in atom.text):
        return atom.text
    try:
        return _bytes_of(atom).decode("utf-8")
    except UnicodeDecodeError:
        raise WasmError("string is not valid UTF-8", atom.pos) from None


# --- the component --------------------------------------------------------------------------------


def read_text(text: str) -> ast.Component:
    forms = _parse_sexprs(text)
    if len(forms) != 1 or not isinstance(forms[0], _List):
        pos = forms[1].pos if len(forms) > 1 else (0, 0)
        raise WasmError("expected exactly one `(component ...)`", pos)
    root = forms[0]
    if root.head == "module":
        raise WasmError("expected a component, found a core wasm module", root.pos)
    if root.head != "component":
        raise WasmError("expected `(component ...)`", root.pos)
    reader = _Reader()
    rest = root.items[1:]
    if rest and _is_id(rest[0]):
        rest = rest[1:]
    items: list[ast.Decl] = []
    for form in rest:
        reader.top_field(form, items)
    return ast.Component(items, root.pos)


def _check_producers(form: _List) -> None:
    """`(@producers (processed-by "tool" "version") ...)`: checked like wast does,
    although nothing of it is kept."""
    for field in form.items[1:]:
        ok = isinstance(field, _List) and field.head in ("language", "sdk", "processed-by") \
            and len(field.items) == 3 and all(isinstance(a, _Atom) and a.is_str
                                              for a in field.items[1:])
        if not ok:
            raise WasmError('expected `(language|sdk|processed-by "name" "version")`',
                            field.pos)


def _is_id(node) -> bool:
    return isinstance(node, _Atom) and not node.is_str and node.text.startswith("$")


def _parse_int(atom: _Atom) -> int | None:
    text = atom.text.replace("_", "")
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        return None


_NAME_OPTIONS = {"implements": "implements", "versionsuffix": "version_suffix",
                 "external-id": "external_id"}
_SORT_NAMES = ("type", "func", "instance", "component", "module", "value")


class _Reader:
    def __init__(self) -> None:
        self.fresh = 0

    # -- helpers ---------------------------------------------------------------------------

    def fresh_id(self) -> str:
        self.fresh += 1
        return f"$\x00inline{self.fresh}"  # cannot clash: `$` ids never hold NUL

    @staticmethod
    def expect_list(node, what: str) -> _List:
        if not isinstance(node, _List):
            raise WasmError(f"expected {what}", node.pos)
        return node

    @staticmethod
    def ref(node) -> ast.Ref:
        if isinstance(node, _Atom) and not node.is_str and _IDCHARS.fullmatch(node.text):
            if node.text.startswith("$"):
                return node.text
            value = _parse_int(node)
            if value is not None and value >= 0:
                return value
        raise WasmError("expected an index or an identifier", node.pos)

    @staticmethod
    def take_id(items: list, i: int) -> tuple[str | None, int]:
        if i < len(items) and _is_id(items[i]):
            return items[i].text, i + 1
        return None, i

    def extern_name(self, node) -> ast.ExternName:
        if isinstance(node, _List) and node.head == "interface" and len(node.items) == 2:
            return ast.ExternName(_name_of(node.items[1]))
        if not isinstance(node, _Atom):
            raise WasmError("expected a name", node.pos)
        return ast.ExternName(_name_of(node))

    def named(self, items: list, i: int) -> tuple[ast.ExternName, int]:
        """A name at `items[i]` and its options: `"n" (implements "x")? (versionsuffix
        "y")? (external-id "z")?`; returns the name and the index after it."""
        if i >= len(items):
            raise WasmError("expected a name", items[-1].pos if items else (0, 0))
        name = self.extern_name(items[i])
        i += 1
        while i < len(items) and isinstance(items[i], _List) \
                and items[i].head in _NAME_OPTIONS and len(items[i].items) == 2:
            field = _NAME_OPTIONS[items[i].head]
            if getattr(name, field) is not None:
                raise WasmError(f"duplicate `{items[i].head}` option", items[i].pos)
            setattr(name, field, _name_of(items[i].items[1]))
            i += 1
        return name, i

    # -- top level ---------------------------------------------------------------------------

    def top_field(self, form, out: list) -> None:
        form = self.expect_list(form, "a component field")
        head = form.head
        if head == "type":
            self.type_field(form, out, top=True)
        elif head == "import":
            out.append(self.import_decl(form, out))
        elif head == "export":
            out.append(self.export_item(form, out))
        elif head == "alias":
            out.append(self.alias(form))
        elif head == "@custom":
            out.append(self.custom(form))
        elif head == "@producers":
            _check_producers(form)
        elif head is not None and head.startswith("@"):
            return  # other annotations (`@name`, ...) carry nothing WIT needs
        else:
            what = {"core": "a core item", "canon": "a canonical function",
                    "instance": "a component instance", "component": "a nested component",
                    "start": "a start function", "func": "a component function",
                    "module": "a core module"}.get(head or "", f"`({head} ...)`")
            out.append(ast.Unsupported(what, form.pos))

    def custom(self, form: _List) -> ast.Custom:
        items = form.items[1:]
        if not items:
            raise WasmError("expected the custom section's name", form.pos)
        name = _name_of(items[0])
        data = bytearray()
        for item in items[1:]:
            if isinstance(item, _List) and item.head in ("before", "after"):
                continue  # placement only
            if not isinstance(item, _Atom) or not item.is_str:
                raise WasmError("expected a string", item.pos)
            data.extend(_bytes_of(item))
        return ast.Custom(name, bytes(data), form.pos)

    def export_item(self, form: _List, out: list) -> ast.ExportItem:
        items = form.items
        ident, i = self.take_id(items, 1)
        if i >= len(items):
            raise WasmError("expected the export's name", form.pos)
        name, i = self.named(items, i)
        i -= 1  # `items[i + 1]` is what is exported
        if i + 1 >= len(items):
            raise WasmError("expected what is exported", form.pos)
        target = self.expect_list(items[i + 1], "what is exported, like `(type 0)`")
        sort = target.head
        if sort == "core":
            return ast.ExportItem(name, "core", 0, None, ident, form.pos)
        if sort not in _SORT_NAMES or len(target.items) != 2:
            raise WasmError("expected `(type idx)`, `(func idx)`, `(instance idx)` or "
                            "`(component idx)`", target.pos)
        desc = None
        if i + 2 < len(items):
            desc = self.extern_desc(items[i + 2], out)
        return ast.ExportItem(name, sort, self.ref(target.items[1]), desc, ident, form.pos)

    # -- declarations ---------------------------------------------------------------------------

    def type_field(self, form: _List, out: list, *, top: bool) -> None:
        items = form.items
        ident, i = self.take_id(items, 1)
        exports = []
        while i < len(items) and isinstance(items[i], _List) and items[i].head == "export" \
                and top:
            exports.append(items[i])
            i += 1
        if i != len(items) - 1:
            raise WasmError("expected one type definition", form.pos)
        ty = self.type_def(items[i], out)
        if exports and ident is None:
            ident = self.fresh_id()
        out.append(ast.TypeDecl(ty, ident, form.pos))
        for exp in exports:
            if len(exp.items) != 2:
                raise WasmError("expected `(export \"name\")`", exp.pos)
            out.append(ast.ExportItem(self.extern_name(exp.items[1]), "type", ident, None,
                                      None, exp.pos))

    def import_decl(self, form: _List, out: list) -> ast.ImportDecl:
        items = form.items
        name, i = self.named(items, 1)
        if len(items) != i + 1:
            raise WasmError('expected `(import "name" <description>)`', form.pos)
        ident, desc = self.extern_desc_with_id(items[i], out)
        return ast.ImportDecl(name, desc, ident, form.pos)

    def export_decl(self, form: _List, out: list) -> ast.ExportDecl:
        items = form.items
        ident, i = self.take_id(items, 1)
        name, i = self.named(items, i)
        if len(items) != i + 1:
            raise WasmError('expected `(export "name" <description>)`', form.pos)
        desc_id, desc = self.extern_desc_with_id(items[i], out)
        return ast.ExportDecl(name, desc, ident or desc_id, form.pos)

    def extern_desc(self, node, out: list) -> ast.ExternDesc:
        return self.extern_desc_with_id(node, out)[1]

    def extern_desc_with_id(self, node, out: list) -> tuple[str | None, ast.ExternDesc]:
        node = self.expect_list(node, "an import or export description")
        kind = node.head
        items = node.items
        ident, i = self.take_id(items, 1)
        rest = items[i:]
        if kind == "type":
            if len(rest) == 1 and isinstance(rest[0], _List):
                bound = rest[0]
                if bound.head == "eq" and len(bound.items) == 2:
                    return ident, ast.ExternDesc("type", ("eq", self.ref(bound.items[1])))
                if bound.head == "sub" and len(bound.items) == 2 \
                        and isinstance(bound.items[1], _Atom) and bound.items[1].text == "resource":
                    return ident, ast.ExternDesc("type", "sub-resource")
            raise WasmError("expected `(type (eq idx))` or `(type (sub resource))`", node.pos)
        if kind in ("func", "instance", "component"):
            if len(rest) == 1 and isinstance(rest[0], _List) and rest[0].head == "type" \
                    and len(rest[0].items) == 2 and not isinstance(rest[0].items[1], _List):
                return ident, ast.ExternDesc(kind, self.ref(rest[0].items[1]))
            inline = _List([_Atom(kind, node.pos, False), *rest], node.pos)
            return ident, ast.ExternDesc(kind, self.hoist(inline, out))
        if kind in ("module", "value"):
            raise WasmError(f"{kind} imports and exports are not part of WIT", node.pos)
        if kind == "core":
            raise WasmError("core module imports and exports are not part of WIT", node.pos)
        raise WasmError("expected a `type`, `func`, `instance` or `component` description",
                        node.pos)

    def hoist(self, node: _List, out: list) -> str:
        """An inline type definition: declared just before the item using it."""
        ident = self.fresh_id()
        ty = self.type_def(node, out)
        out.append(ast.TypeDecl(ty, ident, node.pos))
        return ident

    def alias(self, form: _List) -> ast.AliasDecl:
        items = form.items
        if len(items) < 2 or not isinstance(items[1], _Atom):
            raise WasmError("expected `alias export` or `alias outer`", form.pos)
        how = items[1].text
        if how == "core":
            return ast.AliasDecl("core", ("core-export",), None, form.pos)
        if how == "export" and len(items) == 5:
            target: tuple = ("export", self.ref(items[2]), _name_of(items[3]))
        elif how == "outer" and len(items) == 5:
            count = self.ref(items[2])
            target = ("outer", count, self.ref(items[3]))
        else:
            raise WasmError("expected `(alias export inst \"name\" (sort))` or "
                            "`(alias outer count idx (sort))`", form.pos)
        sort_node = self.expect_list(items[4], "the alias's sort, like `(type)`")
        sort = sort_node.head
        if sort not in _SORT_NAMES:
            raise WasmError("expected the alias's sort, like `(type)`", sort_node.pos)
        ident, end = self.take_id(sort_node.items, 1)
        if end != len(sort_node.items):
            raise WasmError("expected `)`", sort_node.items[end].pos)
        if target[0] == "outer" and isinstance(target[1], str):
            raise WasmError("outer alias counts by name are not supported; use a number",
                            items[2].pos)
        return ast.AliasDecl(sort, target, ident, form.pos)

    def body_decl(self, form, out: list, *, component: bool) -> None:
        """One declaration inside `(instance ...)` / `(component ...)` type bodies."""
        form = self.expect_list(form, "a declaration")
        head = form.head
        if head == "type":
            self.type_field(form, out, top=False)
        elif head == "alias":
            out.append(self.alias(form))
        elif head == "export":
            out.append(self.export_decl(form, out))
        elif head == "import" and component:
            out.append(self.import_decl(form, out))
        elif head == "core":
            raise WasmError("core types inside component types are not supported", form.pos)
        else:
            raise WasmError(f"unexpected `({head} ...)` in a type declaration", form.pos)

    # -- type definitions --------------------------------------------------------------------------

    def type_def(self, node, out: list) -> ast.TypeDef:
        if isinstance(node, _Atom):
            if not node.is_str and node.text in ast.PRIMITIVES:
                return ast.Defined("primitive", node.text)
            raise WasmError("expected a type definition", node.pos)
        head = node.head
        args = node.items[1:]
        if head == "func":
            return self.func_type(node, out)
        if head in ("instance", "component"):
            decls: list[ast.Decl] = []
            body = args[1:] if args and _is_id(args[0]) else args
            for decl in body:
                self.body_decl(decl, decls, component=head == "component")
            return ast.InstanceTypeDef(decls) if head == "instance" else ast.ComponentTypeDef(decls)
        if head == "resource":
            raise WasmError("resource definitions belong to components, not WIT packages",
                            node.pos)
        return self.defined(node, out)

    def func_type(self, node: _List, out: list) -> ast.FuncType:
        params: list[tuple[str, ast.ValType]] = []
        result = None
        is_async = False
        for item in node.items[1:]:
            if isinstance(item, _Atom) and item.text == "async":
                is_async = True
                continue
            item = self.expect_list(item, "`(param ...)` or `(result ...)`")
            if item.head == "param" and len(item.items) == 3:
                params.append((_name_of(item.items[1]), self.valtype(item.items[2], out)))
            elif item.head == "result" and len(item.items) == 2 and result is None:
                result = self.valtype(item.items[1], out)
            else:
                raise WasmError("expected `(param \"name\" type)` or `(result type)`", item.pos)
        return ast.FuncType(params, result, is_async)

    def valtype(self, node, out: list) -> ast.ValType:
        if isinstance(node, _Atom) and not node.is_str:
            if node.text in ast.PRIMITIVES:
                return node.text
            return self.ref(node)
        if isinstance(node, _List):
            ident = self.fresh_id()
            ty = self.defined(node, out)
            out.append(ast.TypeDecl(ty, ident, node.pos))
            return ident
        raise WasmError("expected a value type", node.pos)

    def opt_valtype(self, items: list, out: list):
        if not items:
            return None
        if len(items) != 1:
            raise WasmError("expected at most one type", items[1].pos)
        return self.valtype(items[0], out)

    def defined(self, node: _List, out: list) -> ast.Defined:
        head = node.head
        args = node.items[1:]
        vt = lambda n: self.valtype(n, out)  # noqa: E731 - a local shorthand
        if head == "record":
            fields = []
            for f in args:
                f = self.expect_list(f, '`(field "name" type)`')
                if f.head != "field" or len(f.items) != 3:
                    raise WasmError('expected `(field "name" type)`', f.pos)
                fields.append((_name_of(f.items[1]), vt(f.items[2])))
            return ast.Defined("record", fields)
        if head == "variant":
            return ast.Defined("variant", [self.variant_case(c, out) for c in args])
        if head == "list":
            if len(args) == 2:
                size = _parse_int(args[1]) if isinstance(args[1], _Atom) else None
                if size is None:
                    raise WasmError("expected the fixed list's length", args[1].pos)
                return ast.Defined("fixed-list", (vt(args[0]), size))
            if len(args) == 1:
                return ast.Defined("list", vt(args[0]))
        elif head == "tuple":
            return ast.Defined("tuple", [vt(a) for a in args])
        elif head in ("flags", "enum"):
            return ast.Defined(head, [_name_of(a) for a in args])
        elif head == "option" and len(args) == 1:
            return ast.Defined("option", vt(args[0]))
        elif head == "result":
            ok = err = None
            for a in args:
                if isinstance(a, _List) and a.head == "error" and len(a.items) == 2:
                    err = vt(a.items[1])
                elif ok is None and err is None:
                    ok = vt(a)
                else:
                    raise WasmError("expected `(result ok? (error err)?)`", a.pos)
            return ast.Defined("result", (ok, err))
        elif head in ("own", "borrow") and len(args) == 1:
            return ast.Defined(head, self.ref(args[0]))
        elif head in ("stream", "future"):
            return ast.Defined(head, self.opt_valtype(args, out))
        elif head == "map" and len(args) == 2:
            return ast.Defined("map", (vt(args[0]), vt(args[1])))
        elif head is None or head not in ("list", "option", "own", "borrow", "map"):
            raise WasmError(f"unknown type `{head}`" if head else "expected a type definition",
                            node.pos)
        raise WasmError(f"wrong number of arguments to `{head}`", node.pos)

    def variant_case(self, node, out: list) -> tuple[str, ast.ValType | None]:
        node = self.expect_list(node, '`(case "name" type?)`')
        items = node.items
        _, i = self.take_id(items, 1)
        if node.head != "case" or i >= len(items):
            raise WasmError('expected `(case "name" type?)`', node.pos)
        name = _name_of(items[i])
        rest = items[i + 1:]
        if rest and isinstance(rest[-1], _List) and rest[-1].head == "refines":
            raise WasmError("variant case `refines` is not supported", rest[-1].pos)
        return name, self.opt_valtype(rest, out)
