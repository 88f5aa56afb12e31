"""wit2witx: backport WebAssembly Component Model (WIT) interfaces to WASI Preview 1.

Public API (the heavy modules are imported on first use, so `import wit2witx` stays
cheap for the CLI and for pre-commit):

    load(paths, features=..., all_features=..., deps=...) -> ir.Resolve
    compile(paths, emit=..., world=..., features=..., ...) -> Artifacts (path -> text)
    write(artifacts, out) -> Written                        replace a folder all or nothing
    check(artifacts, out) -> list[Stale]                    what a write would change
    Wit2WitxError and its subclasses, each carrying `.diagnostics`
"""

from __future__ import annotations

__version__ = "0.1.0"

from .diagnostics import (  # noqa: F401  (re-exported)
    Diagnostic,
    InputError,
    ResolveError,
    UnsupportedError,
    UsageError,
    Wit2WitxError,
    WitSyntaxError,
    WitxError,
)

__all__ = [
    "__version__", "load", "compile", "write", "check", "Diagnostic", "Wit2WitxError",
    "WitSyntaxError", "ResolveError", "WitxError", "UnsupportedError", "InputError", "UsageError",
]


def load(paths, *, features=(), all_features=False, deps=()):
    """Parse and resolve WIT packages into `wit2witx.ir.Resolve`."""
    from .wit.resolve import load as _load

    return _load(paths, features=features, all_features=all_features, deps=deps)


def compile(paths, **options):  # noqa: A001 - the public verb
    """Compile WIT or WITX inputs; return `Artifacts` (relative path -> text) in memory.

    Options: emit, world, features, all_features, deps, module_names, prefix,
    skip_unsupported, templates (see `wit2witx.compiler.compile`).
    """
    from .compiler import compile as _compile

    return _compile(paths, **options)


def write(artifacts, out):
    """Make the folder `out` hold the artifacts, all or nothing (`wit2witx.output`).

    Files in `out` that wit2witx did not generate are kept; files an earlier run
    generated and this one does not are removed (unless edited since); the manifest
    `out/.wit2witx-manifest` records what was generated. Returns `output.Written`.
    """
    from .output import write as _write

    return _write(artifacts, out)


def check(artifacts, out):
    """The generated files missing, stale, edited or orphaned in `out` (empty: up to date)."""
    from .output import check as _check

    return _check(artifacts, out)
