"""`@record`: `@dataclass` for the classes of wit2witx, made at a fraction of the cost.

Every start of wit2witx makes about 140 dataclasses, and `@dataclass` writes the source of
each class's `__init__`, `__repr__` and `__eq__` and compiles it anew (about 0.35 ms a
class: a third of the imports of a run). A `record` is the same class for the same
declaration, made without compiling per class:

- `__init__`: one code object per *shape* (how many fields, and which have a default, a
  default factory, no `init`; frozen or not; a `__post_init__` or not), compiled with
  placeholder names (once, then kept in the user cache dir: `_ShapeCache`) and renamed to
  each class's field names with `code.replace`. It runs the same bytecode `@dataclass` would generate, so making an
  instance costs what it did.
- `__eq__`, `__hash__`, `__repr__`, and a frozen class's `__setattr__`/`__delattr__`:
  small closures over the field names, as `@dataclass` would define them (`==` compares
  the `compare` fields as one tuple when both objects are of the same class; `hash()`
  hashes that tuple; `repr()` shows the `repr` fields, `...` for an object inside itself).
- `dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work: the class has the
  `__dataclass_fields__` and `__dataclass_params__` that `@dataclass` would give it.
- the same `__match_args__`, `__doc__` (the constructor's signature, for a class with no
  docstring), `__slots__` (`slots=True`) and hash rules (`eq` without `frozen` or
  `unsafe_hash` makes the class unhashable; methods the class defines itself are kept).

What `record` does not do itself (inherited fields, `ClassVar`/`InitVar`/`KW_ONLY`
annotations, keyword-only fields), it leaves to `@dataclass`.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import marshal
import os
import sys
from abc import update_abstractmethods
from _thread import get_ident
from operator import attrgetter
from types import CodeType, FunctionType
from typing import Any, Callable, ClassVar, get_origin

__all__ = ["record"]

#: what `dataclasses.fields` reads on each field (private there, stable since 3.7)
_FIELD_MARK = getattr(dataclasses, "_FIELD", None)
_CLASSVAR_MARK = getattr(dataclasses, "_FIELD_CLASSVAR", None)
_HAS_FACTORY = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", None)
_MISSING = dataclasses.MISSING
_PRIVATE_NAMES_FOUND = None not in (_FIELD_MARK, _CLASSVAR_MARK, _HAS_FACTORY)
_dataclass = dataclasses.dataclass
#: what `@dataclass` gives every class as `__replace__` from Python 3.13 on
_REPLACE = getattr(dataclasses, "_replace", None)
#: field names that would clash with the names the shared `__init__` code uses
_PREFIX = "_w2w_"

# --- the fields of a class ----------------------------------------------------------


class _Params:
    """`__dataclass_params__`: the options, as `@dataclass` records them."""

    __slots__ = ("init", "repr", "eq", "order", "unsafe_hash", "frozen", "match_args", "kw_only",
                 "slots", "weakref_slot")

    def __init__(self, init: bool, repr: bool, eq: bool, unsafe_hash: bool, frozen: bool,
                 slots: bool) -> None:
        self.init, self.repr, self.eq, self.unsafe_hash, self.frozen = init, repr, eq, unsafe_hash, frozen
        self.order, self.match_args, self.kw_only, self.slots, self.weakref_slot = False, True, False, slots, False

    def __repr__(self) -> str:
        return "_Params(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"


def _is_classvar(annotation: object, cls: type) -> bool:
    """`ClassVar[...]`, written as `@dataclass` recognises it: also as a string (`from
    __future__ import annotations`) naming `ClassVar` or `typing.ClassVar` as the class's
    module knows them."""
    if not isinstance(annotation, str):
        return annotation is ClassVar or get_origin(annotation) is ClassVar
    head = annotation.split("[", 1)[0]
    if "ClassVar" not in head:
        return False
    module = sys.modules.get(cls.__module__)
    scope = vars(module) if module is not None else {}
    prefix, _, name = head.rpartition(".")
    if prefix:
        return getattr(scope.get(prefix.strip()), name.strip(), None) is ClassVar
    return scope.get(name.strip()) is ClassVar


def _unsupported_annotation(annotation: object) -> bool:
    if isinstance(annotation, str):
        return "InitVar" in annotation or "KW_ONLY" in annotation
    return annotation is dataclasses.KW_ONLY or isinstance(annotation, dataclasses.InitVar)


def _declared_fields(cls: type) -> dict[str, dataclasses.Field] | None:
    """The fields `cls` declares (`ClassVar` ones too, as `@dataclass` records them);
    None when the declaration needs something `record` leaves to `@dataclass`."""
    if any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:]):
        return None
    if "__annotations__" not in cls.__dict__ and "__annotate__" in cls.__dict__:
        return None  # annotations evaluated lazily (Python 3.14): left to @dataclass
    made = {}
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _unsupported_annotation(annotation) or name == "self" or name.startswith(_PREFIX):
            return None
        default = cls.__dict__.get(name, _MISSING)
        f = default if isinstance(default, dataclasses.Field) else dataclasses.field(default=default)
        f.name, f.type = name, annotation
        if _is_classvar(annotation, cls):
            if f.default_factory is not _MISSING:
                raise TypeError(f"field {name} cannot have a default factory")
            f._field_type = _CLASSVAR_MARK
        elif f.kw_only is True:
            return None
        else:
            if f.default is not _MISSING and f.default.__class__.__hash__ is None:
                raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed:"
                                 " use default_factory")
            f._field_type, f.kw_only = _FIELD_MARK, False
        made[name] = f
    return made


def _check_default_order(fields: list[dataclasses.Field]) -> None:
    seen_default = False
    for f in fields:
        if not f.init:
            continue
        if f.default is _MISSING and f.default_factory is _MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True


# --- __init__: one code object per shape ---------------------------------------------

#: compiled `__init__` code per shape, with placeholder names (`_w2w_f0`, ...)
_SHAPES: dict[tuple, CodeType] = {}


class _ShapeCache:
    """The shapes' code objects of earlier runs, by source text, in one marshal file in
    the user cache dir per Python bytecode version (`.pyc` files are kept the same way),
    so that a run compiles only shapes no earlier run used (~0.1 ms each, ~35 a run).
    A missing, damaged or read-only cache only costs those compiles."""

    def __init__(self) -> None:
        self.codes: dict[str, CodeType] | None = None
        self.added = False

    def path(self) -> str:
        from importlib.util import MAGIC_NUMBER  # noqa: PLC0415 - loaded at start-up anyway

        from ._resources import cache_dir  # noqa: PLC0415 - records has no other imports

        return os.path.join(cache_dir(), f"records-{MAGIC_NUMBER.hex()}.marshal")

    def get(self, source: str) -> CodeType:
        if self.codes is None:
            self.codes = self._load()
        code = self.codes.get(source)
        if code is None:
            module = compile(source, "<record __init__>", "exec")
            code = self.codes[source] = next(c for c in module.co_consts if isinstance(c, CodeType))
            if not self.added:
                self.added = True
                atexit.register(self._save)
        return code

    def _load(self) -> dict[str, CodeType]:
        try:
            with open(self.path(), "rb") as fh:
                codes = marshal.loads(fh.read())  # (marshal.load on a file: 5x slower)
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not isinstance(codes, dict) or not all(isinstance(c, CodeType) for c in codes.values()):
            return {}
        return codes

    def _save(self) -> None:
        """Written whole under a temporary name, then renamed: a reader sees the old
        file or the new one."""
        path = self.path()
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(temporary, "wb") as fh:
                marshal.dump(self.codes, fh)
            os.replace(temporary, path)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(temporary)


_CACHE = _ShapeCache()


def _kind(f: dataclasses.Field) -> str:
    """How `__init__` treats the field: a parameter, required (`arg`) or with a default
    value (`arg_default`) or factory (`arg_factory`); a value set without a parameter
    (`set_value`, `set_factory`); or nothing (`skip`: `init=False` and no default)."""
    if f.init:
        if f.default_factory is not _MISSING:
            return "arg_factory"
        return "arg" if f.default is _MISSING else "arg_default"
    if f.default_factory is not _MISSING:
        return "set_factory"
    return "skip" if f.default is _MISSING else "set_value"


def _init_source(kinds: tuple[str, ...], frozen: bool, post_init: bool) -> str:
    """The `__init__` of a shape, as `@dataclass` would write it, with placeholder
    names: field i is `_w2w_f<i>` (parameter and attribute), its default or factory the
    global `_w2w_d<i>`."""
    params, body = ["self"], []
    for i, kind in enumerate(kinds):
        name = f"{_PREFIX}f{i}"
        if kind.startswith("arg"):
            params.append(name)  # the defaults are the function's, not the code's
        value = {
            "arg": name,
            "arg_default": name,
            "arg_factory": f"{_PREFIX}d{i}() if {name} is {_PREFIX}factory else {name}",
            "set_value": f"{_PREFIX}d{i}",
            "set_factory": f"{_PREFIX}d{i}()",
        }.get(kind)
        if value is None:
            continue
        body.append(f"{_PREFIX}set(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    if post_init:
        body.append("self.__post_init__()")
    return f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"


def _shape_code(kinds: tuple[str, ...], frozen: bool, post_init: bool) -> CodeType:
    kinds = tuple("arg" if kind == "arg_default" else kind for kind in kinds)  # same code
    key = (kinds, frozen, post_init)
    code = _SHAPES.get(key)
    if code is None:
        code = _SHAPES[key] = _CACHE.get(_init_source(kinds, frozen, post_init))
    return code


def _make_init(cls: type, fields: list[dataclasses.Field], frozen: bool) -> FunctionType:
    kinds = tuple(_kind(f) for f in fields)
    post_init = hasattr(cls, "__post_init__")
    renamed = {f"{_PREFIX}f{i}": f.name for i, f in enumerate(fields)}
    code = _shape_code(kinds, frozen, post_init)
    code = code.replace(
        co_names=tuple(renamed.get(n, n) for n in code.co_names),
        co_varnames=tuple(renamed.get(n, n) for n in code.co_varnames),
        co_consts=tuple(renamed.get(c, c) if isinstance(c, str) else c for c in code.co_consts),
        co_qualname=f"{cls.__qualname__}.__init__",
    )
    scope: dict[str, Any] = {"__builtins__": __builtins__, "__name__": cls.__module__,
                             f"{_PREFIX}factory": _HAS_FACTORY, f"{_PREFIX}set": object.__setattr__}
    defaults = []
    for i, (f, kind) in enumerate(zip(fields, kinds)):
        scope[f"{_PREFIX}d{i}"] = f.default if f.default_factory is _MISSING else f.default_factory
        if kind in ("arg_default", "arg_factory"):
            defaults.append(f.default if kind == "arg_default" else _HAS_FACTORY)
    init = FunctionType(code, scope, "__init__", tuple(defaults) or None)
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


# --- ==, hash(), repr() ---------------------------------------------------------------


def _key(names: list[str]) -> Callable[[object], tuple]:
    """The tuple of the named attributes (`@dataclass` compares and hashes that)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _make_eq(cls: type, fields: list[dataclasses.Field]) -> Callable:
    key = _key([f.name for f in fields if f.compare])

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
    return __eq__


