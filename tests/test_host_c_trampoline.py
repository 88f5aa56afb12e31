"""The C host glue's trampolines (issue 13): a view model made from the call plan, one
piece per slot kind, laid out by `templates/host_c/trampoline.c.j2`, which a run's
template folder can replace or wrap like any other template."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES
from wit2witx import compile as w2w_compile
from wit2witx.compiler import Options, build_program
from wit2witx.emit import host_c
from wit2witx.p1.callplan import SlotKind

EXAMPLE = str(FIXTURES / "example" / "sensors.wit")


def _program(path: str):
    return build_program([path], Options(emit=("host-c",)))


def test_one_view_piece_per_slot_in_core_order():
    prog = _program(EXAMPLE)
    seen: set[SlotKind] = set()
    n = 0
    for unit, hu in zip(prog.units, host_c.build_units(prog)):
        for func, hf in zip(unit.module.functions, hu.functions):
            plan = prog.facts.call_plan(func, unit.document)
            assert [a.kind for a in hf.call.args] == [s.kind for s in plan.slots], func.name
            # each piece names the trampoline's raw arguments of its own core parameters
            raw = dict(zip((id(cp) for cp in plan.signature.params), hf.core_arg_names))
            for arg, slot in zip(hf.call.args, plan.slots):
                assert arg.arg == raw[id(slot.core[0])], func.name
            assert hf.call.room == plan.result.issues.room
            assert hf.call.journal == plan.result.rollback.journal
            seen.update(s.kind for s in plan.slots)
            n += 1
    assert n > 5
    assert {SlotKind.BUFFER, SlotKind.OUT, SlotKind.HANDLE, SlotKind.DROP, SlotKind.SPAN} <= seen


def test_the_prototypes_own_names_come_from_the_plans_slots():
    """`w2w_buf *buf` and `E *error_payload` are named after the plan's slots, and a
    prototype's parameter names stay distinct."""
    prog = _program(str(FIXTURES / "witx" / "extra.witx"))
    checked = 0
    for unit, hu in zip(prog.units, host_c.build_units(prog)):
        for func, hf in zip(unit.module.functions, hu.functions):
            plan = prog.facts.call_plan(func, unit.document)
            names = [p.name for p in hf.impl_params]
            assert len(names) == len(set(names)), func.name
            for slot, arg in zip(plan.slots, hf.call.args):
                if slot.kind in (SlotKind.BUFFER, SlotKind.ERROR_PAYLOAD):
                    assert arg.params[0].name == slot.name, func.name
                    checked += 1
    assert checked > 0


def test_an_override_can_wrap_the_builtin_trampoline(tmp_path):
    overrides = tmp_path / "tpl" / "host_c"
    overrides.mkdir(parents=True)
    (overrides / "trampoline.c.j2").write_text(
        '{% import "builtin/host_c/trampoline.c.j2" as builtin %}\n'
        "{% macro trampoline(f) %}\n"
        "    /* traced: {{ f.impl }} */\n"
        "{{ builtin.trampoline(f) }}"
        "{% endmacro %}\n", encoding="utf-8")
    emit = ["host-c", "host-wasm3", "host-wamr"]
    plain = w2w_compile(EXAMPLE, emit=emit)
    custom = w2w_compile(EXAMPLE, emit=emit, templates=[tmp_path / "tpl"])
    assert list(plain) == list(custom)
    changed = sorted(p for p in plain if plain[p] != custom[p])
    assert changed and all(p.endswith("_host_inline.h") for p in changed)
    for path in changed:
        marks = [line for line in custom[path].splitlines() if "/* traced: " in line]
        assert marks and all(line.startswith("    /* traced: ") for line in marks)
        # without the marks, the built-in's text byte for byte
        assert "".join(line for line in custom[path].splitlines(True) if line not in
                       {m + "\n" for m in marks}) == plain[path]


def test_trampolines_are_one_template_file():
    root = Path(__file__).resolve().parent.parent
    inline = (root / "templates" / "host_c" / "host_inline.h.j2").read_text(encoding="utf-8")
    assert 'import trampoline' in inline and "body_text" not in inline
    source = (root / "wit2witx" / "emit" / "host_c.py").read_text(encoding="utf-8")
    # the trampolines' C text moved out of the back end
    for statement in ("w2w_handles_begin(", "w2w_call_mem_set(", "w2w_handles_take("):
        assert statement not in source, statement
