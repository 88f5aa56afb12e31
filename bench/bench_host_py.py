"""`make bench` (Python host glue): what the generated wasmtime-py glue costs.

1. calls/s of trivial imports from a wasm loop, next to hand-written wasmtime host
   functions doing the same work (the glue's own share of a call);
2. bytes/s of a TCP echo transfer: the C sockets guest (generated headers, compiled with
   zig) in wasmtime with the shipped glue and the reference host, against an echo server
   on 127.0.0.1 in a thread of this process.

Needs ../shared/corpus (headers for the guest), wasm-tools and ziglang. Nothing here
asserts: the figures go into the notes.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
GUEST = ROOT / "fixtures" / "guests" / "sockets" / "sockets_guest.c"
BIN = Path(sys.executable).parent


def _wasm_tools() -> str:
    exe = BIN / "wasm-tools"
    return str(exe) if exe.exists() else "wasm-tools"


def _assemble(wat: str, tmp: Path, name: str) -> Path:
    src, out = tmp / f"{name}.wat", tmp / f"{name}.wasm"
    src.write_text(wat)
    subprocess.run([_wasm_tools(), "parse", str(src), "-o", str(out)], check=True)
    return out


LOOP_WAT = """(module
  (import "wasi_clocks_monotonic_clock" "now" (func $now (param i32) (result i32)))
  (import "wasi_sockets_tcp" "tcp_socket_is_listening" (func $listening (param i32 i32) (result i32)))
  (import "bench" "bare" (func $bare (param i32) (result i32)))
  (import "bench" "bare_mem" (func $bare_mem (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "loop_now") (param $n i32)
    (loop $l (drop (call $now (i32.const 64)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "loop_listening") (param $h i32) (param $n i32)
    (loop $l (drop (call $listening (local.get $h) (i32.const 64)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "loop_bare") (param $n i32)
    (loop $l (drop (call $bare (i32.const 64)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "loop_bare_mem") (param $n i32)
    (loop $l (drop (call $bare_mem (i32.const 64)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
"""


def bench_calls(tmp: Path, n: int, repeat: int) -> dict[str, float]:
    import wasmtime

    from wit2witx import hosts

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    host, tables = hosts.add_sockets_to_linker(linker, store)
    i32 = wasmtime.ValType.i32()
    ty = wasmtime.FuncType([i32], [i32])

    def bare(ptr: int) -> int:  # the same job by hand, minus the checks: nothing
        return 0

    def bare_mem(caller, ptr: int) -> int:  # by hand: write now() into memory
        mem = caller.get("memory")
        mem.write(caller, time.monotonic_ns().to_bytes(8, "little"), ptr)
        return 0

    linker.define_func("bench", "bare", ty, bare)
    linker.define_func("bench", "bare_mem", ty, bare_mem, access_caller=True)
    module = wasmtime.Module.from_file(engine, str(_assemble(LOOP_WAT, tmp, "loop")))
    ex = linker.instantiate(store, module).exports(store)
    sock = host.create_tcp_socket(hosts.load_glue()["wasi_sockets_network"].IpAddressFamily.IPV4)
    handle = tables.insert("wasi_sockets_tcp.tcp_socket", sock)
    cases = {
        "bare host func (no caller)": lambda: ex["loop_bare"](store, n),
        "bare host func + memory write": lambda: ex["loop_bare_mem"](store, n),
        "glue: monotonic-clock.now": lambda: ex["loop_now"](store, n),
        "glue: tcp-socket.is-listening": lambda: ex["loop_listening"](store, handle, n),
    }
    out = {}
    for name, fn in cases.items():
        fn()  # warm
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = n / statistics.median(times)
    sock.sock.close()
    return out


def build_guest(tmp: Path) -> Path:
    from wit2witx.hosts.regen import compile_sockets

    for name, text in compile_sockets(CORPUS, ["c"]).items():
        (tmp / name).write_text(text)
    wasm = tmp / "sockets_guest.wasm"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2",
                    f"-I{tmp}", "-o", str(wasm), str(GUEST)], check=True)
    return wasm


def _echo_server() -> tuple[socket.socket, threading.Thread]:
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(120)

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(120)
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return srv, thread


def bench_echo(wasm: Path, total: int, chunk: int, repeat: int) -> float:
    import wasmtime

    from wit2witx import hosts

    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(wasm))
    times = []
    for _ in range(repeat):
        srv, thread = _echo_server()
        store = wasmtime.Store(engine)
        config = wasmtime.WasiConfig()
        config.argv = ["guest", "echo", str(srv.getsockname()[1]), str(total), str(chunk)]
        out = Path(tempfile.mkstemp()[1])
        config.stdout_file = str(out)
        store.set_wasi(config)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        hosts.add_sockets_to_linker(linker, store)
        start = linker.instantiate(store, module).exports(store)["_start"]
        t = time.perf_counter()
        try:
            start(store)
        except wasmtime.ExitTrap as exc:
            if exc.code != 0:
                raise RuntimeError(f"guest exited {exc.code}") from None
        times.append(time.perf_counter() - t)
        text = out.read_text()
        out.unlink()
        srv.close()
        thread.join(timeout=10)
        if text.split() != ["ok", str(total)]:
            raise RuntimeError(f"echo failed: {text!r}")
    return total / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mib", type=int, default=8)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(f"calls/s through wasmtime-py ({args.calls} calls from a wasm loop, median of {args.repeat}):")
        calls = bench_calls(tmp_path, args.calls, args.repeat)
        for name, rate in calls.items():
            print(f"  {name:34s} {rate:12,.0f} calls/s  {1e6 / rate:7.2f} us/call")
        if not (CORPUS / "wasi-p2").is_dir():
            print(f"(echo transfer skipped: no corpus at {CORPUS})")
            return 0
        wasm = build_guest(tmp_path)
        total = args.mib << 20
        print(f"TCP echo of {args.mib} MiB over 127.0.0.1 (C guest, generated glue, reference host):")
        for chunk in (4096, 65536):
            rate = bench_echo(wasm, total, chunk, max(1, args.repeat // 2))
            print(f"  chunk {chunk:6d} B: {rate / (1 << 20):8.1f} MiB/s each way")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
