"""List elements are checked before the implementation runs (C and Python host glue).

A span parameter whose elements can be invalid — handles, enums, and lists of them
(fixtures/witx/lists.witx: `tally(cells: list<cell>, modes: list<mode>, groups:
list<list<mode>>)`) — has every element checked by the glue before the implementation
is called: a stale or forged handle in the middle of a list is `bad_handle`, an enum
value past the last case `bad_value`, a nested list out of bounds `bad_pointer`, and
the implementation is not called at all (so it cannot have acted on the elements
before the bad one). A real guest (fixtures/guests/lists.wat) makes the calls on wasm3
and on WAMR (both configurations), with AddressSanitizer and UBSan, and on wasmtime
through the Python glue; the hosts count the implementation's calls. The same for the
shipped wasi:io/poll glue: `poll(in: list<borrow<pollable>>)` with a stale or forged
handle in the middle (fixtures/guests/poll.wat, poll_host.c). With W2W_THREADS, a call
pins a handle once however often it is looked up (checks, then the implementation's
decode).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, import_from

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import wamr as wamr_support  # noqa: E402
from support.wasm3 import gcc  # noqa: E402
from test_host_c import (  # noqa: E402
    GUESTS, SAN, build_host, build_wamr_host, check, generate, run, run_host, wasm3_san, wat_guest,
)

import wit2witx  # noqa: E402

pytestmark = pytest.mark.slow

WITX = FIXTURES / "witx" / "lists.witx"
WAT = GUESTS / "lists.wat"
#: the guest's checked calls: 3 cell_new, 1 drop, 1 valid tally, 7 failing ones
CALLS = 12


def check_facts(facts: dict[str, str]) -> None:
    assert facts["run"] == "0", f"expectation {facts['run']} of lists.wat failed"
    assert facts["calls"] == str(CALLS)
    # only the valid call reached the implementation, and it met no invalid element
    assert facts["tally_calls"] == "1"
    assert facts["invalid_seen"] == "0"
    assert facts["live"] == "2"  # the cells not dropped


def test_element_checks_are_generated_only_where_elements_can_be_invalid():
    files = wit2witx.compiler.compile([WITX], emit=("host-c",))
    body = files["lists_host_inline.h"]
    for param in ("cells", "modes", "groups"):
        assert f"lists_check_tally_{param}_inline(mem, host->handles, p_{param}, " in body
    # a list of plain bytes gets no check: its bounds are all there is
    example = wit2witx.compiler.compile([FIXTURES / "example"], emit=("host-c",))
    body = example["example_sensors_bus_host_inline.h"]
    assert "p_data = w2w_mem_ptr(" in body  # device-write(data: list<u8>)
    assert "example_sensors_bus_check_" not in body


def test_wasm3_checks_every_element_first(tmp_path, wasm3_san):
    generate([WITX], tmp_path, emit=("host-c", "host-wasm3"))
    wasm = wat_guest(WAT.read_text(), tmp_path, "lists")
    exe = build_host(tmp_path, [GUESTS / "lists_host.c", tmp_path / "lists_host.c",
                                tmp_path / "lists_wasm3.c"], wasm3_san, "lists_host")
    check_facts(run_host(exe, wasm))


@pytest.mark.parametrize("config", wamr_support.CONFIGS)
def test_wamr_checks_every_element_first(tmp_path, config):
    generate([WITX], tmp_path, emit=("host-c", "host-wamr"))
    wasm = wat_guest(WAT.read_text(), tmp_path, "lists")
    exe = build_wamr_host(tmp_path, [GUESTS / "lists_host.c", tmp_path / "lists_host.c",
                                     tmp_path / "lists_wamr.c"], config, "lists_wamr_host",
                          defines=("-DLISTS_WAMR",))
    check_facts(run_host(exe, wasm))


#: the shipped wasi:io/poll glue (`python -m wit2witx.hosts.c.regen`)
SHIPPED = Path(wit2witx.__file__).parent / "hosts" / "c" / "generated"
POLL_WAT = GUESTS / "poll.wat"


def check_poll_facts(facts: dict[str, str]) -> None:
    assert facts["run"] == "0", f"expectation {facts['run']} of poll.wat failed"
    assert facts["calls"] == "6"
    # the two polls of live pollables only; the implementation met no dead handle
    assert facts["poll_calls"] == "2" and facts["invalid_seen"] == "0"
    assert facts["drops"] == "1" and facts["live"] == "2"


def test_wasm3_poll_with_a_dead_handle_in_the_middle(tmp_path, wasm3_san):
    """wasi:io/poll `poll(in: list<borrow<pollable>>)` as shipped: a stale or forged
    handle anywhere in the list is `bad_handle`, and `poll` is not called."""
    wasm = wat_guest(POLL_WAT.read_text(), tmp_path, "poll")
    exe = build_host(tmp_path, [GUESTS / "poll_host.c", SHIPPED / "wasi_io_poll_host.c",
                                SHIPPED / "wasi_io_poll_wasm3.c"], wasm3_san, "poll_host", [SHIPPED])
    check_poll_facts(run_host(exe, wasm))


@pytest.mark.parametrize("config", wamr_support.CONFIGS)
def test_wamr_poll_with_a_dead_handle_in_the_middle(tmp_path, config):
    wasm = wat_guest(POLL_WAT.read_text(), tmp_path, "poll")
    exe = build_wamr_host(tmp_path, [GUESTS / "poll_host.c", SHIPPED / "wasi_io_poll_host.c",
                                     SHIPPED / "wasi_io_poll_wamr.c"], config, "poll_wamr_host",
                          [SHIPPED], ("-DPOLL_WAMR",))
    check_poll_facts(run_host(exe, wasm))


def test_python_glue_checks_every_element_first(tmp_path):
    """The Python runtime decodes every list before the call (`ListOf.load_span`): the
    same statuses, and the implementation is not called either."""
    import wasmtime

    text = wit2witx.compiler.compile([WITX], emit=("host-py",))["lists_host.py"]
    (tmp_path / "lists_elements_host.py").write_text(text)
    [glue] = import_from(tmp_path, "lists_elements_host")

    class Impl:
        def __init__(self) -> None:
            self.made = 0
            self.tallies: list[tuple] = []

        def cell_new(self):
            self.made += 1
            return f"cell{self.made}"

        def cell_drop(self, cell):
            pass

        def tally(self, cells, modes, groups):
            self.tallies.append((cells, modes, groups))
            return len(cells) + sum(modes) + sum(sum(g) for g in groups)

    impl = Impl()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    tables = glue.add_to_linker(linker, store, impl)
    wasm = wat_guest(WAT.read_text(), tmp_path, "lists")
    ex = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm))).exports(store)
    assert ex["run"](store) == 0
    assert ex["calls"](store) == CALLS
    assert impl.tallies == [(["cell1", "cell3", "cell1"], [0, 2, 1], [[1, 1, 2, 2], [1]])]
    assert tables.live == 2


PIN_ONCE = r"""
#define W2W_DEFINE_THREAD_STATE
#include "w2w_host.h"
#include <stdio.h>

