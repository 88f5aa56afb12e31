"""The WITX front end: S-expressions → the P1 model, validated like the witx tool.

A document is a file plus everything it `(use "other.witx")`s (paths relative to the
including file; each file read once). The WITX 0.10 dialect (the witx-codegen and
wasi-crypto one) is read too: a file is one `(module $m ...)` holding its own
typenames, `(resource $r)`s, constants and `use`s, and `(use * from $other)` /
`(use $a $b from $other)` take typenames and resources from the module of
`other.witx` next to the file (its functions stay there). Declarations inside a module
are hoisted before it, so the document is the same as if they were written at the top
level; a used module's typenames come first, with the ones they refer to. Definitions are checked in order, as witx does:
a name must be defined before it is used (so there are no recursive types), typenames
and modules share one namespace, enum/flags/record/union/handle bodies may only appear
directly under a `typename`, tags and reprs must be unsigned integers, union/variant
cases must match their tag enum, and function results must fit the Preview1 ABI.
Every problem is a `WitxError` whose diagnostic points at the offending token.

Public API:
    read_witx(path, *, text=None) -> Document
    read_witx_text(text, path="<input>") -> Document
    read_witx_files(paths) -> Document          # several roots, one namespace
    DocumentBuilder                              # for embedding (the witxt test runner)
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from ..diagnostics import (
    Diagnostic, InputError, SourceFile, Span, WitxError, error, read_source,
)
from ..p1 import abi
from ..p1.callplan import span_at
from ..p1.model import (
    BUILTINS, Bool, Builtin, Case, Constant, ConstPointer, Document, Enum, EnumCase,
    Expected, Field, Flag, Flags, Function, Handle, Import, IntRepr, List, Module,
    NAMED_ONLY_KINDS, Param, Pointer, Record, Ref, String, Tuple, Type, TypeName, TypeRef,
    Union, Variant, canonical_tag, canonical_variant_cases, resolve,
)
from .sexpr import Atom, SExpr, SList, docs_text, parse_sexprs

__all__ = ["read_witx", "read_witx_text", "read_witx_files", "DocumentBuilder"]

# Builtins written as bare keywords; `usize`/`char8` only exist as `(@witx usize)`.
_KEYWORD_BUILTINS = frozenset(b for b in BUILTINS if b not in ("usize", "char8"))

# The kind names witx prints in "wrong kind" messages, by our surface kind.
_WITX_KIND = {
    "builtin": "builtin", "string": "list", "list": "list", "pointer": "pointer",
    "const_pointer": "constpointer", "handle": "handle", "record": "record",
    "tuple": "record", "flags": "record", "enum": "variant", "variant": "variant",
    "union": "variant", "expected": "variant", "bool": "variant", "option": "variant",
}


def _fail(message: str, span: Span | None, *notes: str) -> WitxError:
    return WitxError(error(message, span, *notes))


def _where(span: Span) -> str:
    return f"{span.path}:{span.line}:{span.col}"


# --- small syntax helpers -------------------------------------------------------------


def _expect_list(expr: SExpr, what: str) -> SList:
    if not isinstance(expr, SList):
        raise _fail(f"expected {what}, found `{expr.text}`", expr.span)
    return expr


def _expect_id(items: list[SExpr], i: int, parent: SList, what: str) -> Atom:
    if i >= len(items):
        raise _fail(f"expected {what} (a `$name`) before `)`", _closing(parent))
    atom = items[i]
    if not isinstance(atom, Atom) or not atom.is_id:
        raise _fail(f"expected {what} (a `$name`)", atom.span)
    return atom


def _expect_string(items: list[SExpr], i: int, parent: SList, what: str) -> Atom:
    if i >= len(items):
        raise _fail(f"expected {what} (a string) before `)`", _closing(parent))
    atom = items[i]
    if not isinstance(atom, Atom) or not atom.is_string:
        raise _fail(f"expected {what} (a string)", atom.span)
    return atom


def _closing(lst: SList) -> Span:
    """The span of a list's closing parenthesis."""
    return lst.span.file.span(lst.span.end - 1, lst.span.end)


def _no_more(items: list[SExpr], i: int, what: str) -> None:
    if i < len(items):
        raise _fail(f"unexpected `{_show(items[i])}` in {what}", items[i].span)


def _show(expr: SExpr) -> str:
    if isinstance(expr, Atom):
        return f'"{expr.text}"' if expr.is_string else expr.text
    return "(" + (expr.head or "...") + " ...)"


def _name(atom: Atom) -> str:
    return atom.text[1:]


