"""Every back end returns the glue statuses the call plan gives (`StatusPlan.glue`).

For a hand-written P1 status such as wasi_snapshot_preview1's `$errno`, the glue
statuses are found by name (`callplan.GLUE_CASE_NAMES`: `nobufs` before `overflow` for
buffer_too_small, `badf`, `fault`, `inval`). The C glue's status tables, the Python
glue's `FuncSpec.glue_statuses` and the Python runtime's statuses must be those of the
plan, function by function (they once differed: host-c answered `nobufs`, host-py
`overflow`).
"""

from __future__ import annotations

import re

import pytest

from conftest import FIXTURES, corpus_path, import_from

import wit2witx.compiler as compiler
from wit2witx.compiler import Options, build_program
from wit2witx.hosts import runtime
from wit2witx.p1.callplan import GLUE_CASE_NAMES, ResultKind
from wit2witx.p1.facts import facts_of
from wit2witx.p1.names import GLUE_STATUSES


def _inputs():
    return [corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx"),
            FIXTURES / "witx" / "extra.witx", FIXTURES / "example"]


def _plans(path):
    """(unit, function, status plan) of every function returning a status."""
    program = build_program([str(path)], Options(emit=("host-c",)))
    facts = facts_of(program)
    for unit in program.units:
        for func in unit.module.functions if unit.module is not None else ():
            plan = facts.call_plan(func, unit.document)
            if plan.result.kind is ResultKind.STATUS:
                yield unit, func, plan


def _c_tables(text: str) -> dict[str, list[int]]:
    return {m[0]: [int(v) for v in m[1].split(", ")]
            for m in re.findall(r"static const int(?:32|64)_t (\w+)\[5\] = \{ ([0-9, ]+) \};", text)}


def _c_function_tables(text: str) -> dict[str, str]:
    """The table each trampoline maps its glue failures through, by P1 function."""
    out = {}
    for name, body in re.findall(r"static inline int(?:32|64)_t \w+_call_(\w+)_inline\(.*?\n\{\n(.*?)\n\}\n",
                                 text, re.S):
        hit = re.search(r"return (\w+)\[W2W_E_", body)
        if hit:
            out[name] = hit.group(1)
    return out


def _py_module(path, tmp_path):
    """The Python glue of `path`, imported fresh (not a module of another test's)."""
    files = compiler.compile([str(path)], emit=("host-py",))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    stems = [n[:-3] for n in files if n.endswith("_host.py")]
    return import_from(tmp_path, *stems, fresh=True)


def test_the_runtime_knows_the_plans_spellings():
    """A FuncSpec made without `glue_statuses` looks them up as the plan does."""
    assert runtime.FAULT_CASES == dict(GLUE_CASE_NAMES)
    assert tuple(runtime.FAULT_CASES) == GLUE_STATUSES


def test_preview1_buffer_too_small_is_nobufs_everywhere(tmp_path):
    witx = corpus_path("witx", "preview1", "wasi_snapshot_preview1.witx")
    c = compiler.compile([str(witx)], emit=("host-c",))["wasi_snapshot_preview1_host_inline.h"]
    (p1,) = _py_module(witx, tmp_path)
    errno = p1.Errno
    assert _c_tables(c) == {"wasi_snapshot_preview1_glue_errno":
                            [0, errno.NOBUFS, errno.BADF, errno.FAULT, errno.INVAL]}
    specs = [s for s in p1.SPECS if s.status_cases is not None]
    assert specs and all(s.glue_statuses == (errno.NOBUFS, errno.BADF, errno.FAULT, errno.INVAL)
                         for s in specs)
    # what the runtime makes of them: a result that does not fit is `nobufs`
    st = runtime._statuses_of(specs[0].status_cases, specs[0].glue_statuses)
    assert st.too_small == errno.NOBUFS
    assert runtime._statuses_of(specs[0].status_cases).too_small == errno.NOBUFS


@pytest.mark.parametrize("which", [0, 1, 2], ids=["preview1", "extra", "example"])
def test_c_and_python_glue_take_the_plans_statuses(tmp_path, which):
    path = _inputs()[which]
    c_files = compiler.compile([str(path)], emit=("host-c",))
    modules = {m.__name__: m for m in _py_module(path, tmp_path)}
    checked = 0
    for unit, func, plan in _plans(path):
        status = plan.result.status
        want = tuple(g.value for g in status.glue)
        prefix = unit.module.name
        text = c_files[f"{prefix}_host_inline.h"]
        table = _c_function_tables(text).get(func.name)
        if table is not None:  # the C glue has a table when every glue status has a case
            assert tuple(_c_tables(text)[table][1:]) == want, func.name
        spec = next(s for s in modules[f"{prefix}_host"].SPECS if s.name == func.name)
        if spec.status_cases is not None and spec.status_cases != ("ok", "err"):
            assert spec.glue_statuses == want, func.name
            checked += 1
    assert checked > 2
