"""Typed callers of guest exports in the C host glue (issue 16): each runtime binding
(`<module>_wasm3.c`, `<module>_wamr.c`) of a module with guest exports gets one
`<module>_w3_call_<f>` / `<module>_wamr_call_<f>` per export, made from the export's
call plan. Here a real guest (C for wasm32-freestanding against the generated guest
header) exports functions taking lent counters (`borrow<counter>`, a resource the guest
imports and the host implements) or owned ones (`own<counter>`, handed over), a u8 and
flags, returning a status, a u32 or an own counter, and one that traps. Run on wasm3 and on WAMR (both configurations), with
AddressSanitizer and UBSan: lent handles are in the table for the call only (a trap
included), owned ones stay the guest's unless the call traps, a returned handle comes
back as its object, a status that is no error of the interface is `W2W_E_BAD_VALUE`, a
trap is `W2W_CALL_TRAPPED`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, zig_cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import wamr as wamr_support  # noqa: E402
from support.wasm3 import Wasm3Unavailable, gcc, wasm3_lib  # noqa: E402
from test_host_c import CFLAGS, SAN, check, run, run_host  # noqa: E402

import wit2witx  # noqa: E402

pytestmark = pytest.mark.slow

GUESTS = FIXTURES / "guests"

WIT = """package test:exports;

interface counters {
  resource counter {
    constructor(start: u32);
    get: func() -> u32;
    add: func(n: u32);
  }
  enum code { too-big, empty }
  flags mode { double, negate }
}

world guest {
  import counters;
  use counters.{counter, code, mode};

  /// Adds `n` (twice with `double`) to a lent counter: `too-big` past 1000.
  export add-to: func(c: borrow<counter>, n: u8, how: mode) -> result<_, code>;
  export sum: func(a: borrow<counter>, b: borrow<counter>) -> u32;
  /// Keeps a counter the host hands over: `too-big` when one is kept already.
  export keep: func(c: own<counter>) -> result<_, code>;
  /// Drops the kept counter: `empty` when none is kept.
  export forget: func() -> result<_, code>;
  /// A new counter the host gets to own.
  export give-back: func() -> own<counter>;
  /// Adds the code point `at` to a lent counter, then traps.
  export crash: func(c: borrow<counter>, at: char);
  export run: func();
}
"""

GUEST_C = r"""
#include "test_exports_guest.h"

#define C(x) test_exports_counters_##x

static uint32_t value_of(C(counter_t) c)
{
    C(counter_get_result_t) v = 0;
    if (C(counter_get)(c, &v) != 0)
        __builtin_trap();
    return v;
}

C(code_status_t) test_exports_guest_add_to(C(counter_t) c, uint8_t n, C(mode_t) how)
{
    uint32_t add = (how & TEST_EXPORTS_COUNTERS_MODE_DOUBLE) ? 2u * n : n;
    if (how & TEST_EXPORTS_COUNTERS_MODE_NEGATE) /* no error of the interface: refused */
        return n == 1 ? (C(code_status_t))99 : TEST_EXPORTS_COUNTERS_CODE_STATUS_BAD_HANDLE;
    if (value_of(c) + add > 1000u)
        return TEST_EXPORTS_COUNTERS_CODE_STATUS_TOO_BIG;
    if (C(counter_add)(c, add) != 0)
        __builtin_trap();
    return TEST_EXPORTS_COUNTERS_CODE_STATUS_SUCCESS;
}

uint32_t test_exports_guest_sum(C(counter_t) a, C(counter_t) b)
{
    return value_of(a) + value_of(b);
}

static C(counter_t) kept;
static int has_kept;

C(code_status_t) test_exports_guest_keep(C(counter_t) c)
{
    if (has_kept)
        return TEST_EXPORTS_COUNTERS_CODE_STATUS_TOO_BIG;
    if (value_of(c) == 13u)
        __builtin_trap();
    kept = c;
    has_kept = 1;
    return TEST_EXPORTS_COUNTERS_CODE_STATUS_SUCCESS;
}

