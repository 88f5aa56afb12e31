"""Strings from the guest must be well-formed UTF-8 (C and Python host glue agree).

WIT says a `string` is Unicode text: the component model traps on ill-formed UTF-8. The
Python glue decodes every string with Python's strict decoder (`runtime.Str`,
`bad_value` when it fails); the C glue checks the same rule with `w2w_valid_utf8`
(w2w_host.h) for a string parameter, the strings of a record passed by reference and
the strings in list elements, before the implementation runs. A string in a result
that is not UTF-8 is the implementation's bug and is refused with `bad_value` too (in
Python, a `str` with lone surrogates cannot be encoded; docs/abi.md, "Glue statuses").

- `w2w_valid_utf8` against Python's decoder, on every string of one or two bytes and on
  many random ones (biased toward the bytes where the rule changes), in a small C
  harness built with AddressSanitizer (each string in an allocation of its own size);
- a hostile guest (made here from `CASES`) passes every class of ill-formed UTF-8
  (overlong, surrogate, past U+10FFFF, truncated, a stray continuation byte) and the
  well-formed edge cases (U+0000, U+07FF, U+FFFF, U+10FFFF, 4-byte sequences) as a
  string parameter, as the string of a record and as a list element, and asks the host
  for each as a result (`sample`); on wasm3, on WAMR (both configurations) and on
  wasmtime through the Python glue it gets the same statuses, and the implementation is
  not called for an ill-formed string (the hosts count their calls and decode what
  they get with a decoder of their own);
- a WIT `string` parameter, lowered to the `const_pointer u8` + length a `list<u8>` is
  and marked `(@w2w string)` (`measure_text`), is checked the same way, and the same
  bytes as a `list<u8>` (`measure_bytes`) are not: the WAT guest passes every case to
  both, and so does a C guest built with zig against the generated header (which gives
  both `const uint8_t *` + `size_t`); the hosts log the bytes they get, which must be
  the guest's, unchanged (Python: a `str` for the text, `bytes` for the list).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, import_from

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import wamr as wamr_support  # noqa: E402
from support.wasm3 import gcc  # noqa: E402
from test_host_c import (  # noqa: E402
    CFLAGS, GUESTS, SAN, build_host, build_wamr_host, check, generate, run, run_host, wasm3_san, wat_guest,
    zig_guest,
)

import wit2witx.compiler  # noqa: E402

pytestmark = pytest.mark.slow

WITX = FIXTURES / "witx" / "strings.witx"
HOST = GUESTS / "strings_host.c"
SUPPORT = Path(wit2witx.__file__).parent / "hosts" / "c" / "generated"

#: every class of ill-formed UTF-8, and the well-formed edge cases
CASES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("ASCII", b"hello"),
    ("U+0000", b"\x00"),
    ("U+007F", b"\x7f"),
    ("U+0080", b"\xc2\x80"),
    ("U+07FF", b"\xdf\xbf"),
    ("U+0800", b"\xe0\xa0\x80"),
    ("U+D7FF", b"\xed\x9f\xbf"),
    ("U+E000", b"\xee\x80\x80"),
    ("U+FFFF", b"\xef\xbf\xbf"),
    ("U+10000", b"\xf0\x90\x80\x80"),
    ("U+1F600", "\U0001F600".encode()),
    ("U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("mixed", "a\x00\u00e9\u20ac\U0001F600z".encode()),
    ("overlong NUL", b"\xc0\x80"),
    ("overlong 2-byte", b"\xc1\xbf"),
    ("overlong 3-byte", b"\xe0\x80\x80"),
    ("overlong U+07FF", b"\xe0\x9f\xbf"),
    ("overlong 4-byte", b"\xf0\x80\x80\x80"),
    ("overlong U+FFFF", b"\xf0\x8f\xbf\xbf"),
    ("surrogate U+D800", b"\xed\xa0\x80"),
    ("surrogate U+DFFF", b"ok\xed\xbf\xbf"),
    ("surrogate pair (CESU-8)", b"\xed\xa0\xbd\xed\xb8\x80"),
    ("U+110000", b"\xf4\x90\x80\x80"),
    ("lead F5", b"\xf5\x80\x80\x80"),
    ("byte FF", b"\xff"),
    ("truncated 2-byte", b"\xc3"),
    ("truncated 3-byte", b"a\xe2\x82"),
    ("truncated 4-byte", b"\xf0\x9f\x98"),
    ("truncated, then ASCII", b"\xe2\x82a"),
    ("bare continuation", b"\x80"),
    ("continuation after ASCII", b"ab\xbfcd"),
    ("one continuation too many", b"\xc3\xa9\xa9"),
]


def well_formed(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_the_cases_cover_every_class():
    bad = [label for label, data in CASES if not well_formed(data)]
    assert len(bad) == 19 and len(CASES) - len(bad) == 14
    for word in ("overlong", "surrogate", "U+110000", "truncated", "continuation"):
        assert any(word in label for label in bad), word


# --------------------------------------------------------------------------- the function

HARNESS = r"""
#include "w2w_host.h"
#include <stdio.h>
#include <stdlib.h>

