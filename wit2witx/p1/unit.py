"""A `Unit` is one emitted P1 module: what every back end iterates over.

Both front ends produce units. A unit's `document` is complete (every typename it
refers to is in it, `Ref`s resolved), with definitions in the order a WITX reader would
see them: the definitions of each used unit first (depth first, each once, in `uses`
order), then the unit's own. `own` lists the unit's own definitions (its typenames and
its module), which are what a back end prints for this unit; everything else is
reached through `uses` (`(use "x.witx")` in WITX, `#include "x.h"` in C).
"""

from __future__ import annotations

from dataclasses import field

from ..records import record
from .model import Definition, Document, Module, TypeName


@record(slots=True)
class Unit:
    name: str  # the P1 module name; also the stem of every file emitted for it
    document: Document
    own: list[Definition]
    uses: list[str] = field(default_factory=list)  # names of the units this one uses
    origin: str = ""  # where it came from: `wasi:sockets/tcp@0.2.12`, `x.witx`
    version: str | None = None  # the WIT package version, if any
    #: WIT function name → its P1 function's name, where they differ beyond kebab →
    #: snake (the lowering renames a function that meets a name of its own)
    function_names: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> Module | None:
        for d in self.own:
            if isinstance(d, Module):
                return d
        return None

    @property
    def own_typenames(self) -> list[TypeName]:
        return [d for d in self.own if isinstance(d, TypeName)]

    def is_own(self, typename: TypeName) -> bool:
        return any(d is typename for d in self.own)


def units_from_witx(document: Document, origin: str) -> list[Unit]:
    """A WITX document read from disk is self-contained: one unit per module it has.

    A document with several modules yields several units sharing the document; the
    typenames belong to the first unit (the others use it), so nothing is defined twice.
    """
    modules = document.modules
    if not modules:
        stem = origin.rsplit("/", 1)[-1].removesuffix(".witx")
        return [Unit(stem, document, list(document.definitions), [], origin)]
    first = modules[0]
    units = [Unit(first.name, document,
                  [d for d in document.definitions if not isinstance(d, Module) or d is first],
                  [], origin)]
    for module in modules[1:]:
        units.append(Unit(module.name, document, [module], [first.name], origin))
    return units
