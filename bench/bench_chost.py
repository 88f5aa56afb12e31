"""`make bench` (C reference host): wasi:sockets and wasi:clocks on wasm3 and WAMR.

1. TCP echo MiB/s at 4 KiB and 64 KiB chunks through `wit2witx run --runtime
   wasm3|wamr` (native runners with the C host, -O2, no sanitizers) and `--runtime
   wasmtime` (Python host), each next to a native C client doing the same echo (write a
   chunk, drain what came back, then read the rest) against the same native echo server
   on 127.0.0.1. Two guests: `io` (ECHO_GUEST below: one chunk sent again and again,
   replies counted, so the figure is the host's I/O path) and `fixture`
   (fixtures/guests/sockets/sockets_guest.c, which also fills and compares every byte
   in the interpreter); each native client does what its guest does. Rates are
   (big - small) / (t_big - t_small), so process start-up and runner loading cancel out.
   Goal: >= 0.5x native at 64 KiB.
2. calls/s of `monotonic-clock.now` from a guest loop, per runtime.

Needs ../shared/corpus, ziglang, gcc, and WAMR's source (WAMR_SRC or ../shared/vendor).
Nothing here asserts: the figures go into the notes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
VENDOR = ROOT.parent / "shared" / "vendor"
GUEST = ROOT / "fixtures" / "guests" / "sockets" / "sockets_guest.c"
RUN = [sys.executable, "-m", "wit2witx", "run"]
MIB = 1 << 20
SMALL, BIG = 1 * MIB, 33 * MIB
RUNTIMES = ("wasm3", "wamr", "wasmtime")

ECHO_SERVER = r"""
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    static char buf[1 << 16];
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16) || getsockname(s, (struct sockaddr *)&a, &len))
        return 1;
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        ssize_t n;
        if (c < 0) return 1;
        while ((n = read(c, buf, sizeof buf)) > 0)
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(c, buf + off, (size_t)(n - off));
                if (w <= 0) break;
                off += w;
            }
        close(c);
    }
}
"""

NATIVE_CLIENT = r"""
/* native_client PORT TOTAL CHUNK: the guest's echo loop, natively */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    size_t total = (size_t)atol(argv[2]), chunk = (size_t)atol(argv[3]), done = 0, got = 0;
    unsigned char *sent = malloc(total), *back = malloc(total);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (!sent || !back || connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
    fcntl(s, F_SETFL, O_NONBLOCK);
    for (size_t i = 0; i < total; i++) sent[i] = (unsigned char)(i * 7 + 3);
    while (done < total) {
        size_t k = total - done < chunk ? total - done : chunk, off = 0;
        while (off < k) {
            ssize_t w = send(s, sent + done + off, k - off, 0);
            if (w > 0) off += (size_t)w;
            else { struct pollfd p = { s, POLLOUT, 0 }; poll(&p, 1, -1); }
        }
        done += k;
        ssize_t r = recv(s, back + got, total - got, 0);
        if (r > 0) got += (size_t)r;
    }
    while (got < total) {
        ssize_t r = recv(s, back + got, total - got, 0);
        if (r > 0) got += (size_t)r;
        else if (r == 0) return 2;
        else { struct pollfd p = { s, POLLIN, 0 }; poll(&p, 1, -1); }
    }
    if (memcmp(sent, back, total)) return 3;
    printf("ok %zu\n", got);
    return 0;
}
"""

ECHO_GUEST = r"""
/* echo_guest echo PORT TOTAL CHUNK: send one CHUNK-sized buffer until TOTAL bytes went
 * out, draining replies into one scratch buffer; "ok N" when N came back */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guest_names.h"