/* stdin: records of a little-endian u32 length and the bytes; stdout: 1 or 0 each */
int main(void)
{
    unsigned char head[4];
    while (fread(head, 1, 4, stdin) == 4) {
        uint32_t n = w2w_ld_u32(head);
        uint8_t *s = malloc(n ? n : 1);
        if (s == NULL || fread(s, 1, n, stdin) != n)
            return 2;
        putchar(w2w_valid_utf8(s, n) ? '1' : '0');
        free(s);
    }
    return 0;
}
"""

#: bytes at which the rule changes (the ranges of table 3-7), and a few in between
EDGES = bytes([0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
               0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFE,
               0xFF])


def samples() -> list[bytes]:
    """Every string of up to two bytes, every 3- and 4-byte string of edge bytes, the
    cases, and 60,000 random strings of up to 12 bytes (edge bytes mostly)."""
    out = [b""] + [bytes([a]) for a in range(256)]
    out += [bytes([a, b]) for a in range(256) for b in range(256)]
    out += [bytes([a, b, c]) for a in EDGES for b in EDGES for c in EDGES]
    out += [bytes([a, b, c, d]) for a in EDGES[13:] for b in EDGES for c in EDGES[3:9] for d in EDGES[3:9]]
    out += [data for _, data in CASES]
    rng = random.Random(20261205)
    for _ in range(60_000):
        n = rng.randrange(13)
        out.append(bytes(rng.choice(EDGES) if rng.random() < 0.8 else rng.randrange(256) for _ in range(n)))
    return out


def test_w2w_valid_utf8_agrees_with_pythons_decoder(tmp_path):
    src = tmp_path / "utf8.c"
    src.write_text(HARNESS)
    exe = tmp_path / "utf8"
    check(run([gcc(), *CFLAGS, *SAN, "-I", SUPPORT, src, "-o", exe]), "building the UTF-8 harness")
    cases = samples()
    stream = b"".join(len(s).to_bytes(4, "little") + s for s in cases)
    import subprocess

    proc = subprocess.run([str(exe)], input=stream, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    got = proc.stdout.decode()
    assert len(got) == len(cases)
    wrong = [s.hex() for s, g in zip(cases, got) if (g == "1") != well_formed(s)]
    assert not wrong, f"{len(wrong)} disagree, e.g. {wrong[:10]}"
    assert 0 < got.count("0") < len(got)  # both answers were given


# --------------------------------------------------------------------------- the glue


def test_every_guest_string_is_checked_where_the_glue_meets_it():
    files = wit2witx.compiler.compile([WITX], emit=("host-c",))
    body = files["strs_host_inline.h"]
    # the parameter itself, before the implementation
    assert "if (!w2w_valid_utf8(p_s, (uint32_t)a_s_len))\n        return strs_glue_status[W2W_E_BAD_VALUE];" in body
    # a record by reference and list elements: their check functions
    assert "strs_check_measure_named_n_inline(mem, host->handles, p_n, 1u)" in body
    assert "strs_check_measure_all_all_inline(mem, host->handles, p_all, " in body
    assert body.count("if (!w2w_valid_utf8(q") == 2
    # a result string the implementation laid out
    assert body.count("if (!w2w_valid_utf8((const uint8_t *)(*src)") == 2  # text, named.name
    # a WIT `string` parameter (`(@w2w string)`), in the C type the guest has always
    # had; the same bytes as a `list<u8>` stay unchecked
    assert "if (!w2w_valid_utf8(p_t, (uint32_t)a_t_len))\n        return strs_glue_status[W2W_E_BAD_VALUE];" in body
    assert "w2w_valid_utf8(p_b" not in body
    header = files["strs_host.h"]
    assert "strs_impl_measure_text(strs_host_ctx_t *host, const uint8_t *t, uint32_t t_len, " in header
    assert "strs_impl_measure_bytes(strs_host_ctx_t *host, const uint8_t *b, uint32_t b_len, " in header
    guest = wit2witx.compiler.compile([WITX], emit=("c",))["strs.h"]
    assert "strs_measure_text(\n    const uint8_t *t,\n    size_t t_len," in guest
    # a list of plain bytes stays unchecked
    example = wit2witx.compiler.compile([FIXTURES / "example"], emit=("host-c",))
    assert "w2w_valid_utf8(p_data" not in example["example_sensors_bus_host_inline.h"]


SENTINEL = 0x5A5A5A5A


def guest_wat() -> str:
    """The hostile guest: for each case, measure(s), measure_named({i, s}), measure_all
    (["ab", s, "é"]), sample(i), measure_text(s) and measure_bytes(s). A well-formed case
    must succeed with the code points counted (sample: the same bytes back); an
    ill-formed one must be `bad_value` (5) with nothing written; measure_bytes (a
    `list<u8>`) succeeds with the byte count for every case. run() returns 0 or
    10 * case + call of the first failure."""
    table, blob = [], b""
    for _, data in CASES:
        table.append((0x1000 + len(blob), len(data), code_points(data)))
        blob += data
    esc = lambda b: "".join(f"\\{x:02x}" for x in b)  # noqa: E731
    entries = b"".join(x.to_bytes(4, "little", signed=True) for row in table for x in row)
    return f"""(module
  (import "strs" "measure" (func $measure (param i32 i32 i32) (result i32)))
  (import "strs" "measure_named" (func $named (param i32 i32) (result i32)))
  (import "strs" "measure_all" (func $all (param i32 i32 i32) (result i32)))
  (import "strs" "sample" (func $sample (param i32 i32 i32 i32 i32) (result i32)))
  (import "strs" "measure_text" (func $text (param i32 i32 i32) (result i32)))
  (import "strs" "measure_bytes" (func $bytes (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x800) "{esc(entries)}")
  (data (i32.const 0xF00) "ab\\c3\\a9")
  (data (i32.const 0x1000) "{esc(blob)}")
  (global $calls (mut i32) (i32.const 0))
  (global $failed (mut i32) (i32.const 0))
  (func $fail (param $id i32)
    (if (i32.eqz (global.get $failed)) (then (global.set $failed (local.get $id)))))
  (func $expect (param $got i32) (param $want i32) (param $id i32)
    (if (i32.ne (local.get $got) (local.get $want)) (then (call $fail (local.get $id)))))
  (func $same (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $differ
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))
  ;; a count at 0x20: bad_value and 0x20 untouched for want < 0, else success and want
  (func $outcome (param $st i32) (param $want i32) (param $id i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.lt_s (local.get $want) (i32.const 0))
      (then (call $expect (local.get $st) (i32.const 5) (local.get $id))
            (call $expect (i32.load (i32.const 0x20)) (i32.const {SENTINEL}) (local.get $id)))
      (else (call $expect (local.get $st) (i32.const 0) (local.get $id))
            (call $expect (i32.load (i32.const 0x20)) (local.get $want) (local.get $id)))))
  (func (export "run") (result i32)
    (local $i i32) (local $e i32) (local $p i32) (local $n i32) (local $want i32) (local $st i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const {len(CASES)})))
        (local.set $e (i32.add (i32.const 0x800) (i32.mul (local.get $i) (i32.const 12))))
        (local.set $p (i32.load (local.get $e)))
        (local.set $n (i32.load offset=4 (local.get $e)))
        (local.set $want (i32.load offset=8 (local.get $e)))
        ;; 1: the string as a parameter
        (i32.store (i32.const 0x20) (i32.const {SENTINEL}))
        (call $outcome (call $measure (local.get $p) (local.get $n) (i32.const 0x20))
                       (local.get $want) (i32.add (i32.mul (local.get $i) (i32.const 10)) (i32.const 1)))
        ;; 2: the name of a record passed by reference (id, name)
        (i32.store (i32.const 0x40) (local.get $i))
        (i32.store (i32.const 0x44) (local.get $p))
        (i32.store (i32.const 0x48) (local.get $n))
        (i32.store (i32.const 0x20) (i32.const {SENTINEL}))
        (call $outcome (call $named (i32.const 0x40) (i32.const 0x20))
                       (local.get $want) (i32.add (i32.mul (local.get $i) (i32.const 10)) (i32.const 2)))
        ;; 3: the middle element of ["ab", s, "é"]
        (i32.store (i32.const 0x60) (i32.const 0xF00))
        (i32.store (i32.const 0x64) (i32.const 2))
        (i32.store (i32.const 0x68) (local.get $p))
        (i32.store (i32.const 0x6c) (local.get $n))
        (i32.store (i32.const 0x70) (i32.const 0xF02))
        (i32.store (i32.const 0x74) (i32.const 2))
        (i32.store (i32.const 0x20) (i32.const {SENTINEL}))
        (call $outcome (call $all (i32.const 0x60) (i32.const 3) (i32.const 0x20))
                       (select (local.get $want) (i32.add (local.get $want) (i32.const 3))
                               (i32.lt_s (local.get $want) (i32.const 0)))
                       (i32.add (i32.mul (local.get $i) (i32.const 10)) (i32.const 3)))
        ;; 4: the host's sample i (the same bytes) as a result: buf 0x2000 [64], used
        ;; at 0x24, the string at 0x28
        (i32.store (i32.const 0x28) (i32.const {SENTINEL}))
        (i32.store (i32.const 0x2c) (i32.const {SENTINEL}))
        (local.set $st (call $sample (local.get $i) (i32.const 0x2000) (i32.const 64)
                                     (i32.const 0x24) (i32.const 0x28)))
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (local.set $e (i32.add (i32.mul (local.get $i) (i32.const 10)) (i32.const 4)))
        (if (i32.lt_s (local.get $want) (i32.const 0))
          (then (call $expect (local.get $st) (i32.const 5) (local.get $e))
                (call $expect (i32.load (i32.const 0x28)) (i32.const {SENTINEL}) (local.get $e))
                (call $expect (i32.load (i32.const 0x2c)) (i32.const {SENTINEL}) (local.get $e)))
          (else (call $expect (local.get $st) (i32.const 0) (local.get $e))
                (call $expect (i32.load (i32.const 0x2c)) (local.get $n) (local.get $e))
                (if (i32.eqz (local.get $st))
                  (then (call $expect (call $same (i32.load (i32.const 0x28)) (local.get $p) (local.get $n))
                                      (i32.const 1) (local.get $e))))))
        ;; 5: the string as a WIT `string` parameter (a `const_pointer u8` + length)
        (i32.store (i32.const 0x20) (i32.const {SENTINEL}))
        (call $outcome (call $text (local.get $p) (local.get $n) (i32.const 0x20))
                       (local.get $want) (i32.add (i32.mul (local.get $i) (i32.const 10)) (i32.const 5)))
        ;; 6: the same bytes as a `list<u8>`: never refused, their count back
        (i32.store (i32.const 0x20) (i32.const {SENTINEL}))
        (call $outcome (call $bytes (local.get $p) (local.get $n) (i32.const 0x20))
                       (local.get $n) (i32.add (i32.mul (local.get $i) (i32.const 10)) (i32.const 6)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (global.get $failed))
  (func (export "calls") (result i32) (global.get $calls)))
