"""c-p2's conversions at run time: values whose witx layout differs from wit-bindgen's C
layout (witx `bool` and `expected` have 4-byte tags, C `bool` one byte) in records,
lists, tuples, options, variants and results, both directions, through the shim's
temporaries; caller-owned copies of every string and list of a result; an error payload
with a string; an `own` parameter dropped by the shim after the call.

The guest (`fixtures/p2/conv_guest.c`) is built with zig against `--emit c-p2` output of
`fixtures/p2/conv.wit`; the host is this test's implementation behind the Python glue
`--emit host-py` makes of the same WIT, in wasmtime-py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, import_from, zig_cc

wasmtime = pytest.importorskip("wasmtime")

P2 = FIXTURES / "p2"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, object]:
    from wit2witx import compiler

    tmp = tmp_path_factory.mktemp("conv")
    (tmp / "pkg").mkdir()
    (tmp / "pkg" / "conv.wit").write_text((P2 / "conv.wit").read_text())
    gen = tmp / "gen"
    gen.mkdir()
    for name, text in compiler.compile([str(tmp / "pkg")], emit=["c-p2", "host-py"], world="conv").items():
        (gen / name).write_text(text)
    wasm = tmp / "conv_guest.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                  f"-I{gen}", "-include", str(P2 / "alloc_count.h"), "-o", str(wasm),
                  str(P2 / "conv_guest.c"), str(gen / "conv.c"), str(P2 / "alloc_count.c"))
    assert proc.returncode == 0, proc.stderr
    [glue] = import_from(gen, "test_conv_shapes_host")
    return wasm, glue


class Shapes:
    """Answers every call so that each direction can be told apart."""

    def __init__(self, g) -> None:
        self.g = g
        self.drops: list[int] = []
        self.seen: list[object] = []

    def counter_new(self, start: int) -> list[int]:
        return [start]

    def counter_add(self, self_: list[int], n: int) -> int:
        self_[0] += n
        return self_[0]

    def counter_drop(self, self_: list[int]) -> None:
        self.drops.append(self_[0])

    def echo_item(self, x, *, result_capacity: int):
        self.seen.append(x)
        return self.g.Item(x.name.upper() + "!", [(not b, s * 2) for b, s in reversed(x.tags)],
                           self.g.FlagPair(not x.pair.on, x.pair.id + 1),
                           None if x.maybe is None else not x.maybe)

    def echo_pairs(self, xs, *, result_capacity: int):
        self.seen.append(list(xs))
        return [self.g.FlagPair(not p.on, p.id * 10) for p in xs]

    def check(self, x, *, result_capacity: int) -> bool:
        self.seen.append(x)
        if x.tag == self.g.OutcomeTag.YES:
            return x.value
        if x.tag == self.g.OutcomeTag.PAIR:
            raise self.g.StatusError(self.g.Status.ERROR, f"bad {x.value.id} {x.value.on}")
        return False

    def maybe_pair(self, want: bool):
        return self.g.FlagPair(True, 42) if want else None

    def consume(self, c: list[int]) -> int:
        return c[0] * 100

    def either(self, fail: bool, *, result_capacity: int):
        if fail:
            raise self.g.OutcomeError(self.g.Outcome.pair(self.g.FlagPair(True, 9)))
        return True, "yes"


def test_conversions_both_ways(built, tmp_path):
    wasm, glue = built
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    out = tmp_path / "stdout"
    config.stdout_file = str(out)
    config.inherit_stderr()
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    impl = Shapes(glue)
    tables = glue.add_to_linker(linker, store, impl)
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exc:
        assert exc.code == 0
    lines = out.read_text().splitlines()
    # what the host got: the guest's C values converted to witx layout
    item = impl.seen[0]
    assert (item.name, item.tags, item.pair.on, item.pair.id, item.maybe) == (
        "n1", [(True, "a"), (False, "bc")], True, 7, False)
    assert [(p.on, p.id) for p in impl.seen[1]] == [(True, 1), (False, 2), (True, 3)]
    assert [o.tag for o in impl.seen[2:5]] == [0, 1, 2]
    assert impl.seen[3].value is True and (impl.seen[4].value.on, impl.seen[4].value.id) == (False, 5)
    # what the guest got: the host's witx values converted to C layout, caller-owned
    assert lines[:-1] == [
        "item N1! 1:bcbc 0:aa pair=0:8 maybe=1",
        "pairs 0:10 1:20 0:30",
        "check ok 0",
        "check ok 1",
        "check err bad 5 False",
        "maybe 1:42",
        "maybe none",
        "consume 8 800",
        "either ok 1 yes",
        "either err 2 1:9",
    ]
    assert lines[-1].split()[2:] == ["live", "0"], lines[-1]
    # the own parameter: consumed by `consume`, dropped by the shim after the call
    assert impl.drops == [8]
    assert tables.live == 0