def _is_w2w_annotation(expr: SExpr, keyword: str) -> bool:
    """`(@w2w keyword ...)`: one of our own marks, which witx tools skip (`emit.witx`)."""
    return (isinstance(expr, SList) and expr.head == "@w2w" and len(expr.items) >= 2
            and isinstance(expr.items[1], Atom) and expr.items[1].text == keyword)


def _is_guest_export(expr: SExpr) -> bool:
    """`(@w2w guest_export ...)`: the function is the guest's (see `emit.witx`)."""
    return _is_w2w_annotation(expr, "guest_export")


#: Our marks a parameter may carry, between its name and its type (`emit.witx`).
_PARAM_MARKS = ("own", "string")


def _param_mark(expr: SExpr) -> str | None:
    """`own` for `(@w2w own)`, `string` for `(@w2w string)`, else None."""
    return next((kw for kw in _PARAM_MARKS if _is_w2w_annotation(expr, kw)), None)


def _check_own_mark(part: SList, mark: SList, tref: TypeRef, exported: bool) -> None:
    """`(@w2w own)` says a guest export takes a handle as `own<r>`; anywhere else it
    would say what P1 cannot mean: a result is no parameter, an import never consumes
    a handle (only `<r>_drop` does), and only a handle can be owned."""
    _no_more(mark.items, 2, "`@w2w own`")  # type: ignore[union-attr]
    if part.head != "param":
        raise _fail("`(@w2w own)` marks a parameter, not a result", mark.span)
    if not exported:
        raise _fail("`(@w2w own)` marks a parameter of a guest export", mark.span,
                    "an import's handle parameters are never consumed (only `<r>_drop` "
                    "removes a handle): mark the function `(@w2w guest_export)` or drop "
                    "the `(@w2w own)`")
    if not isinstance(resolve(tref), Handle):
        raise _fail("`(@w2w own)` marks a handle parameter", mark.span,
                    "this parameter's type is no `(handle)`")


def _check_string_mark(part: SList, mark: SList, tref: TypeRef, exported: bool) -> None:
    """`(@w2w string)` says a `const_pointer u8` (with its `_len`, `_check_string_length`)
    is a WIT `string` parameter, UTF-8 text the glue checks. Only the guest passes such
    bytes to the host: a result, a guest export's parameter (the host passes those) or a
    pointer to anything but bytes cannot be one."""
    _no_more(mark.items, 2, "`@w2w string`")
    if part.head != "param":
        raise _fail("`(@w2w string)` marks a parameter, not a result", mark.span)
    if exported:
        raise _fail("`(@w2w string)` marks a parameter of an import", mark.span,
                    "the glue checks the strings the guest passes to the host; a guest "
                    "export takes no string parameter")
    ty = resolve(tref)
    pointee = resolve(ty.pointee) if isinstance(ty, ConstPointer) else None
    if not (isinstance(pointee, Builtin) and pointee.name in ("u8", "char8")):
        raise _fail("`(@w2w string)` marks a `(@witx const_pointer u8)` parameter", mark.span,
                    "a WIT `string` parameter is the bytes at a `const_pointer u8`, "
                    "followed by their length")


def _check_string_length(params: list[Param], marks: list[tuple[int, SList]]) -> None:
    """Each `(@w2w string)` pointer is followed by its length `$<x>_len`, as the lowering
    passes a string: the call plan reads the two as one span (`callplan.span_at`)."""
    for index, mark in marks:
        if not span_at(params, index):
            name = params[index].name
            raise _fail("`(@w2w string)` marks a pointer followed by its length", mark.span,
                        f"the next parameter must be `${name}_len`, an integer")


def _is_witx_annotation(expr: SExpr, keyword: str) -> bool:
    """`(@witx keyword ...)`?"""
    return (
        isinstance(expr, SList) and expr.head == "@witx" and len(expr.items) >= 2
        and isinstance(expr.items[1], Atom) and expr.items[1].text == keyword
    )


def _parse_u64(atom: Atom) -> int:
    text = atom.text.replace("_", "")
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise _fail(f"expected an integer, found `{atom.text}`", atom.span) from None
    if not 0 <= value < 2**64:
        raise _fail(f"integer `{atom.text}` is out of range for u64", atom.span)
    return value


class _Scope:
    """Names introduced in one namespace, remembering where (for "redefinition")."""

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: dict[str, Span] = {}

    def introduce(self, atom: Atom, name: str | None = None) -> str:
        name = _name(atom) if name is None else name
        previous = self.names.get(name)
        if previous is not None:
            raise _fail(
                f"Redefinition of name `{name}`", atom.span,
                f"originally defined at {_where(previous)}",
            )
        self.names[name] = atom.span
        return name


# --- the document builder ---------------------------------------------------------------