"""


def code_points(data: bytes) -> int:
    """What `measure` answers for a well-formed case; -1: it must be refused."""
    return len(data.decode("utf-8")) if well_formed(data) else -1


def cases_header(out: Path) -> None:
    """strings_cases.h: the cases' bytes, for the C host's `sample` and the C guest, and
    the code points each has (`want`, -1: not UTF-8)."""
    rows = ",\n".join('    { "' + "".join(f"\\x{b:02x}" for b in data) + f'", {len(data)}u, '
                      f'{code_points(data)} }}' for _, data in CASES)
    (out / "strings_cases.h").write_text(
        "#include <stdint.h>\n"
        "static const struct { const char *bytes; uint32_t len; int32_t want; } strings_cases[] = {\n"
        f"{rows}\n}};\n")


WELL_FORMED = sum(well_formed(data) for _, data in CASES)


#: what the guest's calls of `measure_text` / `measure_bytes` must deliver, in order:
#: the well-formed cases' bytes as they are (a WIT `string` parameter), every case's
#: bytes (a `list<u8>`)
TEXTS = [data for _, data in CASES if well_formed(data)]
BYTES = [data for _, data in CASES]


def logged(log: str) -> list[bytes]:
    """The byte strings of a C host's log (`strings_host.c`: hex, each then `.`)."""
    assert log.endswith(".") or log == ""
    return [bytes.fromhex(part) for part in log.split(".")[:-1]]


