"""The file names a run will write, checked before any back end runs.

Every back end names its files after the P1 module (`Unit.name`): `<m>.witx`, `<m>.h`,
`<m>_host.h`, ... Two units can therefore ask for the same file (interfaces `sensor`
and `sensor-host`: the guest header of one is the host header of the other), or a unit
can ask for a file every host run shares (module `w2w` and `w2w_host.h`); a back end's
dict would then keep one file silently, or two back ends would collide. Renaming a file
here is not possible (the files include each other by these names), so a clash is a
diagnostic that says which module to rename. Module names must also be C identifiers:
they are file stems, `#include` names, include guards and C prefixes.
"""

from __future__ import annotations


from .diagnostics import Diagnostic, InputError, UsageError, error
from .p1.names import is_identifier
from .records import record

#: per back end: (file name pattern, what the file is) for every unit; `{}` = module name.
#: Must follow the `emit_files` functions of `wit2witx/emit/` (tests/test_output.py checks
#: that every file a run makes is forecast here).
UNIT_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "witx": (("{}.witx", "WITX"),),
    "c": (("{}.h", "guest header"),),
    "host-c": (("{}_host.h", "host header"), ("{}_host_inline.h", "inline host glue"),
               ("{}_host.c", "host glue")),
    "host-wasm3": (("{}_wasm3.h", "wasm3 binding header"), ("{}_wasm3.c", "wasm3 binding")),
    "host-wamr": (("{}_wamr.h", "WAMR binding header"), ("{}_wamr.c", "WAMR binding")),
    "host-py": (("{}_host.py", "Python host glue"),),
    "docs": (("{}.md", "docs"),),
    "json": (("{}.p1.json", "P1 model JSON"),),
}
#: files a back end writes once per run, whatever the units. (c-p2 names its two files
#: after the world, `<world>.h`/`.c`: not forecast here; `duplicate_file` reports a clash
#: with another back end's file after the fact, still as a diagnostic.)
SHARED_FILES: dict[str, tuple[str, ...]] = {
    "host-c": ("w2w_host.h",),
    "json": ("resolve.json",),
}


@record(slots=True, eq=False)
class _Claim:
    what: str  # "the guest header of `ex:pkg/sensor-host` (module `ex_pkg_sensor_host`)"
    unit: object | None  # None: a shared file


def check_units(units, emit, module_names=None) -> None:
    """Module names are C identifiers and no two files of the run share a name.

    A module name the user chose (`--module-name`) that causes the problem is a usage
    error; otherwise the input is at fault (a diagnostic at the module or interface).
    """
    chosen = set((module_names or {}).values())
    for unit in units:
        if not is_identifier(unit.name):
            _fail(unit, chosen, error(
                f"module name `{unit.name}` (from `{unit.origin}`) is not a C identifier",
                _span(unit),
                "module names are file names, include guards and C prefixes: they must "
                "match [A-Za-z_][A-Za-z0-9_]*"))
    claims: dict[str, tuple[str, _Claim]] = {}
    for backend in emit:
        for name in SHARED_FILES.get(backend, ()):
            claims.setdefault(name.casefold(), (name, _Claim(f"wit2witx's shared `{name}`", None)))
    for unit in units:
        for backend in emit:
            for pattern, kind in UNIT_FILES.get(backend, ()):
                name = pattern.format(unit.name)
                claim = _Claim(f"the {kind} of `{unit.origin}` (module `{unit.name}`)", unit)
                earlier = claims.setdefault(name.casefold(), (name, claim))
                if earlier[1] is not claim:  # one unit's own patterns never coincide
                    _clash(name, earlier, claim, chosen)


def _clash(name: str, earlier: tuple[str, _Claim], claim: _Claim, chosen: set[str]) -> None:
    other_name, other = earlier
    same = "" if other_name == name else f" (`{other_name}` on a case-insensitive file system)"
    message = f"{claim.what} and {other.what} would both be the file `{name}`{same}"
    culprit = other.unit if other.unit is not None and other.unit.name in chosen else claim.unit
    _fail(culprit, chosen, error(
        message, _span(claim.unit) or (other.unit and _span(other.unit)),
        "rename one of the modules with --module-name (the `module_names` option)"))


def _fail(unit, chosen: set[str], diagnostic: Diagnostic) -> None:
    if unit is not None and unit.name in chosen:
        raise UsageError(diagnostic.message + "; " + "; ".join(diagnostic.notes))
    raise InputError(diagnostic)


def _span(unit):
    module = getattr(unit, "module", None)
    return getattr(module, "span", None)


def duplicate_file(path: str, backend: str, first: str) -> InputError:
    """Two back ends returned the same file although `check_units` saw no clash."""
    return InputError(error(
        f"the `{backend}` and `{first}` back ends would both write `{path}`",
        None, "rename the module it belongs to with --module-name"))
