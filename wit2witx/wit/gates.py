"""Feature gates: `@since`, `@unstable(feature = x)`, `@deprecated`.

An `@unstable` item exists only when its feature is enabled (or all features are);
`@since` items always exist but must not name a version newer than their package;
`@deprecated` is kept as information. Rules and messages follow wit-parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .. import ir
from ..diagnostics import ResolveError, Span, error
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


@dataclass(frozen=True, slots=True)
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