def check_facts(facts: dict[str, str]) -> None:
    """The WAT guest's run: every way a string reaches the host."""
    assert facts["run"] == "0", f"expectation {facts['run']} (10 * case + call) failed"
    assert facts["calls"] == str(6 * len(CASES))
    # measure, measure_named, measure_all: only with well-formed strings
    assert facts["measured"] == str(3 * WELL_FORMED)
    assert facts["samples"] == str(len(CASES))  # a result is checked after the call
    check_parameter_facts(facts)


def check_parameter_facts(facts: dict[str, str]) -> None:
    """A WIT `string` parameter: only the well-formed strings reach the implementation,
    each unchanged; the same bytes as a `list<u8>` all reach it."""
    assert facts["invalid_seen"] == "0"
    assert logged(facts["texts"]) == TEXTS
    assert logged(facts["bytes"]) == BYTES


def check_c_guest_facts(facts: dict[str, str]) -> None:
    """The C guest's run: `measure_text` and `measure_bytes` only."""
    assert facts["run"] == "0", f"expectation {facts['run']} (10 * case + call) failed"
    assert facts["calls"] == str(2 * len(CASES))
    assert facts["measured"] == facts["samples"] == "0"
    check_parameter_facts(facts)


def c_guest(out: Path) -> Path:
    """fixtures/guests/strings_guest.c, built with zig against the generated `strs.h`
    (the header must give `measure_text` the `const uint8_t *` + `size_t` it has)."""
    return zig_guest(GUESTS / "strings_guest.c", out, "strings_guest.wasm", exports=("run", "calls"))


