"""`wit2witx.records.record` makes the class `@dataclass` would make, without compiling
per class: each check declares the same classes with both and compares what they do."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import typing
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from wit2witx import records
from wit2witx.records import record


def declare(deco):
    """The shapes wit2witx declares: slots, frozen, defaults, factories, `init=False`,
    `__post_init__`, methods of the class's own, `unsafe_hash` (`p1.model.node`)."""

    @deco(slots=True)
    class Node:
        name: str
        span: "object"
        size: int | None = None
        attributes: list = field(default_factory=list)
        hidden: int = field(default=3, init=False, compare=False, repr=False)
        made: list = field(default_factory=list, init=False)

    @deco(frozen=True, slots=True)
    class Frozen:
        a: int
        b: str = "x"

    @deco
    class PostInit:
        """Has a docstring."""

        x: int
        seen: list = field(default_factory=list)

        def __post_init__(self):
            self.seen.append(self.x)

    @deco(slots=True, eq=False)
    class OwnEq:
        x: int

        def __eq__(self, other):
            return isinstance(other, OwnEq)

        def __hash__(self):
            return 7

    @deco(unsafe_hash=True)
    class Hashed:
        x: int
        y: int = field(default=0, compare=False)

    @deco(slots=True, repr=False, eq=False)
    class Plain:
        x: int

    @deco(slots=True, unsafe_hash=True)
    class WithClassVar:  # as p1.callplan's slots declare their kind
        name: str
        kind: ClassVar[str] = "scalar"
        other: typing.ClassVar[int] = 2

    return {c.__name__: c for c in (Node, Frozen, PostInit, OwnEq, Hashed, Plain, WithClassVar)}


DATACLASSES, RECORDS = declare(dataclass), declare(record)
NAMES = sorted(DATACLASSES)