def _make_hash(cls: type, fields: list[dataclasses.Field]) -> Callable:
    key = _key([f.name for f in fields if (f.compare if f.hash is None else f.hash)])

    def __hash__(self):
        return hash(key(self))

    __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
    return __hash__


def _make_repr(cls: type, fields: list[dataclasses.Field]) -> Callable:
    shown = tuple(f.name for f in fields if f.repr)
    running: set[tuple[int, int]] = set()

    def __repr__(self):
        key = (id(self), get_ident())
        if key in running:
            return "..."  # an object inside itself, as @dataclass shows it
        running.add(key)
        try:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
    return __repr__


def _hash_method(cls: type, fields: list[dataclasses.Field], eq: bool, frozen: bool,
                 unsafe_hash: bool) -> tuple[bool, Callable | None]:
    """Whether to set `__hash__`, and to what: `@dataclass`'s rules."""
    own = cls.__dict__.get("__hash__", _MISSING)
    explicit = not (own is _MISSING or (own is None and "__eq__" in cls.__dict__))
    if unsafe_hash:
        if explicit:
            raise TypeError(f"Cannot overwrite attribute __hash__ in class {cls.__name__}")
        return True, _make_hash(cls, fields)
    if not eq or explicit:
        return False, None
    return True, (_make_hash(cls, fields) if frozen else None)


