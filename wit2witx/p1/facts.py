"""What `p1.layout` and `p1.abi` say about a finished P1 model, computed once per run.

Every back end asks for the same sizes, variant and record layouts and core signatures
(the C header, the host glue, the Python glue and the docs all lay out the same types),
and a named type's layout needs those of everything it embeds. A `Facts` object answers
each question once and shares the answer: the driver makes one per compiled program
(`compiler.Program.facts`) and hands it to every back end, and a back end called on its
own makes a fresh one. The model must not change while a `Facts` object is in use.

Answers are keyed by the identity of the type (or function) asked about, and the
`Facts` object keeps that object alive, so an id is never reused for another object
while it is cached.
The lists and tuples returned are shared: read them, never modify them.
"""

from __future__ import annotations

from . import abi, layout
from .model import (
    Builtin, ConstPointer, Flags, Function, Handle, List, Pointer, Ref, String, TypeRef,
)


class Facts:
    """The answers of one run, each computed once.

    Memory matters here (a large input has a million type references): an entry is the
    answer alone under the asker's id, and the askers are kept alive by one list
    (`_alive`) instead of a tuple per entry. References to typenames and fixed-size
    types are not cached at all: `layout` answers a `Ref` from its per-typename cache
    and a scalar from constants, as fast as a lookup here.
    """

    __slots__ = ("_layout", "_sa", "_variant", "_record", "_sig", "_core_values", "_other",
                 "_alive")

    def __init__(self) -> None:
        self._layout: dict = {}  # layout's own cache: id(TypeName) -> (TypeName, SizeAlign)
        self._sa: dict = {}  # id(anonymous compound type) -> SizeAlign
        self._variant: dict = {}
        self._record: dict = {}
        self._sig: dict = {}
        self._core_values: dict = {}  # `abi.core_signature`'s: equal core params, one object
        self._other: dict = {}  # (question, id(obj)) -> answer
        self._alive: list = []  # every object asked about: its id stays its own

    def size_align(self, tref: TypeRef) -> layout.SizeAlign:
        if type(tref) in _UNCACHED:
            return layout.size_align(tref, self._layout)
        key = id(tref)
        hit = self._sa.get(key)
        if hit is None:
            hit = self._sa[key] = layout.size_align(tref, self._layout)
            self._alive.append(tref)
        return hit

    def variant_layout(self, tref: TypeRef) -> layout.VariantLayout:
        key = id(tref)
        hit = self._variant.get(key)
        if hit is None:
            hit = self._variant[key] = layout.variant_layout(tref, self._layout)
            self._alive.append(tref)
        return hit

    def record_layout(self, tref: TypeRef) -> list[layout.FieldLayout]:
        key = id(tref)
        hit = self._record.get(key)
        if hit is None:
            hit = self._record[key] = layout.record_layout(tref, self._layout)
            self._alive.append(tref)
        return hit

    def core_signature(self, func: Function) -> abi.CoreSignature:
        key = id(func)
        hit = self._sig.get(key)
        if hit is None:
            hit = self._sig[key] = abi.core_signature(func, self._core_values)
            self._alive.append(func)
        return hit

    def call_plan(self, func: Function, document=None):
        """`p1.callplan.plan_call(func)`, once per run; `document` is the unit's (it
        names the error type of a status enum)."""
        from .callplan import plan_call  # noqa: PLC0415  (it imports this module)

        return self.memo("call plan", func, lambda f: plan_call(f, self, document))

    def memo(self, question: str, obj, answer):
        """Any other fact a back end asks about `obj` once per run: `answer(obj)`,
        cached under `question` (`obj` kept alive, like the askers above)."""
        key = (question, id(obj))
        if key in self._other:
            return self._other[key]
        hit = self._other[key] = answer(obj)
        self._alive.append(obj)
        return hit


#: types whose size `layout` knows without recursion: a `Ref` through its cache by
#: typename, the others are constants
_UNCACHED = frozenset((Ref, Builtin, String, List, Pointer, ConstPointer, Handle, Flags))


def facts_of(program) -> Facts:
    """The program's shared `Facts` (a fresh one for an object that has none)."""
    facts = getattr(program, "facts", None)
    return facts if isinstance(facts, Facts) else Facts()


__all__ = ["Facts", "facts_of"]
