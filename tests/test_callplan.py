"""The call plan (`p1/callplan.py`): every slot kind and result shape, on the fixtures,
on WASI 0.2.12 functions and on the WITX corpus; a property over all of WASI 0.2.12
(the plan partitions the core signature); and agreement with the host C glue's view
model, so that switching the back ends to the plan changes nothing.

Expectations are derived from the inputs (their WIT/WITX structure, `p1.layout`,
`p1.names`), not copied from the plan's own output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_path
from wasi import wasi_package_with_deps
from wit2witx.compiler import Options, Program, build_program
from wit2witx.emit import host_c
from wit2witx.p1 import layout
from wit2witx.p1.abi import Role
from wit2witx.p1.callplan import (
    GLUE_CASE_NAMES, BufferSlot, ByRefSlot, CallPlan, DropSlot, EnumSlot, ErrorPayloadSlot,
    FlagsSlot, HandleSlot, Ownership, ResultKind, ScalarSlot, SlotKind,
    SpanSlot, drop_of, plan_call,
)
from wit2witx.p1.facts import Facts
from wit2witx.p1.model import Builtin, Function, Handle, Ref, TypeName, resolve
from wit2witx.p1.names import BUF_PARAMS, ERROR_PAYLOAD_PARAM, GLUE_STATUSES, SELF_PARAM, SUCCESS

P2_PACKAGES = ("cli", "clocks", "filesystem", "http", "io", "random", "sockets")
WITX_FIXTURES = sorted((FIXTURES / "witx").glob("*.witx"))
CORPUS_WITX = ("preview0/wasi_unstable.witx", "preview1/wasi_snapshot_preview1.witx",
               "ephemeral")


# --------------------------------------------------------------------------- helpers


def program(*paths: Path, **options) -> Program:
    return build_program([str(p) for p in paths], Options(**options))


def plans(prog: Program) -> dict[str, CallPlan]:
    """`<module>.<function>` → its plan, through the run's shared `Facts`."""
    out = {}
    for unit in prog.units:
        if unit.module is None:
            continue
        for func in unit.module.functions:
            out[f"{unit.module.name}.{func.name}"] = prog.facts.call_plan(func, unit.document)
    return out


def slot(plan: CallPlan, name: str):
    hits = [s for s in plan.slots if s.name == name]
    assert len(hits) == 1, (name, [s.name for s in plan.slots])
    return hits[0]


def kinds(plan: CallPlan) -> list[SlotKind]:
    return [s.kind for s in plan.slots]


def typename(prog: Program, name: str) -> TypeName:
    for unit in prog.units:
        tn = unit.document.typename(name)
        if tn is not None:
            return tn
    raise KeyError(name)


def size_of(tref) -> int:
    return layout.size_align(tref).size


@pytest.fixture(scope="module")
def example() -> Program:
    return program(FIXTURES / "example")


@pytest.fixture(scope="module")
def pool() -> Program:
    return program(FIXTURES / "pool")


@pytest.fixture(scope="module")
def extra() -> Program:
    return program(FIXTURES / "witx" / "extra.witx")


@pytest.fixture(scope="module")
def p2(tmp_path_factory) -> dict[str, Program]:
    out = {}
    for package in P2_PACKAGES:
        root = wasi_package_with_deps(tmp_path_factory.mktemp(package), package)
        out[package] = program(root, all_features=True)
    return out


@pytest.fixture(scope="module")
def p2_plans(p2) -> dict[str, CallPlan]:
    out: dict[str, CallPlan] = {}
    for prog in p2.values():
        out.update(plans(prog))
    return out


