"""Feature gates: `@since`, `@unstable(feature = x)`, `@deprecated`.

An `@unstable` item exists only when its feature is enabled (or all features are);
`@since` items always exist but must not name a version newer than their package;
`@deprecated` is kept as information. Rules and messages follow wit-parser.

The resolver builds gated-off items too (their errors still count) and records them;
`drop_excluded` then removes them from the arenas in one renumbering pass.
"""

from __future__ import annotations

from functools import lru_cache

from .. import ir
from ..diagnostics import ResolveError, Span, error
from ..records import record
from . import ast


def stability_of(attributes: list[ast.Attribute]) -> ir.Stability:
    """The stability an item's attributes declare; rejects contradictory attributes."""
    if not attributes:
        return ir.UNKNOWN
    since = deprecated = feature = None
    since_span = deprecated_span = None
    for attr in attributes:
        if isinstance(attr, ast.Since):
            if since is not None:
                raise ResolveError(error("cannot specify @since twice", attr.span))
            since, since_span = attr.version, attr.span
        elif isinstance(attr, ast.Deprecated):
            if deprecated is not None:
                raise ResolveError(error("cannot specify @deprecated twice", attr.span))
            deprecated, deprecated_span = attr.version, attr.span
        elif isinstance(attr, ast.Unstable):
            if feature is not None:
                raise ResolveError(error("cannot specify @unstable twice", attr.span))
            feature = attr.feature.name
    if since is not None and feature is not None:
        raise ResolveError(error("cannot specify both @since and @unstable", since_span))
    if since is not None:
        return ir.Stability("stable", since=since, deprecated=deprecated)
    if feature is not None:
        return ir.Stability("unstable", feature=feature, deprecated=deprecated)
    if deprecated is not None:
        raise ResolveError(error(
            "cannot specify both @deprecated without @since or @unstable", deprecated_span))
    return ir.UNKNOWN


@lru_cache(maxsize=256)
def parse_version(text: str) -> tuple:
    """A semver as a sortable tuple; pre-releases sort before the release."""
    core, _, pre = text.partition("+")[0].partition("-")
    nums = []
    for part in core.split("."):
        nums.append(int(part) if part.isdigit() else 0)
    while len(nums) < 3:
        nums.append(0)
    pre_key: tuple = (1,) if not pre else (0, tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (tuple(nums), pre_key)


@record(frozen=True, slots=True)
class Gates:
    features: frozenset[str] = frozenset()
    all_features: bool = False

    def enabled(self, stability: ir.Stability, package: ir.PackageName, span: Span | None) -> bool:
        """Whether an item with this stability exists in `package` (errors like wit-parser)."""
        kind = stability.kind
        if kind == "unknown":
            return True
        if kind == "unstable":
            return self.all_features or stability.feature in self.features
        if package.version is None:
            raise ResolveError(error(
                f"package [{package}] contains a feature gate with a version specifier, "
                "so it must have a version", span))
        if parse_version(stability.since) > parse_version(package.version):
            raise ResolveError(error(
                f"feature gate cannot reference unreleased version {stability.since} of "
                f"package [{package}] (current version {package.version})", span))
        return True


# --- dropping gated-off items ------------------------------------------------------


def drop_excluded(r: ir.Resolve, ex_types: set[int], ex_ifaces: set[int],
                  ex_worlds: set[int]) -> None:
    """Remove gated-off items (and anonymous types built for them); renumber all ids."""
    # Anonymous types may refer to excluded ones (built inside gated items): drop those too.
    dropped = set(ex_types)
    changed = True
    while changed:
        changed = False
        for tid, td in enumerate(r.types):
            if tid in dropped:
                continue
            if any(isinstance(t, int) and t in dropped for t in ir.type_refs(td.kind)) or (
                    td.owner is not None and (
                        (td.owner.kind == "interface" and td.owner.id in ex_ifaces)
                        or (td.owner.kind == "world" and td.owner.id in ex_worlds))):
                dropped.add(tid)
                changed = True
    tmap = _renumber(len(r.types), dropped)
    imap = _renumber(len(r.interfaces), ex_ifaces)
    wmap = _renumber(len(r.worlds), ex_worlds)

    def ty(ref):
        return tmap[ref] if isinstance(ref, int) else ref

    def fn(f: ir.Function) -> None:
        f.params = [ir.Param(p.name, ty(p.type), p.span) for p in f.params]
        f.result = None if f.result is None else ty(f.result)
        f.resource = None if f.resource is None else tmap[f.resource]

    new_types = []
    for tid, td in enumerate(r.types):
        if tid in dropped:
            continue
        td.kind = _remap_kind(td.kind, ty)
        if td.owner is not None:
            table = imap if td.owner.kind == "interface" else wmap
            td.owner = ir.TypeOwner(td.owner.kind, table[td.owner.id])
        new_types.append(td)
    new_ifaces = []
    for iid, iface in enumerate(r.interfaces):
        if iid in ex_ifaces:
            continue
        iface.types = {n: tmap[t] for n, t in iface.types.items() if t in tmap}
        for f in iface.functions.values():
            fn(f)
        if iface.clone_of is not None:
            iface.clone_of = imap.get(iface.clone_of)
        new_ifaces.append(iface)
    new_worlds = []
    for wid, world in enumerate(r.worlds):
        if wid in ex_worlds:
            continue
        for items in (world.imports, world.exports):
            remapped = {}
            for key, item in items.items():
                if isinstance(item, ir.WorldInterface):
                    if item.id not in imap:
                        continue
                    item.id = imap[item.id]
                elif isinstance(item, ir.WorldType):
                    if item.id not in tmap:
                        continue
                    item.id = tmap[item.id]
                else:
                    fn(item.function)
                remapped[imap[key] if isinstance(key, int) else key] = item
            items.clear()
            items.update(remapped)
        new_worlds.append(world)
    for pkg in r.packages:
        pkg.interfaces = {n: imap[i] for n, i in pkg.interfaces.items() if i in imap}
        pkg.worlds = {n: wmap[w] for n, w in pkg.worlds.items() if w in wmap}
    r.types, r.interfaces, r.worlds = new_types, new_ifaces, new_worlds


def _renumber(count: int, dropped: set[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for old in range(count):
        if old not in dropped:
            out[old] = len(out)
    return out


def _remap_kind(kind, ty):
    if isinstance(kind, ir.Alias):
        return ir.Alias(ty(kind.target))
    if isinstance(kind, ir.Handle):
        return ir.Handle(kind.kind, ty(kind.resource))
    ir.map_compound_refs(kind, ty)
    return kind