class DocumentBuilder:
    """Validates top-level declarations in order and collects them into a Document.

    One builder is one namespace: feed it several files (`add_file`) or parsed
    S-expressions (`add_items`) and call `document()`.
    """

    def __init__(self) -> None:
        self.definitions: list = []
        self.scope = _Scope()
        self.entries: dict[str, TypeName | Module] = {}
        self.constant_scopes: dict[str, _Scope] = {}
        self.included: set[str] = set()
        self.first_path: str | None = None
        # the WITX 0.10 dialect: `(resource $r)` names, and the modules `use ... from`
        # has read (by real path; None while one is being read: a cycle)
        self.resources = _Scope()
        self.used_modules: dict[str, "DocumentBuilder | None"] = {}
        self.hidden: set[str] = set()  # typenames in the document but not in scope
        self.base_dir = ""

    # files and uses -------------------------------------------------------------

    def add_file(self, path: str, text: str | None = None, *, used_at: Span | None = None) -> None:
        key = os.path.realpath(path)
        if key in self.included:
            return
        self.included.add(key)
        if self.first_path is None:
            self.first_path = path
        src = self._source(path, text, used_at)
        self.add_items(parse_sexprs(src), os.path.dirname(path))

    def _source(self, path: str, text: str | None, used_at: Span | None) -> SourceFile:
        if text is not None:
            return SourceFile(path, text.removeprefix("\ufeff"))
        try:
            return read_source(path)
        except InputError as exc:
            diag = exc.diagnostic
            if diag.span is not None:  # not UTF-8: a WITX problem at a known place
                raise WitxError(exc.diagnostics) from None
            if used_at is not None:
                raise WitxError(Diagnostic(diag.message, used_at, notes=diag.notes)) from None
            raise

    def add_items(self, items: Sequence[SExpr], base_dir: str) -> None:
        for item in items:
            self.add_item(item, base_dir)

    def add_item(self, item: SExpr, base_dir: str) -> None:
        decl = _expect_list(item, "a top-level form like `(typename ...)` or `(module ...)`")
        head = decl.head
        if head == "use" and len(decl.items) > 1 and isinstance(decl.items[1], Atom) \
                and decl.items[1].is_string:
            target = _expect_string(decl.items, 1, decl, "a file name")
            _no_more(decl.items, 2, "`use`")
            self.add_file(os.path.join(base_dir, target.text), used_at=target.span)
        elif head == "use":
            self.use_from(decl, base_dir)
        elif head == "typename":
            self.typename(decl)
        elif head == "resource":
            self.resource(decl)
        elif head == "module":
            outer, self.base_dir = self.base_dir, base_dir  # for `use`s inside it
            try:
                self.module(decl)
            finally:
                self.base_dir = outer
        elif _is_witx_annotation(decl, "const"):
            self.constant(decl)
        else:
            found = decl.items[0] if decl.items else decl
            raise _fail(
                "expected `typename`, `module`, `use`, `resource` or `@witx const`", found.span,
            )

    # the WITX 0.10 dialect: resources and `use ... from $module` ---------------------

    def resource(self, decl: SList) -> None:
        """`(resource $r)`: a kind of handle, named in `(handle $r)`."""
        ident = _expect_id(decl.items, 1, decl, "a resource name")
        _no_more(decl.items, 2, "`resource`")
        self.resources.introduce(ident)

    def use_from(self, decl: SList, base_dir: str) -> None:
        """`(use * from $m)` or `(use $a $b ... from $m)`: typenames and resources of
        the module in `m.witx` (in `base_dir`), under the same names."""
        items = decl.items
        split = next((i for i, x in enumerate(items)
                      if isinstance(x, Atom) and not x.is_string and x.text == "from"), None)
        if split is None:
            raise _fail('expected `from $module` (or a file name, `(use "file.witx")`)',
                        _closing(decl))
        module_atom = _expect_id(items, split + 1, decl, "the module to use from")
        _no_more(items, split + 2, "`use`")
        names = items[1:split]
        if not names:
            raise _fail("expected `*` or the `$names` to use before `from`", items[split].span)
        star = len(names) == 1 and isinstance(names[0], Atom) and names[0].text == "*"
        if not star:
            for atom in names:
                if not (isinstance(atom, Atom) and atom.is_id):
                    raise _fail("expected `*` or a `$name` to use", atom.span)
        used = self.used_module(module_atom, base_dir)
        if star:
            chosen = [(tn.name, names[0]) for tn in used.definitions if isinstance(tn, TypeName)]
            for resource in used.resources.names:
                # a resource only names handles: one used twice is the same one
                self.resources.names.setdefault(resource, names[0].span)
        else:
            chosen = []
            for atom in names:
                name = _name(atom)
                if name in used.resources.names:
                    self.resources.names.setdefault(name, atom.span)
                    if not isinstance(used.entries.get(name), TypeName):
                        continue
                if not isinstance(used.entries.get(name), TypeName):
                    raise _fail(f"Unknown name `{name}` in module `{_name(module_atom)}`",
                                atom.span)
                chosen.append((name, atom))
        self.take_typenames(used, chosen)

    def used_module(self, module_atom: Atom, base_dir: str) -> "DocumentBuilder":
        """The builder of `$m`'s file, read once (its own namespace, like witx's)."""
        path = os.path.join(base_dir, f"{_name(module_atom)}.witx")
        key = os.path.realpath(path)
        if key in self.used_modules:
            used = self.used_modules[key]
            if used is None:
                raise _fail(f"a cycle of `use`s reaches module `{_name(module_atom)}` again",
                            module_atom.span)
            return used
        self.used_modules[key] = None
        used = DocumentBuilder()
        used.used_modules = self.used_modules  # one cycle check and cache for the run
        used.add_file(path, used_at=module_atom.span)
        modules = [d.name for d in used.definitions if isinstance(d, Module)]
        if modules and modules != [_name(module_atom)]:
            raise _fail(f"`{path}` defines module `{modules[0]}`, not `{_name(module_atom)}`",
                        module_atom.span)
        self.used_modules[key] = used
        return used

    def take_typenames(self, used: "DocumentBuilder", chosen: list[tuple[str, Atom]]) -> None:
        """Bring the chosen typenames of a used module into scope and into the document,
        after the typenames (and constants) of that module they refer to."""
        wanted = {name for name, _ in chosen}
        needed: set[str] = set()
        for name in wanted:
            _referenced_names(used.entries[name], used.entries, needed)
        for d in used.definitions:
            if isinstance(d, TypeName) and d.name in needed:
                mine = self.entries.get(d.name)
                if mine is d:  # already here (another `use` of the same module)
                    if d.name in wanted:
                        self.hidden.discard(d.name)
                    continue
                if mine is not None or d.name in self.scope.names:
                    atom = next((a for n, a in chosen if n == d.name), chosen[0][1])
                    raise _fail(f"Redefinition of name `{d.name}`", atom.span,
                                f"`{d.name}` of the used module is already a name here")
                if d.name in wanted:
                    self.scope.introduce(next(a for n, a in chosen if n == d.name), d.name)
                else:
                    # reachable only through the used typenames: in the document, not a
                    # name here (as in witx, where it stays the other module's); reserved
                    # all the same, so that no second typename of that name is made
                    self.scope.names[d.name] = d.span or chosen[0][1].span
                    self.hidden.add(d.name)
                self.entries[d.name] = d
                self.definitions.append(d)
            elif isinstance(d, Constant) and d.type_name in needed and d.type_name not in wanted:
                continue
            elif isinstance(d, Constant) and d.type_name in wanted:
                scope = self.constant_scopes.setdefault(d.type_name, _Scope())
                if d.name not in scope.names:
                    scope.names[d.name] = d.span or chosen[0][1].span
                    self.definitions.append(d)

    def document(self) -> Document:
        return Document(list(self.definitions), path=self.first_path)

    # top-level declarations ------------------------------------------------------

    def typename(self, decl: SList) -> None:
        ident = _expect_id(decl.items, 1, decl, "a type name")
        if len(decl.items) < 3:
            raise _fail("expected a type before `)`", _closing(decl))
        name = self.scope.introduce(ident)
        tref = self.type_ref(decl.items[2], named=True)
        _no_more(decl.items, 3, "`typename`")
        tn = TypeName(name, tref, docs_text(decl.docs), decl.span)
        self.entries[name] = tn
        self.definitions.append(tn)

    def constant(self, decl: SList) -> None:
        ty = _expect_id(decl.items, 2, decl, "the constant's type")
        ident = _expect_id(decl.items, 3, decl, "the constant's name")
        if len(decl.items) < 5 or not isinstance(decl.items[4], Atom) or decl.items[4].is_string:
            raise _fail("expected the constant's value (an integer)", _closing(decl))
        value = _parse_u64(decl.items[4])
        _no_more(decl.items, 5, "`@witx const`")
        target = self.lookup(ty)
        repr_ = _integer_repr(resolve(target))
        if repr_ is None:
            raise _fail(
                f"constants need an integer type, `{_name(ty)}` is a {_kind_of(resolve(target))}",
                ty.span,
            )
        if value >= 1 << (8 * repr_.size):
            raise _fail(f"value {value} does not fit in `{_name(ty)}` ({repr_.value})", decl.items[4].span)
        scope = self.constant_scopes.setdefault(_name(ty), _Scope())
        name = scope.introduce(ident)
        self.definitions.append(Constant(_name(ty), name, value, docs_text(decl.docs), decl.span))

    def module(self, decl: SList) -> None:
        ident = _expect_id(decl.items, 1, decl, "a module name")
        name = self.scope.introduce(ident)
        module = Module(name, docs=docs_text(decl.docs), span=decl.span)
        members = _Scope()
        for item in decl.items[2:]:
            entry = _expect_list(item, "`(import ...)` or `(@interface func ...)`")
            if entry.head == "import":
                module.imports.append(self.import_(entry, members))
            elif entry.head == "@interface":
                func, exported = self.function(entry, members)
                (module.exports if exported else module.functions).append(func)
            elif entry.head in ("typename", "resource", "use") or \
                    _is_witx_annotation(entry, "const"):
                # the WITX 0.10 dialect declares a module's types inside it
                self.add_item(entry, self.base_dir)
            else:
                found = entry.items[0] if entry.items else entry
                raise _fail("expected `import`, `@interface func`, `typename`, `resource`, "
                            "`use` or `@witx const`", found.span)
        self.entries[name] = module
        self.definitions.append(module)

    def import_(self, decl: SList, members: _Scope) -> Import:
        name_atom = _expect_string(decl.items, 1, decl, "the import's name")
        if len(decl.items) < 3:
            raise _fail("expected `(memory)` before `)`", _closing(decl))
        kind = decl.items[2]
        if not (isinstance(kind, SList) and kind.head == "memory" and len(kind.items) == 1):
            raise _fail("expected `(memory)`: WITX modules only import memory", kind.span)
        _no_more(decl.items, 3, "`import`")
        name = members.introduce(name_atom, name_atom.text)
        return Import(name, "memory", docs_text(decl.docs), decl.span)

    def function(self, decl: SList, members: _Scope) -> tuple[Function, bool]:
        """The function, and whether the guest implements it (`(@w2w guest_export)`)."""
        items = decl.items
        if len(items) < 2 or not isinstance(items[1], Atom) or items[1].text != "func":
            raise _fail("expected `func` after `@interface`", (items[1] if len(items) > 1 else decl).span)
        export = items[2] if len(items) > 2 else None
        if not (isinstance(export, SList) and export.head == "export"):
            raise _fail('expected `(export "name")`', export.span if export else _closing(decl))
        name_atom = _expect_string(export.items, 1, export, "the function's name")
        _no_more(export.items, 2, "`export`")
        name = members.introduce(name_atom, name_atom.text)
        func = Function(name, docs=docs_text(decl.docs), span=decl.span)
        arg_names = _Scope()
        exported = False
        string_marks: list[tuple[int, SList]] = []  # (parameter index, its mark)
        for item in items[3:]:
            part = _expect_list(item, "`(param ...)`, `(result ...)` or `(@witx noreturn)`")
            if part.head in ("param", "result"):
                param, string_mark = self.param(part, arg_names, exported)
                if string_mark is not None:
                    string_marks.append((len(func.params), string_mark))
                (func.params if part.head == "param" else func.results).append(param)
            elif _is_witx_annotation(part, "noreturn"):
                _no_more(part.items, 2, "`@witx noreturn`")
                func.noreturn = True
            elif _is_guest_export(part):
                if exported or func.params or func.results:
                    raise _fail("`(@w2w guest_export)` comes once, before the params", part.span)
                _no_more(part.items, 2, "`@w2w guest_export`")
                exported = True
            else:
                found = part.items[0] if part.items else part
                raise _fail("expected `param`, `result`, `@witx noreturn` or "
                            "`@w2w guest_export`", found.span)
        _check_string_length(func.params, string_marks)
        reason = abi.result_error(func.params, func.results)
        if reason is not None:
            raise _fail(f"ABI error: {reason}", name_atom.span)
        return func, exported

    def param(self, part: SList, arg_names: _Scope, exported: bool) -> tuple[Param, SList | None]:
        """`(param $name T)` or `(result $name T)`, and its `(@w2w string)` mark if it
        has one. Marks come between the name and the type: a guest export's handle
        parameter may say `(param $name (@w2w own) T)` (WIT's `own<r>`, the guest's to
        drop), an import's `(param $name (@w2w string) (@witx const_pointer u8))` is a
        WIT `string` (UTF-8 text the glue checks)."""
        ident = _expect_id(part.items, 1, part, f"the {part.head}'s name")
        marks: dict[str, SList] = {}
        at = 2
        while at < len(part.items) and (kw := _param_mark(part.items[at])) is not None \
                and kw not in marks:
            marks[kw] = part.items[at]  # type: ignore[assignment]
            at += 1
        for misplaced in part.items[at:]:
            if (kw := _param_mark(misplaced)) is not None:
                raise _fail(f"`(@w2w {kw})` comes once, between the parameter's name and "
                            "its type", misplaced.span)
        if len(part.items) <= at:
            raise _fail("expected a type before `)`", _closing(part))
        tref = self.type_ref(part.items[at], named=False)
        _no_more(part.items, at + 1, f"`{part.head}`")
        if "own" in marks:
            _check_own_mark(part, marks["own"], tref, exported)
        if "string" in marks:
            _check_string_mark(part, marks["string"], tref, exported)
        pname = arg_names.introduce(ident)
        return (Param(pname, tref, docs_text(part.docs), part.span, own="own" in marks,
                      utf8="string" in marks), marks.get("string"))

    # names -----------------------------------------------------------------------

    def lookup(self, atom: Atom) -> Ref:
        name = _name(atom)
        if name not in self.scope.names or name in self.hidden:
            raise _fail(f"Unknown name `{name}`", atom.span)
        entry = self.entries.get(name)
        if entry is None:  # introduced, but its definition is still being read
            raise _fail(f"Recursive definition of name `{name}`", atom.span)
        if not isinstance(entry, TypeName):
            raise _fail(f"Wrong kind of name `{name}`: expected datatype, got {entry.kind}", atom.span)
        return Ref(name, entry, atom.span)

    # types -----------------------------------------------------------------------

    def type_ref(self, expr: SExpr, *, named: bool) -> TypeRef:
        """A type expression; `named` when it is the whole body of a typename."""
        if isinstance(expr, Atom):
            return self.atom_type(expr)
        head = expr.head
        parser = _TYPE_FORMS.get(head or "")
        if parser is None:
            if head == "@witx":
                return self.witx_type(expr)
            found = expr.items[0] if expr.items else expr
            raise _fail("expected a type", found.span)
        if head in NAMED_ONLY_KINDS and not named:
            raise _fail(
                "Anonymous structured types (struct, union, enum, flags, handle) are not "
                "permitted", expr.span,
                "give the type a name with `(typename $name ...)` and use `$name` here",
            )
        return parser(self, expr)

    def atom_type(self, atom: Atom) -> TypeRef:
        if atom.is_id:
            return self.lookup(atom)
        text = atom.text
        if atom.is_string:
            raise _fail("expected a type, found a string", atom.span)
        if text in _KEYWORD_BUILTINS:
            return Builtin(text, atom.span)
        if text == "string":
            return String(atom.span)
        if text == "bool":
            return Bool(atom.span)
        raise _fail(f"expected a type, found `{text}`", atom.span)

    def witx_type(self, expr: SList) -> TypeRef:
        items = expr.items
        word = items[1] if len(items) > 1 else None
        if not isinstance(word, Atom) or word.is_string:
            raise _fail("expected `pointer`, `const_pointer`, `usize` or `char8`",
                        word.span if word else _closing(expr))
        if word.text in ("usize", "char8"):
            _no_more(items, 2, f"`@witx {word.text}`")
            return Builtin(word.text, expr.span)
        if word.text in ("pointer", "const_pointer"):
            if len(items) < 3:
                raise _fail("expected the pointee type before `)`", _closing(expr))
            pointee = self.type_ref(items[2], named=False)
            _no_more(items, 3, f"`@witx {word.text}`")
            cls = Pointer if word.text == "pointer" else ConstPointer
            return cls(pointee, expr.span)
        raise _fail(f"unknown `@witx` type `{word.text}`: expected `pointer`, `const_pointer`, "
                    "`usize` or `char8`", word.span)

    def int_repr(self, annotation: SList, keyword: str) -> IntRepr:
        """The repr written in `(@witx tag|repr T)` where T must be an unsigned builtin."""
        items = annotation.items
        if len(items) < 3:
            raise _fail(f"expected a type after `{keyword}`", _closing(annotation))
        _no_more(items, 3, f"`@witx {keyword}`")
        atom = items[2]
        if not isinstance(atom, Atom) or atom.text not in _KEYWORD_BUILTINS:
            raise _fail(f"expected an integer type after `{keyword}`", atom.span)
        repr_ = IntRepr.parse(atom.text)
        if repr_ is None:
            raise _fail(f"Invalid representation `{atom.text}`", atom.span,
                        "a tag or repr must be u8, u16, u32 or u64")
        return repr_

    def enum_type(self, expr: SList) -> Enum:
        items = expr.items
        i = 1
        tag = IntRepr.U32
        if i < len(items) and _is_witx_annotation(items[i], "tag"):
            tag = self.int_repr(items[i], "tag")
            i += 1
        if i >= len(items):
            raise _fail("expected at least one enum case before `)`", _closing(expr))
        scope = _Scope()
        cases = []
        for j in range(i, len(items)):
            atom = _expect_id(items, j, expr, "an enum case")
            cases.append(EnumCase(scope.introduce(atom), docs_text(atom.docs), atom.span))
        return Enum(tag, cases, expr.span)

    def flags_type(self, expr: SList) -> Flags:
        items = expr.items
        i = 1
        repr_ = IntRepr.U32
        if i < len(items) and _is_witx_annotation(items[i], "repr"):
            repr_ = self.int_repr(items[i], "repr")
            i += 1
        scope = _Scope()
        flags = []
        for j in range(i, len(items)):
            atom = _expect_id(items, j, expr, "a flag")
            flags.append(Flag(scope.introduce(atom), docs_text(atom.docs), atom.span))
        if len(flags) > repr_.size * 8:
            raise _fail(f"{len(flags)} flags do not fit in the {repr_.value} repr", expr.span)
        return Flags(repr_, flags, expr.span)

    def record_type(self, expr: SList) -> Record:
        items = expr.items
        if len(items) < 2:
            raise _fail("expected at least one `(field ...)` before `)`", _closing(expr))
        scope = _Scope()
        fields = []
        for item in items[1:]:
            f = _expect_list(item, "`(field $name T)`")
            if f.head != "field":
                raise _fail("expected `(field $name T)`", f.span)
            ident = _expect_id(f.items, 1, f, "a field name")
            if len(f.items) < 3:
                raise _fail("expected the field's type before `)`", _closing(f))
            name = scope.introduce(ident)
            tref = self.type_ref(f.items[2], named=False)
            _no_more(f.items, 3, "`field`")
            fields.append(Field(name, tref, docs_text(f.docs), f.span))
        return Record(fields, expr.span)

    def tuple_type(self, expr: SList) -> Tuple:
        return Tuple([self.type_ref(t, named=False) for t in expr.items[1:]], expr.span)

    def expected_type(self, expr: SList) -> Expected:
        items = expr.items
        i = 1
        ok = None
        if i < len(items) and not (isinstance(items[i], SList) and items[i].head == "error"):
            ok = self.type_ref(items[i], named=False)
            i += 1
        if i >= len(items):
            raise _fail("expected `(error E?)` before `)`", _closing(expr))
        err_list = items[i]
        if not (isinstance(err_list, SList) and err_list.head == "error"):
            raise _fail("expected `(error E?)`", err_list.span)
        err = None
        if len(err_list.items) > 1:
            err = self.type_ref(err_list.items[1], named=False)
            _no_more(err_list.items, 2, "`error`")
        _no_more(items, i + 1, "`expected`")
        return Expected(ok, err, expr.span)

    def list_type(self, expr: SList) -> List:
        if len(expr.items) < 2:
            raise _fail("expected the element type before `)`", _closing(expr))
        _no_more(expr.items, 2, "`list`")
        return List(self.type_ref(expr.items[1], named=False), expr.span)

    def handle_type(self, expr: SList) -> Handle:
        if len(expr.items) > 1:  # WITX 0.10: `(handle $resource)`
            ident = _expect_id(expr.items, 1, expr, "a resource name")
            if _name(ident) not in self.resources.names:
                raise _fail(f"Unknown resource `{_name(ident)}`", ident.span,
                            "declare it with `(resource $name)` or `use` it")
            _no_more(expr.items, 2, "`handle`")
        return Handle(expr.span)

    def tag_of(self, annotation: SList) -> tuple[IntRepr, list[str] | None, Ref | None]:
        """(repr, case names or None, tag typename) of `(@witx tag T)` on a variant/union."""
        items = annotation.items
        if len(items) < 3:
            raise _fail("expected a type after `tag`", _closing(annotation))
        _no_more(items, 3, "`@witx tag`")
        tref = self.type_ref(items[2], named=False)
        ty = resolve(tref)
        ref = tref if isinstance(tref, Ref) else None
        cases = canonical_variant_cases(ty)
        if cases is not None:
            if any(c.type is not None for c in cases):
                raise _fail("Invalid union tag: all variant cases should have empty payloads",
                            items[2].span)
            tag = canonical_tag(ty)
            assert tag is not None
            return tag, [c.name for c in cases], ref
        if isinstance(ty, Builtin) and IntRepr.parse(ty.name) is not None:
            return IntRepr.parse(ty.name), None, ref  # type: ignore[return-value]
        name = ref.name if ref is not None else "tag"
        raise _fail(
            f"Wrong kind of name `{name}`: expected enum or builtin, got {_WITX_KIND[ty.kind]}",
            items[2].span,
        )

    def union_type(self, expr: SList) -> Union:
        items = expr.items
        i = 1
        tag, names, tag_name, written = IntRepr.U32, None, None, False
        if i < len(items) and _is_witx_annotation(items[i], "tag"):
            tag, names, tag_name = self.tag_of(items[i])
            written = True
            i += 1
        members = items[i:]
        if names is not None and len(names) != len(members):
            raise _fail(f"Union expected {len(names)} variants, found {len(members)}", expr.span)
        cases = []
        for k, member in enumerate(members):
            tref = self.type_ref(member, named=False)
            case_name = names[k] if names is not None else str(k)
            cases.append(Case(case_name, tref, docs_text(member.docs), member.span))
        return Union(tag, cases, tag_name, written, expr.span)

    def variant_type(self, expr: SList) -> Variant:
        items = expr.items
        i = 1
        tag, names, tag_name, written = IntRepr.U32, None, None, False
        if i < len(items) and _is_witx_annotation(items[i], "tag"):
            tag, names, tag_name = self.tag_of(items[i])
            written = True
            i += 1
        members = items[i:]
        if names is not None and len(names) != len(members):
            raise _fail(f"Union expected {len(names)} variants, found {len(members)}", expr.span)
        scope = _Scope()
        cases = []
        for item in members:
            c = _expect_list(item, "`(case $name T?)`")
            if c.head != "case":
                raise _fail("expected `(case $name T?)`", c.span)
            ident = _expect_id(c.items, 1, c, "a case name")
            name = _name(ident)
            if names is not None and name not in names:
                raise _fail(
                    f"Invalid union field `{name}`: does not correspond to variant in tag `tag`",
                    ident.span,
                )
            # witx itself lets duplicate cases through; every back end would then emit
            # clashing names, so reject them here.
            scope.introduce(ident)
            tref = self.type_ref(c.items[2], named=False) if len(c.items) > 2 else None
            _no_more(c.items, 3, "`case`")
            cases.append(Case(name, tref, docs_text(c.docs), c.span))
        if names is not None:
            # A tag enum fixes the order: case i is the enum's case i.
            position = {n: k for k, n in enumerate(names)}
            cases.sort(key=lambda c: position[c.name])
        return Variant(tag, cases, tag_name, written, expr.span)