@pytest.fixture(scope="module")
def preview1() -> Program:
    return program(corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx"))


# --------------------------------------------------------------------------- fixtures: slots


def test_example_read_has_a_caller_buffer_and_one_out(example):
    plan = plans(example)["example_sensors_bus.device_read"]
    func = plan.function
    assert kinds(plan) == [SlotKind.HANDLE, SlotKind.SCALAR, SlotKind.SCALAR,
                           SlotKind.BUFFER, SlotKind.OUT]
    buf = slot(plan, BUF_PARAMS[0])
    assert isinstance(buf, BufferSlot)
    assert tuple(cp.name for cp in buf.core) == BUF_PARAMS
    assert (buf.data.name, buf.capacity.name, buf.used.name) == BUF_PARAMS
    assert (buf.used_size, buf.used_align) == (4, 4)
    assert plan.result.buffer is buf
    register = slot(plan, "register")
    assert isinstance(register, ScalarSlot) and register.builtin == "u8"
    assert register.range == (0, 0xFF) and not register.unicode_scalar
    length = slot(plan, "len")
    assert length.range is None  # a u32 has no invalid core value
    (out,) = plan.result.outs
    ok = resolve(func.results[0].type).ok
    assert out.value.type is ok and out.value.holds_lists
    assert out.value.size == size_of(ok)
    assert not plan.result.issues.any and not plan.result.rollback.journal


def test_example_write_passes_a_read_only_span(example):
    plan = plans(example)["example_sensors_bus.device_write"]
    data = slot(plan, "data")
    assert isinstance(data, SpanSlot) and data.read_only
    assert [cp.name for cp in data.core] == ["data", "data_len"]
    assert data.pointer.role is Role.CONST_POINTER and data.length.role is Role.VALUE
    assert (data.element.size, data.element.align) == (1, 1)
    assert plan.result.buffer is None  # a u32 result needs no buffer


def test_example_open_issues_a_device_and_rolls_it_back(example):
    plan = plans(example)["example_sensors_bus.device_open"]
    device = typename(example, "device")
    result = plan.result
    assert result.kind is ResultKind.STATUS
    assert result.issues.room == 1
    assert result.issues.resources == (device,) and result.issues.list_resources == ()
    assert result.rollback.journal and result.rollback.staged
    assert result.rollback.release_outs == (0,)
    assert result.outs[0].value.typename is device


def test_example_status_cases_are_interface_errors_then_glue(example):
    plan = plans(example)["example_sensors_bus.device_sample"]
    status = plan.result.status
    wit_errors = ("not_found", "nack", "busy", "invalid")  # fixtures/example/sensors.wit
    assert status.cases == (SUCCESS, *wit_errors, *GLUE_STATUSES)
    assert status.interface_errors == wit_errors
    assert [(g.name, g.case, g.value) for g in status.glue] == [
        (g, g, 1 + len(wit_errors) + i) for i, g in enumerate(GLUE_STATUSES)]
    assert status.complete
    assert status.error_type is typename(example, "error_code")
    assert status.typename is typename(example, "error_code_status")
    # a function whose WIT result has no error enum returns the module's generic status
    generic = plans(example)["example_sensors_bus.device_name"].result.status
    assert generic.interface_errors == ("error",) and generic.error_type is None


def test_example_flags_scalar_and_drop(example):
    by_name = plans(example)
    mask = slot(by_name["example_sensors_bus.scan"], "mask")
    caps = typename(example, "capabilities")
    assert isinstance(mask, FlagsSlot) and mask.value.typename is caps
    assert mask.flag_count == len(resolve(caps.type).flags) == 3 and mask.mask == 0b111
    drop = by_name["example_sensors_bus.device_drop"]
    device = typename(example, "device")
    assert drop.drop_of is device and kinds(drop) == [SlotKind.DROP]
    assert isinstance(drop.slots[0], DropSlot) and drop.slots[0].ownership is Ownership.OWN
    # a method's `self` is looked up, never consumed
    this = slot(by_name["example_sensors_bus.device_name"], SELF_PARAM)
    assert isinstance(this, HandleSlot) and this.resource is device
    assert this.ownership is Ownership.BORROW
    for name, plan in by_name.items():
        assert (plan.drop_of is not None) == name.endswith("device_drop"), name


def test_pool_list_of_owned_handles_is_issued_by_the_implementation(pool):
    plan = plans(pool)["test_pool_pool.make_many"]
    item = typename(pool, "item")
    result = plan.result
    assert result.buffer is not None  # list<item>: written into the caller's buffer
    assert result.issues.room == 0  # handles in lists: the implementation issues them
    assert result.issues.list_resources == (item,) and result.issues.resources == ()
    assert result.rollback.journal and result.rollback.staged
    assert result.rollback.release_outs == ()


def test_pool_pair_and_batch_count_the_handles_outside_lists(pool):
    by_name = plans(pool)
    item = typename(pool, "item")
    pair = by_name["test_pool_pool.make_pair"].result
    assert pair.issues.room == 2 and pair.issues.resources == (item,)
    assert pair.rollback.release_outs == (0,)
    batch = by_name["test_pool_pool.make_batch"].result  # tuple<list<item>, item>
    assert [o.core[0].name for o in batch.outs] == ["retptr0", "retptr1"]
    assert batch.issues.room == 1
    assert batch.issues.resources == (item,) and batch.issues.list_resources == (item,)
    assert batch.rollback.release_outs == (1,)
    give = by_name["test_pool_pool.give"]
    it, k = slot(give, "it"), slot(give, "k")
    assert isinstance(it, HandleSlot) and it.resource is item
    assert isinstance(k, EnumSlot) and k.case_count == 2 and k.tag_size == 1
    bad = slot(by_name["test_pool_pool.make_pair"], "bad")
    assert isinstance(bad, EnumSlot) and bad.is_bool and bad.case_count == 2


def test_extra_by_ref_char_bool_and_error_payload(extra):
    by_name = plans(extra)
    config = slot(by_name["extra.lamp_configure"], "config")
    assert isinstance(config, ByRefSlot) and config.value.typename is typename(extra, "config")
    assert config.value.size == size_of(Ref.of(typename(extra, "config")))
    assert config.value.holds_lists and not config.value.holds_handles
    shape = slot(by_name["extra.lamp_area"], "shape")
    assert isinstance(shape, ByRefSlot)
    glyph = by_name["extra.lamp_glyph"]
    assert slot(glyph, "glyph").unicode_scalar and slot(glyph, "glyph").range is None
    assert isinstance(slot(glyph, "on"), EnumSlot) and slot(glyph, "on").is_bool
    mode = slot(by_name["extra.lamp_set_mode"], "mode")
    assert isinstance(mode, EnumSlot) and mode.case_count == 3
    check = by_name["extra.lamp_check"]
    assert kinds(check) == [SlotKind.HANDLE, SlotKind.BUFFER, SlotKind.ERROR_PAYLOAD]
    payload = slot(check, ERROR_PAYLOAD_PARAM)
    assert isinstance(payload, ErrorPayloadSlot) and check.result.error_payload is payload
    assert payload.value.typename is typename(extra, "fault") and payload.value.holds_lists
    status = check.result.status
    assert status.interface_errors == ("overheat", "message")
    assert status.error_type is typename(extra, "fault")
    # the two resources' drops, and their other-typed handles
    assert by_name["extra.lamp_drop"].drop_of is typename(extra, "lamp")
    assert by_name["extra.switch_drop"].drop_of is typename(extra, "switch")


def test_clash_buffer_in_the_middle_and_raw_pointers():
    by_name = plans(program(FIXTURES / "witx" / "clash.witx"))
    f = by_name["clash.f"]
    assert kinds(f) == [SlotKind.SCALAR, SlotKind.BY_REF, SlotKind.BY_REF, SlotKind.SCALAR,
                        SlotKind.SCALAR, SlotKind.BUFFER, SlotKind.OUT]
    assert slot(f, "status").range == (0, 0xFF) and slot(f, "ret0").range == (0, 0xFFFF)
    assert by_name["clash.r_drop"].drop_of is not None
    assert by_name["clash.g"].drop_of is None  # `self` + a handle, but not a drop


def test_c_fixture_writable_span_noreturn_and_an_incomplete_status():
    prog = program(FIXTURES / "c" / "sensors.witx")
    by_name = plans(prog)
    read = slot(by_name["demo_sensors.read"], "buf")  # `buf` + `buf_len`: no `buf_used`
    assert isinstance(read, SpanSlot) and not read.read_only
    assert read.element.typename is typename(prog, "sample")
    assert read.element.size == size_of(Ref.of(typename(prog, "sample")))
    samples = slot(by_name["demo_sensors.calibrate"], "samples")  # (list $sample)
    assert isinstance(samples, SpanSlot) and samples.read_only
    assert [cp.role for cp in samples.core] == [Role.LIST_PTR, Role.LIST_LEN]
    name = slot(by_name["demo_sensors.open"], "name")  # string
    assert name.element.size == 1
    halt = by_name["demo_sensors.halt"]
    assert halt.function.noreturn and halt.result.kind is ResultKind.NONE
    assert halt.result.status is None and not halt.result.core
    status = by_name["demo_sensors.open"].result.status
    assert not status.complete  # errno without the glue statuses: the host glue refuses it
    assert status.glue_value("buffer_too_small") is None
    assert [o.index for o in by_name["demo_sensors.open"].result.outs] == [0, 1]


def test_preview1_errno_glue_pointer_slots_and_issued_fd(preview1):
    by_name = plans(preview1)
    errno = [c.name for c in resolve(typename(preview1, "errno").type).cases]
    status = by_name["wasi_snapshot_preview1.fd_read"].result.status
    for g in status.glue:  # the first of the preferred spellings the enum has
        options = dict(GLUE_CASE_NAMES)[g.name]
        expected = next(o for o in options if o in errno)
        assert (g.case, g.value) == (expected, errno.index(expected))
    assert status.interface_errors == tuple(errno[1:])  # errno: every case is the interface's
    random = slot(by_name["wasi_snapshot_preview1.random_get"], "buf")
    assert isinstance(random, SpanSlot) and not random.read_only
    poll = by_name["wasi_snapshot_preview1.poll_oneoff"]
    assert kinds(poll)[:3] == [SlotKind.POINTER, SlotKind.POINTER, SlotKind.SCALAR]
    assert slot(poll, "in").read_only and not slot(poll, "out").read_only
    accept = by_name["wasi_snapshot_preview1.sock_accept"].result
    assert accept.issues.room == 1 and accept.issues.resources == (typename(preview1, "fd"),)
    exit_ = by_name["wasi_snapshot_preview1.proc_exit"]
    assert exit_.result.kind is ResultKind.NONE
    assert all(p.drop_of is None for p in by_name.values())


def test_direct_results_are_values_or_issued_handles(tmp_path):
    """WITX may return a scalar or a handle directly (no status)."""
    src = tmp_path / "direct.witx"
    src.write_text("""
(typename $r (handle))
(typename $e (flags (@witx repr u8) $a $b $c))
(module $direct
  (@interface func (export "count") (result $n u32))
  (@interface func (export "pick") (result $x $e))
  (@interface func (export "make") (result $h $r))
  (@interface func (export "probe") (result $error (expected $r (error)))))
""")
    prog = program(src)
    by_name = plans(prog)
    count = by_name["direct.count"].result
    assert count.kind is ResultKind.VALUE and count.status is None
    assert count.value.type == Builtin("u32")
    assert by_name["direct.pick"].result.kind is ResultKind.VALUE
    make = by_name["direct.make"].result
    assert make.kind is ResultKind.HANDLE and make.issues.room == 1
    assert make.issues.resources == (typename(prog, "r"),)
    assert not make.rollback.journal  # no out-pointer or payload to undo: the glue issues last
    probe = by_name["direct.probe"].result  # an expected without an error type
    assert probe.kind is ResultKind.STATUS and probe.status.typename is None
    assert probe.status.cases == ("ok", "err") and not probe.status.complete
    assert probe.issues.room == 1 and probe.rollback.release_outs == (0,)


CLASH_WIT = """package test:plan@0.1.0;

interface io {
  /// errno style: case 0 is success, so the enum is its own status
  enum errno { success, again, bad-value }
  /// cases named like glue statuses: the glue statuses give way
  enum fault { bad-handle, overheat, buffer-too-small }
  variant failure { bad-pointer(string), gone }

  resource thing {
    poke: func() -> result<u32, errno>;
  }
  heat: func() -> result<list<u8>, fault>;
  fail: func() -> result<_, failure>;
}
"""


@pytest.fixture(scope="module")
def clash_wit(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clash") / "io.wit"
    path.write_text(CLASH_WIT, encoding="utf-8")
    return path


def test_statuses_with_errno_style_and_clashing_cases(clash_wit):
    prog = program(clash_wit)
    by_name = plans(prog)
    for func, error, errno_style in (("thing_poke", "errno", True), ("heat", "fault", False),
                                     ("fail", "failure", False)):
        status = by_name[f"test_plan_io.{func}"].result.status
        etn = typename(prog, error)
        wit_cases = tuple(c.name for c in resolve(etn.type).cases)
        assert status.error_type is etn, func
        assert status.interface_errors == (wit_cases[1:] if errno_style else wit_cases), func
        assert status.cases[0] == SUCCESS
        # the glue statuses close the enum, in order, whatever they had to be renamed to
        first = len(status.cases) - len(GLUE_STATUSES)
        assert [(g.name, g.value) for g in status.glue] == [
            (name, first + i) for i, name in enumerate(GLUE_STATUSES)], func
        for g in status.glue:
            assert g.case == status.cases[g.value] and g.case.endswith(g.name), func
            assert (g.case != g.name) == (g.name in wit_cases), func
    fail = by_name["test_plan_io.fail"]
    assert fail.result.error_payload.value.typename is typename(prog, "failure")
    assert fail.result.buffer is not None  # the payload's string goes into the buffer


def test_host_c_and_host_py_agree_on_clashing_statuses(clash_wit):
    assert _agree(program(clash_wit)) == 4
    assert _agree_py([clash_wit]) == 4


# --------------------------------------------------------------------------- WASI 0.2 functions


def test_wasi_input_stream_read(p2_plans):
    plan = p2_plans["wasi_io_streams.input_stream_read"]
    assert kinds(plan) == [SlotKind.HANDLE, SlotKind.SCALAR, SlotKind.BUFFER,
                           SlotKind.ERROR_PAYLOAD, SlotKind.OUT]
    assert slot(plan, SELF_PARAM).resource.name == "input_stream"
    assert slot(plan, "len").builtin == "u64" and slot(plan, "len").core[0].wasm_type.value == "i64"
    payload = plan.result.error_payload
    assert payload.value.typename.name == "stream_error"
    # stream-error's `last-operation-failed(own<error>)`: an owned error may be issued
    assert payload.value.handles == 1
    assert [r.name for r in plan.result.issues.resources] == ["error"]
    assert plan.result.issues.room == 1
    assert plan.result.rollback.journal and plan.result.rollback.release_error_payload
    assert plan.result.rollback.release_outs == ()  # list<u8> holds no handle
    assert plan.result.status.interface_errors == ("last_operation_failed", "closed")


def test_wasi_tcp_socket_accept(p2_plans):
    plan = p2_plans["wasi_sockets_tcp.tcp_socket_accept"]
    result = plan.result
    assert [o.value.typename.name for o in result.outs] == [
        "tcp_socket", "input_stream", "output_stream"]
    assert result.issues.room == 3
    assert [r.name for r in result.issues.resources] == ["tcp_socket", "input_stream", "output_stream"]
    assert result.rollback.release_outs == (0, 1, 2) and result.rollback.staged
    assert result.buffer is None and result.error_payload is None
    assert result.status.error_type.name == "error_code"


def test_wasi_fields_entries(p2_plans):
    plan = p2_plans["wasi_http_types.fields_entries"]
    (out,) = plan.result.outs
    assert out.value.holds_lists and not out.value.holds_handles
    assert plan.result.buffer is not None
    assert not plan.result.issues.any and not plan.result.rollback.journal


def test_wasi_outgoing_request_new(p2_plans):
    plan = p2_plans["wasi_http_types.outgoing_request_new"]
    (headers,) = plan.inputs
    assert isinstance(headers, HandleSlot) and headers.resource.name == "fields"
    assert plan.result.issues.room == 1
    assert [r.name for r in plan.result.issues.resources] == ["outgoing_request"]
    assert plan.drop_of is None


def test_wasi_list_of_owned_resources(p2_plans):
    """`get-directories: func() -> list<tuple<descriptor, string>>`: owned descriptors in
    a list, issued by the implementation; `poll(in: list<borrow<pollable>>)`: a span
    of handles."""
    plan = p2_plans["wasi_filesystem_preopens.get_directories"]
    assert plan.result.issues.room == 0
    assert [r.name for r in plan.result.issues.list_resources] == ["descriptor"]
    assert plan.result.rollback.journal and plan.result.buffer is not None
    poll = p2_plans["wasi_io_poll.poll"]
    span = slot(poll, "in")
    assert isinstance(span, SpanSlot) and span.read_only
    assert [r.name for r in span.element.resources] == ["pollable"]
    assert span.element.size == 4


def test_wasi_drops_are_every_resources_drop(p2):
    """Every resource typename has exactly one drop, and only drops consume a handle."""
    for prog in p2.values():
        resources = {id(tn) for u in prog.units for tn in u.own_typenames
                     if isinstance(tn.type, Handle)}
        by_name = plans(prog)
        dropped = [id(p.drop_of) for p in by_name.values() if p.drop_of is not None]
        assert sorted(dropped) == sorted(resources)
        for plan in by_name.values():
            consumed = [s for s in plan.slots if s.kind is SlotKind.DROP]
            assert len(consumed) == (plan.drop_of is not None)


# --------------------------------------------------------------------------- properties


def _check_partition(plan: CallPlan) -> None:
    """The plan's core parameters are the core signature's, in order, each in one slot."""
    sig = plan.signature
    assert plan.core_params == sig.params, plan.function.name
    owners = [id(s) for s in plan.slots for _ in s.core]
    assert len(owners) == len(sig.params)
    assert [cp.wasm_type for cp in plan.core_params] == [cp.wasm_type for cp in sig.params]
    for s in plan.slots:
        assert s.core, (plan.function.name, s)
        roles = [cp.role for cp in s.core]
        if s.kind is SlotKind.OUT:
            assert roles == [Role.OUT_PTR]
        else:
            assert Role.OUT_PTR not in roles
    assert plan.result.core == sig.results
    for s in plan.slots:  # layout facts are p1.layout's
        value = getattr(s, "value", None) or getattr(s, "element", None)
        if value is not None:
            sa = layout.size_align(value.type)
            assert (value.size, value.align) == (sa.size, sa.align), (plan.function.name, s.name)
    outs = [s for s in plan.slots if s.kind is SlotKind.OUT]
    assert list(plan.result.outs) == outs and len(outs) == len(sig.out_params)


def test_every_wasi_function_partitions_its_core_signature(p2_plans):
    assert len(p2_plans) > 200
    counts: dict[SlotKind, int] = {}
    for plan in p2_plans.values():
        _check_partition(plan)
        for s in plan.slots:
            counts[s.kind] = counts.get(s.kind, 0) + 1
        # the lowering's shape: a status, the buffer iff the results hold lists
        assert plan.result.kind is ResultKind.STATUS and plan.result.status.complete
        needs_buffer = any(o.value.holds_lists for o in plan.result.outs) or (
            plan.result.error_payload is not None and plan.result.error_payload.value.holds_lists)
        assert (plan.result.buffer is not None) == needs_buffer, plan.function.name
    # WASI 0.2 uses every kind but the WITX-only raw pointer
    assert set(counts) == set(SlotKind) - {SlotKind.POINTER}, counts


@pytest.mark.parametrize("rel", CORPUS_WITX)
def test_every_witx_corpus_function_partitions_its_core_signature(rel):
    path = corpus_path("witx", *rel.split("/"))
    files = sorted(path.glob("wasi_*.witx")) if path.is_dir() else [path]
    count = 0
    for file in files:
        for plan in plans(program(file)).values():
            _check_partition(plan)
            count += 1
    assert count >= 40


def test_plans_are_memoised_per_run(example):
    facts = example.facts
    unit = example.units[0]
    func = unit.module.functions[0]
    first = facts.call_plan(func, unit.document)
    assert facts.call_plan(func, unit.document) is first
    assert Facts().call_plan(func, unit.document) is not first
    assert plan_call(func, None, unit.document) == first  # the same plan, computed anew


def test_drop_is_recognised_by_structure_not_by_suffix_alone(tmp_path):
    """`r_x_drop(self)` is a method of `r`, not a drop; a qualified resource typename
    (`m_r`) still has its `r_drop`."""
    src = tmp_path / "drops.witx"
    src.write_text("""
(typename $status (enum (@witx tag u8) $success $error $buffer_too_small $bad_handle $bad_pointer $bad_value))
(typename $r (handle))
(typename $m_q (handle))
(module $drops
  (@interface func (export "r_x_drop") (param $self $r) (result $error (expected (error $status))))
  (@interface func (export "r_drop") (param $self $r) (result $error (expected (error $status))))
  (@interface func (export "q_drop") (param $self $m_q) (result $error (expected (error $status))))
  (@interface func (export "r_take_drop") (param $it $r) (result $error (expected (error $status)))))
""")
    prog = program(src)
    by_name = {f.name: f for f in prog.units[0].module.functions}
    assert drop_of(by_name["r_x_drop"]) is None
    assert drop_of(by_name["r_drop"]) is typename(prog, "r")
    assert drop_of(by_name["q_drop"]) is typename(prog, "m_q")
    assert drop_of(by_name["r_take_drop"]) is None


def test_drops_of_resources_whose_typenames_are_qualified(tmp_path):
    """Two resources `r` meet in one document: their typenames rise to `a_r` / `b_r`,
    their drops stay `r_drop` (the lowering names drops after the WIT resource)."""
    path = tmp_path / "q.wit"
    path.write_text("""package test:q@0.1.0;
interface a {
  resource r { ping: func(); }
}
interface b {
  use a.{r as ar};
  resource r { make: func() -> ar; }
}
""", encoding="utf-8")
    prog = program(path)
    for unit in prog.units:
        (resource,) = [tn for tn in unit.own_typenames if isinstance(tn.type, Handle)]
        assert resource.name != "r"  # qualified
        unit_plans = [prog.facts.call_plan(f, unit.document) for f in unit.module.functions]
        drops = [(p.function.name, p.drop_of) for p in unit_plans if p.drop_of is not None]
        assert drops == [("r_drop", resource)]


# --------------------------------------------------------------------------- agreement with host-c


def _expected_impl_params(plan: CallPlan) -> list[tuple[SlotKind, int]]:
    """(slot kind, how many implementation parameters it becomes) in order."""
    return [(s.kind, 2 if s.kind is SlotKind.SPAN else 1) for s in plan.slots]


def _trampolines(prog: Program) -> dict[str, str]:
    """The body of every trampoline as host-c renders it (`<module>_host_inline.h`), by
    the trampoline's name `<module>_call_<f>`."""
    bodies = {}
    for name, text in host_c.emit_files(prog).items():
        if name.endswith("_host_inline.h"):
            for m in re.finditer(r"^static inline \w+ (\w+)_inline\([^)]*\)\n\{\n(.*?)^\}$", text,
                                 re.M | re.S):
                bodies[m.group(1)] = m.group(2)
    return bodies


def _agree(prog: Program) -> int:
    """Compare every function's plan with host-c's view model of it and the trampoline
    it renders; return the count."""
    hunits = {hu.module: hu for hu in host_c.build_units(prog)}
    bodies = _trampolines(prog)
    n = 0
    for unit in prog.units:
        if unit.module is None:
            continue
        hu = hunits[unit.module.name]
        hfuncs = {hf.name: hf for hf in hu.functions}
        glue_tables = {name: (values, ncases) for name, _, values, ncases in hu.glue_tables}
        for func in unit.module.functions:
            hf = hfuncs[func.name]
            _agree_function(prog.facts.call_plan(func, unit.document), hf,
                            bodies[hf.call_name], glue_tables)
            n += 1
    return n


def _agree_function(plan: CallPlan, hf, body: str, glue_tables: dict) -> None:
    where = plan.function.name
    params = hf.impl_params[1:]  # after `host`
    expected = _expected_impl_params(plan)
    assert len(params) == sum(n for _, n in expected), (where, [p.decl for p in params])
    assert len(hf.core_params) == len(plan.core_params), where
    # the trampoline's raw core arguments, by position: the slot's first core parameter
    core_arg = {id(cp): arg.name for cp, arg in zip(plan.core_params, hf.core_params)}
    i = 0
    for s in plan.slots:
        _agree_slot(s, params[i:i + (2 if s.kind is SlotKind.SPAN else 1)], body,
                    core_arg[id(s.core[0])], where)
        i += 2 if s.kind is SlotKind.SPAN else 1
    _agree_result(plan, body, glue_tables, where)


#: the C type of each builtin passed by value (`<stdint.h>`, as the host glue documents)
C_SCALARS = {
    "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t",
    "s8": "int8_t", "s16": "int16_t", "s32": "int32_t", "s64": "int64_t",
    "f32": "float", "f64": "double", "char8": "char", "usize": "uint32_t", "char": "uint32_t",
}


def _agree_slot(s, params, body: str, a: str, where: str) -> None:
    ctypes = [p.ctype for p in params]
    if s.kind is SlotKind.BUFFER:
        assert ctypes == ["w2w_buf *"], where
    elif s.kind is SlotKind.SPAN:
        assert ctypes[0].endswith("*") and ctypes[1] == "uint32_t", where
        assert ctypes[0].startswith("const ") == s.read_only, where
        assert f"* {s.element.size}u, {s.element.align}u)" in body, where
    elif s.kind is SlotKind.DROP:
        assert ctypes == ["void *"] and "w2w_handles_take(host->handles, (uint32_t)" + a in body, where
    elif s.kind is SlotKind.HANDLE:
        assert ctypes == ["void *"] and f"w2w_handles_slot(host->handles, (uint32_t){a}" in body, where
    elif s.kind is SlotKind.BY_REF:
        assert ctypes[0].startswith("const ") and ctypes[0].endswith("*"), where
        assert f"(uint32_t){a}, {s.value.size}u, {s.value.align}u)" in body, where
    elif s.kind is SlotKind.POINTER:
        assert ctypes == ["w2w_gaddr_t"], where
    elif s.kind is SlotKind.ERROR_PAYLOAD:
        assert params[0].name == ERROR_PAYLOAD_PARAM and ctypes[0].endswith("*"), where
        assert f"(uint32_t){a}, {s.value.size}u, {s.value.align}u)" in body, where
    elif s.kind is SlotKind.OUT:
        assert params[0].name == f"ret{s.index}" and ctypes[0].endswith("*"), where
        assert f"r_{s.index} = w2w_mem_ptr(mem, (uint32_t){a}, {s.value.size}u, {s.value.align}u);" in body, where
    elif s.kind is SlotKind.ENUM:
        assert (ctypes == ["bool"]) == s.is_bool, where
        check = f"(uint32_t){a} > 1u" if s.is_bool else f"(uint32_t){a} >= {s.case_count}u"
        assert check in body, where
    elif s.kind is SlotKind.FLAGS:
        assert f"{a} & ~0x{s.mask:X}ull) != 0" in body, where
    elif s.kind is SlotKind.SCALAR:
        named = s.value.typename  # a typename of an integer: its own C typedef
        if named is None:
            assert ctypes == [C_SCALARS[s.builtin]], where
        else:
            assert len(ctypes) == 1 and ctypes[0].endswith(f"_{named.name}_t"), where
        assert (f"w2w_valid_char((uint32_t){a})" in body) == s.unicode_scalar, where
        has_range = re.search(rf"if \(\(?(\(uint32_t\))?{re.escape(a)} [<>]", body) is not None
        assert has_range == (s.range is not None), where
    else:  # pragma: no cover - every kind is compared above
        raise AssertionError(s.kind)


def _agree_result(plan: CallPlan, body: str, glue_tables: dict, where: str) -> None:
    result = plan.result
    room = re.search(r"w2w_handles_free\(host->handles\) < (\d+)u", body)
    if result.kind is ResultKind.HANDLE:
        assert "w2w_handles_insert" in body, where
    assert (int(room.group(1)) if room else 0) == result.issues.room, where
    assert ("w2w_handles_begin(host->handles);" in body) == result.rollback.journal, where
    assert ("uint8_t o_0[" in body) == result.rollback.staged, where
    # (a value with a buffer is released in two places: when it overflowed the buffer,
    # and when its encode failed)
    released = sorted({int(k) for k in re.findall(r"release_\w+\(host->handles, &ret(\d+)\);", body)})
    assert released == list(result.rollback.release_outs), where
    assert ("o_error_payload" in body) == result.rollback.staged_error_payload, where
    status = result.status
    if status is None or status.typename is None:
        return
    # the table that maps the glue's failures onto this status enum, as the body names it
    table = re.search(r"(\w+)\[W2W_E_BAD_VALUE\]", body)
    assert table is not None, where
    values, ncases = glue_tables[table.group(1)]
    assert ncases == len(status.cases), where
    assert values == ["0", *(str(g.value) for g in status.glue)], where


def test_host_c_agrees_on_the_fixtures(example, pool, extra):
    n = sum(_agree(p) for p in (example, pool, extra))
    n += _agree(program(FIXTURES / "witx" / "clash.witx"))
    n += _agree(program(FIXTURES / "witx" / "sensors_bus.witx"))
    assert n > 30


def test_host_c_agrees_on_wasi_p2(p2):
    assert sum(_agree(prog) for prog in p2.values()) > 200


def test_host_c_agrees_on_preview1(preview1):
    assert _agree(preview1) == len(preview1.units[0].module.functions)


def test_slot_kinds_come_from_structure_not_from_the_p1_names():
    """Renaming the backport's reserved parameters turns them into ordinary slots."""
    from wit2witx.p1.model import Expected, Param, Pointer

    status = TypeName("status", Builtin("u8"))
    u8 = Builtin("u8")
    usize = Builtin("usize")
    func = Function("f", [
        Param("data", Pointer(u8)), Param("data_len", usize), Param("used", Pointer(usize)),
    ], [Param("error", Expected(None, Ref.of(status)))])
    plan = plan_call(func)
    assert kinds(plan) == [SlotKind.SPAN, SlotKind.POINTER]
    assert plan.result.buffer is None
    named = Function("g", [Param(n, t) for n, t in zip(BUF_PARAMS, (Pointer(u8), usize, Pointer(usize)))],
                     [Param("error", Expected(None, Ref.of(status)))])
    assert kinds(plan_call(named)) == [SlotKind.BUFFER]
    # `buf` whose length is not an integer is no buffer
    odd = Function("h", [Param("buf", Pointer(u8)), Param("buf_len", Builtin("f32")),
                         Param("buf_used", Pointer(usize))], [])
    assert SlotKind.BUFFER not in kinds(plan_call(odd))


# --------------------------------------------------------------------------- agreement with host-py

#: the runtime's parameter kind (`hosts/runtime.py`) each slot kind is today
PY_KIND = {
    SlotKind.SCALAR: "VALUE", SlotKind.ENUM: "VALUE", SlotKind.FLAGS: "VALUE",
    SlotKind.HANDLE: "HANDLE", SlotKind.DROP: "HANDLE", SlotKind.SPAN: "LIST",
    SlotKind.BY_REF: "BY_REF", SlotKind.POINTER: "POINTER", SlotKind.BUFFER: "BUF",
    SlotKind.ERROR_PAYLOAD: "ERROR_PAYLOAD", SlotKind.OUT: "OUT",
}
_SPEC = re.compile(r"name='(\w+)',\n.*?params=\((.*?)\),\n.*?error_cases=(\w+),\n"
                   r".*?drop_key=([^,]+),", re.S)


def _py_specs(paths, **options) -> dict[str, tuple[list[str], bool, bool]]:
    """`<unit>.<function>` → (parameter kinds, has error cases, is a drop) from the
    generated Python glue's `SPECS`."""
    import wit2witx  # noqa: PLC0415

    files = wit2witx.compile([str(p) for p in paths], emit=["host-py"], **options)
    out = {}
    for name, text in files.items():
        unit = name.removesuffix("_host.py")
        for func, params, error_cases, drop_key in _SPEC.findall(text):
            kinds_ = re.findall(r"\(_rt\.(\w+), '", params)
            out[f"{unit}.{func}"] = (kinds_, error_cases != "None", drop_key != "None")
    return out


def _agree_py(paths, **options) -> int:
    prog = program(*paths, **options)
    specs = _py_specs(paths, **options)
    n = 0
    for unit in prog.units:
        for func in unit.module.functions:
            plan = prog.facts.call_plan(func, unit.document)
            kinds_, has_error_cases, is_drop = specs[f"{unit.name}.{func.name}"]
            assert kinds_ == [PY_KIND[s.kind] for s in plan.slots], func.name
            assert is_drop == (plan.drop_of is not None), func.name
            assert has_error_cases == (plan.result.status.error_type is not None), func.name
            n += 1
    return n


def test_host_py_agrees_on_the_fixtures():
    n = _agree_py([FIXTURES / "example"]) + _agree_py([FIXTURES / "pool"])
    for name in ("extra", "clash", "sensors_bus"):
        n += _agree_py([FIXTURES / "witx" / f"{name}.witx"])
    assert n > 30


def test_host_py_agrees_on_wasi_p2(tmp_path):
    n = 0
    for package in P2_PACKAGES:
        root = wasi_package_with_deps(tmp_path / package, package)
        n += _agree_py([root], all_features=True)
    assert n > 200


# --------------------------------------------------------------------------- agreement with docs


def _agree_docs(prog: Program) -> int:
    """The docs back end's function view: status type and values, and its ABI notes."""
    from wit2witx.emit import docs  # noqa: PLC0415

    n = 0
    for unit in prog.units:
        for func in unit.module.functions:
            plan = prog.facts.call_plan(func, unit.document)
            view = docs._function_doc(func, prog.facts)
            status = plan.result.status
            named = status is not None and status.typename is not None
            assert view.status_type == (docs.md_code(status.typename.name) if named else ""), func.name
            if named:
                assert view.statuses == ", ".join(
                    f"{i} {docs.md_code(c)}" for i, c in enumerate(status.cases)), func.name
            notes = " ".join(view.notes)
            assert ("Caller buffer:" in notes) == (plan.result.buffer is not None), func.name
            if plan.result.buffer is not None and named and status.complete:
                too_small = status.cases[status.glue_value(GLUE_STATUSES[0])]
                assert f"bytes needed with {docs.md_code(too_small)}" in notes, func.name
            assert ("Error payload:" in notes) == (plan.result.error_payload is not None), func.name
            read_only = [s.name for s in plan.slots if s.core[0].role is Role.CONST_POINTER]
            if read_only:
                assert notes.endswith("Read-only inputs (may live in ROM): "
                                      + ", ".join(docs.md_code(x) for x in read_only) + "."), func.name
            else:
                assert "Read-only inputs" not in notes, func.name
            n += 1
    return n


def test_docs_agree(example, pool, extra, preview1, clash_wit, p2):
    n = sum(_agree_docs(prog) for prog in (example, pool, extra, preview1, program(clash_wit)))
    n += sum(_agree_docs(prog) for prog in p2.values())
    assert n > 300


# --------------------------------------------------------------------------- agreement with the C header


def _agree_c_header(prog: Program) -> int:
    """The guest header's prototypes: one C parameter per core parameter, slot by slot;
    read-only spans and by-reference values `const`, out-pointers and writable spans not."""
    from wit2witx.emit import c_header  # noqa: PLC0415

    n = 0
    for unit in prog.units:
        view = c_header.build_view(unit, units=prog.units, facts=prog.facts)
        by_import = {f.import_name: f for f in view.functions}
        for func in unit.module.functions:
            plan = prog.facts.call_plan(func, unit.document)
            params = by_import[func.name].params
            assert len(params) == len(plan.core_params), func.name
            i = 0
            for s in plan.slots:
                first, i = params[i], i + len(s.core)
                if s.kind is SlotKind.SPAN or s.kind is SlotKind.POINTER:
                    assert first.ctype.startswith("const ") == s.read_only, (func.name, s.name)
                elif s.kind is SlotKind.BY_REF:
                    assert first.ctype.startswith("const ") and first.ctype.endswith("*"), func.name
                elif s.kind in (SlotKind.OUT, SlotKind.ERROR_PAYLOAD, SlotKind.BUFFER):
                    assert not first.ctype.startswith("const ") and first.ctype.endswith("*"), func.name
            assert by_import[func.name].noreturn == (plan.result.kind is ResultKind.NONE
                                                    and plan.function.noreturn), func.name
            n += 1
    return n


def test_c_header_agrees(example, pool, extra, preview1, clash_wit, p2):
    n = sum(_agree_c_header(prog) for prog in (example, pool, extra, preview1, program(clash_wit)))
    n += sum(_agree_c_header(prog) for prog in p2.values())
    assert n > 300


# --------------------------------------------------------------------------- the grep-level check
# Issue 13: no back end recognises a parameter by its name; the call plan does it, once,
# with the spellings of `p1.names`. `python tests/test_callplan.py` lists offenders.

BACK_END_SOURCES = ("wit2witx/emit/*.py", "wit2witx/hosts/runtime.py")
#: the backport's own parameter names (`p1.names`), which only the call plan may spell
RESERVED_PARAMS = frozenset((*BUF_PARAMS, ERROR_PAYLOAD_PARAM))


def backport_name_literals(root: Path | None = None) -> list[tuple[str, int, str]]:
    """(file, line, literal) for every string constant in the back ends' code (not
    docstrings) that is one of the reserved parameter names."""
    import ast  # noqa: PLC0415

    root = root or Path(__file__).resolve().parent.parent
    hits = []
    for pattern in BACK_END_SOURCES:
        for path in sorted(root.glob(pattern)):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                          if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
                          and n.body and isinstance(n.body[0], ast.Expr)}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value in RESERVED_PARAMS and id(node) not in docstrings):
                    hits.append((str(path.relative_to(root)), node.lineno, node.value))
    return sorted(hits)


def test_no_back_end_compares_parameter_names_with_the_backports_own(tmp_path):
    root = Path(__file__).resolve().parent.parent
    sources = [p for pattern in BACK_END_SOURCES for p in root.glob(pattern)]
    assert len(sources) > 8 and any(p.name == "host_c.py" for p in sources)  # the globs still match
    assert backport_name_literals() == []
    # and the check finds one: a back end that picks the caller buffer by its name
    emit = tmp_path / "wit2witx" / "emit"
    emit.mkdir(parents=True)
    (emit / "bad.py").write_text('"""buf"""\n\ndef f(p):\n    return p.name == "buf_used"\n',
                                 encoding="utf-8")
    assert backport_name_literals(tmp_path) == [("wit2witx/emit/bad.py", 4, "buf_used")]


if __name__ == "__main__":
    for file, line, literal in backport_name_literals():
        print(f"{file}:{line}: {literal!r}")