def _field_facts(cls):
    return [(f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash, f.kw_only,
             f.metadata)
            for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("name", NAMES)
def test_class_is_the_one_dataclass_makes(name):
    d, r = DATACLASSES[name], RECORDS[name]
    assert dataclasses.is_dataclass(r)
    assert _field_facts(r) == _field_facts(d)
    assert str(inspect.signature(r)) == str(inspect.signature(d))
    assert r.__doc__ == d.__doc__
    assert r.__match_args__ == d.__match_args__
    assert r.__dict__.get("__slots__") == d.__dict__.get("__slots__")
    assert (r.__dictoffset__, r.__weakrefoffset__) == (d.__dictoffset__, d.__weakrefoffset__)
    assert (r.__hash__ is None) == (d.__hash__ is None)
    assert set(vars(r)) == set(vars(d))
    assert r.__init__.__annotations__ == d.__init__.__annotations__
    assert r.__init__.__qualname__ == d.__init__.__qualname__
    assert {n: (f._field_type, f.default) for n, f in r.__dataclass_fields__.items()} == {
        n: (f._field_type, f.default) for n, f in d.__dataclass_fields__.items()}
    for option in ("init", "repr", "eq", "order", "unsafe_hash", "frozen"):
        assert getattr(r.__dataclass_params__, option) == getattr(d.__dataclass_params__, option)


def test_instances_behave_alike():
    d, r = DATACLASSES["Node"], RECORDS["Node"]
    a, b = r("n", None), d("n", None)
    assert repr(a).replace("record", "dataclass") == repr(b)
    assert a == r("n", None) and a != r("m", None) and a != b
    assert a.attributes == [] and a.attributes is not r("n", None).attributes
    assert (a.hidden, a.made) == (3, [])
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert dataclasses.replace(a, name="z") == r("z", None)
    assert r("n", None, 4, [1]).attributes == [1]
    assert r(name="n", span=1, attributes=[2]).attributes == [2]
    with pytest.raises(AttributeError):
        a.other = 1  # slots


def test_errors_name_the_fields():
    for cls in (RECORDS["Node"], DATACLASSES["Node"]):
        with pytest.raises(TypeError, match="missing 2 required positional arguments: 'name' and 'span'"):
            cls()
        with pytest.raises(TypeError, match="takes from 3 to 5 positional arguments but 6"):
            cls("a", None, 1, [], 5)
        with pytest.raises(TypeError, match="unexpected keyword argument 'hidden'"):
            cls("a", None, hidden=1)


def test_frozen():
    r, d = RECORDS["Frozen"], DATACLASSES["Frozen"]
    f = r(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
        f.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'b'"):
        del f.b
    assert hash(f) == hash(d(1)) and hash(f) != hash(r(2))
    assert {f: 1}[r(1)] == 1
    assert copy.deepcopy(f) == f and copy.copy(f) is not f
    assert f.__getstate__() == [1, "x"]


def test_post_init_hashes_and_own_methods():
    assert RECORDS["PostInit"](5).seen == [5]
    assert RECORDS["PostInit"].__doc__ == "Has a docstring."
    own = RECORDS["OwnEq"]
    assert own(1) == own(2) and hash(own(1)) == 7
    hashed = RECORDS["Hashed"]
    assert hashed(1, 2) == hashed(1, 9) and hash(hashed(1, 2)) == hash(DATACLASSES["Hashed"](1, 5))
    plain = RECORDS["Plain"]
    assert plain(1) != plain(1) and "object at" in repr(plain(1))


def test_repr_of_an_object_inside_itself():
    cls = RECORDS["PostInit"]
    a = cls(1)
    a.seen.append(a)
    assert repr(a) == f"{cls.__qualname__}(x=1, seen=[1, ...])"


def test_bad_declarations_fail_as_with_dataclass():
    with pytest.raises(ValueError, match="mutable default"):
        @record
        class Mutable:
            x: list = []  # noqa: RUF012
    with pytest.raises(TypeError, match="non-default argument 'y' follows default argument"):
        @record
        class Order:
            x: int = 0
            y: int


def test_class_variables():
    r = RECORDS["WithClassVar"]
    assert (r.kind, r.other, r("a").kind) == ("scalar", 2, "scalar")
    assert r("a") == r("a") and repr(r("a")).endswith("WithClassVar(name='a')")
    assert r.__slots__ == ("name",)


def test_what_record_leaves_to_dataclass():
    """Inherited fields: made by @dataclass itself."""

    @record
    class Base:
        x: int

    @record
    class Derived(Base):
        y: int = 0
        kind: ClassVar[str] = "d"

    assert [f.name for f in dataclasses.fields(Derived)] == ["x", "y"]
    assert Derived(1) == Derived(1, 0) and Derived.kind == "d"


def test_abstract_base():
    """A Mapping whose abstract methods the class defines (`compiler.Artifacts`)."""
    from collections.abc import Mapping

    @record
    class Files(Mapping):
        files: dict

        def __getitem__(self, key):
            return self.files[key]

        def __iter__(self):
            return iter(self.files)

        def __len__(self):
            return len(self.files)

    files = Files({"a": "1"})
    assert dict(files) == {"a": "1"} and files == Files({"a": "1"}) and Files.__hash__ is None
    assert Files.__abstractmethods__ == frozenset()


def test_one_code_object_per_shape():
    """Classes of the same shape share compiled `__init__` code (renamed per class)."""

    @record
    class One:
        left: int
        right: int = 0

    @record
    class Two:
        first: str
        second: str = "s"

    assert One.__init__.__code__.co_code == Two.__init__.__code__.co_code
    assert Two.__init__.__code__.co_varnames == ("self", "first", "second")
    assert Two("a").second == "s" and One(1, 2).right == 2


@pytest.mark.parametrize("module_name", [
    "wit2witx.diagnostics", "wit2witx.wit.ast", "wit2witx.ir", "wit2witx.wasm.ast",
    "wit2witx.p1.model", "wit2witx.witx.sexpr", "wit2witx.compiler", "wit2witx.output",
    "wit2witx.filenames",
])
def test_wit2witx_classes_are_records(module_name):
    """No class of the start-up path pays for `@dataclass`'s compiles (a class that needs
    @dataclass's own processing would still be a dataclass, but slower to make)."""
    module = importlib.import_module(module_name)
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and c.__module__ == module_name and dataclasses.is_dataclass(c)]
    assert classes
    for cls in classes:
        assert cls.__init__.__code__.co_filename != "<string>", f"{cls.__qualname__} made by @dataclass"
        assert isinstance(cls.__dataclass_params__, records._Params)


_COUNT_COMPILES = """
import json, sys
import wit2witx.records as records
compiled = []
def counting(*args, **kwargs):
    compiled.append(args[0])
    return compile(*args, **kwargs)
records.compile = counting  # the module's own name for the builtin
import wit2witx.compiler, wit2witx.wit.resolve, wit2witx.p1.lower
print(json.dumps({"compiled": len(compiled), "shapes": len(records._SHAPES)}))
"""


def _compiles(cache) -> dict:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "WIT2WITX_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, "-c", _COUNT_COMPILES], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_shapes_are_compiled_once_into_the_user_cache(tmp_path):
    """(The shapes of `wit2witx.diagnostics`, made before the count starts, are not counted.)"""
    first = _compiles(tmp_path)
    assert first["compiled"] > 10
    (cached,) = tmp_path.glob("records-*.marshal")
    assert _compiles(tmp_path) == {"compiled": 0, "shapes": first["shapes"]}
    cached.write_bytes(b"damaged")
    assert _compiles(tmp_path) == first  # compiled again, no error
    assert _compiles(tmp_path)["compiled"] == 0  # and written again


def test_a_read_only_shape_cache_only_costs_compiles(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    assert _compiles(tmp_path / "cache")["compiled"] > 10
    assert _compiles(tmp_path / "cache")["compiled"] > 10