static const w2w_module module = { "pins" };
static void release_obj(void *host, void *obj) { (void)host; (void)obj; }
static const w2w_type cell = { "cell", &module, release_obj };

int main(void)
{
    static w2w_handles table;
    static int obj;
    uint32_t h, i, found = 0;
    w2w_handles_init(&table);
    h = w2w_handles_insert(&table, &cell, &obj);
    w2w_call_enter(&table);
    for (i = 0; i < 3 * W2W_MAX_PINS; i++)
        found += w2w_handles_slot(&table, h, &cell) != NULL;
    printf("found=%u pins=%u\n", (unsigned)found, (unsigned)w2w_this_call.pins_len);
    w2w_call_leave(&table);
    printf("after=%u\n", (unsigned)w2w_this_call.pins_len);
    return 0;
}
"""


def test_a_call_pins_a_handle_once_however_often_it_is_looked_up(tmp_path):
    """With W2W_THREADS, the element checks and the implementation's decode look each
    handle of a list up twice: a call pins it once, so a list of W2W_MAX_PINS distinct
    handles still fits (and one handle listed many times takes one pin)."""
    from conftest import ROOT

    src = tmp_path / "pins.c"
    src.write_text(PIN_ONCE)
    exe = tmp_path / "pins"
    check(run([gcc(), "-std=gnu11", "-Wall", "-Wextra", "-Werror", *SAN, "-DW2W_THREADS=1",
               "-DW2W_MAX_PINS=4", "-I", ROOT / "wit2witx" / "hosts" / "c" / "generated", src,
               "-lpthread", "-o", exe]), "building the pin test")
    out = check(run([exe]), "running the pin test").stdout
    assert "found=12 pins=1" in out and "after=0" in out, out
