"""End to end: backported wasi:sockets UDP and name lookup in wasmtime with the generated
Python glue and the reference host, driven by a real C guest
(`fixtures/guests/sockets/udp_guest.c`, built with zig from the generated headers)
against a real UDP peer on 127.0.0.1; and hostile guests calling the udp functions.

Every guest runs through `wit2witx run` in a child process with a timeout; every socket
the test opens has a timeout.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_path
from test_sockets_e2e import PAGE, Hostile, build_sockets_guest

wasmtime = pytest.importorskip("wasmtime")

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

RUN = [sys.executable, "-m", "wit2witx", "run"]
TIMEOUT = 60

UDP, UCREATE, NET, LOOKUP, POLL = ("wasi_sockets_udp", "wasi_sockets_udp_create_socket",
                                   "wasi_sockets_network", "wasi_sockets_ip_name_lookup",
                                   "wasi_io_poll")


@pytest.fixture(scope="session")
def udp_guest(tmp_path_factory) -> Path:
    return build_sockets_guest(tmp_path_factory.mktemp("udp_guest"),
                               FIXTURES / "guests" / "sockets" / "udp_guest.c")


def status(case: str) -> int:
    from wit2witx import hosts

    return int(getattr(hosts.load_glue()[NET].ErrorCodeStatus, case))


# the datagrams the guest sends, in order (see udp_guest.c)
SIZES = [0, 1, 100, 1000, 1400, 9000, 65507] + [1024] * 10


def fill(i: int, n: int) -> bytes:
    return bytes((i * 31 + n + k * 7) & 0xFF for k in range(n))


def expected_datagrams() -> list[bytes]:
    return [fill(i, n) for i, n in enumerate(SIZES)]


class Guest:
    """The guest as a child process whose stdout lines drive the test."""

    def __init__(self, wasm: Path, *args: str) -> None:
        self.proc = subprocess.Popen([*RUN, str(wasm), "--host", "wasi-sockets", "--", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=TIMEOUT)
            raise AssertionError(f"guest ended (status {self.proc.returncode}): {self.proc.stderr.read()}")
        return line.strip()

    def finish(self) -> tuple[str, str]:
        out, err = self.proc.communicate(timeout=TIMEOUT)
        assert self.proc.returncode == 0, err
        return out, err

    def __enter__(self) -> "Guest":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(TIMEOUT)
    return s


def test_udp_exchange_with_a_python_peer(udp_guest):
    """Both directions, 0 bytes to 65507 (the IPv4 maximum), several per receive, the
    permit rules, the address errors, datagram-too-large, buffer_too_small without loss,
    streams with and without a remote address (a stranger filtered out)."""
    with udp_socket() as peer, udp_socket() as stranger, Guest(udp_guest, "udp", str(peer.getsockname()[1])) as g:
        peer_port = peer.getsockname()[1]
        line = g.line()
        assert line.startswith("port "), line
        guest_port = int(line.split()[1])
        # the half-failing send delivered its first datagram, then come the 17
        got = []
        for _ in range(1 + len(SIZES)):
            data, src = peer.recvfrom(70000)
            assert src == ("127.0.0.1", guest_port)
            got.append(data)
        assert got[0] == fill(1, 1)
        assert got[1:] == expected_datagrams()
        assert g.line() == f"sent {len(SIZES) + 1}"
        for data in got[1:]:  # echo them back in a burst
            peer.sendto(data, ("127.0.0.1", guest_port))
        words = g.line().split()
        assert words[:2] == ["received", str(len(SIZES))]
        most = int(words[3])
        assert most > 1, "one receive(16) should return several datagrams"
        needed = [int(w) for w in words[5:]]
        # 2048 bytes hold [0, 1, 100, 1000]; 1400 alone; 9000 and 65507 need more, each
        # asked for exactly (40-byte record + payload; malloc'd buffers are aligned)
        assert needed == [40 + 9000, 40 + 65507]
        assert g.line() == "connected"
        stranger.sendto(b"stranger", ("127.0.0.1", guest_port))
        assert peer.recvfrom(100) == (b"ping", ("127.0.0.1", guest_port))
        assert peer.recvfrom(100) == (b"ping2", ("127.0.0.1", guest_port))
        peer.sendto(b"pong", ("127.0.0.1", guest_port))
        out, _ = g.finish()
        assert out.startswith("ok "), out
        assert peer_port != guest_port


def test_udp_throughput_of_1kib_datagrams(udp_guest):
    """The guest floods a Python receiver with 1 KiB datagrams; prints datagrams/s.
    Loopback UDP may drop when the receiver lags: only part of them must arrive."""
    import threading

    n = 20000
    received = [0]
    with udp_socket() as peer:
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        peer.settimeout(2)

        def sink() -> None:
            try:
                while received[0] < n:
                    peer.recv(2048)
                    received[0] += 1
            except OSError:
                pass

        t = threading.Thread(target=sink, daemon=True)
        t.start()
        proc = subprocess.run([*RUN, str(udp_guest), "--host", "wasi-sockets", "--", "flood",
                               str(peer.getsockname()[1]), str(n), "1024"],
                              capture_output=True, text=True, timeout=TIMEOUT * 2)
        t.join(timeout=10)
    assert proc.returncode == 0, proc.stderr
    word, sent, ns = proc.stdout.split()
    assert word == "flood" and int(sent) == n
    rate = n / (int(ns) / 1e9)
    print(f"\nUDP through the guest: {rate:,.0f} datagrams/s of 1 KiB sent, "
          f"{received[0]} of {n} received")
    assert received[0] > 0


def run_dns(wasm: Path, name: str) -> tuple[list[str], list[str], int]:
    proc = subprocess.run([*RUN, str(wasm), "--host", "wasi-sockets", "--", "dns", name],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("wouldblock ")
    errors = [ln.split()[1] for ln in lines if ln.startswith("error ")]
    return [ln for ln in lines[:-1] if not ln.startswith("error ")], errors, int(lines[-1].split()[1])


def test_dns_localhost_through_would_block_and_poll(udp_guest):
    addrs, errors, wouldblock = run_dns(udp_guest, "localhost")
    assert errors == []
    assert addrs and set(addrs) <= {"ipv4 127.0.0.1", "ipv6 0:0:0:0:0:0:0:1"}
    assert wouldblock >= 0  # the lookup may end before the first resolve-next-address
    # IDNA and case: an upper-case name with a trailing dot is the same name
    addrs2, errors2, _ = run_dns(udp_guest, "LocalHost.")
    assert errors2 == [] and set(addrs2) == set(addrs)


def test_dns_failures(udp_guest):
    # `.invalid` never resolves, and never asks the resolver (works without DNS)
    addrs, errors, wouldblock = run_dns(udp_guest, "nonexistent.invalid")
    assert (addrs, errors) == ([], [str(status("NAME_UNRESOLVABLE"))])
    # syntactically invalid names fail at once
    for bad in ("bad name", "a..b", "-x.example", "x" * 64 + ".example", ""):
        addrs, errors, _ = run_dns(udp_guest, bad)
        assert errors == [str(status("INVALID_ARGUMENT"))], bad
    # numeric hosts need no lookup
    assert run_dns(udp_guest, "127.0.0.1") == (["ipv4 127.0.0.1"], [], 0)
    assert run_dns(udp_guest, "[::1]") == (["ipv6 0:0:0:0:0:0:0:1"], [], 0)


def test_names_are_not_looked_up_without_allow_network(monkeypatch):
    """Asking a DNS server is network access: without `allow_network` only `localhost`
    itself reaches the resolver; any other name is `access-denied` at once."""
    from wit2witx.hosts import sockets

    T = sockets.T
    asked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    host = sockets.SocketsHost()
    for name in ("example.com", "exfiltrated-data.example.org", "LOCALHOST.example",
                 "data.localhost"):
        stream = host.resolve_addresses(host.network, name)
        assert stream.done.is_set()  # decided without a lookup
        with pytest.raises(T.ErrorCodeError) as info:
            host.resolve_address_stream_resolve_next_address(stream)
        assert info.value.value == T.ErrorCode.ACCESS_DENIED
    for name in ("localhost", "LocalHost."):
        stream = host.resolve_addresses(host.network, name)
        assert stream.done.wait(TIMEOUT)
        first = host.resolve_address_stream_resolve_next_address(stream)
        assert first is not None and first.tag in (T.IpAddressTag.IPV4, T.IpAddressTag.IPV6)
    assert asked and all(a.rstrip(".").lower() == "localhost" for a in asked)

    asked.clear()
    open_host = sockets.SocketsHost(allow_network=True)
    stream = open_host.resolve_addresses(open_host.network, "example.com")
    assert stream.done.wait(TIMEOUT)
    assert asked == ["example.com"]  # with the flag the resolver is asked


# --- hostile guests -------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path):
    corpus_path("wasi-p2", "sockets")
    return Hostile(tmp_path)


def _addr4(port: int, ip=(127, 0, 0, 1)) -> bytes:
    """An ip-socket-address (32 bytes): tag, padding, port, address."""
    return b"\x00" * 4 + port.to_bytes(2, "little") + bytes(ip) + b"\x00" * 22


def test_udp_hostile_guests_get_statuses_and_the_host_survives(hostile):
    h = hostile
    ec = status
    udp_st = lambda case: h.status(UDP, "UdpStatus", case)  # noqa: E731
    assert h.call("wasi_sockets_instance_network", "instance_network", 16) == 0
    net = h.u32(16)
    live = h.tables.live
    assert h.call(UCREATE, "create_udp_socket", 7, 20) == ec("BAD_VALUE")
    assert h.call(UCREATE, "create_udp_socket", 0, PAGE - 2) == ec("BAD_POINTER")
    assert h.call(UCREATE, "create_udp_socket", 0, 20) == 0
    sock = h.u32(20)
    # start-bind: forged/other-type handles, address off memory, bad tag
    for forged in (0, sock + 1, sock ^ (1 << 20), net):
        assert h.call(UDP, "udp_socket_start_bind", forged, net, 64) == ec("BAD_HANDLE")
    assert h.call(UDP, "udp_socket_start_bind", sock, net, PAGE - 8) == ec("BAD_POINTER")
    h.write(64, b"\x09" + b"\x00" * 35)
    assert h.call(UDP, "udp_socket_start_bind", sock, net, 64) == ec("BAD_VALUE")
    h.write(64, _addr4(0, (192, 0, 2, 1)))
    assert h.call(UDP, "udp_socket_start_bind", sock, net, 64) == ec("ACCESS_DENIED")
    h.write(64, _addr4(0))
    assert h.call(UDP, "udp_socket_start_bind", sock, net, 64) == 0
    assert h.call(UDP, "udp_socket_finish_bind", sock) == 0
    assert h.call(UDP, "udp_socket_local_address", sock, 128) == 0
    port = int.from_bytes(bytes(h.memory.read(h.store, 132, 134)), "little")
    # stream(option<ip-socket-address>, in out, out out): bad option tag, bad out-pointers
    h.write(200, b"\x02" + b"\x00" * 39)
    assert h.call(UDP, "udp_socket_stream", sock, 200, 300, 304) == ec("BAD_VALUE")
    h.write(200, b"\x00" * 40)
    assert h.call(UDP, "udp_socket_stream", sock, 200, 301, 304) == ec("BAD_POINTER")
    assert h.call(UDP, "udp_socket_stream", sock, 200, 300, PAGE) == ec("BAD_POINTER")
    assert h.call(UDP, "udp_socket_stream", sock, 200, 300, 304) == 0
    inp, out = h.u32(300), h.u32(304)
    # send(datagrams, len, retptr): wrapping / off-memory lists, a datagram whose data
    # points off memory, a bad option tag inside a datagram; none needs a permit to fail
    assert h.call(UDP, "outgoing_datagram_stream_send", out, -8, 2, 400) == ec("BAD_POINTER")
    assert h.call(UDP, "outgoing_datagram_stream_send", out, 1000, 0x10000000, 400) == ec("BAD_POINTER")
    dg = lambda ptr, n, tag, addr: ptr.to_bytes(4, "little") + n.to_bytes(4, "little") + bytes([tag]) + b"\0" * 3 + addr  # noqa: E731
    h.write(1000, dg(PAGE - 4, 16, 1, _addr4(port)))
    assert h.call(UDP, "outgoing_datagram_stream_send", out, 1000, 1, 400) == ec("BAD_POINTER")
    h.write(1000, dg(2000, 4, 7, _addr4(port)))
    assert h.call(UDP, "outgoing_datagram_stream_send", out, 1000, 1, 400) == ec("BAD_VALUE")
    # a well-formed datagram to itself: refused without check-send, then permitted
    h.write(2000, b"self")
    h.write(1000, dg(2000, 4, 1, _addr4(port)))
    assert h.call(UDP, "outgoing_datagram_stream_send", out, 1000, 1, 400) == ec("BAD_VALUE")
    assert h.call(UDP, "outgoing_datagram_stream_check_send", out, 408) == 0
    permit = int.from_bytes(bytes(h.memory.read(h.store, 408, 416)), "little")
    assert permit >= 1
    assert h.call(UDP, "outgoing_datagram_stream_send", out, 1000, 1, 400) == 0
    assert int.from_bytes(bytes(h.memory.read(h.store, 400, 408)), "little") == 1
    # the permit is used up: the next send is refused again
    assert h.call(UDP, "outgoing_datagram_stream_send", out, 1000, 1, 400) == ec("BAD_VALUE")
    # receive(max, buf, buf_len, buf_used, retptr): bad buffers; then the datagram
    assert h.call(UDP, "incoming_datagram_stream_receive", inp, 4, PAGE - 8, 64, 500, 504) == ec("BAD_POINTER")
    assert h.call(UDP, "incoming_datagram_stream_receive", inp, 4, 3000, 64, 502, 504) == ec("BAD_POINTER")
    assert h.call(UDP, "incoming_datagram_stream_receive", out, 4, 3000, 64, 500, 504) == ec("BAD_HANDLE")
    assert h.call(UDP, "incoming_datagram_stream_subscribe", inp, 512) == 0
    assert h.call(POLL, "pollable_block", h.u32(512)) == 0
    assert h.call(UDP, "incoming_datagram_stream_receive", inp, 4, 3000, 16, 500, 504) == ec("BUFFER_TOO_SMALL")
    assert h.u32(500) == 44  # 40-byte record + 4 bytes of payload: asked for exactly
    assert h.call(UDP, "incoming_datagram_stream_receive", inp, 4, 3000, 44, 500, 504) == 0
    assert (h.u32(504), h.u32(508)) == (3000, 1)  # the datagram was kept, not lost
    assert bytes(h.memory.read(h.store, h.u32(3000), h.u32(3000) + 4)) == b"self"
    # stale handles: the socket outlives a drop of its handle only through its streams
    assert h.call(UDP, "udp_socket_drop", sock) == 0
    assert h.call(UDP, "udp_socket_drop", sock) == udp_st("BAD_HANDLE")
    assert h.call(UDP, "udp_socket_local_address", sock, 128) == ec("BAD_HANDLE")
    assert h.call(UDP, "outgoing_datagram_stream_check_send", out, 408) == 0  # still works
    assert h.call(UDP, "incoming_datagram_stream_drop", inp) == 0
    assert h.call(UDP, "outgoing_datagram_stream_drop", out) == 0
    assert h.call(UDP, "outgoing_datagram_stream_check_send", out, 408) == ec("BAD_HANDLE")
    assert h.call(UDP, "incoming_datagram_stream_subscribe", inp, 512) == udp_st("BAD_HANDLE")
    assert h.call(POLL, "pollable_drop", h.u32(512)) == 0
    assert h.tables.live == live
    # the host still works
    assert h.call(UCREATE, "create_udp_socket", 1, 20) == 0
    assert h.call(UDP, "udp_socket_address_family", h.u32(20), 24) == 0
    assert bytes(h.memory.read(h.store, 24, 25)) == b"\x01"  # ipv6
    assert h.call(UDP, "udp_socket_drop", h.u32(20)) == 0


def test_lookup_hostile_and_pending_streams(hostile):
    h = hostile
    assert h.call("wasi_sockets_instance_network", "instance_network", 20) == 0
    net = h.u32(20)
    h.write(400, b"localhost")
    assert h.call(LOOKUP, "resolve_addresses", net, 400, 9, 24) == 0
    stream = h.u32(24)
    assert h.call(LOOKUP, "resolve_address_stream_subscribe", stream, 28) == 0
    assert h.call(POLL, "pollable_block", h.u32(28)) == 0
    assert h.call(LOOKUP, "resolve_address_stream_resolve_next_address", stream, 32) == 0
    assert bytes(h.memory.read(h.store, 32, 33)) == b"\x01"
    assert h.call(LOOKUP, "resolve_address_stream_resolve_next_address", stream, PAGE - 4) == status("BAD_POINTER")
    assert h.call(LOOKUP, "resolve_address_stream_drop", stream) == 0
    assert h.call(LOOKUP, "resolve_address_stream_resolve_next_address", stream, 32) == status("BAD_HANDLE")
    # many lookups at once: a handful of threads, every stream droppable while pending
    handles = []
    for _ in range(50):
        assert h.call(LOOKUP, "resolve_addresses", net, 400, 9, 24) == 0
        handles.append(h.u32(24))
    import threading

    assert sum(t.name == "wit2witx-resolver" for t in threading.enumerate()) <= 4
    for handle in handles:
        assert h.call(LOOKUP, "resolve_address_stream_drop", handle) == 0
