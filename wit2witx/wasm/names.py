"""Component-model name rules (kebab-case, import/export name forms), as wasmparser
checks them, so a malformed encoded package is rejected where wasm-tools rejects it."""

from __future__ import annotations

import re

from .errors import WasmError

# A first word is lower- or upper-case letters and digits starting with a letter; later
# words may also start with (or be only) digits; case may not mix within a word.
_WORD = r"(?:[a-z][a-z0-9]*|[A-Z][A-Z0-9]*)"
_LATER = r"(?:[0-9]*[a-z][a-z0-9]*|[0-9]*[A-Z][A-Z0-9]*|[0-9]+)"
_KEBAB = re.compile(rf"{_WORD}(?:-{_LATER})*")
_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(rf"{_NUM}\.{_NUM}\.{_NUM}(?:-{_IDENT}(?:\.{_IDENT})*)?"
                     r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")


def is_kebab(name: str) -> bool:
    return _KEBAB.fullmatch(name) is not None


def check_kebab(name: str, what: str, pos) -> None:
    if not is_kebab(name):
        raise WasmError(f"{what} name `{name}` is not in kebab case", pos)


def check_unique(names, what: str, pos) -> None:
    """Names of one list must differ, ignoring ASCII case (as wasmparser compares)."""
    seen: dict[str, str] = {}
    for name in names:
        claim_name(seen, name, what, pos)


def claim_name(seen: dict[str, str], name: str, what: str, pos) -> None:
    """Add `name` to the names `seen` so far in one list (lower-cased -> as written);
    a name differing from an earlier one only in ASCII case is a clash."""
    key = name.lower()
    if key in seen:
        raise WasmError(f"{what} name `{name}` conflicts with previous {what} name "
                        f"`{seen[key]}`", pos)
    seen[key] = name


def check_extern_name(name: str, pos) -> str:
    """Validate an import/export name; returns its kind: label, constructor, method,
    static or interface."""
    for prefix, kind in (("[constructor]", "constructor"), ("[method]", "method"),
                         ("[static]", "static")):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            parts = rest.split(".") if kind != "constructor" else [rest]
            if len(parts) != (1 if kind == "constructor" else 2) \
                    or not all(is_kebab(p) for p in parts):
                raise WasmError(f"`{name}` is not a valid {kind} name", pos)
            return kind
    if ":" in name:
        _check_interface_name(name, pos)
        return "interface"
    if not is_kebab(name):
        raise WasmError(f"`{name}` is not in kebab case", pos)
    return "label"


def is_semver(text: str) -> bool:
    return _SEMVER.fullmatch(text) is not None


def _check_interface_name(name: str, pos) -> None:
    path, at, version = name.partition("@")
    if at and _SEMVER.fullmatch(version) is None:
        raise WasmError(f"`{version}` is not a valid semver in `{name}`", pos)
    namespace, _, rest = path.partition(":")
    parts = [namespace, *rest.split("/")]
    if len(parts) < 3 or not all(is_kebab(p) for p in parts):
        raise WasmError(f"`{name}` is not a valid interface name "
                        "(`namespace:package/interface@version`)", pos)
