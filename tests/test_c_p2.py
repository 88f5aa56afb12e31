"""`--emit c-p2`: wit-bindgen's C API for WASI 0.2 imports, over the P1 backport.

Compiled for real (zig, wasm32-wasi) as C11 and as C++ with `-Wall -Wextra -Werror`;
every generated type's `sizeof`/`_Alignof`/`offsetof` checked by static asserts whose
numbers this test computes itself from the Canonical ABI's size and alignment rules (on
the resolved WIT, not on anything the generator decided); names checked against the
prototypes wit-bindgen 0.60 generates (as shipped in wasi-libc's `wasi/wasip2.h`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import zig_cc
from wasi import wasi_package_with_deps
from wit2witx import compiler, ir
from wit2witx.diagnostics import UsageError

WORLD = "wasi:cli/imports"
VERSION = "0.2.12"
#: wasi-libc's build of `<wasi/wasip2.h>` (cmake/bindings.cmake): wit-bindgen c
#: --autodrop-borrows yes --rename-world wasip2 --rename wasi:<pkg>/<iface>@<v>=<name>
WASI_LIBC_RENAMES = {
    "clocks/monotonic-clock": "monotonic_clock", "clocks/wall-clock": "wall_clock",
    "filesystem/preopens": "filesystem_preopens", "filesystem/types": "filesystem",
    "io/error": "io_error", "io/poll": "poll", "io/streams": "streams",
    "random/insecure-seed": "random_insecure_seed", "random/insecure": "random_insecure",
    "random/random": "random", "sockets/instance-network": "instance_network",
    "sockets/ip-name-lookup": "ip_name_lookup", "sockets/network": "network",
    "sockets/tcp-create-socket": "tcp_create_socket", "sockets/tcp": "tcp",
    "sockets/udp-create-socket": "udp_create_socket", "sockets/udp": "udp",
    "cli/environment": "environment", "cli/exit": "exit", "cli/stdin": "stdin",
    "cli/stdout": "stdout", "cli/stderr": "stderr", "cli/terminal-input": "terminal_input",
    "cli/terminal-output": "terminal_output", "cli/terminal-stdin": "terminal_stdin",
    "cli/terminal-stdout": "terminal_stdout", "cli/terminal-stderr": "terminal_stderr",
}


@pytest.fixture(scope="module")
def cli_root(tmp_path_factory) -> Path:
    return wasi_package_with_deps(tmp_path_factory.mktemp("c_p2"), "cli")


@pytest.fixture(scope="module")
def p2(cli_root) -> dict[str, str]:
    return dict(compiler.compile([str(cli_root)], emit="c-p2", world=WORLD))


@pytest.fixture(scope="module")
def wasip2(cli_root) -> dict[str, str]:
    renames = {f"wasi:{k}@{VERSION}": v for k, v in WASI_LIBC_RENAMES.items()}
    return dict(compiler.compile([str(cli_root)], emit="c-p2", world=WORLD, renames=renames,
                                 rename_world="wasip2", autodrop_borrows=True))


def _write(files: dict[str, str], where: Path) -> None:
    for name, text in files.items():
        (where / name).write_text(text)


# --------------------------------------------------------------------------- compiling


def test_files_are_the_worlds(p2, wasip2):
    assert sorted(p2) == ["imports.c", "imports.h"]
    assert sorted(wasip2) == ["wasip2.c", "wasip2.h"]


@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++"])
def test_header_compiles_warning_free(p2, tmp_path, cxx):
    _write(p2, tmp_path)
    src = tmp_path / ("use.cc" if cxx else "use.c")
    src.write_text('#include "imports.h"\nint probe(void);\nint probe(void) { return 0; }\n')
    std = "-std=c++17" if cxx else "-std=c11"
    proc = zig_cc("--target=wasm32-wasi", std, "-Wall", "-Wextra", "-Werror", "-c",
                  "-o", str(tmp_path / "use.o"), str(src), cxx=cxx)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("files", ["p2", "wasip2"])
def test_source_compiles_warning_free(files, request, tmp_path):
    out = request.getfixturevalue(files)
    _write(out, tmp_path)
    source = next(n for n in out if n.endswith(".c"))
    proc = zig_cc("--target=wasm32-wasi", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                  "-c", "-o", str(tmp_path / "shim.o"), str(tmp_path / source))
    assert proc.returncode == 0, proc.stderr


def test_deterministic(cli_root, p2):
    again = dict(compiler.compile([str(cli_root)], emit="c-p2", world=WORLD))
    assert again == p2


# --------------------------------------------------------------------------- wit-bindgen's API


#: Prototypes as wit-bindgen 0.60 prints them in wasi-libc's `wasi/__generated_wasip2.h`
#: (world `wasi:cli/imports`, the renames above): one of each flattening rule.
WIT_BINDGEN_PROTOTYPES = [
    # a result<list<u8>, stream-error>: bool, the ok value through `ret`, the error `err`
    "extern bool streams_method_input_stream_read(streams_borrow_input_stream_t self, "
    "uint64_t len, wasip2_list_u8_t *ret, streams_stream_error_t *err);",
    # a list parameter by pointer, a result<_, E>: only `err`
    "extern bool streams_method_output_stream_write(streams_borrow_output_stream_t self, "
    "wasip2_list_u8_t *contents, streams_stream_error_t *err);",
    # a list of borrows, a list result through `ret`
    "extern void poll_poll(poll_list_borrow_pollable_t *in, wasip2_list_u32_t *ret);",
    # an option result: bool + `ret`
    "extern bool terminal_stdin_get_terminal_stdin(terminal_stdin_own_terminal_input_t *ret);",
    # a variant parameter by pointer, an enum error
    "extern bool tcp_method_tcp_socket_start_connect(tcp_borrow_tcp_socket_t self, "
    "tcp_borrow_network_t network, tcp_ip_socket_address_t *remote_address, "
    "tcp_error_code_t *err);",
    # an option parameter: `T *maybe_x`
    "extern bool udp_method_udp_socket_stream(udp_borrow_udp_socket_t self, "
    "udp_ip_socket_address_t *maybe_remote_address, "
    "udp_tuple2_own_incoming_datagram_stream_own_outgoing_datagram_stream_t *ret, "
    "udp_error_code_t *err);",
    # a tuple result of primitives in the world's namespace, a parameter named `err`
    "extern void random_insecure_seed_insecure_seed(wasip2_tuple2_u64_u64_t *ret);",
    "extern bool filesystem_filesystem_error_code(filesystem_borrow_error_t err_, "
    "filesystem_error_code_t *ret);",
    # scalars returned directly, no parameters
    "extern monotonic_clock_instant_t monotonic_clock_now(void);",
    "extern void environment_get_environment(wasip2_list_tuple2_string_string_t *ret);",
    # helpers
    "void wasip2_string_dup_n(wasip2_string_t *ret, const char *s, size_t len);",
    "extern void poll_pollable_drop_own(poll_own_pollable_t handle);",
    "extern poll_borrow_pollable_t poll_borrow_pollable(poll_own_pollable_t handle);",
    "void streams_stream_error_free(streams_stream_error_t *ptr);",
]


@pytest.mark.parametrize("prototype", WIT_BINDGEN_PROTOTYPES)
def test_wit_bindgen_prototypes(wasip2, prototype):
    header = " ".join(wasip2["wasip2.h"].split())
    decl = prototype.removeprefix("extern ")
    assert decl in header


def test_wit_bindgen_types(wasip2):
    h = re.sub(r"\n *//[^\n]*", "", wasip2["wasip2.h"])  # without the doc comments
    assert "typedef struct wasip2_string_t {\n  uint8_t *ptr;\n  size_t len;\n} wasip2_string_t;" in h
    assert "typedef struct poll_own_pollable_t {\n  int32_t __handle;\n} poll_own_pollable_t;" in h
    # a `use`d resource: the handle typedef'd to the owner's
    assert "typedef poll_own_pollable_t streams_own_pollable_t;" in h
    # an enum: an integer typedef and shouty #defines; a flags type: bits
    assert "typedef uint8_t filesystem_error_code_t;" in h
    assert "#define FILESYSTEM_ERROR_CODE_CROSS_DEVICE 36" in h
    assert "#define FILESYSTEM_OPEN_FLAGS_TRUNCATE (1 << 3)" in h
    # a result without payloads, a variant with one
    assert re.search(r"typedef struct \{\n  bool is_err;\n\} exit_result_void_void_t;", h)
    assert re.search(r"typedef struct streams_stream_error_t \{\n  uint8_t tag;\n  union \{\n"
                     r"    streams_own_error_t last_operation_failed;\n  \} val;\n\}", h)


def test_autodrop_borrows(p2, wasip2):
    assert "void wasi_io_poll_pollable_drop_borrow(" in p2["imports.h"]
    assert "_drop_borrow(" not in wasip2["wasip2.h"]


def test_version_only_when_two_versions_meet(p2):
    assert "wasi_io_streams_method_input_stream_read(" in p2["imports.h"]
    assert "0_2_12" not in p2["imports.h"]


def test_bad_renames(cli_root):
    with pytest.raises(UsageError, match="matches no interface"):
        compiler.compile([str(cli_root)], emit="c-p2", world=WORLD, renames={"wasi:nope/x": "x"})
    with pytest.raises(UsageError, match="not a C identifier"):
        compiler.compile([str(cli_root)], emit="c-p2", world=WORLD,
                         renames={"wasi:io/streams": "a-b"})
    with pytest.raises(UsageError, match="needs `--world`"):
        compiler.compile([str(cli_root)], emit="c-p2")


def test_without_a_world_among_other_back_ends_a_warning(cli_root):
    """`--emit` with every back end and no world: the others run, c-p2 warns."""
    out = compiler.compile([str(cli_root)], emit=["witx", "c-p2"])
    assert out and all(name.endswith(".witx") for name in out)
    assert any("needs `--world`" in w.message for w in out.warnings)


def test_cli_options(cli_root, tmp_path):
    from typer.testing import CliRunner

    from wit2witx.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        str(cli_root), "--world", WORLD, "--emit", "c-p2", "--rename-world", "wasip2",
        "--rename", f"wasi:io/streams@{VERSION}=streams", "--autodrop-borrows", "yes",
        "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    header = (out / "wasip2.h").read_text()
    assert "streams_method_input_stream_read(" in header and "_drop_borrow(" not in header
    bad = CliRunner().invoke(app, [str(cli_root), "--world", WORLD, "--emit", "c-p2",
                                   "--autodrop-borrows", "maybe", "-o", str(out)])
    assert bad.exit_code == 2


# --------------------------------------------------------------------------- layout


class CanonicalLayout:
    """Size, alignment and member offsets of the C types wit-bindgen makes, from the
    Canonical ABI's rules (`despecialize` + `size`/`alignment` of the Component Model's
    CanonicalABI.md), and the names wit-bindgen gives them."""

    PRIMS = {"bool": 1, "u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4, "f32": 4,
             "char": 4, "u64": 8, "s64": 8, "f64": 8}

    def __init__(self, r: ir.Resolve, world: str, prefixes: dict[int, str]) -> None:
        self.r, self.world, self.prefixes = r, world, prefixes

    @staticmethod
    def align_to(n: int, a: int) -> int:
        return (n + a - 1) // a * a

    def deref(self, t):
        while isinstance(t, int) and isinstance(self.r.types[t].kind, ir.Alias):
            t = self.r.types[t].kind.target
        return t

    def size_align(self, t) -> tuple[int, int]:
        t = self.deref(t)
        if isinstance(t, str):
            return (8, 4) if t == "string" else (self.PRIMS[t], self.PRIMS[t])
        k = self.r.types[t].kind
        if isinstance(k, ir.Handle):
            return 4, 4
        if isinstance(k, ir.List):
            return 8, 4
        if isinstance(k, (ir.Record, ir.Tuple)):
            return self.struct([f.type for f in k.fields] if isinstance(k, ir.Record) else k.types)[:2]
        if isinstance(k, ir.Flags):
            n = len(k.flags)
            s = 1 if n <= 8 else 2 if n <= 16 else 4
            return s, s
        if isinstance(k, ir.Enum):
            s = self.disc(len(k.cases))
            return s, s
        size, align, _ = self.variant(self.cases(k))
        return size, align

    def cases(self, k) -> list:
        if isinstance(k, ir.Variant):
            return [c.type for c in k.cases]
        if isinstance(k, ir.Option):
            return [None, k.inner]
        assert isinstance(k, ir.Result)
        return [k.ok, k.err]

    @staticmethod
    def disc(n: int) -> int:
        return 1 if n <= 256 else 2 if n <= 65536 else 4

    def struct(self, members) -> tuple[int, int, list[int]]:
        offset, align, offsets = 0, 1, []
        for t in members:
            s, a = self.size_align(t)
            offset = self.align_to(offset, a)
            offsets.append(offset)
            offset += s
            align = max(align, a)
        return self.align_to(offset, align), align, offsets

    def variant(self, cases) -> tuple[int, int, int]:
        d = self.disc(len(cases))
        payloads = [self.size_align(c) for c in cases if c is not None]
        pa = max([a for _, a in payloads], default=1)
        ps = max([s for s, _ in payloads], default=0)
        align = max(d, pa)
        start = self.align_to(d, pa)
        return self.align_to(start + ps, align), align, start

    # -- names (wit-bindgen's rules, written again here) ----------------------------

    def snake(self, name: str) -> str:
        return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")

    def prim(self, t) -> bool:
        if isinstance(t, str):
            return True
        td = self.r.types[t]
        if td.name is not None:
            return False
        k = td.kind
        if isinstance(k, ir.List):
            return self.prim(k.element)
        if isinstance(k, ir.Option):
            return self.prim(k.inner)
        if isinstance(k, ir.Tuple):
            return all(self.prim(x) for x in k.types)
        return False

    def enc(self, t) -> str:
        if isinstance(t, str):
            return "char32" if t == "char" else t
        td = self.r.types[t]
        if td.name is not None:
            return self.snake(td.name)
        k = td.kind
        if isinstance(k, ir.Tuple):
            return f"tuple{len(k.types)}" + "".join("_" + self.enc(x) for x in k.types)
        if isinstance(k, ir.Option):
            return "option_" + self.enc(k.inner)
        if isinstance(k, ir.Result):
            return "result_" + ("void" if k.ok is None else self.enc(k.ok)) + "_" + (
                "void" if k.err is None else self.enc(k.err))
        if isinstance(k, ir.List):
            return "list_" + self.enc(k.element)
        assert isinstance(k, ir.Handle)
        return f"{k.kind}_" + self.enc(k.resource)

    def c_name(self, t, ns: str) -> str | None:
        """The typedef of a compound or named type (None for primitives and handles)."""
        if isinstance(t, str):
            return None
        td = self.r.types[t]
        if isinstance(td.kind, (ir.Handle, ir.Resource)):
            return None
        if td.name is not None:
            owner = td.owner
            target = self.deref(t)
            if isinstance(target, int) and isinstance(self.r.types[target].kind, ir.Resource):
                return None
            return f"{self.prefixes[owner.id]}_{self.snake(td.name)}_t"
        return f"{self.world if self.prim(t) else ns}_{self.enc(t)}_t"


def _assertions(lay: CanonicalLayout, r: ir.Resolve, world: ir.World) -> list[str]:
    """`_Static_assert`s for every named type of the world's interfaces and every
    anonymous type their members and function signatures use."""
    out: dict[str, list[str]] = {}

    def visit(t, ns: str) -> None:
        name = lay.c_name(t, ns)
        if name is None or name in out:
            return
        size, align = lay.size_align(t)
        lines = [f"_Static_assert(sizeof({name}) == {size}, \"size\");",
                 f"_Static_assert(_Alignof({name}) == {align}, \"align\");"]
        out[name] = lines
        d = lay.deref(t)
        if not isinstance(d, int):
            return
        k = r.types[d].kind
        owner_ns = ns if r.types[t].name is None else lay.prefixes[r.types[t].owner.id]
        if isinstance(k, (ir.Record, ir.Tuple)) and name == lay.c_name(d, owner_ns):
            members = ([(f.name, f.type) for f in k.fields] if isinstance(k, ir.Record)
                       else [(f"f{i}", x) for i, x in enumerate(k.types)])
            _, _, offsets = lay.struct([x for _, x in members])
            for (mname, _), off in zip(members, offsets):
                lines.append(f"_Static_assert(offsetof({name}, {lay.snake(mname)}) == {off}, \"off\");")
        elif isinstance(k, (ir.Variant, ir.Option, ir.Result)) and any(c is not None for c in lay.cases(k)) \
                and name == lay.c_name(d, owner_ns):
            _, _, start = lay.variant(lay.cases(k))
            lines.append(f"_Static_assert(offsetof({name}, val) == {start}, \"payload\");")
        for inner in ir.type_refs(k) if not isinstance(k, ir.Handle) else []:
            visit(inner, owner_ns)

    for item in world.imports.values():
        if not isinstance(item, ir.WorldInterface):
            continue
        ns = lay.prefixes[item.id]
        iface = r.interfaces[item.id]
        for tid in iface.types.values():
            visit(tid, ns)
        for f in iface.functions.values():
            for p in f.params:
                visit(p.type, ns)
            if f.result is not None:
                visit(f.result, ns)
    return [line for lines in out.values() for line in lines]


def test_layout_matches_the_canonical_abi(cli_root, wasip2, tmp_path):
    from wit2witx.p1.lower import find_world
    from wit2witx.wit.resolve import load

    r = load([str(cli_root)])
    world = r.worlds[find_world(r, WORLD)]
    prefixes = {}
    for key, item in world.imports.items():
        if isinstance(item, ir.WorldInterface):
            qualified = r.interface_qualified_name(item.id)
            prefixes[item.id] = WASI_LIBC_RENAMES[qualified.split(":", 1)[1].split("@")[0]]
    lay = CanonicalLayout(r, "wasip2", prefixes)
    asserts = _assertions(lay, r, world)
    assert sum("sizeof" in a for a in asserts) > 100  # ~120 of the ~150 typedefs (not handles)
    _write(wasip2, tmp_path)
    (tmp_path / "layout.c").write_text(
        '#include <stddef.h>\n#include "wasip2.h"\n' + "\n".join(asserts) + "\n")
    proc = zig_cc("--target=wasm32-wasi", "-std=c11", "-Wall", "-Wextra", "-Werror", "-c",
                  "-o", str(tmp_path / "layout.o"), str(tmp_path / "layout.c"))
    assert proc.returncode == 0, proc.stderr[:4000]


def test_http_proxy_world_compiles_with_its_export(tmp_path):
    """wasi:http/proxy: every type of wasi:http (error payloads with strings, options,
    lists of tuples) and the `incoming-handler.handle` export, as wit-bindgen spells it
    (the export's types in the `exports_` namespace)."""
    root = wasi_package_with_deps(tmp_path / "in", "http")
    files = dict(compiler.compile([str(root)], emit="c-p2", world="wasi:http/proxy"))
    header = " ".join(files["proxy.h"].split())
    assert ("extern void exports_wasi_http_incoming_handler_handle("
            "exports_wasi_http_incoming_handler_own_incoming_request_t request, "
            "exports_wasi_http_incoming_handler_own_response_outparam_t response_out);") in header
    assert '__export_name__("wasi_http_incoming_handler#handle")' in files["proxy.c"]
    out = tmp_path / "out"
    out.mkdir()
    _write(files, out)
    (out / "use.cc").write_text('#include "proxy.h"\n')
    for args, cxx in ((["-std=c11", "-O2", "-c", "-o", str(out / "p.o"), str(out / "proxy.c")], False),
                      (["-std=c++17", "-c", "-o", str(out / "u.o"), str(out / "use.cc")], True)):
        proc = zig_cc("--target=wasm32-wasi", "-Wall", "-Wextra", "-Werror", *args, cxx=cxx)
        assert proc.returncode == 0, proc.stderr


BAD_WIT = """package test:bad;

interface fixed {
  get: func(x: list<u8, 4>) -> u32;
}

world fixed-list { import fixed; }
world own-function { import get-all: func() -> u32; }
"""


@pytest.mark.parametrize("world,message,line", [
    ("fixed-list", "fixed-length list", 4),
    ("own-function", "imported function `get-all`", 8),
])
def test_unsupported_items_are_diagnosed_at_their_place(tmp_path, world, message, line):
    import subprocess
    import sys

    (tmp_path / "bad.wit").write_text(BAD_WIT)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "wit2witx", str(tmp_path / "bad.wit"), "--world",
                           world, "--emit", "c-p2", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert message in proc.stderr and f"bad.wit:{line}:" in proc.stderr and "^" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_identical_across_hash_seeds(cli_root, tmp_path):
    import os
    import subprocess
    import sys

    texts = []
    for seed in ("0", "4242"):
        out = tmp_path / f"out{seed}"
        proc = subprocess.run([sys.executable, "-m", "wit2witx", str(cli_root), "--world", WORLD,
                               "--emit", "c-p2", "-o", str(out), "-q"],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        texts.append({p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".h", ".c")})
    assert texts[0] == texts[1] and len(texts[0]) == 2