def _integer_repr(ty: Type) -> IntRepr | None:
    if isinstance(ty, Builtin):
        return {"s8": IntRepr.U8, "s16": IntRepr.U16, "s32": IntRepr.U32,
                "s64": IntRepr.U64}.get(ty.name) or IntRepr.parse(ty.name)
    if isinstance(ty, Flags):
        return ty.repr
    if isinstance(ty, Enum):
        return ty.tag
    return None


def _referenced_names(typename: TypeName, entries: dict, out: set[str]) -> None:
    """`typename`'s name and those of every typename it refers to, at any depth, into
    `out` (an explicit stack: types nest as deep as the input)."""
    import dataclasses  # noqa: PLC0415  (only the WITX 0.10 `use` needs it)

    if typename.name in out:
        return
    out.add(typename.name)
    stack: list = [typename.type]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            target = entries.get(node.name)
            if isinstance(target, TypeName) and node.name not in out:
                out.add(node.name)
                stack.append(target.type)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node)
                         if f.name not in ("span", "docs"))


def _kind_of(ty: Type) -> str:
    return ty.kind.replace("_", " ")


_TYPE_FORMS: dict[str, Callable[[DocumentBuilder, SList], TypeRef]] = {
    "enum": DocumentBuilder.enum_type,
    "flags": DocumentBuilder.flags_type,
    "record": DocumentBuilder.record_type,
    "tuple": DocumentBuilder.tuple_type,
    "expected": DocumentBuilder.expected_type,
    "list": DocumentBuilder.list_type,
    "handle": DocumentBuilder.handle_type,
    "union": DocumentBuilder.union_type,
    "variant": DocumentBuilder.variant_type,
}


# --- public API -----------------------------------------------------------------------------


def read_witx(path: str | os.PathLike, *, text: str | None = None) -> Document:
    """Read a WITX file and everything it `use`s into one validated Document."""
    builder = DocumentBuilder()
    builder.add_file(os.fspath(path), text)
    return builder.document()


def read_witx_text(text: str, path: str = "<input>") -> Document:
    """Read WITX source text (`use` paths are relative to `path`'s folder)."""
    return read_witx(path, text=text)


def read_witx_files(paths: Sequence[str | os.PathLike]) -> Document:
    """Read several WITX files into one namespace (what `witx` does with many inputs)."""
    builder = DocumentBuilder()
    for path in paths:
        builder.add_file(os.fspath(path))
    return builder.document()
