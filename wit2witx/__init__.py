"""wit2witx: backport WebAssembly Component Model (WIT) interfaces to WASI Preview 1.

Public API (imports are lazy so that `import wit2witx` stays cheap for the CLI):
    load(paths, features=..., all_features=..., deps=...) -> ir.Resolve
    Wit2WitxError and subclasses, each carrying `.diagnostics`
"""

from __future__ import annotations

__version__ = "0.1.0"

from .diagnostics import (  # noqa: F401  (re-exported)
    Diagnostic,
    InputError,
    ResolveError,
    UnsupportedError,
    Wit2WitxError,
    WitSyntaxError,
    WitxError,
)


def load(paths, *, features=(), all_features=False, deps=()):
    """Parse and resolve WIT packages; see `wit2witx.wit.resolve.load`."""
    from .wit.resolve import load as _load

    return _load(paths, features=features, all_features=all_features, deps=deps)
