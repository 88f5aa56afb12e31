"""The backport: lower a resolved WIT package (`ir.Resolve`) to P1 units.

One unit (a WITX module plus its typenames) per WIT interface, and one per world that
has functions or types of its own. The rules are the backport ABI of `docs/abi.md`:

- a module per interface, `<ns>_<pkg>_<iface>` in snake_case (overridable);
- WIT types become the witx type of the same shape; a resource is a `(handle)`;
- a `string`/`list<T>` parameter is a `const_pointer` + `usize` length;
- every function returns `(expected T' (error S))`: S is a status enum (0 = success),
  the ok value goes through out-pointers, an error with payloads through a last
  `error_payload` out-pointer, and strings/lists in the results land in a caller
  buffer (`buf`, `buf_len`, `buf_used`) — the host never allocates in the guest;
- a world's exports (its own exported functions; with a selected world, its exported
  interfaces too) are functions the guest implements: `Module.exports`, each a core
  export of the guest with a flat signature (scalar, enum, flags and handle parameters;
  a status, or one scalar, flags or handle value returned directly), since the host
  has no memory in the guest to pass more.

Stages, each a method of `_Lowering` so the state they share stays in one place:
select the units → find what cannot be backported (WASI 0.3) → decide every
typename once for the whole input → build typenames → build functions → assemble
each unit's document (used units first, the way a WITX reader would see it).
"""

from __future__ import annotations

import functools
import heapq
import sys
from dataclasses import field
from typing import Callable, Iterator, Mapping

from .. import ir
from ..diagnostics import (
    Diagnostic, ResolveError, Span, UnsupportedError, UsageError, error, warning,
)
from ..records import record
from . import model as m
from .names import (
    BUF_PARAMS, CLASH_SUFFIX, ERROR_PAYLOAD_PARAM, GENERIC_ERROR, MEMORY_IMPORT, RESULT_NAME, SELF_PARAM,
    SUCCESS, VALUE_RESULT_NAME, drop_function_name, flags_repr_name, glue_status_names, glue_status_positions,
    is_identifier, module_name, resource_function_name, snake, tag_repr_name, yield_name,
)
from .unit import Unit

#: How many spellings a typename can fall back to when it collides: plain, then
#: qualified by its interface, then by its module.
_NAME_LEVELS = 3


@record(slots=True)
class Lowered:
    units: list[Unit]
    warnings: list[Diagnostic]
    origin: str  # the main packages' qualified names, joined by ", "
    #: origins of the interfaces/worlds whose every function was left out
    emptied: list[str] = field(default_factory=list)

    @property
    def documents(self) -> list[m.Document]:
        return [u.document for u in self.units]


def lower(
    resolve: ir.Resolve,
    *,
    world: str | None = None,
    module_names: Mapping[str, str] | None = None,
    skip_unsupported: bool = False,
) -> Lowered:
    """Lower the main packages of `resolve` (or one world of them) to P1 units.

    Nothing made here is left in a reference cycle (a recursive closure would be one),
    so the P1 model is freed by reference counting as soon as the caller drops it,
    without work for the cyclic garbage collector.
    """
    return _Lowering(resolve, dict(module_names or {}), skip_unsupported).run(world)


def check_options(
    resolve: ir.Resolve,
    *,
    world: str | None = None,
    module_names: Mapping[str, str] | None = None,
) -> str:
    """Check the lowering's options without lowering; return the input's origin.

    For runs whose back ends read only the resolved WIT (JSON): they need no backport,
    so nothing in the packages can be refused, but a misspelt `--world` or module
    name is still the same usage error as in a run that lowers.
    """
    lowering = _Lowering(resolve, dict(module_names or {}), False)
    lowering._check_module_names()
    if world is not None:
        lowering._find_world(world)
    return lowering.origin()


def find_world(resolve: ir.Resolve, world: str) -> int:
    """The id of the world `--world` names (`name` or `ns:pkg/name[@v]`), as `lower`
    finds it; the same diagnostics when it does not exist or is ambiguous."""
    return _Lowering(resolve, {}, False)._find_world(world)


# --- plans: what each unit is lowered from ---------------------------------------------


@record(slots=True, eq=False, repr=False)  # internal: never compared or shown
class _Plan:
    """One future unit: an interface or a world's own items."""

    name: str
    kind: str  # "interface" | "world"
    id: int
    owner_snake: str  # the interface/world name, for qualified typenames
    origin: str
    version: str | None
    docs: str | None
    span: Span | None
    types: list[int] = field(default_factory=list)  # own named (non-`use`) types
    use_aliases: list[int] = field(default_factory=list)
    functions: list[ir.Function] = field(default_factory=list)
    #: ids of the `functions` the guest implements (world exports)
    exported: set[int] = field(default_factory=set)
    uses: list[str] = field(default_factory=list)
    needs_status: bool = False
    # ok values witx wants named (see `_unnamed_results`): (function, member) -> WIT type
    result_types: dict[tuple[str, int | None], ir.TypeRef] = field(default_factory=dict)


@record(slots=True, eq=False, repr=False)  # internal: never compared or shown
class _Problem:
    """Why an item cannot be backported; `direct` when the item itself is the cause."""

    reason: str
    direct: bool


@record(slots=True, eq=False, repr=False)  # internal: never compared or shown
class _ResultShape:
    """How a WIT function result maps onto `(expected T' (error S))`."""

    ok: ir.TypeRef | None
    err: ir.TypeRef | None
    status_of: int | None  # the error enum/variant whose `$<e>_status` is S, else None
    has_payload: bool


_WASI3_REASON = "{what} is a WASI 0.3 construct the P1 backport cannot express"