# --- frozen classes -------------------------------------------------------------------


def _freeze(cls: type, names: tuple[str, ...]) -> None:
    """`__setattr__`/`__delattr__` that refuse the fields (and, on the class itself,
    every attribute), and the pickling support of a frozen class with slots."""

    def __setattr__(self, name, value):
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        if method.__name__ in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {method.__name__} in class {cls.__name__}")
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    if "__slots__" in cls.__dict__:
        if "__getstate__" not in cls.__dict__:
            cls.__getstate__ = lambda self: [getattr(self, n) for n in names]
        if "__setstate__" not in cls.__dict__:
            cls.__setstate__ = lambda self, state: [object.__setattr__(self, n, v) for n, v in zip(names, state)]


# --- the class ------------------------------------------------------------------------


def _annotation_text(annotation: object) -> str:
    """As `inspect.formatannotation` writes an annotation (a string one with quotes)."""
    if isinstance(annotation, type):
        module = annotation.__module__
        return annotation.__qualname__ if module == "builtins" else f"{module}.{annotation.__qualname__}"
    return repr(annotation)


def _signature_doc(cls: type, fields: list[dataclasses.Field]) -> str:
    """`@dataclass`'s `__doc__` for a class without one: the class name and the
    signature of `__init__`, as `inspect.signature` writes it."""
    params = []
    for f in fields:
        if not f.init:
            continue
        text = f"{f.name}: {_annotation_text(f.type)}"
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            text += f" = {f.default if f.default_factory is _MISSING else _HAS_FACTORY!r}"
        params.append(text)
    return f"{cls.__name__}({', '.join(params)})"


