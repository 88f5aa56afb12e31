"""What `p1.layout` and `p1.abi` say about a finished P1 model, computed once per run.

Every back end asks for the same sizes, variant and record layouts and core signatures
(the C header, the host glue, the Python glue and the docs all lay out the same types),
and a named type's layout needs those of everything it embeds. A `Facts` object answers
each question once and shares the answer: the driver makes one per compiled program
(`compiler.Program.facts`) and hands it to every back end, and a back end called on its
own makes a fresh one. The model must not change while a `Facts` object is in use.

Answers are keyed by the identity of the type (or function) asked about, and each entry
keeps that object alive, so an id is never reused for another object while it is cached.
The lists and tuples returned are shared: read them, never modify them.
"""

from __future__ import annotations

from . import abi, layout
from .model import Function, TypeRef


class Facts:
    __slots__ = ("_layout", "_sa", "_variant", "_record", "_sig", "_other")

    def __init__(self) -> None:
        self._layout: dict = {}  # layout's own cache: id(TypeName) -> (TypeName, SizeAlign)
        self._sa: dict = {}  # id(type reference) -> (it, SizeAlign)
        self._variant: dict = {}
        self._record: dict = {}
        self._sig: dict = {}
        self._other: dict = {}  # (question, id(obj)) -> (obj, answer)

    def size_align(self, tref: TypeRef) -> layout.SizeAlign:
        hit = self._sa.get(id(tref))
        if hit is None or hit[0] is not tref:
            hit = self._sa[id(tref)] = (tref, layout.size_align(tref, self._layout))
        return hit[1]

    def variant_layout(self, tref: TypeRef) -> layout.VariantLayout:
        hit = self._variant.get(id(tref))
        if hit is None or hit[0] is not tref:
            hit = self._variant[id(tref)] = (tref, layout.variant_layout(tref, self._layout))
        return hit[1]

    def record_layout(self, tref: TypeRef) -> list[layout.FieldLayout]:
        hit = self._record.get(id(tref))
        if hit is None or hit[0] is not tref:
            hit = self._record[id(tref)] = (tref, layout.record_layout(tref, self._layout))
        return hit[1]

    def core_signature(self, func: Function) -> abi.CoreSignature:
        hit = self._sig.get(id(func))
        if hit is None or hit[0] is not func:
            hit = self._sig[id(func)] = (func, abi.core_signature(func))
        return hit[1]

    def call_plan(self, func: Function, document=None):
        """`p1.callplan.plan_call(func)`, once per run; `document` is the unit's (it
        names the error type of a status enum)."""
        from .callplan import plan_call  # noqa: PLC0415  (it imports this module)

        return self.memo("call plan", func, lambda f: plan_call(f, self, document))

    def memo(self, question: str, obj, answer):
        """Any other fact a back end asks about `obj` once per run: `answer(obj)`,
        cached under `question` (kept with `obj`, like the facts above)."""
        key = (question, id(obj))
        hit = self._other.get(key)
        if hit is None or hit[0] is not obj:
            hit = self._other[key] = (obj, answer(obj))
        return hit[1]


def facts_of(program) -> Facts:
    """The program's shared `Facts` (a fresh one for an object that has none)."""
    facts = getattr(program, "facts", None)
    return facts if isinstance(facts, Facts) else Facts()


__all__ = ["Facts", "facts_of"]