@pytest.fixture(params=["wat", "c"])
def guest(request):
    """(make the guest into a folder holding the generated files, check its host's facts)"""
    if request.param == "wat":
        return (lambda out: wat_guest(guest_wat(), out, "strings")), check_facts
    return c_guest, check_c_guest_facts


def test_wasm3_refuses_ill_formed_strings(tmp_path, wasm3_san, guest):
    make, check_host = guest
    generate([WITX], tmp_path, emit=("c", "host-c", "host-wasm3"))
    cases_header(tmp_path)
    wasm = make(tmp_path)
    exe = build_host(tmp_path, [HOST, tmp_path / "strs_host.c", tmp_path / "strs_wasm3.c"],
                     wasm3_san, "strings_host")
    check_host(run_host(exe, wasm))


@pytest.mark.parametrize("config", wamr_support.CONFIGS)
def test_wamr_refuses_ill_formed_strings(tmp_path, config, guest):
    make, check_host = guest
    generate([WITX], tmp_path, emit=("c", "host-c", "host-wamr"))
    cases_header(tmp_path)
    wasm = make(tmp_path)
    exe = build_wamr_host(tmp_path, [HOST, tmp_path / "strs_host.c", tmp_path / "strs_wamr.c"],
                          config, "strings_wamr_host", defines=("-DSTRINGS_WAMR",))
    check_host(run_host(exe, wasm))