static NETWORK net;
static void block_on(POLLABLE p) { if (POLLABLE_BLOCK(p) || POLLABLE_DROP(p)) exit(90); }
int main(int argc, char **argv) {
    size_t total = (size_t)atol(argv[3]), chunk = (size_t)atol(argv[4]), done = 0, got = 0, used;
    uint8_t *buf = malloc(chunk), *back = malloc(1 << 20);
    TCP_SOCKET sock; INPUT_STREAM in; OUTPUT_STREAM out; STREAM_ERROR err; POLLABLE p;
    READ_RESULT r; BLOCKING_READ_RESULT br;
    IP_SOCKET_ADDRESS a;
    memset(&a, 0, sizeof a);
    a.tag = IP_SOCKET_ADDRESS_IPV4;
    a.u.ipv4.port = (uint16_t)atoi(argv[2]);
    a.u.ipv4.address.f0 = 127; a.u.ipv4.address.f3 = 1;
    if (!buf || !back || INSTANCE_NETWORK(&net) || CREATE_TCP_SOCKET(IP_ADDRESS_FAMILY_IPV4, &sock)
        || TCP_START_CONNECT(sock, net, &a)) return 2;
    memset(buf, 7, chunk);
    for (;;) {
        int st = TCP_FINISH_CONNECT(sock, &in, &out);
        if (st == 0) break;
        if (st != ERROR_CODE_STATUS_WOULD_BLOCK || TCP_SUBSCRIBE(sock, &p)) return 3;
        block_on(p);
    }
    while (done < total) {
        size_t k = total - done < chunk ? total - done : chunk, off = 0;
        while (off < k) {
            uint64_t permit = 0;
            if (STREAM_CHECK_WRITE(out, &err, &permit)) return 4;
            if (permit == 0) { if (OUTPUT_SUBSCRIBE(out, &p)) return 5; block_on(p); continue; }
            size_t n = k - off < permit ? k - off : (size_t)permit;
            if (STREAM_WRITE(out, buf + off, n, &err)) return 6;
            off += n;
        }
        done += k;
        if (STREAM_READ(in, 1 << 20, back, 1 << 20, &used, &err, &r)) return 7;
        got += r.len;
    }
    if (STREAM_BLOCKING_FLUSH(out, &err)) return 8;
    while (got < total) {
        if (STREAM_BLOCKING_READ(in, 1 << 20, back, 1 << 20, &used, &err, &br)) return 9;
        got += br.len;
    }
    printf("ok %zu\n", got);
    return 0;
}
"""

NATIVE_IO_CLIENT = r"""
/* native_io_client PORT TOTAL CHUNK: what echo_guest does, natively */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    size_t total = (size_t)atol(argv[2]), chunk = (size_t)atol(argv[3]), done = 0, got = 0;
    unsigned char *buf = malloc(chunk), *back = malloc(1 << 20);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_STREAM, 0);
    (void)argc;
    if (!buf || !back || connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
    memset(buf, 7, chunk);
    fcntl(s, F_SETFL, O_NONBLOCK);
    while (done < total) {
        size_t k = total - done < chunk ? total - done : chunk, off = 0;
        while (off < k) {
            ssize_t w = send(s, buf + off, k - off, 0);
            if (w > 0) off += (size_t)w;
            else { struct pollfd p = { s, POLLOUT, 0 }; poll(&p, 1, -1); }
        }
        done += k;
        ssize_t r = recv(s, back, 1 << 20, 0);
        if (r > 0) got += (size_t)r;
    }
    while (got < total) {
        ssize_t r = recv(s, back, 1 << 20, 0);
        if (r > 0) got += (size_t)r;
        else if (r == 0) return 2;
        else { struct pollfd p = { s, POLLIN, 0 }; poll(&p, 1, -1); }
    }
    printf("ok %zu\n", got);
    return 0;
}
"""

CLOCK_GUEST = r"""
/* clock_guest N: N calls of monotonic-clock.now; prints the ns they took */
#include <stdio.h>
#include <stdlib.h>
#include "wasi_clocks_monotonic_clock.h"
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    wasi_clocks_monotonic_clock_instant_t t0, t, t1;
    if (wasi_clocks_monotonic_clock_now(&t0)) return 1;
    for (long i = 0; i < n; i++)
        if (wasi_clocks_monotonic_clock_now(&t)) return 2;
    if (wasi_clocks_monotonic_clock_now(&t1)) return 3;
    printf("%ld %llu\n", n, (unsigned long long)(t1 - t0));
    return 0;
}
"""


def gcc(src: str, out: Path) -> Path:
    c = out.with_suffix(".c")
    c.write_text(src)
    subprocess.run(["gcc", "-O2", "-o", str(out), str(c)], check=True)
    return out


def zig_guest(src: Path, tmp: Path, name: str) -> Path:
    from wit2witx.hosts.regen import compile_sockets

    headers = tmp / "headers"
    headers.mkdir(exist_ok=True)
    for fname, text in compile_sockets(CORPUS, ["c"]).items():
        (headers / fname).write_text(text)
    wasm = tmp / f"{name}.wasm"
    # -mcpu=mvp: wasm3 0.5.0 cannot decode the encodings of zig's default CPU
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-mcpu=mvp", "-O2",
                    f"-I{headers}", f"-I{GUEST.parent}", "-o", str(wasm), str(src)], check=True)
    return wasm


def run_cmd(runtime: str, wasm: Path, *args: str) -> list[str]:
    return [*RUN, str(wasm), "--runtime", runtime, "--host", "wasi-sockets", "--", *args]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or not proc.stdout.startswith("ok "):
        raise RuntimeError(f"{' '.join(cmd)}: {proc.returncode} {proc.stdout} {proc.stderr}")
    return elapsed


def rate(cmd_for, env: dict[str, str], runs: int) -> float:
    """MiB/s of the echo, start-up cancelled: (BIG - SMALL) / (t_BIG - t_SMALL), medians."""
    small = statistics.median(timed(cmd_for(SMALL), env) for _ in range(runs))
    big = statistics.median(timed(cmd_for(BIG), env) for _ in range(runs))
    return (BIG - SMALL) / MIB / max(big - small, 1e-9)


def main() -> int:
    if not (CORPUS / "wasi-p2").is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    tarballs = sorted(VENDOR.glob("wasm-micro-runtime-*.tar.gz"))
    env = dict(os.environ, WIT2WITX_CACHE_DIR=str(ROOT / ".cache" / "bench"))
    if "WAMR_SRC" not in env and tarballs:
        env["WAMR_SRC"] = str(tarballs[-1])
    runtimes = [r for r in RUNTIMES if r != "wamr" or env.get("WAMR_SRC")]
    runs = 3
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server_exe = gcc(ECHO_SERVER, tmp / "echo_server")
        clients = {"io": gcc(NATIVE_IO_CLIENT, tmp / "native_io_client"),
                   "fixture": gcc(NATIVE_CLIENT, tmp / "native_client")}
        (tmp / "echo_guest.c").write_text(ECHO_GUEST)
        echo_guests = {"io": zig_guest(tmp / "echo_guest.c", tmp, "echo_guest"),
                       "fixture": zig_guest(GUEST, tmp, "sockets_guest")}
        (tmp / "clock_guest.c").write_text(CLOCK_GUEST)
        clock = zig_guest(tmp / "clock_guest.c", tmp, "clock_guest")
        for runtime in runtimes:  # build each runner once, outside the timings
            if runtime != "wasmtime":
                subprocess.run(run_cmd(runtime, clock, "1"), env=env, check=True, capture_output=True)
        server = subprocess.Popen([str(server_exe)], stdout=subprocess.PIPE, text=True)
        try:
            port = server.stdout.readline().strip()
            print(f"TCP echo through the C host (MiB/s; {runs} runs, medians; native: a C client, "
                  "same loop, same server)")
            for kind in ("io", "fixture"):
                client, guest = clients[kind], echo_guests[kind]
                for chunk in (4096, 65536):
                    native = rate(lambda total: [str(client), port, str(total), str(chunk)], env, runs)
                    print(f"  {kind:7s} guest, {chunk // 1024:2d} KiB chunks: native C client {native:8.1f} MiB/s")
                    for runtime in runtimes:
                        r = rate(lambda total: run_cmd(runtime, guest, "echo", port, str(total), str(chunk)),
                                 env, runs)
                        host = "Python host" if runtime == "wasmtime" else "C host"
                        print(f"{'':30s}{runtime:8s} ({host:11s}) {r:8.1f} MiB/s  {r / native:5.2f}x native")
        finally:
            server.kill()
            server.wait()
        print("monotonic-clock.now from a guest loop (calls/s)")
        for runtime in runtimes:
            n = 200_000 if runtime == "wasmtime" else 2_000_000
            samples = []
            for _ in range(runs):
                out = subprocess.run(run_cmd(runtime, clock, str(n)), env=env, capture_output=True, text=True,
                                     check=True).stdout.split()
                samples.append(int(out[1]) / int(out[0]))
            ns = statistics.median(samples)
            print(f"  {runtime:8s} {1e9 / ns:14,.0f} calls/s  ({ns:7.1f} ns/call)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
