"""Merge a decoded resolve (from `decode.py`) into the one being built, as wit-parser's
`Resolve::merge` does.

A package whose name is new is moved over whole. A package already present is
*unioned*: two binary packages may each carry a partial view of the same foreign
package (say `wasi:io`, with only the types each one uses). Interfaces are matched by
name, then types and functions by name; what only the incoming side has is added,
what both have must agree (same function shape). Items are appended in the incoming
arena order, so the result has wasm-tools' ids.
"""

from __future__ import annotations

from .. import ir
from ..diagnostics import ResolveError, error


class MergeError(Exception):
    """The two views of a package disagree; the caller adds where the package came from."""


def merge(dst: ir.Resolve, src: ir.Resolve) -> list[int]:
    """Move `src` into `dst`; returns the new ids of `src.main_packages`."""
    plan = _Plan(dst, src)
    plan.match_existing()
    plan.number_new_items()
    plan.move(dst, src)
    return [plan.packages[pid] for pid in src.main_packages]


class _Plan:
    def __init__(self, dst: ir.Resolve, src: ir.Resolve) -> None:
        self.dst = dst
        self.src = src
        # src id -> dst id, for the items `dst` already has
        self.packages: dict[int, int] = {}
        self.interfaces: dict[int, int] = {}
        self.worlds: dict[int, int] = {}
        self.types: dict[int, int] = {}
        # (dst package, name, src interface/world) to register once moved
        self.new_interfaces: list[tuple[int, str, int]] = []
        self.new_worlds: list[tuple[int, str, int]] = []

    # -- what is already there --------------------------------------------------------------

    def match_existing(self) -> None:
        for spid, spkg in enumerate(self.src.packages):
            dpid = self.dst.package_names.get(str(spkg.name))
            if dpid is None:
                continue
            self.packages[spid] = dpid
            dpkg = self.dst.packages[dpid]
            for name, siid in spkg.interfaces.items():
                diid = dpkg.interfaces.get(name)
                if diid is None:
                    self.new_interfaces.append((dpid, name, siid))
                else:
                    self.match_interface(siid, diid, f"{spkg.name}/{name}")
            for name, swid in spkg.worlds.items():
                dwid = dpkg.worlds.get(name)
                if dwid is None:
                    self.new_worlds.append((dpid, name, swid))
                else:
                    self.match_world(swid, dwid, f"{spkg.name}/{name}")

    def match_interface(self, siid: int, diid: int, where: str) -> None:
        self.interfaces[siid] = diid
        sif, dif = self.src.interfaces[siid], self.dst.interfaces[diid]
        for name, stid in sif.types.items():
            dtid = dif.types.get(name)
            if dtid is not None:
                self.types[stid] = dtid
        for name, sfn in sif.functions.items():
            dfn = dif.functions.get(name)
            if dfn is not None:
                _check_same_shape(sfn, dfn, f"{where}.{name}")

    def match_world(self, swid: int, dwid: int, where: str) -> None:
        sw, dw = self.src.worlds[swid], self.dst.worlds[dwid]
        if len(sw.imports) != len(dw.imports) or len(sw.exports) != len(dw.exports):
            raise MergeError(f"world `{where}` has different imports or exports in the two "
                             "copies")
        self.worlds[swid] = dwid

    # -- new ids ----------------------------------------------------------------------------

    def number_new_items(self) -> None:
        def number(count: int, mapped: dict[int, int], start: int) -> None:
            for sid in range(count):
                if sid not in mapped:
                    mapped[sid] = start
                    start += 1

        self.moved_types = [i for i in range(len(self.src.types)) if i not in self.types]
        self.moved_ifaces = [i for i in range(len(self.src.interfaces))
                             if i not in self.interfaces]
        self.moved_worlds = [i for i in range(len(self.src.worlds)) if i not in self.worlds]
        self.moved_packages = [i for i in range(len(self.src.packages))
                               if i not in self.packages]
        number(len(self.src.types), self.types, len(self.dst.types))
        number(len(self.src.interfaces), self.interfaces, len(self.dst.interfaces))
        number(len(self.src.worlds), self.worlds, len(self.dst.worlds))
        number(len(self.src.packages), self.packages, len(self.dst.packages))

    # -- moving -------------------------------------------------------------------------------

    def ref(self, ref):
        return self.types[ref] if isinstance(ref, int) else ref

    def owner(self, owner: ir.TypeOwner | None) -> ir.TypeOwner | None:
        if owner is None:
            return None
        table = self.interfaces if owner.kind == "interface" else self.worlds
        return ir.TypeOwner(owner.kind, table[owner.id])

    def function(self, fn: ir.Function) -> ir.Function:
        for p in fn.params:
            p.type = self.ref(p.type)
        if fn.result is not None:
            fn.result = self.ref(fn.result)
        if fn.resource is not None:
            fn.resource = self.types[fn.resource]
        return fn

    def typedef(self, td: ir.TypeDef) -> ir.TypeDef:
        kind = td.kind
        if isinstance(kind, ir.Alias):
            kind.target = self.ref(kind.target)
        elif isinstance(kind, ir.Handle):
            kind.resource = self.types[kind.resource]
        else:
            ir.map_compound_refs(kind, self.ref)
        td.owner = self.owner(td.owner)
        return td

    def world_item(self, item: ir.WorldItem) -> ir.WorldItem:
        if isinstance(item, ir.WorldInterface):
            item.id = self.interfaces[item.id]
        elif isinstance(item, ir.WorldType):
            item.id = self.types[item.id]
        else:
            self.function(item.function)
        return item

    def world_key(self, key: ir.WorldKey) -> ir.WorldKey:
        return self.interfaces[key] if isinstance(key, int) else key

    def move(self, dst: ir.Resolve, src: ir.Resolve) -> None:
        moved_types = set(self.moved_types)
        for sid, td in enumerate(src.types):
            if sid in moved_types:
                dst.types.append(self.typedef(td))
            else:
                target = dst.types[self.types[sid]]
                target.stability = _merged_stability(td.stability, target.stability, td.name)
        moved_ifaces = set(self.moved_ifaces)
        for siid, diid in self.interfaces.items():
            if siid not in moved_ifaces:
                sif, dif = src.interfaces[siid], dst.interfaces[diid]
                dif.stability = _merged_stability(sif.stability, dif.stability, sif.name)
                self.grow_interface(sif, dif)
        moved_worlds = set(self.moved_worlds)
        for swid, dwid in self.worlds.items():
            if swid not in moved_worlds:
                self.merge_world_stability(src.worlds[swid], dst.worlds[dwid])
        for sid in self.moved_ifaces:
            iface = src.interfaces[sid]
            iface.types = {n: self.types[t] for n, t in iface.types.items()}
            for fn in iface.functions.values():
                self.function(fn)
            if iface.package is not None:
                iface.package = self.packages[iface.package]
            dst.interfaces.append(iface)
        for sid in self.moved_worlds:
            world = src.worlds[sid]
            world.imports = {self.world_key(k): self.world_item(v)
                             for k, v in world.imports.items()}
            world.exports = {self.world_key(k): self.world_item(v)
                             for k, v in world.exports.items()}
            if world.package is not None:
                world.package = self.packages[world.package]
            dst.worlds.append(world)
        for sid in self.moved_packages:
            pkg = src.packages[sid]
            pkg.interfaces = {n: self.interfaces[i] for n, i in pkg.interfaces.items()}
            pkg.worlds = {n: self.worlds[w] for n, w in pkg.worlds.items()}
            dst.packages.append(pkg)
            dst.package_names[str(pkg.name)] = self.packages[sid]
        for dpid, name, siid in self.new_interfaces:
            dst.packages[dpid].interfaces[name] = self.interfaces[siid]
        for dpid, name, swid in self.new_worlds:
            dst.packages[dpid].worlds[name] = self.worlds[swid]

    def merge_world_stability(self, sw: ir.World, dw: ir.World) -> None:
        dw.stability = _merged_stability(sw.stability, dw.stability, sw.name)
        for stable, dtable in ((sw.imports, dw.imports), (sw.exports, dw.exports)):
            for key, item in stable.items():
                if not isinstance(key, int):
                    continue
                into = dtable.get(self.interfaces[key])
                if isinstance(item, ir.WorldInterface) and isinstance(into, ir.WorldInterface):
                    into.stability = _merged_stability(item.stability, into.stability,
                                                       f"interface-{key}")

    def grow_interface(self, sif: ir.Interface, dif: ir.Interface) -> None:
        """Add what only the incoming view of an interface has."""
        for name, stid in sif.types.items():
            if name not in dif.types:
                dif.types[name] = self.types[stid]
        for name, fn in sif.functions.items():
            if name not in dif.functions:
                dif.functions[name] = self.function(fn)


def _merged_stability(incoming: ir.Stability, current: ir.Stability,
                      what: str | None) -> ir.Stability:
    """An item known from both sides keeps its stability; an unknown one takes the
    other side's; two different ones are an error (wit-parser's `update_stability`)."""
    if incoming == current or incoming.is_unknown:
        return current
    if current.is_unknown:
        return incoming
    raise MergeError(f"`{what}` has a different stability in the two copies")


def _check_same_shape(a: ir.Function, b: ir.Function, where: str) -> None:
    if a.kind != b.kind:
        raise MergeError(f"function `{where}` is a {a.kind} in one copy and a {b.kind} in "
                         "the other")
    if [p.name for p in a.params] != [p.name for p in b.params]:
        raise MergeError(f"function `{where}` has different parameters in the two copies")
    if (a.result is None) != (b.result is None):
        raise MergeError(f"function `{where}` has a different number of results in the "
                         "two copies")


def merge_or_fail(dst: ir.Resolve, src: ir.Resolve, origin: str) -> list[int]:
    try:
        return merge(dst, src)
    except MergeError as exc:
        raise ResolveError(error(f"failed to merge the packages of `{origin}`: {exc}",
                                 None)) from None