def _with_slots(cls: type, names: tuple[str, ...], added: dict[str, Any]) -> type:
    """The class again, with `__slots__` for the fields and the `added` attributes (a
    class's slots are fixed when it is made: `@dataclass(slots=True)` makes it anew too)."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    namespace = dict(cls.__dict__) | added
    for name in (*names, "__dict__", "__weakref__"):  # a field's default is no class attribute
        namespace.pop(name, None)
    namespace = {k: v for k, v in namespace.items() if v is not _MISSING}
    namespace["__slots__"] = names
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _class_defaults(cls: type, declared: dict[str, dataclasses.Field], added: dict[str, Any]) -> None:
    """As `@dataclass` leaves the class attributes of the fields: the default, or none
    (`_MISSING` in `added`: to delete)."""
    for f in declared.values():
        if f.default is not _MISSING:
            added[f.name] = f.default
        elif isinstance(cls.__dict__.get(f.name), dataclasses.Field):
            added[f.name] = _MISSING


def _methods(cls: type, fields: list[dataclasses.Field], init: bool, repr: bool, eq: bool,
             frozen: bool, unsafe_hash: bool) -> dict[str, Any]:
    """The methods and attributes `@dataclass` would add (not those the class defines)."""
    made: dict[str, Any] = {}
    if init:
        made["__init__"] = _make_init(cls, fields, frozen)
    if repr:
        made["__repr__"] = _make_repr(cls, fields)
    if eq:
        made["__eq__"] = _make_eq(cls, fields)
    made["__match_args__"] = tuple(f.name for f in fields if f.init)
    if _REPLACE is not None:  # Python 3.13+: copy.replace()
        made["__replace__"] = _REPLACE
    made = {name: value for name, value in made.items() if name not in cls.__dict__}
    set_hash, hash_method = _hash_method(cls, fields, eq, frozen, unsafe_hash)
    if set_hash:
        made["__hash__"] = hash_method
    if not getattr(cls, "__doc__"):
        made["__doc__"] = _signature_doc(cls, fields)
    return made


def _build(cls: type, declared: dict[str, dataclasses.Field], init: bool, repr: bool, eq: bool,
           frozen: bool, unsafe_hash: bool, slots: bool) -> type:
    fields = [f for f in declared.values() if f._field_type is _FIELD_MARK]
    _check_default_order(fields)
    added = _methods(cls, fields, init, repr, eq, frozen, unsafe_hash)
    added["__dataclass_params__"] = _Params(init, repr, eq, unsafe_hash, frozen, slots)
    added["__dataclass_fields__"] = declared
    _class_defaults(cls, declared, added)
    names = tuple(f.name for f in fields)
    if slots:  # one new class with everything (setting attributes on a class costs)
        cls = _with_slots(cls, names, added)
    else:
        for name, value in added.items():
            if value is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value)
    if frozen:
        _freeze(cls, names)
    update_abstractmethods(cls)  # an ABC whose abstract methods the fields implement
    return cls


def record(cls: type | None = None, /, *, init: bool = True, repr: bool = True, eq: bool = True,
           frozen: bool = False, unsafe_hash: bool = False, slots: bool = False):
    """`@dataclass` with these options (see the module docstring): `@record`,
    `@record(slots=True)`, `@record(frozen=True, slots=True)`, ..."""
    options = dict(init=init, repr=repr, eq=eq, frozen=frozen, unsafe_hash=unsafe_hash, slots=slots)
    if cls is None:
        return lambda c: record(c, **options)
    declared = _declared_fields(cls) if _PRIVATE_NAMES_FOUND else None
    if declared is None:
        return _dataclass(cls, **options)
    return _build(cls, declared, **options)
