"""`make bench` (wasi:http): the backported HTTP host in wasmtime-py.

1. requests/s of the hello handler: `fixtures/guests/http/handler_guest.c` (c-p2,
   world wasi:http/proxy) served by `wit2witx run --host wasi-http --serve`, a fresh
   instance per request, GET /hello over keep-alive connections (1 and 4 clients);
2. MiB/s of a POST body stream: the client guest (`client_guest.c`) streams N MiB in
   64 KiB writes through outgoing-handler to a sink server on 127.0.0.1 (start-up
   measured with a 0-byte POST and subtracted), and the echo handler streaming a
   request body back (client in this process).

Needs ../shared/corpus (the WIT the guests' API comes from) and ziglang. Nothing here
asserts: the figures go into the notes.
"""

from __future__ import annotations

import http.client
import http.server
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SRC = ROOT / "fixtures" / "guests" / "http"
RUN = [sys.executable, "-m", "wit2witx", "run"]
MIB = 1 << 20


def build(out: Path, source: str, world: str, shim: str, *extra: str) -> Path:
    from wit2witx.hosts.regen import compile_world

    out.mkdir(parents=True, exist_ok=True)
    for name, text in compile_world(CORPUS, "http", world, "c-p2").items():
        (out / name).write_text(text)
    wasm = out / (Path(source).stem + ".wasm")
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2",
                    "-std=c11", *extra, f"-I{out}", "-o", str(wasm), str(SRC / source),
                    str(out / shim)], check=True)
    return wasm


def serve(wasm: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([*RUN, str(wasm), "--host", "wasi-http", "--serve", "127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    return proc, int(line.rsplit(":", 1)[1])


def hello_rate(port: int, clients: int, seconds: float = 3.0) -> float:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            conn.request("GET", "/hello")
            resp = conn.getresponse()
            if resp.read() != b"hello, world":
                raise RuntimeError("bad answer")
            counts[i] += 1
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def echo_rate(port: int, size: int) -> float:
    """Send the body from a thread while this one reads the echo (a client that sent all
    before reading would stall: the handler streams the body back as it reads it)."""
    import socket

    body = bytes(range(256)) * (size // 256)
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        start = time.perf_counter()
        head = b"POST /echo HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n" % size
        sender = threading.Thread(target=sock.sendall, args=(head + body,))
        sender.start()
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        data = resp.read()
        took = time.perf_counter() - start
        sender.join()
    if data != body:
        raise RuntimeError("echo differs")
    return size / MIB / took


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        n = 0
        if self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if not size:
                    break
                n += len(self.rfile.read(size))
                self.rfile.read(2)
            while self.rfile.readline() not in (b"\r\n", b""):  # trailers
                pass
        else:  # a body finished before `handle`: sent with its length
            n = len(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        text = b"got %d" % n
        self.send_response_only(200)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


def post_rate(client: Path, mib: int) -> tuple[float, float]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])

    def timed(size: int) -> float:
        start = time.perf_counter()
        subprocess.run([*RUN, str(client), "--host", "wasi-http", "--", "post", port, "/sink",
                        str(size), "65536"], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    base = statistics.median(timed(0) for _ in range(3))
    full = statistics.median(timed(mib * MIB) for _ in range(3))
    server.shutdown()
    server.server_close()
    return mib / max(full - base, 1e-9), base


def main() -> int:
    if not (CORPUS / "wasi-p2" / "http").is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        handler = build(tmp / "handler", "handler_guest.c", "wasi:http/proxy", "proxy.c",
                        "-mexec-model=reactor")
        client = build(tmp / "client", "client_guest.c", "wasi:http/imports", "imports.c")
        proc, port = serve(handler)
        try:
            hello_rate(port, 1, 0.5)  # warm up
            for clients in (1, 4):
                print(f"hello handler, {clients} client(s), keep-alive   "
                      f"{hello_rate(port, clients):8.0f} requests/s")
            rates = [echo_rate(port, 16 * MIB) for _ in range(3)]
            print(f"echo handler, 16 MiB request body streamed back  {statistics.median(rates):8.1f} MiB/s")
        finally:
            proc.terminate()
            proc.wait(30)
        rate, base = post_rate(client, 32)
        print(f"client guest POST, 32 MiB in 64 KiB writes       {rate:8.1f} MiB/s"
              f"  (guest start-up {base * 1e3:.0f} ms subtracted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