C(code_status_t) test_exports_guest_forget(void)
{
    if (!has_kept)
        return TEST_EXPORTS_COUNTERS_CODE_STATUS_EMPTY;
    has_kept = 0;
    if (C(counter_drop)(kept) != 0)
        __builtin_trap();
    return TEST_EXPORTS_COUNTERS_CODE_STATUS_SUCCESS;
}

C(counter_t) test_exports_guest_give_back(void)
{
    C(counter_t) c;
    if (C(counter_new)(77u, &c) != 0)
        __builtin_trap();
    return c;
}

test_exports_guest_guest_status_t test_exports_guest_crash(C(counter_t) c, uint32_t at)
{
    if (C(counter_add)(c, at) != 0)
        return 1;
    __builtin_trap();
}

test_exports_guest_guest_status_t test_exports_guest_run(void)
{
    C(counter_t) c;
    if (C(counter_new)(5u, &c) != 0 || C(counter_drop)(c) != 0)
        return 1;
    return 0;
}
"""

HOST_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_file.h"
#ifdef USE_WAMR
#include "test_exports_counters_wamr.h"
#include "test_exports_guest_wamr.h"
#define CALL(f) test_exports_guest_wamr_call_##f
#else
#include "wasm3_guest.h"
#include "test_exports_counters_wasm3.h"
#include "test_exports_guest_wasm3.h"
#define CALL(f) test_exports_guest_w3_call_##f
#endif

typedef struct counter { uint32_t value; } counter;
static int made, dropped;

int32_t test_exports_counters_impl_counter_new(test_exports_counters_host_ctx_t *host, uint32_t start,
                                               test_exports_counters_counter_t *ret0)
{
    counter *c = malloc(sizeof *c);
    (void)host;
    if (c == NULL)
        return 1;
    c->value = start;
    made++;
    *ret0 = c;
    return 0;
}

int32_t test_exports_counters_impl_counter_get(test_exports_counters_host_ctx_t *host, void *self,
                                               test_exports_counters_counter_get_result_t *ret0)
{
    (void)host;
    *ret0 = ((counter *)self)->value;
    return 0;
}

int32_t test_exports_counters_impl_counter_add(test_exports_counters_host_ctx_t *host, void *self, uint32_t n)
{
    (void)host;
    ((counter *)self)->value += n;
    return 0;
}

int32_t test_exports_counters_impl_counter_drop(test_exports_counters_host_ctx_t *host, void *self)
{
    (void)host;
    free(self);
    dropped++;
    return 0;
}

int main(int argc, char **argv)
{
    static w2w_handles handles;
    test_exports_counters_host_ctx_t counters;
    test_exports_guest_host_ctx_t guest;
    counter a = { 10 }, b = { 20 };
    test_exports_counters_code_status_t st = 0;
    uint32_t total = 0;
    void *given = NULL;
    uint32_t room;
    int rc;
#ifdef USE_WAMR
    static test_exports_counters_wamr_natives natives;
    RuntimeInitArgs init;
    wasm_module_t module;
    wasm_module_inst_t inst;
    wasm_exec_env_t rt;
    char error[128];
    unsigned char *wasm;
    size_t len = 0;
#else
    IM3Environment env;
    IM3Runtime rt;
    IM3Module mod;
    unsigned char *wasm;
#endif

    if (argc != 2)
        return 2;
    w2w_handles_init(&handles);
    test_exports_counters_host_init(&counters, &handles, NULL);
    test_exports_guest_host_init(&guest, &handles, NULL);
#ifdef USE_WAMR
    if ((wasm = read_file(argv[1], &len)) == NULL)
        return 2;
    memset(&init, 0, sizeof init);
    init.mem_alloc_type = Alloc_With_System_Allocator;
    if (!wasm_runtime_full_init(&init) || !test_exports_counters_wamr_register(&natives, &counters))
        return 2;
    module = wasm_runtime_load(wasm, (uint32_t)len, error, sizeof error);
    if (module == NULL || (inst = wasm_runtime_instantiate(module, 64 * 1024, 0, error, sizeof error)) == NULL) {
        fprintf(stderr, "load: %s\n", error);
        return 2;
    }
    rt = wasm_runtime_create_exec_env(inst, 64 * 1024);
#else
    if ((wasm = load_guest(argv[1], &env, &rt, &mod)) == NULL)
        return 2;
    if (test_exports_counters_wasm3_link(mod, &counters) != m3Err_none)
        return 2;
#endif
    room = w2w_handles_free(&handles);

    rc = CALL(add_to)(rt, &guest, &a, 5, TEST_EXPORTS_COUNTERS_MODE_DOUBLE, &st);
    printf("add_to=%d,%u,%u\n", rc, (unsigned)st, (unsigned)a.value);
    a.value = 900;
    rc = CALL(add_to)(rt, &guest, &a, 255, 0, &st);
    printf("too_big=%d,%u,%u\n", rc, (unsigned)st, (unsigned)a.value);
    rc = CALL(add_to)(rt, &guest, &a, 1, TEST_EXPORTS_COUNTERS_MODE_NEGATE, &st);
    printf("bogus=%d\n", rc);
    rc = CALL(add_to)(rt, &guest, &a, 2, TEST_EXPORTS_COUNTERS_MODE_NEGATE, &st);
    printf("glue_status=%d\n", rc);
    rc = CALL(sum)(rt, &guest, &a, &b, &total);
    printf("sum=%d,%u\n", rc, (unsigned)total);
    printf("lent_back=%d\n", w2w_handles_free(&handles) == room);
    {
        counter *k = malloc(sizeof *k), *k2 = malloc(sizeof *k2), *k3 = malloc(sizeof *k3);
        if (k == NULL || k2 == NULL || k3 == NULL)
            return 2;
        k->value = 3;
        k2->value = 4;
        k3->value = 13; /* the guest traps on it */
        rc = CALL(keep)(rt, &guest, k3, &st);
        printf("keep_trap=%d,%d\n", rc, w2w_handles_free(&handles) == room);
        free(k3); /* the host's again */
        rc = CALL(keep)(rt, &guest, k, &st);
        printf("keep=%d,%u,%d\n", rc, (unsigned)st, w2w_handles_free(&handles) == room - 1);
        rc = CALL(keep)(rt, &guest, k2, &st); /* the guest refuses it, but owns it: it stays */
        printf("keep_again=%d,%u,%d\n", rc, (unsigned)st, w2w_handles_free(&handles) == room - 2);
        rc = CALL(forget)(rt, &guest, &st);
        printf("forget=%d,%u,%d\n", rc, (unsigned)st, w2w_handles_free(&handles) == room - 1);
        rc = CALL(forget)(rt, &guest, &st);
        printf("forget_again=%d,%u\n", rc, (unsigned)st);
    }
    rc = CALL(give_back)(rt, &guest, &given);
    printf("give_back=%d,%u\n", rc, given != NULL ? (unsigned)((counter *)given)->value : 0u);
    printf("given_out=%d\n", w2w_handles_free(&handles) == room - 1);
    free(given);
    rc = CALL(crash)(rt, &guest, &b, 65u, &st);
    printf("crash=%d,%u\n", rc, (unsigned)b.value);
    printf("lent_back_after_trap=%d\n", w2w_handles_free(&handles) == room - 1);
    rc = CALL(run)(rt, &guest, &st);
    printf("run=%d,%u\n", rc, (unsigned)st);
    printf("made=%d dropped=%d live=%u\n", made, dropped, (unsigned)handles.live);
#ifdef USE_WAMR
    wasm_runtime_destroy_exec_env(rt);
    wasm_runtime_deinstantiate(inst);
    wasm_runtime_unload(module);
    wasm_runtime_destroy();
#else
    m3_FreeRuntime(rt);
    m3_FreeEnvironment(env);
#endif
    free(wasm);
    return 0;
}
"""