class _Lowering:
    def __init__(self, resolve: ir.Resolve, module_names: dict[str, str], skip: bool) -> None:
        self.r = resolve
        self.module_names = module_names
        self.skip = skip
        self.plans: dict[str, _Plan] = {}
        self.plan_of_interface: dict[int, _Plan] = {}
        self.plan_of_world: dict[int, _Plan] = {}
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self._type_problems: dict[int, _Problem | None] = {}
        self.left_out_types: set[int] = set()
        self.status_types: dict[int, None] = {}  # error types that get `$<e>_status`
        self.typenames: dict[int, m.TypeName] = {}
        self.module_status: dict[str, m.TypeName] = {}
        self.error_status: dict[int, m.TypeName] = {}
        self.result_typenames: dict[tuple[str, str, int | None], m.TypeName] = {}
        # the same, by (unit, function) and by unit: looked up once per function/unit
        self.results_of_function: dict[tuple[str, str], dict[int | None, m.TypeName]] = {}
        self.results_of_unit: dict[str, list[m.TypeName]] = {}
        self.used_module_names: set[str] = set()
        self.refs: dict[int, m.Ref] = {}  # id(TypeName) -> the shared `Ref` to it
        self.emptied: list[str] = []  # units that --skip-unsupported left without functions
        # id(WIT function) -> its P1 name, decided per module (`_name_functions`)
        self.p1_names: dict[int, str] = {}
        # interfaces a world exports (with `--world`, and inline ones): the guest's
        self.exported_interfaces: set[int] = set()

    # -- driver --------------------------------------------------------------------------

    def run(self, world: str | None) -> Lowered:
        self._check_module_names()
        self._select(world)
        order = self._unit_order()
        self._find_problems(order)
        if self.errors:
            raise UnsupportedError(self.errors)
        self._create_typenames(order)
        owns = {name: self._own_definitions(self.plans[name]) for name in order}
        units = [self._unit(self.plans[name], owns) for name in order]
        self._warn_unused_module_names()
        return Lowered(units, self.warnings, self.origin(), self.emptied)

    def origin(self) -> str:
        """The main packages' qualified names: the header line's "from ..."."""
        return ", ".join(str(self.r.packages[p].name) for p in self.r.main_packages)

    # -- selection -----------------------------------------------------------------------

    def _check_module_names(self) -> None:
        for key, value in sorted(self.module_names.items()):
            if not is_identifier(value):
                raise UsageError(
                    f"module name `{value}` given for `{key}` is not an identifier "
                    "(module names must match [A-Za-z_][A-Za-z0-9_]*)")

    def _select(self, world: str | None) -> None:
        """Create a plan for every unit, dependencies included."""
        if world is None:
            for pid in self.r.main_packages:
                pkg = self.r.packages[pid]
                for iface_id in pkg.interfaces.values():
                    self._plan_interface(iface_id)
                for world_id in pkg.worlds.values():
                    self._plan_world_items(world_id, named_interfaces=False)
        else:
            self._plan_world_items(self._find_world(world), named_interfaces=True)

    def _find_world(self, spec: str) -> int:
        if "/" in spec:
            pkg_part, _, rest = spec.partition("/")
            wname, _, version = rest.partition("@")
            ns, _, pname = pkg_part.partition(":")
            for pkg in self.r.packages:
                if (pkg.name.namespace, pkg.name.name) == (ns, pname) and \
                        (not version or pkg.name.version == version) and wname in pkg.worlds:
                    return pkg.worlds[wname]
        else:
            found = [self.r.packages[p].worlds[spec] for p in self.r.main_packages
                     if spec in self.r.packages[p].worlds]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise ResolveError(error(
                    f"world `{spec}` is ambiguous: several input packages define it",
                    self._main_span(), "name it as `ns:pkg/world`"))
        known = [f"{self.r.packages[p].name.namespace}:{self.r.packages[p].name.name}/{w}"
                 for p in self.r.main_packages for w in self.r.packages[p].worlds]
        note = "the input defines: " + (", ".join(known) if known else "no worlds")
        raise ResolveError(error(f"world `{spec}` not found", self._main_span(), note))

    def _main_span(self) -> Span | None:
        for pid in self.r.main_packages:
            if self.r.packages[pid].span is not None:
                return self.r.packages[pid].span
        return None

    def _plan_world_items(self, world_id: int, named_interfaces: bool) -> None:
        """The world's own module if it has functions or types, and its interfaces:
        always those defined inline, the named ones only when `named_interfaces`.
        Exported ones are the guest's: their functions go to `Module.exports`."""
        world = self.r.worlds[world_id]
        planned = [(key, item) for key, item in world.exports.items()
                   if isinstance(item, ir.WorldInterface)
                   and (named_interfaces or self.r.interfaces[item.id].name is None)]
        # known before any plan is made: an interface another one `use`s may come first
        self.exported_interfaces.update(
            item.id for key, item in planned if not self._imported_too(world, key, item))
        functions: list[ir.Function] = []
        exported: set[int] = set()
        types: list[int] = []
        for items in (world.imports, world.exports):
            for key, item in items.items():
                if isinstance(item, ir.WorldInterface):
                    if named_interfaces or self.r.interfaces[item.id].name is None:
                        self._plan_interface(item.id, world_id=world_id, key=key)
                elif isinstance(item, ir.WorldFunction):
                    functions.append(item.function)
                    if items is world.exports:
                        exported.add(id(item.function))
                elif isinstance(item, ir.WorldType):
                    types.append(item.id)
        if not functions and not types:
            return
        if world_id in self.plan_of_world:
            return
        pkg = self.r.packages[world.package] if world.package is not None else None
        origin = pkg.name.qualify(world.name) if pkg else world.name
        plan = _Plan(
            name=self._unit_name(origin, pkg, world.name),
            kind="world", id=world_id, owner_snake=snake(world.name), origin=origin,
            version=pkg.name.version if pkg else None, docs=world.docs, span=world.span,
            functions=functions, exported=exported,
        )
        self.plan_of_world[world_id] = plan
        self._register(plan)
        self._split_types(plan, types)

    def _imported_too(self, world: ir.World, key: ir.WorldKey, item: ir.WorldInterface) -> bool:
        """Whether the world imports the interface it exports (a middleware's shape).

        The backport has one P1 module per interface, whose functions are either the
        host's or the guest's: it cannot be both. Refused (or, skipping, the export left
        out and the interface kept as an import)."""
        if key not in world.imports:
            return False
        pkg = self.r.packages[world.package] if world.package is not None else None
        origin = pkg.name.qualify(world.name) if pkg else world.name
        name = self.r.world_key_name(key)
        reason = ("the world imports it too, and its one P1 module cannot hold both the "
                  "host's functions and the guest's")
        if self.skip:
            self.warnings.append(warning(
                f"left out export `{name}` of world `{origin}`: {reason}", item.span or world.span))
        else:
            self.errors.append(error(
                f"export `{name}` of world `{origin}` cannot be backported to P1: {reason}",
                item.span or world.span,
                "pass skip_unsupported=True (--skip-unsupported) to keep only the import"))
        return True

    def _plan_interface(self, iface_id: int, world_id: int | None = None,
                        key: ir.WorldKey | None = None) -> _Plan:
        if iface_id in self.plan_of_interface:
            return self.plan_of_interface[iface_id]
        iface = self.r.interfaces[iface_id]
        pkg = self.r.packages[iface.package] if iface.package is not None else None
        if iface.name is not None:
            item = iface.name
            origin = pkg.name.qualify(iface.name) if pkg else iface.name
        else:
            # `import x: interface { ... }` inside a world: named after the world and key.
            wname = self.r.worlds[world_id].name if world_id is not None else "world"
            item = f"{wname}-{key}"
            origin = (pkg.name.qualify(wname) if pkg else wname) + f"#{key}"
        functions = list(iface.functions.values())
        plan = _Plan(
            name=self._unit_name(origin, pkg, item),
            kind="interface", id=iface_id, owner_snake=snake(item), origin=origin,
            version=pkg.name.version if pkg else None, docs=iface.docs, span=iface.span,
            functions=functions,
            exported={id(f) for f in functions} if iface_id in self.exported_interfaces else set(),
        )
        self.plan_of_interface[iface_id] = plan
        self._register(plan)
        self._split_types(plan, list(iface.types.values()))
        return plan

    def _unit_name(self, origin: str, pkg: ir.Package | None, item: str) -> str:
        unversioned = origin.split("@", 1)[0]
        for key in (origin, unversioned):
            if key in self.module_names:
                self.used_module_names.add(key)
                return self.module_names[key]
        if pkg is None:
            return snake(item)
        return module_name(pkg.name.namespace, pkg.name.name, item)

    def _register(self, plan: _Plan) -> None:
        # Kept in creation order; the final order is decided by `_unit_order`.
        self.plans.setdefault(plan.name, plan)
        if self.plans[plan.name] is not plan:
            other = self.plans[plan.name]
            raise UnsupportedError(error(
                f"`{plan.origin}` and `{other.origin}` would both be the P1 module "
                f"`{plan.name}`", plan.span or other.span,
                "rename one with the module_names option (--module-name)"))

    def _split_types(self, plan: _Plan, type_ids: list[int]) -> None:
        """Own types vs `use`d ones; every interface a `use` names becomes a dependency."""
        for tid in type_ids:
            source = self._use_source(tid)
            if source is None:
                plan.types.append(tid)
                continue
            plan.use_aliases.append(tid)
            dep = self._plan_interface(source)
            if dep.name not in plan.uses and dep is not plan:
                plan.uses.append(dep.name)

    def _use_source(self, tid: int) -> int | None:
        """The interface a `use`d type comes from, or None for a type defined here."""
        td = self.r.types[tid]
        kind = td.kind
        if not isinstance(kind, ir.Alias) or not isinstance(kind.target, int):
            return None
        target = self.r.types[kind.target]
        if target.name is None or target.owner is None or target.owner == td.owner:
            return None
        if target.owner.kind != "interface":
            return None
        return target.owner.id

    def _canonical(self, tid: int) -> int:
        """Follow `use` aliases (not local `type a = b`) to the type that gets a typename."""
        while self._use_source(tid) is not None:
            tid = self.r.types[tid].kind.target  # type: ignore[union-attr]
        return tid

    def _unit_order(self) -> list[str]:
        """Dependencies first, then by name (Kahn's algorithm with a name-ordered heap)."""
        waiting = {name: len(set(plan.uses)) for name, plan in self.plans.items()}
        users: dict[str, list[str]] = {name: [] for name in self.plans}
        for name, plan in self.plans.items():
            for dep in dict.fromkeys(plan.uses):
                users[dep].append(name)
        ready = [name for name, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            for user in users[name]:
                waiting[user] -= 1
                if waiting[user] == 0:
                    heapq.heappush(ready, user)
        if len(order) != len(self.plans):
            # WIT forbids cycles between interfaces; the resolver reports them first.
            raise AssertionError("cycle between interfaces")
        return order

    # -- what cannot be backported -------------------------------------------------------

    def _find_problems(self, order: list[str]) -> None:
        """Leave out (or report) what has no P1 form; note the status enums needed."""
        self._refuse_exported_resources()
        for plan in (self.plans[name] for name in order):
            for tid in plan.types:
                problem = self._type_problem(tid)
                if problem is not None:
                    self.left_out_types.add(tid)
                    self._report(problem, plan, "type", self.r.types[tid].name or "",
                                 self.r.types[tid].span)
            for tid in plan.use_aliases:
                if self._type_problem(tid) is not None:
                    self.left_out_types.add(tid)
            had_functions = len(plan.functions)
            kept = []
            for func in plan.functions:
                problem = self._function_problem(func, plan)
                if problem is None and id(func) in plan.exported:
                    problem = self._export_problem(func)
                if problem is None:
                    kept.append(func)
                else:
                    self._report(problem, plan, "function", _display_name(func), func.span)
            plan.functions = kept
            self._name_functions(plan)
            if had_functions and not plan.functions and self.skip:
                self._warn_emptied(plan, had_functions)
            self._note_generated_types(plan)

    def _warn_emptied(self, plan: _Plan, had_functions: int) -> None:
        """Said loudly: a module without any of its functions is most likely not what
        the user wanted from the backport, though each left-out item was warned of."""
        self.emptied.append(plan.origin)
        what = "interface" if plan.kind == "interface" else "world"
        self.warnings.append(warning(
            f"{what} `{plan.origin}` has no function left in its P1 module "
            f"`{plan.name}`: " + ("its only function was left out" if had_functions == 1
                                  else f"all {had_functions} were left out"),
            plan.span))

    def _report(self, problem: _Problem, plan: _Plan, what: str, name: str,
                span: Span | None) -> None:
        where = span or plan.span
        if self.skip:
            self.warnings.append(warning(
                f"left out {what} `{name}` of `{plan.origin}`: {problem.reason}", where))
        elif problem.direct:
            self.errors.append(error(
                f"{what} `{name}` of `{plan.origin}` cannot be backported to P1: "
                f"{problem.reason}", where,
                "pass skip_unsupported=True (--skip-unsupported) to leave it out"))

    def _type_problem(self, ref: ir.TypeRef) -> _Problem | None:
        if isinstance(ref, str):
            if ref == "error-context":
                return _Problem(_WASI3_REASON.format(what="`error-context`"), True)
            return None
        if ref in self._type_problems:
            return self._type_problems[ref]
        self._type_problems[ref] = None  # WIT types are acyclic; this only guards
        kind = self.r.types[ref].kind
        problem: _Problem | None = None
        if isinstance(kind, ir.Future):
            problem = _Problem(_WASI3_REASON.format(what="`future`"), True)
        elif isinstance(kind, ir.Stream):
            problem = _Problem(_WASI3_REASON.format(what="`stream`"), True)
        elif isinstance(kind, ir.Flags) and flags_repr_name(len(kind.flags)) is None:
            problem = _Problem(
                f"it has {len(kind.flags)} flags; P1 flags hold at most 64", True)
        else:
            problem = self._first_component_problem(_components(kind))
        self._type_problems[ref] = problem
        return problem

    def _first_component_problem(self, refs: Iterator[ir.TypeRef]) -> _Problem | None:
        for ref in refs:
            problem = self._type_problem(ref)
            if problem is None:
                continue
            if isinstance(ref, int) and self.r.types[ref].name is not None:
                return _Problem(f"it uses `{self.r.types[ref].name}`, which is left out", False)
            return problem
        return None

    def _function_problem(self, func: ir.Function, plan: _Plan) -> _Problem | None:
        if func.is_async:
            return _Problem(_WASI3_REASON.format(what="`async func`"), True)
        refs = [p.type for p in func.params]
        if func.result is not None:
            refs.append(func.result)
        problem = self._first_component_problem(iter(refs))
        if problem is not None:
            return problem
        return self._status_clash(func)

    def _refuse_exported_resources(self) -> None:
        """A resource an exported interface defines would be the guest's: its handles
        would index a table in the guest, which P1 glue cannot reach. Known as a
        problem of the type before any other type asks, so what uses it is left out
        with it."""
        for plan in self.plans.values():
            if plan.kind != "interface" or plan.id not in self.exported_interfaces:
                continue
            for tid in plan.types:
                if isinstance(self.r.types[tid].kind, ir.Resource):
                    self._type_problems[tid] = _Problem(
                        "it is a resource of an exported interface, which the guest would "
                        "implement; the backport has guest exports of functions only", True)

    def _export_problem(self, func: ir.Function) -> _Problem | None:
        """Why a function the guest implements has no flat core signature, or None.

        The host calls a guest export with core values only (it has no memory in the
        guest to pass strings, lists or compound values in, nor to receive an ok value
        through an out-pointer), so a guest export takes scalars, enums, flags and
        handles and returns nothing, a status (`result<_, E>`, E an enum or without
        payloads), or one scalar, flags or handle value."""
        if func.resource is not None:
            return _Problem("it belongs to a resource of an exported interface; the "
                            "backport has guest exports of functions only", True)
        for param in func.params:
            if not self._is_flat_export_value(param.type, result=False):
                return _Problem(
                    f"its parameter `{param.name}` is not a scalar, enum, flags or handle: an "
                    "exported function takes only those for now (no strings, lists or "
                    "compound values: the host has no memory in the guest to pass them in)",
                    True)
        if func.result is None or self._is_flat_export_value(func.result, result=True):
            return None
        shape = self._result_shape(func)
        if shape.ok is None and not shape.has_payload:
            return None
        return _Problem(
            "an exported function returns nothing, a status (`result<_, E>` with E an enum "
            "or no E) or one scalar, flags or handle value for now (no strings, lists, "
            "compound values, enums or bools: the host has no memory in the guest to "
            "receive them, and witx has no enum results)", True)

    def _is_flat_export_value(self, ref: ir.TypeRef, result: bool) -> bool:
        """A value a guest export passes as one core value: a number, char, flags or
        handle, and as a parameter also an enum or bool (witx returns neither)."""
        target = self.r.resolve_alias(ref)
        if isinstance(target, str):
            return target != "string" and (not result or target != "bool")
        kind = self.r.types[target].kind
        if isinstance(kind, ir.Enum):
            return not result
        return isinstance(kind, (ir.Flags, ir.Handle))

    def _returns_value(self, plan: _Plan, func: ir.Function) -> bool:
        """A guest export whose one value is returned as itself (no status)."""
        return (id(func) in plan.exported and func.result is not None
                and self._is_flat_export_value(func.result, result=True))

    def _param_names(self, func: ir.Function, results: tuple[str, ...] = ()) -> list[str]:
        """The P1 name of each WIT parameter (a method's `self` included).

        The backport's own parameters (`buf`, `buf_len`, `buf_used`, `error_payload`),
        the result `error` and the `self` of methods and drops keep their names in every
        function, whether it has them or not, so that a reader of the WITX (the call
        plan, any witx tool) knows them by name (a free function `r-drop(self: r)` must
        not read as a drop); a WIT parameter so named, or meeting an earlier parameter's
        `<x>_len`, takes a trailing `_` (`buf` → `buf_`). Core wasm passes arguments by
        position, so no caller sees the change."""
        params = func.params
        taken: set[str] = {*BUF_PARAMS, ERROR_PAYLOAD_PARAM, RESULT_NAME, SELF_PARAM, *results}
        names: list[str] = []
        if func.kind in ("method", "async-method") and params:
            names.append(SELF_PARAM)  # the first WIT param is `self` already
            params = params[1:]
        for param in params:
            name = snake(param.name)
            if isinstance(m.resolve(self._lower_ref(param.type)), (m.String, m.List)):
                while name in taken or f"{name}_len" in taken:
                    name += CLASH_SUFFIX
                taken.add(f"{name}_len")
            else:
                name = yield_name(name, taken)
            taken.add(name)
            names.append(name)
        return names

    def _status_clash(self, func: ir.Function) -> _Problem | None:
        """A `success` case of E that cannot be the status's 0.

        (A case named like a glue status is no clash: the glue status gives way, see
        `names.glue_status_names`.)"""
        shape = self._result_shape(func)
        if shape.status_of is None:
            return None
        err = self.r.types[shape.status_of]
        if _errno_style(err.kind):
            return None
        for case in _cases(err.kind):
            if snake(case.name) == SUCCESS:
                return _Problem(
                    f"its error type `{err.name}` has a case `{case.name}`, which is "
                    f"the status enum's 0; only as case 0 without a payload of an "
                    "error without payloads (P1's errno style) is it the status itself",
                    True)
        return None

    def _name_functions(self, plan: _Plan) -> None:
        """Every function's P1 name in its module, distinct from every other's.

        The names the backport gives itself keep them: the `memory` import (witx
        readers keep imports and functions in one namespace) and each resource's
        `<r>_drop` (recognised by that name). A WIT function whose P1 name meets one of
        them, or an earlier function's (a function `r-m` and a method `[method]r.m`),
        takes a trailing `_`, in definition order: decided by the module alone."""
        taken: set[str] = {drop_function_name(self.r.types[t].name or "")
                           for t in plan.types if self._is_kept_resource(t)}
        taken.add(MEMORY_IMPORT)
        for func in plan.functions:
            name = yield_name(self._base_function_name(func), taken)
            taken.add(name)
            self.p1_names[id(func)] = name

    def _is_kept_resource(self, tid: int) -> bool:
        return isinstance(self.r.types[tid].kind, ir.Resource) and tid not in self.left_out_types

    def _note_generated_types(self, plan: _Plan) -> None:
        """Which status enums exist (a module's `$status`, an error type's
        `$<e>_status`) and which ok values need a typename of their own."""
        if any(self._is_kept_resource(t) for t in plan.types):
            plan.needs_status = True
        for func in plan.functions:
            if self._returns_value(plan, func):
                continue  # no status, no out-pointer: nothing to generate
            shape = self._result_shape(func)
            if shape.status_of is None:
                plan.needs_status = True
            else:
                self.status_types[shape.status_of] = None
            for member, ref in self._unnamed_results(shape):
                plan.result_types[(func.name, member)] = ref

    def _unnamed_results(self, shape: _ResultShape) -> list[tuple[int | None, ir.TypeRef]]:
        """The parts of an ok value that need a generated typename.

        witx only accepts named types as the ok value of a result (each member, when
        it is a tuple), because every one becomes an out-pointer the C binding must
        spell: `(expected $size (error $errno))`. So an anonymous or builtin ok type
        gets `$<function>_result`, an unnamed tuple member `$<function>_result_<i>`.
        """
        if shape.ok is None:
            return []
        members = self._tuple_members(shape.ok)
        if members is None:
            return [] if self._is_named(shape.ok) else [(None, shape.ok)]
        return [(i, ref) for i, ref in enumerate(members) if not self._is_named(ref)]

    def _tuple_members(self, ref: ir.TypeRef) -> list[ir.TypeRef] | None:
        """The members of a type P1 lays out as a tuple (a tuple or `list<T, N>`)."""
        target = self.r.resolve_alias(ref)
        if not isinstance(target, int):
            return None
        kind = self.r.types[target].kind
        if isinstance(kind, ir.Tuple):
            return list(kind.types)
        if isinstance(kind, ir.List) and kind.size is not None:
            return [kind.element] * kind.size
        return None

    def _is_named(self, ref: ir.TypeRef) -> bool:
        """Whether a WIT type becomes a `$name` reference in P1."""
        if not isinstance(ref, int):
            return False
        td = self.r.types[ref]
        # own<r> / borrow<r> are the resource's typename, wherever they are written.
        return (td.name is not None and td.owner is not None) or isinstance(td.kind, ir.Handle)

    # -- result shapes -------------------------------------------------------------------

    def _result_shape(self, func: ir.Function) -> _ResultShape:
        result = func.result
        if result is None:
            return _ResultShape(None, None, None, False)
        target = self.r.resolve_alias(result)
        if not (isinstance(target, int) and isinstance(self.r.types[target].kind, ir.Result)):
            return _ResultShape(result, None, None, False)
        kind = self.r.types[target].kind
        assert isinstance(kind, ir.Result)
        if kind.err is None:
            return _ResultShape(kind.ok, None, None, False)
        err = self.r.resolve_alias(kind.err)
        if isinstance(err, int):
            err_def = self.r.types[err]
            if err_def.name is not None and isinstance(err_def.kind, (ir.Enum, ir.Variant)):
                payload = isinstance(err_def.kind, ir.Variant) and any(
                    c.type is not None for c in err_def.kind.cases)
                return _ResultShape(kind.ok, kind.err, err, payload)
        return _ResultShape(kind.ok, kind.err, None, True)

    def _is_list_like(self, ref: ir.TypeRef) -> bool:
        """A `string` or (variable-length) `list<T>`, after aliases: pointer + length."""
        target = self.r.resolve_alias(ref)
        if target == "string":
            return True
        if isinstance(target, int):
            kind = self.r.types[target].kind
            return isinstance(kind, ir.List) and kind.size is None
        return False

    # -- typenames -----------------------------------------------------------------------

    def _create_typenames(self, order: list[str]) -> None:
        """Decide every typename (globally) and create the `TypeName` objects."""
        names = self._decide_names(order)
        for name in order:
            plan = self.plans[name]
            for tid in self._kept_types(plan):
                td = self.r.types[tid]
                self.typenames[tid] = m.TypeName(names[("t", tid)], m.Builtin("u8"),
                                                 _docs(td.docs))
                if tid in self.status_types:
                    self.error_status[tid] = m.TypeName(
                        names[("s", tid)], self._error_status_enum(tid),
                        _docs(_error_status_docs(td)))
            if plan.needs_status:
                self.module_status[name] = m.TypeName(
                    names[("m", name)], _generic_status_enum(),
                    _docs(f"Status of the functions of `{plan.name}` whose error has "
                          f"no enum of its own: `{SUCCESS}` (0), `{GENERIC_ERROR}`, then "
                          "the glue's own statuses."))
            for (func_name, member), ref in plan.result_types.items():
                tn = self.result_typenames[(name, func_name, member)] = m.TypeName(
                    names[("r", name, func_name, member)], m.Builtin("u8"))
                self.results_of_function.setdefault((name, func_name), {})[member] = tn
                self.results_of_unit.setdefault(name, []).append(tn)
        # Bodies last: they refer to typenames of any unit.
        for tid, typename in self.typenames.items():
            typename.type = self._lower_kind(self.r.types[tid].kind)
        for (name, func_name, member), typename in self.result_typenames.items():
            typename.type = self._lower_ref(self.plans[name].result_types[(func_name, member)])

    def _result_base_name(self, func: ir.Function, member: int | None) -> str:
        suffix = "" if member is None else f"_{member}"
        return f"{self._function_name(func)}_result{suffix}"

    def _kept_types(self, plan: _Plan) -> list[int]:
        return [t for t in plan.types if t not in self.left_out_types]

    def _decide_names(self, order: list[str]) -> dict[tuple, str]:
        """Typenames, qualified where two types could meet in one document.

        An item's spelling rises a level (`x` → `<iface>_x` → `<module>_x`) when it
        collides with another item in the closure of any unit; repeated until stable,
        so the choice is global and every document agrees on it.

        Rising cannot part two items of one unit at one level (a type `x-status` and
        the status `x_status` of a type `x`), nor items already at the last level: then
        one keeps the name (a user's type before a name the backport makes, then the
        first in unit order) and each other takes a trailing `_` (`x_status_`).
        """
        items: dict[str, list[tuple]] = {}
        candidates: dict[tuple, list[str]] = {}
        for name in order:
            plan = self.plans[name]
            own: list[tuple] = []
            for tid in self._kept_types(plan):
                base = snake(self.r.types[tid].name or "")
                candidates[("t", tid)] = [base, f"{plan.owner_snake}_{base}", f"{plan.name}_{base}"]
                own.append(("t", tid))
                if tid in self.status_types:
                    own.append(("s", tid))
            if plan.needs_status:
                candidates[("m", name)] = ["status", f"{plan.owner_snake}_status",
                                           f"{plan.name}_status"]
                own.append(("m", name))
            functions = _first_by_name(plan.functions) if plan.result_types else {}
            for func_name, member in plan.result_types:
                key = ("r", name, func_name, member)
                base = self._result_base_name(functions[func_name], member)
                candidates[key] = [base, f"{plan.owner_snake}_{base}", f"{plan.name}_{base}"]
                own.append(key)
            items[name] = own
        levels = {key: 0 for key in candidates}
        extra: dict[tuple, int] = {}  # trailing `_`s of an item that gave way
        owner = {item: unit for unit, own in items.items() for item in own}
        rank = {item: index for index, item in enumerate(owner)}

        def keeps_first(item: tuple) -> tuple:
            return (item[0] != "t", rank[item])

        def level_key(item: tuple) -> tuple:
            # An error status is spelled after its error type, so they rise together.
            return ("t", item[1]) if item[0] == "s" else item

        def spelled(item: tuple) -> str:
            key = level_key(item)
            text = candidates[key][levels[key]]
            text = f"{text}_status" if item[0] == "s" else text
            return text + CLASH_SUFFIX * extra.get(item, 0)

        closures = {name: self._closure(name) for name in order}
        while True:
            # Every collision of a round is found before any name changes, so both
            # sides of a clash are qualified, whatever the order of the units.
            rising: dict[tuple, None] = {}
            yielding: dict[tuple, None] = {}
            for name in order:
                groups: dict[str, list[tuple]] = {}
                for unit in closures[name]:
                    for item in items[unit]:
                        groups.setdefault(spelled(item), []).append(item)
                for group in groups.values():
                    if len(group) < 2:
                        continue
                    stuck = _stuck_in_clash(group, owner, lambda i: levels[level_key(i)],
                                            _NAME_LEVELS - 1, keeps_first)
                    yielding.update(dict.fromkeys(stuck))
                    movers = [item for item in group if item not in stuck]
                    if len(movers) > 1:
                        # one at the last level stays; the others rise to meet it there
                        rising.update(dict.fromkeys(
                            level_key(item) for item in movers
                            if levels[level_key(item)] + 1 < _NAME_LEVELS))
            if not rising and not yielding:
                break
            for key in rising:
                levels[key] += 1
            for item in yielding:
                extra[item] = extra.get(item, 0) + 1
        return {item: spelled(item) for own in items.values() for item in own}

    def _closure(self, name: str) -> list[str]:
        """The unit and every unit it uses, directly or not (each once)."""
        seen: dict[str, None] = {}
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen[current] = None
            stack.extend(reversed(self.plans[current].uses))
        return list(seen)

    def _error_status_enum(self, tid: int) -> m.Enum:
        """`success` (unless E's own case 0 is it), E's cases, then the glue statuses."""
        kind = self.r.types[tid].kind
        cases = [] if _errno_style(kind) else [m.EnumCase(SUCCESS, _docs("The call succeeded."))]
        for case in _cases(kind):
            cases.append(m.EnumCase(snake(case.name), _docs(case.docs)))
        cases.extend(_glue_cases({c.name for c in cases}))
        return m.Enum(m.IntRepr(tag_repr_name(len(cases))), cases)

    # -- types ---------------------------------------------------------------------------

    def _ref(self, tid: int) -> m.Ref:
        return self._ref_to(self.typenames[self._canonical(tid)])

    def _ref_to(self, typename: m.TypeName) -> m.Ref:
        """The one `Ref` to `typename`: model nodes are never changed once built, so
        every use shares it (a large input has millions of uses)."""
        ref = self.refs.get(id(typename))
        if ref is None:
            ref = self.refs[id(typename)] = m.Ref(typename.name, typename)
        return ref

    def _lower_ref(self, ref: ir.TypeRef) -> m.TypeRef:
        if isinstance(ref, str):
            return _lower_primitive(ref)
        td = self.r.types[ref]
        if td.name is not None and td.owner is not None:
            return self._ref(ref)
        return self._lower_kind(td.kind)

    def _lower_kind(self, kind: ir.TypeDefKind) -> m.TypeRef:
        lower = self._lower_ref
        if isinstance(kind, ir.Record):
            return m.Record([m.Field(snake(f.name), lower(f.type), _docs(f.docs))
                             for f in kind.fields])
        if isinstance(kind, ir.Variant):
            return m.Variant(m.IntRepr(tag_repr_name(len(kind.cases))), [
                m.Case(snake(c.name), None if c.type is None else lower(c.type), _docs(c.docs))
                for c in kind.cases])
        if isinstance(kind, ir.Enum):
            return m.Enum(m.IntRepr(tag_repr_name(len(kind.cases))),
                          [m.EnumCase(snake(c.name), _docs(c.docs)) for c in kind.cases])
        if isinstance(kind, ir.Flags):
            repr_name = flags_repr_name(len(kind.flags))
            assert repr_name is not None  # > 64 flags were left out as unsupported
            return m.Flags(m.IntRepr(repr_name),
                           [m.Flag(snake(c.name), _docs(c.docs)) for c in kind.flags])
        if isinstance(kind, ir.Resource):
            return m.Handle()
        if isinstance(kind, ir.Handle):
            return self._ref(kind.resource)
        if isinstance(kind, ir.Tuple):
            return m.Tuple([lower(t) for t in kind.types])
        if isinstance(kind, ir.Option):
            # What the WITX reader makes of `(variant (@witx tag u8) (case $none) (case $some T))`.
            return m.Variant(m.IntRepr.U8, [m.Case("none"), m.Case("some", lower(kind.inner))])
        if isinstance(kind, ir.Result):
            return m.Expected(None if kind.ok is None else lower(kind.ok),
                              None if kind.err is None else lower(kind.err))
        if isinstance(kind, ir.List):
            if kind.size is None:
                return m.List(lower(kind.element))
            return m.Tuple([lower(kind.element) for _ in range(kind.size)])
        if isinstance(kind, ir.Map):
            return m.List(m.Tuple([lower(kind.key), lower(kind.value)]))
        if isinstance(kind, ir.Alias):
            return lower(kind.target)
        raise AssertionError(f"no P1 form for {type(kind).__name__}")  # filtered earlier

    # -- functions -----------------------------------------------------------------------

    def _function_name(self, func: ir.Function) -> str:
        return self.p1_names[id(func)]

    def _base_function_name(self, func: ir.Function) -> str:
        """The P1 name a function has unless it clashes (see `_name_functions`)."""
        if func.resource is None:
            return snake(func.name)
        resource = self.r.types[func.resource].name or ""
        return resource_function_name(resource, func.kind, func.item_name)

    def _status_ref(self, plan: _Plan, shape: _ResultShape) -> m.Ref:
        typename = (self.module_status[plan.name] if shape.status_of is None
                    else self.error_status[shape.status_of])
        return self._ref_to(typename)

    def _lower_function(self, plan: _Plan, func: ir.Function) -> m.Function:
        lowered = self._lower_function_body(plan, func)
        if id(func) in plan.exported:
            self._mark_owned_params(func, lowered)
        return lowered

    def _mark_owned_params(self, func: ir.Function, lowered: m.Function) -> None:
        """`Param.own` for the `own<r>` parameters of a guest export: the guest owns
        those handles after the call (as wit-bindgen has an export's callee own them).
        An export's parameters are flat (`_export_problem`): one P1 parameter per WIT
        parameter, in order. Imports keep every handle borrowed (docs/abi.md)."""
        for param, p1 in zip(func.params, lowered.params, strict=True):
            target = self.r.resolve_alias(param.type)
            if isinstance(target, int):
                kind = self.r.types[target].kind
                p1.own = isinstance(kind, ir.Handle) and kind.kind == "own"

    def _lower_function_body(self, plan: _Plan, func: ir.Function) -> m.Function:
        if self._returns_value(plan, func):
            return self._lower_value_export(func)
        params: list[m.Param] = []
        for index, (param, name) in enumerate(zip(func.params, self._param_names(func))):
            if index == 0 and func.kind == "method" and func.resource is not None:
                params.append(m.Param(SELF_PARAM, self._ref(func.resource)))
                continue
            params.extend(self._lower_param(param, name))
        shape = self._result_shape(func)
        ok = self._lower_ok(plan, func, shape)
        payload = self._lower_ref(shape.err) if shape.has_payload and shape.err is not None else None
        status = self._status_ref(plan, shape)
        if _holds_list(ok) or _holds_list(payload):
            params.extend(_buffer_params(_too_small_name(status)))
        if payload is not None:
            params.append(m.Param(ERROR_PAYLOAD_PARAM, m.Pointer(payload), _docs(
                "Where the full error value is written when the call fails with it.")))
        result = m.Param(RESULT_NAME, m.Expected(ok, status))
        return m.Function(self._function_name(func), params, [result], docs=_docs(func.docs))

    def _lower_value_export(self, func: ir.Function) -> m.Function:
        """A guest export returning one scalar, flags or handle: `(result $result T)`,
        returned as itself (its parameters are flat: `_export_problem`)."""
        names = self._param_names(func, (VALUE_RESULT_NAME,))
        params = [m.Param(name, self._lower_ref(param.type))
                  for param, name in zip(func.params, names)]
        result = m.Param(VALUE_RESULT_NAME, self._lower_ref(func.result))  # type: ignore[arg-type]
        return m.Function(self._function_name(func), params, [result], docs=_docs(func.docs))

    def _lower_ok(self, plan: _Plan, func: ir.Function, shape: _ResultShape) -> m.TypeRef | None:
        """T' of `(expected T' ...)`, with the generated typenames `_unnamed_results` asked for."""
        if shape.ok is None:
            return None
        named = self.results_of_function.get((plan.name, func.name), {})
        if not named:
            return self._lower_ref(shape.ok)
        if None in named:
            return self._ref_to(named[None])
        members = self._tuple_members(shape.ok) or []
        return m.Tuple([self._ref_to(named[i]) if i in named else self._lower_ref(ref)
                        for i, ref in enumerate(members)])

    def _lower_param(self, param: ir.Param, name: str) -> list[m.Param]:
        """One WIT parameter: itself, or a string/list as its pointer + `_len`. A
        string's pointer is a `const_pointer u8` (the C type guests have always had)
        marked `utf8`, which is how the glue knows to check its bytes as text."""
        lowered = self._lower_ref(param.type)
        value = m.resolve(lowered)
        if isinstance(value, m.String):
            element: m.TypeRef = _BUILTIN["u8"]
        elif isinstance(value, m.List):
            element = value.element
        else:
            return [m.Param(name, lowered)]
        return [m.Param(name, m.ConstPointer(element), utf8=isinstance(value, m.String)),
                m.Param(f"{name}_len", _BUILTIN["usize"])]

    def _drop_function(self, plan: _Plan, tid: int) -> m.Function:
        resource = self.r.types[tid].name or ""
        status = self.module_status[plan.name]
        return m.Function(
            drop_function_name(resource),
            [m.Param(SELF_PARAM, self._ref(tid))],
            [m.Param(RESULT_NAME, m.Expected(None, self._ref_to(status)))],
            docs=_docs(f"Drop a `{resource}` handle: the host frees what it holds. "
                       "An invalid handle gives `bad_handle`."))

    def _module_functions(self, plan: _Plan) -> list[tuple[m.Function, ir.Function | None]]:
        """The WIT functions in order, each resource's drop after its last function;
        each with the WIT function it is made from (None for a drop)."""
        resources = [t for t in plan.types if self._is_kept_resource(t)]
        last_of: dict[int, int] = {}
        for index, func in enumerate(plan.functions):
            if func.resource is not None and func.resource in resources:
                last_of[func.resource] = index
        out: list[tuple[m.Function, ir.Function | None]] = []
        for index, func in enumerate(plan.functions):
            out.append((self._lower_function(plan, func), func))
            for tid in resources:
                if last_of.get(tid) == index:
                    out.append((self._drop_function(plan, tid), None))
        for tid in resources:
            if tid not in last_of:
                out.append((self._drop_function(plan, tid), None))
        return out

    # -- units ---------------------------------------------------------------------------

    def _own_definitions(self, plan: _Plan) -> list[m.Definition]:
        """Own typenames in dependency order (WITX has no forward references), then the module."""
        own: list[m.Definition] = []
        kept = self._kept_types(plan)
        mine = set(kept)
        done: set[int] = set()
        for tid in kept:
            self._add_own_type(tid, mine, done, own)
        if plan.name in self.module_status:
            own.append(self.module_status[plan.name])
        own.extend(self.results_of_unit.get(plan.name, ()))
        functions = self._module_functions(plan)
        exports = [f for f, wit in functions if wit is not None and id(wit) in plan.exported]
        imports = [f for f, wit in functions if wit is None or id(wit) not in plan.exported]
        own.append(m.Module(plan.name, [m.Import("memory")], imports, _docs(plan.docs),
                            span=plan.span, exports=exports))
        return own

    def _add_own_type(self, tid: int, mine: set[int], done: set[int],
                      own: list[m.Definition]) -> None:
        """`tid`'s typename (and status enum) into `own`, after the ones of `mine` it needs.

        A method, not a recursive closure: a closure that calls itself is a reference
        cycle (see `lower`)."""
        if tid in done:
            return
        done.add(tid)
        for dep in self._named_deps(self.r.types[tid].kind):
            if dep in mine:
                self._add_own_type(dep, mine, done, own)
        own.append(self.typenames[tid])
        if tid in self.error_status:
            own.append(self.error_status[tid])

    def _named_deps(self, kind: ir.TypeDefKind) -> Iterator[int]:
        """The named types a type refers to (through anonymous ones), as typename ids."""
        for ref in _components(kind):
            if not isinstance(ref, int):
                continue
            td = self.r.types[ref]
            if td.name is not None and td.owner is not None:
                yield self._canonical(ref)
            else:
                yield from self._named_deps(td.kind)

    def _unit(self, plan: _Plan, owns: dict[str, list[m.Definition]]) -> Unit:
        definitions: list[m.Definition] = []
        self._add_used(plan.name, owns, {plan.name}, definitions)
        definitions.extend(owns[plan.name])
        renamed = {func.name: self.p1_names[id(func)] for func in plan.functions
                   if self.p1_names[id(func)] != self._base_function_name(func)}
        return Unit(plan.name, m.Document(definitions), list(owns[plan.name]),
                    list(plan.uses), plan.origin, plan.version, renamed)

    def _add_used(self, name: str, owns: dict[str, list[m.Definition]], seen: set[str],
                  definitions: list[m.Definition]) -> None:
        """The definitions of the units `name` uses (depth first, each once), in order.

        A method, not a recursive closure: a closure that calls itself is a reference
        cycle (see `lower`)."""
        for dep in self.plans[name].uses:
            if dep in seen:
                continue
            seen.add(dep)
            self._add_used(dep, owns, seen, definitions)
            definitions.extend(owns[dep])

    def _warn_unused_module_names(self) -> None:
        for key in sorted(set(self.module_names) - self.used_module_names):
            self.warnings.append(warning(
                f"module name given for `{key}`, which is not an interface of the input"))


# --- small helpers ----------------------------------------------------------------------


def _stuck_in_clash(group: list[tuple], owner: dict[tuple, str], level: Callable[[tuple], int],
                    last_level: int, keeps_first: Callable[[tuple], tuple]) -> list[tuple]:
    """The items of a clashing group that rising cannot part: those of one unit at one
    level (their prefixes rise in step), or all of them once every one is at the last
    level. Each but the first by `keeps_first` gives way (returned)."""
    if all(level(item) >= last_level for item in group):
        return sorted(group, key=keeps_first)[1:]
    together: dict[tuple[str, int], list[tuple]] = {}
    for item in group:
        together.setdefault((owner[item], level(item)), []).append(item)
    stuck: list[tuple] = []
    for same in together.values():
        stuck.extend(sorted(same, key=keeps_first)[1:])
    return stuck


def _components(kind: ir.TypeDefKind) -> Iterator[ir.TypeRef]:
    """The type references directly inside a type definition."""
    if isinstance(kind, ir.Record):
        for f in kind.fields:
            yield f.type
    elif isinstance(kind, ir.Variant):
        for c in kind.cases:
            if c.type is not None:
                yield c.type
    elif isinstance(kind, ir.Tuple):
        yield from kind.types
    elif isinstance(kind, ir.Option):
        yield kind.inner
    elif isinstance(kind, ir.Result):
        if kind.ok is not None:
            yield kind.ok
        if kind.err is not None:
            yield kind.err
    elif isinstance(kind, ir.List):
        yield kind.element
    elif isinstance(kind, ir.Map):
        yield kind.key
        yield kind.value
    elif isinstance(kind, ir.Alias):
        yield kind.target
    elif isinstance(kind, ir.Handle):
        yield kind.resource
    elif isinstance(kind, (ir.Future, ir.Stream)):
        if kind.inner is not None:
            yield kind.inner


def _first_by_name(functions: list[ir.Function]) -> dict[str, ir.Function]:
    """Functions by name (a world's import and export may share one: the first wins),
    so that finding a function costs no scan of the list."""
    out: dict[str, ir.Function] = {}
    for func in functions:
        out.setdefault(func.name, func)
    return out


def _cases(kind: ir.TypeDefKind) -> list[ir.Case]:
    if isinstance(kind, (ir.Enum, ir.Variant)):
        return kind.cases
    return []


def _display_name(func: ir.Function) -> str:
    """`tcp-socket.start-connect` for `[method]tcp-socket.start-connect`."""
    if func.name.startswith("[constructor]"):
        return f"{func.name.split(']', 1)[1]}.constructor"
    return func.name.split("]", 1)[1] if func.name.startswith("[") else func.name


def _lower_primitive(name: str) -> m.TypeRef:
    if name == "bool":
        return m.Bool()
    if name == "string":
        return m.String()
    return _BUILTIN[name]


#: one `Builtin` per name, shared by every use (a leaf: nothing names or changes it)
_BUILTIN = {name: m.Builtin(name) for name in m.BUILTINS}


def _holds_list(tref: m.TypeRef | None) -> bool:
    """Whether a value of this type has a string or list anywhere inside."""
    if tref is None:
        return False
    ty = m.resolve(tref)
    if isinstance(ty, (m.String, m.List)):
        return True
    fields = m.canonical_fields(ty)
    if fields is not None:
        return any(_holds_list(f.type) for f in fields)
    cases = m.canonical_variant_cases(ty)
    if cases is not None:
        return any(_holds_list(c.type) for c in cases)
    return False


def _too_small_name(status: m.Ref) -> str:
    """The status's case for a too small caller buffer (renamed in a clash)."""
    cases = [case.name for case in status.target.type.cases]  # type: ignore[union-attr]
    return cases[glue_status_positions(cases)["buffer_too_small"]]  # type: ignore[index]


def _buffer_params(too_small: str) -> list[m.Param]:
    return list(_shared_buffer_params(too_small))


@functools.lru_cache(maxsize=64)
def _shared_buffer_params(too_small: str) -> tuple[m.Param, ...]:
    """The buffer parameters, the same objects in every function that has them (model
    nodes are never changed once built)."""
    return (
        m.Param(BUF_PARAMS[0], m.Pointer(_BUILTIN["u8"]),
                _docs("Caller buffer the host writes every string/list of the result into.")),
        m.Param(BUF_PARAMS[1], _BUILTIN["usize"], _docs("Size of `buf` in bytes.")),
        m.Param(BUF_PARAMS[2], m.Pointer(_BUILTIN["usize"]), _docs(
            f"Bytes of `buf` used; with `{too_small}`, the bytes needed.")),
    )


def _glue_cases(taken: set[str]) -> list[m.EnumCase]:
    """The glue statuses, last in a status enum whose other cases are `taken`."""
    names = glue_status_names(taken)
    return [
        m.EnumCase(names[0], _docs(
            "`buf` is too small: nothing was done, `buf_used` holds the size needed.")),
        m.EnumCase(names[1], _docs("A handle is not live or of the wrong type.")),
        m.EnumCase(names[2], _docs("A pointer or pointer+length is out of bounds or misaligned.")),
        m.EnumCase(names[3], _docs("An enum value, flag bit or variant tag is invalid, a char is no "
                                   "Unicode scalar value, or a string is not well-formed UTF-8.")),
    ]


def _generic_status_enum() -> m.Enum:
    cases = [m.EnumCase(SUCCESS, _docs("The call succeeded.")),
             m.EnumCase(GENERIC_ERROR, _docs("The call failed with its WIT error."))]
    cases.extend(_glue_cases({SUCCESS, GENERIC_ERROR}))
    return m.Enum(m.IntRepr.U8, cases)


def _errno_style(kind: ir.TypeDefKind) -> bool:
    """Whether an error type is its own status, as P1's `$errno` is: an enum (or a
    variant without payloads) whose case 0 is `success`."""
    cases = _cases(kind)
    return (bool(cases) and snake(cases[0].name) == SUCCESS
            and all(case.type is None for case in cases))


def _error_status_docs(td: ir.TypeDef) -> str:
    if _errno_style(td.kind):
        return (f"Status of functions that fail with `{td.name}`: the cases of "
                f"`{td.name}` (its case 0 is `{SUCCESS}`, as in P1's errno), "
                "then the glue's own statuses.")
    return (f"Status of functions that fail with `{td.name}`: `{SUCCESS}` (0), then a "
            f"case per case of `{td.name}`, then the glue's own statuses.")


def _docs(text: str | None) -> str:
    """WIT doc text → model docs: one line per line, common indentation removed,
    trailing blanks dropped, every line ending in a newline (what `;;;` reads back as)."""
    if not text:
        return ""
    if "\n" not in text:  # one line: most docs, and every generated one
        text = text.strip()
        # interned: the generated docs repeat in every function (freed with their last use)
        return sys.intern(text + "\n") if text else ""
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return ""
    indents = [len(line) - len(line.lstrip()) for line in lines if line]
    cut = min(indents) if indents else 0
    return "".join(line[cut:] + "\n" for line in lines)