class PyImpl:
    """`strs` in Python: what each function got. `sample` returns each case decoded with
    `surrogateescape`: an ill-formed one holds lone surrogates, which the glue cannot
    encode (a `str` can hold nothing else that is not UTF-8)."""

    def __init__(self) -> None:
        self.measured: list[str] = []
        self.samples = 0
        self.texts: list[str] = []
        self.bytes: list[bytes] = []

    def measure(self, s):
        self.measured.append(s)
        return len(s)

    def measure_named(self, n):
        self.measured.append(n.name)
        return len(n.name)

    def measure_all(self, all):
        self.measured.append(all[1])
        return sum(len(s) for s in all)

    def sample(self, k, *, result_capacity):
        self.samples += 1
        return CASES[k][1].decode("utf-8", "surrogateescape")

    def measure_text(self, t):
        self.texts.append(t)
        return len(t)

    def measure_bytes(self, b):
        self.bytes.append(b)
        return len(b)


def run_on_python_glue(tmp_path: Path, wasm: Path) -> tuple[PyImpl, int, int]:
    """The guest on wasmtime over the generated Python glue: the implementation, run()
    and calls()."""
    import wasmtime

    text = wit2witx.compiler.compile([WITX], emit=("host-py",))["strs_host.py"]
    (tmp_path / "strings_utf8_host.py").write_text(text)
    [glue] = import_from(tmp_path, "strings_utf8_host", forget=True)
    impl = PyImpl()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    glue.add_to_linker(linker, store, impl)
    ex = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm))).exports(store)
    return impl, ex["run"](store), ex["calls"](store)


def check_python_parameters(impl: PyImpl) -> None:
    """A WIT `string` parameter reaches the implementation as the `str` a WITX `string`
    is, only when well-formed; a `list<u8>` as `bytes`, always."""
    assert impl.texts == [data.decode() for data in TEXTS]
    assert all(type(t) is str for t in impl.texts)
    assert impl.bytes == BYTES and all(type(b) is bytes for b in impl.bytes)


def test_python_glue_refuses_ill_formed_strings(tmp_path):
    """The WAT guest on wasmtime: the same statuses."""
    impl, failed, calls = run_on_python_glue(tmp_path, wat_guest(guest_wat(), tmp_path, "strings"))
    assert failed == 0, f"expectation {failed} (10 * case + call) failed"
    assert calls == 6 * len(CASES)
    good = [data.decode() for _, data in CASES if well_formed(data)]
    assert impl.measured == [s for s in good for _ in range(3)]
    assert impl.samples == len(CASES)
    check_python_parameters(impl)


def test_python_glue_checks_a_c_guests_string_parameters(tmp_path):
    """The C guest on wasmtime: its `const uint8_t *` strings are checked all the same."""
    generate([WITX], tmp_path, emit=("c",))
    cases_header(tmp_path)
    impl, failed, calls = run_on_python_glue(tmp_path, c_guest(tmp_path))
    assert failed == 0, f"expectation {failed} (10 * case + call) failed"
    assert calls == 2 * len(CASES)
    assert impl.measured == [] and impl.samples == 0
    check_python_parameters(impl)