#: what the host prints, the same on both runtimes
EXPECTED = {
    "add_to": "0,0,20",  # success; 5 twice added to the lent counter
    "too_big": "0,1,900",  # the export's own error, nothing added
    "bogus": "4",  # W2W_E_BAD_VALUE: 99 is no case of the status
    "glue_status": "4",  # nor is a glue status the guest's to return
    "keep_trap": "-1,1",  # an own handle is the host's again when the call traps
    "keep": "0,0,1",  # handed over: it stays in the table
    "keep_again": "0,1,1",  # refused by the guest, which owns it (and leaks it)
    "forget": "0,0,1",  # the guest dropped it: the host's drop ran
    "forget_again": "0,2",
    "sum": "0,920",
    "lent_back": "1",
    "give_back": "0,77",  # the guest's new counter, as the host's object
    "given_out": "1",  # and out of the table
    "crash": "-1,85",  # W2W_CALL_TRAPPED after the guest added 65
    "lent_back_after_trap": "1",
    "run": "0,0",
    "made": "2 dropped=2 live=1",  # k2 is still the guest's
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The generated glue and headers, and the guest."""
    out = tmp_path_factory.mktemp("chost_exports")
    (out / "guest.wit").write_text(WIT)
    files = wit2witx.compiler.compile([str(out / "guest.wit")], world="guest",
                                      emit=("c", "host-c", "host-wasm3", "host-wamr"))
    for name, text in files.items():
        (out / name).write_text(text)
    (out / "guest.c").write_text(GUEST_C)
    (out / "host.c").write_text(HOST_C)
    proc = zig_cc("--target=wasm32-freestanding", "-nostdlib", "-O2", "-std=c11", "-Wall", "-Wextra",
                  "-Werror", "-Wl,--no-entry", "-I", str(out), "-o", str(out / "guest.wasm"),
                  str(out / "guest.c"))
    assert proc.returncode == 0, proc.stderr
    return out


def test_one_typed_caller_per_export_in_each_binding(built):
    for runtime, stem in (("wasm3", "w3"), ("wamr", "wamr")):
        header = (built / f"test_exports_guest_{runtime}.h").read_text()
        callers = sorted(line.split("(")[0].split()[-1] for line in header.splitlines()
                         if line.startswith("int test_exports_guest_"))
        assert callers == [f"test_exports_guest_{stem}_call_{f}"
                           for f in ("add_to", "crash", "forget", "give_back", "keep", "run", "sum")]
        # a module with exports only has nothing to link or register
        assert "_link(" not in header and "_register(" not in header


def _facts(facts: dict[str, str]) -> None:
    assert {k: facts.get(k) for k in EXPECTED} == EXPECTED


def test_wasm3_calls_the_exports(built):
    try:
        inc, lib = wasm3_lib(("-O1", "-g", *SAN))
    except Wasm3Unavailable as exc:
        pytest.fail(str(exc))
    exe = built / "host_wasm3"
    check(run([gcc(), *CFLAGS, *SAN, "-I", built, "-I", GUESTS, "-isystem", inc, built / "host.c",
               built / "test_exports_counters_host.c", built / "test_exports_counters_wasm3.c",
               built / "test_exports_guest_host.c", built / "test_exports_guest_wasm3.c",
               lib, "-lm", "-o", exe]), "building the wasm3 host")
    _facts(run_host(exe, built / "guest.wasm"))


@pytest.mark.parametrize("config", wamr_support.CONFIGS)
def test_wamr_calls_the_exports(built, config):
    include = wamr_support.require(wamr_support.wamr_include)
    lib = wamr_support.require(wamr_support.wamr_lib, config)
    exe = built / f"host_wamr_{config}"
    check(run([gcc(), *CFLAGS, *SAN, "-DUSE_WAMR", "-I", built, "-I", GUESTS, "-isystem", include,
               built / "host.c", built / "test_exports_counters_host.c",
               built / "test_exports_counters_wamr.c", built / "test_exports_guest_host.c",
               built / "test_exports_guest_wamr.c", lib, "-lpthread", "-lm", "-ldl", "-o", exe]),
          "building the WAMR host")
    _facts(run_host(exe, built / "guest.wasm"))
