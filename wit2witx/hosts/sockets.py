"""A reference host for backported wasi:sockets 0.2.12, in Python over `socket`.

It implements, as one object, the `Impl` protocols of the generated glue for

* wasi:sockets — network, instance-network, tcp, tcp-create-socket, udp,
  udp-create-socket, ip-name-lookup;
* wasi:io — error, poll, streams (the streams of TCP connections);
* wasi:clocks — monotonic-clock.

Everything is non-blocking underneath (`socket.setblocking(False)`); the blocking
WASI calls (`blocking-read`, `pollable.block`, `poll`, ...) wait with `selectors`.
Network access is limited to loopback addresses unless `allow_network=True`
(`access-denied` otherwise): binding, connecting, `udp-socket.stream`, a `send` to an
explicit address, and the addresses a name resolves to. Without it, a UDP socket bound
to the unspecified address silently drops datagrams from non-loopback sources.

`start-connect` fails only on its arguments (`invalid-argument`: another family, the
unspecified address, port 0, multicast or broadcast, IPv4-mapped), the socket's state
and the policy; whatever connect(2) answers, even at once, is `finish-connect`'s (as in
wasmtime and the C host; tests/test_hosts_agree.py). An interrupted `accept` is retried.

Where WASI says the runtime *traps*, the backport returns a status instead (the host
survives and the guest can report it):

* `outgoing-datagram-stream.send` of more datagrams than the preceding `check-send`
  permitted, or without one, returns `bad_value` and sends nothing (`check-send`
  permits up to 16 datagrams when the socket is writable, 0 otherwise; each `send`
  of a non-empty list uses the permit up);
* `output-stream.write` beyond `check-write` returns `last-operation-failed`.

`incoming-datagram-stream.receive` returns as many datagrams as fit in the caller's
buffer (each costs 40 bytes of record plus its payload, the records 4-aligned): one
that does not fit is kept for the next call, so a first datagram bigger than the buffer
gives `buffer_too_small` with the size needed and is not lost.

`resolve-addresses` parses numeric hosts at once; other names are converted with IDNA
(Python's `idna` codec), checked for hostname syntax (`invalid-argument`) and looked
up with `getaddrinfo` on a worker thread (at most four lookups run at a time), so the
call never blocks: `resolve-next-address` gives `would-block` until the lookup ends,
and the stream's pollable is ready then. Names under the special-use `.invalid`
domain fail with `name-unresolvable` without asking the resolver (RFC 6761). Without
`allow_network` only `localhost` itself is looked up: any other name gives
`access-denied` at once, since asking a DNS server is itself network access (a guest
could carry data out in the names it asks for).

Use it with `add_to_linker(linker, store)` (see `wit2witx.hosts`), or through
`wit2witx run GUEST.wasm --host wasi-sockets`.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import queue
import selectors
import socket
import threading
import time
import weakref
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from . import faults, load_glue
from .runtime import BadValue

T = SimpleNamespace()  # every generated class, filled by `_types()`
_TYPES_LOCK = threading.Lock()  # hosts made on several threads at once: T filled once, whole


def _types() -> SimpleNamespace:
    if not vars(T):
        with _TYPES_LOCK:
            if not vars(T):
                found = {name: getattr(module, name) for module in load_glue().values() for name in module.__all__}
                vars(T).update(found)  # at once: a reader never sees T half filled
    return T


# ----------------------------------------------------------------------------- errors

_ERRNO_CASE = {
    errno.ECONNREFUSED: "CONNECTION_REFUSED",
    errno.ECONNRESET: "CONNECTION_RESET",
    errno.ECONNABORTED: "CONNECTION_ABORTED",
    errno.EPIPE: "CONNECTION_RESET",
    errno.EADDRINUSE: "ADDRESS_IN_USE",
    errno.EADDRNOTAVAIL: "ADDRESS_NOT_BINDABLE",
    errno.EACCES: "ACCESS_DENIED",
    errno.EPERM: "ACCESS_DENIED",
    errno.EINVAL: "INVALID_ARGUMENT",
    errno.ENETUNREACH: "REMOTE_UNREACHABLE",
    errno.EHOSTUNREACH: "REMOTE_UNREACHABLE",
    errno.ETIMEDOUT: "TIMEOUT",
    errno.EAGAIN: "WOULD_BLOCK",
    errno.EINPROGRESS: "WOULD_BLOCK",
    errno.EMFILE: "NEW_SOCKET_LIMIT",
    errno.ENFILE: "NEW_SOCKET_LIMIT",
    errno.ENOMEM: "OUT_OF_MEMORY",
    errno.ENOBUFS: "OUT_OF_MEMORY",
    errno.EAFNOSUPPORT: "NOT_SUPPORTED",
    errno.EOPNOTSUPP: "NOT_SUPPORTED",
    errno.EISCONN: "INVALID_STATE",
    errno.ENOTCONN: "INVALID_STATE",
    errno.EMSGSIZE: "DATAGRAM_TOO_LARGE",
    errno.EDESTADDRREQ: "INVALID_ARGUMENT",
    errno.ENETDOWN: "REMOTE_UNREACHABLE",
    errno.EHOSTDOWN: "REMOTE_UNREACHABLE",
}


def net_error(case: str) -> Exception:
    return T.ErrorCodeError(getattr(T.ErrorCode, case))


def os_error(exc: OSError | int) -> Exception:
    code = exc if isinstance(exc, int) else (exc.errno or 0)
    return net_error(_ERRNO_CASE.get(code, "UNKNOWN"))


class IoError:
    """A wasi:io/error `error`: what went wrong, for `to-debug-string`."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"IoError({self.message!r})"


def stream_closed() -> Exception:
    return T.StreamErrorError(T.StreamError.closed())


def stream_failed(message: str) -> Exception:
    return T.StreamErrorError(T.StreamError.last_operation_failed(IoError(message)))


# ----------------------------------------------------------------------------- addresses


def to_sockaddr(addr: Any) -> tuple[int, tuple]:
    """An `ip-socket-address` value → (family, Python sockaddr)."""
    v = addr.value
    if addr.tag == T.IpSocketAddressTag.IPV4:
        return socket.AF_INET, (".".join(str(b) for b in v.address), v.port)
    packed = b"".join(int(w).to_bytes(2, "big") for w in v.address)
    return socket.AF_INET6, (str(ipaddress.IPv6Address(packed)), v.port, v.flow_info, v.scope_id)


def from_sockaddr(family: int, sa: tuple) -> Any:
    if family == socket.AF_INET:
        return T.IpSocketAddress.ipv4(T.Ipv4SocketAddress(
            port=sa[1], address=tuple(ipaddress.IPv4Address(sa[0]).packed)))
    words = ipaddress.IPv6Address(sa[0].split("%")[0]).packed
    return T.IpSocketAddress.ipv6(T.Ipv6SocketAddress(
        port=sa[1], flow_info=sa[2], scope_id=sa[3],
        address=tuple(int.from_bytes(words[i:i + 2], "big") for i in range(0, 16, 2))))


def ip_address_value(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
    if ip.version == 4:
        return T.IpAddress.ipv4(tuple(ip.packed))
    p = ip.packed
    return T.IpAddress.ipv6(tuple(int.from_bytes(p[i:i + 2], "big") for i in range(0, 16, 2)))


# ----------------------------------------------------------------------------- pollables


class Pollable:
    """Ready when `check()` says so, when `sock` has `events`, or at `deadline` (ns)."""

    __slots__ = ("check", "sock", "events", "deadline")

    def __init__(self, *, check: Callable[[], bool] | None = None, sock: Any = None,
                 events: int = 0, deadline: int | None = None) -> None:
        self.check, self.sock, self.events, self.deadline = check, sock, events, deadline

    def ready_now(self) -> bool:
        if self.check is not None and self.check():
            return True
        if self.sock is not None and self.sock.fileno() < 0:
            return True  # its socket is gone: waiting would never end; let the call fail

        if self.deadline is not None and time.monotonic_ns() >= self.deadline:
            return True
        return self.sock is None and self.deadline is None and self.check is None

    def waits_on_socket(self) -> bool:
        sock = self.sock
        return sock is not None and self.events != 0 and sock.fileno() >= 0


CHECK_INTERVAL = 0.01


def wait_any(pollables: list[Pollable]) -> list[int]:
    """Block until at least one is ready; the indices of the ready ones. Meanwhile the
    bytes of the output streams in BACKLOG go out as their sockets take them."""
    while True:
        BACKLOG.push_all()
        ready = [i for i, p in enumerate(pollables) if p.ready_now()]
        if ready:
            return ready
        deadlines = [p.deadline for p in pollables if p.deadline is not None]
        timeout = None
        if deadlines:
            timeout = max(0.0, (min(deadlines) - time.monotonic_ns()) / 1e9)
        if any(p.check is not None and p.sock is None for p in pollables):
            # made ready by another thread (a name lookup): look again every 10 ms
            timeout = CHECK_INTERVAL if timeout is None else min(timeout, CHECK_INTERVAL)
        waiting = [(i, p) for i, p in enumerate(pollables) if p.waits_on_socket()]
        sending = BACKLOG.sockets()
        if not waiting and not sending and timeout is None:
            # nothing can ever become ready: a guest bug; do not hang forever
            time.sleep(0.01)
            continue
        with selectors.DefaultSelector() as sel:
            merged: dict[int, int] = {fd: selectors.EVENT_WRITE for fd in sending}
            for _, p in waiting:
                merged[p.sock.fileno()] = merged.get(p.sock.fileno(), 0) | p.events
            for fd, events in merged.items():
                sel.register(fd, events)
            events = sel.select(timeout) if merged else (time.sleep(timeout or 0) or [])
            fired = {key.fd: ev for key, ev in events}
        ready = [i for i, p in waiting if fired.get(p.sock.fileno(), 0) & p.events]
        ready += [i for i, p in enumerate(pollables) if i not in ready and p.ready_now()]
        if ready:
            return sorted(ready)


def _readable(sock: socket.socket, timeout: float = 0.0) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ)
        return bool(sel.select(timeout))


def _writable(sock: socket.socket, timeout: float = 0.0) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_WRITE)
        return bool(sel.select(timeout))


# ----------------------------------------------------------------------------- streams


class Connection:
    """A connected socket shared by its tcp-socket and its two streams."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.refs = 1
        # its owners may be dropped by different threads at once (docs/abi.md, threads)
        self._lock = threading.Lock()

    def retain(self) -> "Connection":
        with self._lock:
            self.refs += 1
        return self

    def release(self) -> None:
        with self._lock:
            self.refs -= 1
            last = self.refs == 0
        if last:
            self.sock.close()


class InputStream:
    MAX_READ = 1 << 20

    def __init__(self, conn: Connection) -> None:
        self.conn = conn.retain()
        self.eof = False

    def read(self, n: int) -> bytes:
        if self.eof:
            raise stream_closed()
        n = min(n, self.MAX_READ)
        if n == 0:
            return b""
        try:
            faults.fail("recv")
            data = self.conn.sock.recv(n)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            self.eof = True
            raise stream_failed(f"recv: {exc.strerror or exc}") from None
        if not data:
            self.eof = True
            raise stream_closed()
        return data

    def blocking_read(self, n: int) -> bytes:
        while True:
            if not self.eof and n > 0:
                _readable(self.conn.sock, None)  # type: ignore[arg-type]
            data = self.read(n)
            if data or n == 0:
                return data

    def subscribe(self) -> Pollable:
        return Pollable(check=lambda: self.eof, sock=self.conn.sock, events=selectors.EVENT_READ)


class OutputStream:
    """Writes go into a bounded buffer that is sent as the socket accepts them: by the
    stream's own calls and, while any guest thread waits in `poll` or `block`, by
    BACKLOG (a `write` only starts the write, as in wasmtime; a guest that writes its
    last bytes and then waits to read must not wait for them forever)."""

    LIMIT = 1 << 16

    def __init__(self, conn: Connection) -> None:
        self.conn = conn.retain()
        self.pending = bytearray()
        self.error: str | None = None
        self.closed = False
        self._sending = threading.Lock()  # the guest's thread and a waiting one push

    def _push(self) -> None:
        with self._sending:
            while self.pending and self.error is None and not self.closed:
                try:
                    faults.fail("send")
                    sent = self.conn.sock.send(faults.send_view(self.pending))
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    self.error = f"send: {exc.strerror or exc}"
                    break
                del self.pending[:sent]
            if self.pending and self.error is None and not self.closed:
                BACKLOG.add(self)
            else:
                BACKLOG.discard(self)

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            message, self.error = self.error, None
            self.closed = True
            self.pending.clear()  # a failed stream sends nothing more (not even at its drop)
            raise stream_failed(message)
        if self.closed:
            raise stream_closed()

    def check_write(self) -> int:
        self._push()
        self._raise_if_failed()
        return max(0, self.LIMIT - len(self.pending))

    def write(self, data: bytes) -> None:
        """`write`: no more than `check-write` permitted (WASI traps; this reports an
        error), so a guest that ignores the permit cannot make the host buffer without end."""
        self._raise_if_failed()
        if len(self.pending) + len(data) > self.LIMIT:
            self._push()
            if len(self.pending) + len(data) > self.LIMIT:
                raise stream_failed("write: more bytes than check-write permitted")
        self.pending += data
        self._push()
        self._raise_if_failed()  # its own send failed: say so now (as the C host), not at a later call

    def write_all(self, data: bytes | memoryview) -> None:
        """The blocking writes: any length, sent a permit at a time."""
        view = memoryview(data)
        while view:
            self.blocking_flush()
            n = min(len(view), self.LIMIT)
            self.write(bytes(view[:n]))
            view = view[n:]
        self.blocking_flush()

    def blocking_flush(self) -> None:
        self._push()
        while self.pending and self.error is None:
            _writable(self.conn.sock, None)  # type: ignore[arg-type]
            self._push()
        self._raise_if_failed()

    def subscribe(self) -> Pollable:
        def room() -> bool:
            self._push()
            return len(self.pending) < self.LIMIT or self.error is not None or self.closed

        return Pollable(check=room, sock=self.conn.sock, events=selectors.EVENT_WRITE)


class Backlog:
    """The output streams holding bytes their socket has not taken yet. Weak: a stream
    of a guest that is gone (its store freed) closes its socket as before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: weakref.WeakSet[OutputStream] = weakref.WeakSet()

    def add(self, stream: OutputStream) -> None:
        with self._lock:
            self._streams.add(stream)

    def discard(self, stream: OutputStream) -> None:
        if self._streams:
            with self._lock:
                self._streams.discard(stream)

    def push_all(self) -> None:
        if self._streams:
            with self._lock:
                streams = list(self._streams)
            for stream in streams:
                stream._push()

    def sockets(self) -> list[int]:
        """The descriptors to wait on for room (a closed socket's stream has nothing to wait for)."""
        if not self._streams:
            return []
        with self._lock:
            fds = [s.conn.sock.fileno() for s in self._streams]
        return [fd for fd in fds if fd >= 0]


BACKLOG = Backlog()


# ----------------------------------------------------------------------------- sockets


class Network:
    """The one `network` a guest gets from `instance-network`."""


class TcpSocket:
    def __init__(self, family: int, sock: socket.socket, state: str = "unbound") -> None:
        self.family = family
        self.sock = sock
        self.conn: Connection | None = None
        self.state = state
        self.backlog = 128
        self.connect_error = 0  # what connect(2) reported at once, for finish-connect

    @property
    def fam(self) -> Any:
        return T.IpAddressFamily.IPV4 if self.family == socket.AF_INET else T.IpAddressFamily.IPV6

class UdpSocket:
    """A udp-socket; `stream` gives it a pair of datagram streams (the newest pair only
    is operational: `gen` tells them apart)."""

    def __init__(self, family: int, sock: socket.socket) -> None:
        self.family = family
        self.sock = sock
        self.conn = Connection(sock)  # shared with the datagram streams
        self.state = "unbound"
        self.remote: tuple | None = None  # the sockaddr `stream` connected to
        self.gen = 0

    @property
    def fam(self) -> Any:
        return T.IpAddressFamily.IPV4 if self.family == socket.AF_INET else T.IpAddressFamily.IPV6


#: An incoming-datagram record in guest memory (the list element of `receive`).
DATAGRAM_RECORD = 40
#: Datagrams one `receive` returns at most, and one `check-send` permits.
MAX_DATAGRAMS = 16
#: The largest UDP payload there is (IPv6 jumbograms aside).
MAX_PAYLOAD = 65535


class IncomingDatagramStream:
    def __init__(self, owner: UdpSocket) -> None:
        self.owner = owner
        self.conn = owner.conn.retain()
        self.gen = owner.gen
        self.kept: tuple[bytes, tuple] | None = None  # received, did not fit last time


class OutgoingDatagramStream:
    def __init__(self, owner: UdpSocket) -> None:
        self.owner = owner
        self.conn = owner.conn.retain()
        self.gen = owner.gen
        self.permit = 0


def _not_unicast(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Multicast or the IPv4 limited broadcast: no TCP peer (WIT: `invalid-argument`)."""
    return ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255")


def _disconnect(sock: socket.socket) -> None:
    """`connect(s, AF_UNSPEC)`: dissolve a UDP socket's association (no Python API)."""
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    sa = (ctypes.c_ubyte * 128)()  # sa_family = AF_UNSPEC (0), the rest zero
    if libc.connect(sock.fileno(), sa, ctypes.c_uint32(16)) != 0:
        code = ctypes.get_errno()
        if code != errno.EAFNOSUPPORT:  # BSDs answer so but do disconnect
            raise OSError(code, "connect(AF_UNSPEC)")


# ----------------------------------------------------------------------------- name lookup

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

_EAI_CASE = {}
for _name, _case in (("EAI_NONAME", "NAME_UNRESOLVABLE"), ("EAI_NODATA", "NAME_UNRESOLVABLE"),
                     ("EAI_ADDRFAMILY", "NAME_UNRESOLVABLE"), ("EAI_AGAIN", "TEMPORARY_RESOLVER_FAILURE"),
                     ("EAI_FAIL", "PERMANENT_RESOLVER_FAILURE"), ("EAI_MEMORY", "OUT_OF_MEMORY")):
    if hasattr(socket, _name):
        _EAI_CASE[getattr(socket, _name)] = _case


def _is_localhost_name(ascii_name: str) -> bool:
    """`localhost` itself (RFC 6761 6.3), which resolvers answer from the host's own
    tables; names *under* it are left out: not every resolver keeps those local."""
    return ascii_name.rstrip(".").lower() == "localhost"


def hostname_ascii(name: str) -> str | None:
    """`name` as an ASCII host name (IDNA), or None when it is not a valid one."""
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    body = ascii_name[:-1] if ascii_name.endswith(".") else ascii_name
    if not body or len(body) > 253:
        return None
    for label in body.split("."):
        if not 0 < len(label) <= 63 or not set(label) <= _LABEL_CHARS:
            return None
        if label.startswith("-") or label.endswith("-"):
            return None
    return body.lower()


class ResolveAddressStream:
    """The addresses of one name: known at once (a numeric host) or when `done` is set
    by the lookup thread (`error`: the error-code case name it failed with)."""

    def __init__(self, addresses: list[Any] | None = None, name: str = "",
                 allow_network: bool = False) -> None:
        self.addresses = addresses if addresses is not None else []
        self.name = name
        self.allow_network = allow_network
        self.error: str | None = None
        self.dropped = False
        self.done = threading.Event()
        if addresses is not None:
            self.done.set()


class Resolver:
    """A few daemon threads running `getaddrinfo` for the lookups queued to them (never
    more threads than `workers`, however many names guests ask for); one per process."""

    def __init__(self, workers: int = 4) -> None:
        self.workers = workers
        self.jobs: queue.SimpleQueue[ResolveAddressStream] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def submit(self, stream: ResolveAddressStream) -> None:
        self.jobs.put(stream)
        with self.lock:
            if len(self.threads) < self.workers:
                t = threading.Thread(target=self._work, name="wit2witx-resolver", daemon=True)
                self.threads.append(t)
                t.start()

    def _work(self) -> None:
        while True:
            stream = self.jobs.get()
            try:
                if not stream.dropped:
                    self.resolve(stream)
            except Exception:  # noqa: BLE001 - a resolver bug must not kill the worker
                stream.error = "UNKNOWN"
            finally:
                stream.done.set()

    def resolve(self, stream: ResolveAddressStream) -> None:
        try:
            infos = socket.getaddrinfo(stream.name, None, socket.AF_UNSPEC, socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            if exc.errno == getattr(socket, "EAI_SYSTEM", None):
                stream.error = _ERRNO_CASE.get(exc.errno or 0, "UNKNOWN")
            else:
                stream.error = _EAI_CASE.get(exc.errno, "PERMANENT_RESOLVER_FAILURE")
            return
        except (OSError, UnicodeError):
            stream.error = "PERMANENT_RESOLVER_FAILURE"
            return
        seen: list[Any] = []
        refused = False
        for family, _, _, _, sa in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(sa[0].split("%")[0])
            if ip.version == 6 and ip.ipv4_mapped is not None:  # never IPv4-mapped
                ip = ip.ipv4_mapped
            if not stream.allow_network and not ip.is_loopback:
                refused = True
                continue
            if ip not in seen:
                seen.append(ip)
        if not seen:
            stream.error = "ACCESS_DENIED" if refused else "NAME_UNRESOLVABLE"
            return
        stream.addresses = [ip_address_value(ip) for ip in seen]


RESOLVER = Resolver()



class SocketsHost:
    """Implements every generated `Impl` of the modules listed in `wit2witx.hosts`."""

    def __init__(self, *, allow_network: bool = False) -> None:
        _types()
        self.allow_network = allow_network
        self.network = Network()

    # --- access control

    def _allowed(self, sa: tuple) -> bool:
        if self.allow_network:
            return True
        ip = ipaddress.ip_address(sa[0].split("%")[0])
        return ip.is_loopback or ip.is_unspecified

    def _check_allowed(self, sa: tuple) -> None:
        if not self._allowed(sa):
            raise net_error("ACCESS_DENIED")

    # --- wasi:io/error

    def error_to_debug_string(self, self_: IoError, *, result_capacity: int) -> str:
        return self_.message

    def error_drop(self, self_: IoError) -> None:
        pass

    # --- wasi:io/poll

    def pollable_ready(self, self_: Pollable) -> bool:
        return bool(wait_any_nowait([self_]))

    def pollable_block(self, self_: Pollable) -> None:
        wait_any([self_])

    def pollable_drop(self, self_: Pollable) -> None:
        pass

    def poll(self, in_: list[Pollable], *, result_capacity: int) -> list[int]:
        if not in_:
            raise T.PollStatusError()
        return wait_any(list(in_))

    # --- wasi:io/streams

    def input_stream_read(self, self_: InputStream, len_: int, *, result_capacity: int) -> bytes:
        return self_.read(min(len_, result_capacity))

    def input_stream_blocking_read(self, self_: InputStream, len_: int, *,
                                   result_capacity: int) -> bytes:
        return self_.blocking_read(min(len_, result_capacity))

    def input_stream_skip(self, self_: InputStream, len_: int) -> int:
        return len(self_.read(len_))

    def input_stream_blocking_skip(self, self_: InputStream, len_: int) -> int:
        return len(self_.blocking_read(len_))

    def input_stream_subscribe(self, self_: InputStream) -> Pollable:
        return self_.subscribe()

    def input_stream_drop(self, self_: InputStream) -> None:
        self_.conn.release()

    def output_stream_check_write(self, self_: OutputStream) -> int:
        return self_.check_write()

    def output_stream_write(self, self_: OutputStream, contents: bytes) -> None:
        self_.write(contents)

    def output_stream_blocking_write_and_flush(self, self_: OutputStream, contents: bytes) -> None:
        self_.write_all(contents)

    def output_stream_flush(self, self_: OutputStream) -> None:
        self_._push()
        self_._raise_if_failed()

    def output_stream_blocking_flush(self, self_: OutputStream) -> None:
        self_.blocking_flush()

    def output_stream_subscribe(self, self_: OutputStream) -> Pollable:
        return self_.subscribe()

    def output_stream_write_zeroes(self, self_: OutputStream, len_: int) -> None:
        if len_ > OutputStream.LIMIT:
            raise stream_failed("write-zeroes: more bytes than check-write permitted")
        self_.write(bytes(len_))

    def output_stream_blocking_write_zeroes_and_flush(self, self_: OutputStream, len_: int) -> None:
        if len_ > 1 << 24:  # WASI allows 4096; a guest cannot make the host allocate GiBs
            raise stream_failed("blocking-write-zeroes-and-flush: too long")
        self_.write_all(bytes(len_))

    def output_stream_splice(self, self_: OutputStream, src: InputStream, len_: int) -> int:
        data = src.read(min(len_, self_.check_write()))
        self_.write(data)
        return len(data)

    def output_stream_blocking_splice(self, self_: OutputStream, src: InputStream, len_: int) -> int:
        data = src.blocking_read(min(len_, OutputStream.LIMIT))
        self_.write_all(data)
        return len(data)

    def output_stream_drop(self, self_: OutputStream) -> None:
        try:
            self_._push()
        finally:
            BACKLOG.discard(self_)
            self_.conn.release()

    # --- wasi:clocks/monotonic-clock

    def now(self) -> int:
        return time.monotonic_ns()

    def resolution(self) -> int:
        return 1

    def subscribe_instant(self, when: int) -> Pollable:
        return Pollable(deadline=when)

    def subscribe_duration(self, when: int) -> Pollable:
        return Pollable(deadline=time.monotonic_ns() + when)

    # --- wasi:sockets/network, instance-network

    def instance_network(self) -> Network:
        return self.network

    def network_drop(self, self_: Network) -> None:
        pass

    # --- wasi:sockets/tcp-create-socket

    def create_tcp_socket(self, address_family: Any) -> TcpSocket:
        family = socket.AF_INET if address_family == T.IpAddressFamily.IPV4 else socket.AF_INET6
        try:
            faults.fail("socket")
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            raise os_error(exc) from None
        sock.setblocking(False)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        return TcpSocket(family, sock)

    # --- wasi:sockets/tcp

    def _sockaddr(self, s: TcpSocket | UdpSocket, addr: Any, *, remote: bool,
                  multicast: bool = False) -> tuple:
        family, sa = to_sockaddr(addr)
        if family != s.family:
            raise net_error("INVALID_ARGUMENT")
        ip = ipaddress.ip_address(sa[0])
        if ip.version == 6 and ip.ipv4_mapped is not None:
            raise net_error("INVALID_ARGUMENT")  # WASI refuses IPv4-mapped addresses (so does the C host)
        if remote and (sa[1] == 0 or ip.is_unspecified or (not multicast and _not_unicast(ip))):
            raise net_error("INVALID_ARGUMENT")
        self._check_allowed(sa)
        return sa

    def tcp_socket_start_bind(self, self_: TcpSocket, network: Network, local_address: Any) -> None:
        if self_.state != "unbound":
            raise net_error("INVALID_STATE")
        sa = self._sockaddr(self_, local_address, remote=False)
        try:
            self_.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self_.sock.bind(sa)
        except OSError as exc:
            raise os_error(exc) from None
        self_.state = "bind-started"

    def tcp_socket_finish_bind(self, self_: TcpSocket) -> None:
        if self_.state != "bind-started":
            raise net_error("NOT_IN_PROGRESS")
        self_.state = "bound"

    def tcp_socket_start_connect(self, self_: TcpSocket, network: Network, remote_address: Any) -> None:
        if self_.state not in ("unbound", "bound"):
            raise net_error("INVALID_STATE")
        sa = self._sockaddr(self_, remote_address, remote=True)
        rc = faults.connect_result(self_.sock.connect_ex(sa))
        # Whatever connect(2) itself says, even at once (ECONNREFUSED, ENETUNREACH, ...),
        # is for finish-connect: start-connect fails only on its arguments, the state and
        # the policy (as wasmtime's, whose connect runs in the future finish-connect polls;
        # the C host keeps `connect_error` the same way). EINTR: the connection goes on.
        if rc not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY, errno.EINTR):
            self_.connect_error = rc
        self_.state = "connect-started"

    def tcp_socket_finish_connect(self, self_: TcpSocket) -> tuple[InputStream, OutputStream]:
        if self_.state != "connect-started":
            raise net_error("NOT_IN_PROGRESS")
        if self_.connect_error:
            self_.state = "closed"
            raise os_error(self_.connect_error)
        if not _writable(self_.sock):
            raise net_error("WOULD_BLOCK")
        err = self_.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self_.state = "closed"
            raise os_error(err)
        self_.state = "connected"
        self_.conn = Connection(self_.sock)
        return InputStream(self_.conn), OutputStream(self_.conn)

    def tcp_socket_start_listen(self, self_: TcpSocket) -> None:
        if self_.state != "bound":
            raise net_error("INVALID_STATE")
        try:
            self_.sock.listen(self_.backlog)
        except OSError as exc:
            raise os_error(exc) from None
        self_.state = "listen-started"

    def tcp_socket_finish_listen(self, self_: TcpSocket) -> None:
        if self_.state != "listen-started":
            raise net_error("NOT_IN_PROGRESS")
        self_.state = "listening"

    def tcp_socket_accept(self, self_: TcpSocket) -> tuple[TcpSocket, InputStream, OutputStream]:
        if self_.state != "listening":
            raise net_error("INVALID_STATE")
        while True:  # an interrupted accept leaves the connection queued: take it (as the C host)
            try:
                faults.fail("accept")
                sock, peer = self_.sock.accept()
                break
            except InterruptedError:
                continue
            except BlockingIOError:
                raise net_error("WOULD_BLOCK") from None
            except OSError as exc:
                raise os_error(exc) from None
        sock.setblocking(False)
        if not self._allowed(peer):
            sock.close()  # a peer from beyond loopback: as if nobody had come (as the C host)
            raise net_error("WOULD_BLOCK")
        child = TcpSocket(self_.family, sock, "connected")
        child.conn = Connection(sock)
        return child, InputStream(child.conn), OutputStream(child.conn)

    def tcp_socket_local_address(self, self_: TcpSocket) -> Any:
        if self_.state in ("unbound", "bind-started", "closed"):
            raise net_error("INVALID_STATE")
        return from_sockaddr(self_.family, self_.sock.getsockname())

    def tcp_socket_remote_address(self, self_: TcpSocket) -> Any:
        if self_.state != "connected":
            raise net_error("INVALID_STATE")
        try:
            return from_sockaddr(self_.family, self_.sock.getpeername())
        except OSError as exc:
            raise os_error(exc) from None

    def tcp_socket_is_listening(self, self_: TcpSocket) -> bool:
        return self_.state == "listening"

    def tcp_socket_address_family(self, self_: TcpSocket) -> Any:
        return self_.fam

    def tcp_socket_set_listen_backlog_size(self, self_: TcpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self_.backlog = min(value, 1 << 16)
        if self_.state == "listening":
            self_.sock.listen(self_.backlog)

    def _get(self, s: TcpSocket | UdpSocket, level: int, opt: int) -> int:
        try:
            return s.sock.getsockopt(level, opt)
        except OSError as exc:
            raise os_error(exc) from None

    def _set(self, s: TcpSocket | UdpSocket, level: int, opt: int, value: int) -> None:
        try:
            s.sock.setsockopt(level, opt, value)
        except OSError as exc:
            raise os_error(exc) from None

    def tcp_socket_keep_alive_enabled(self, self_: TcpSocket) -> bool:
        return bool(self._get(self_, socket.SOL_SOCKET, socket.SO_KEEPALIVE))

    def tcp_socket_set_keep_alive_enabled(self, self_: TcpSocket, value: bool) -> None:
        self._set(self_, socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(value))

    def _set_seconds(self, s: TcpSocket, opt: int, ns: int) -> None:
        if ns == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(s, socket.IPPROTO_TCP, opt, min(max(1, math.ceil(ns / 1e9)), 32767))

    def tcp_socket_keep_alive_idle_time(self, self_: TcpSocket) -> int:
        return self._get(self_, socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) * 1_000_000_000

    def tcp_socket_set_keep_alive_idle_time(self, self_: TcpSocket, value: int) -> None:
        self._set_seconds(self_, socket.TCP_KEEPIDLE, value)

    def tcp_socket_keep_alive_interval(self, self_: TcpSocket) -> int:
        return self._get(self_, socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) * 1_000_000_000

    def tcp_socket_set_keep_alive_interval(self, self_: TcpSocket, value: int) -> None:
        self._set_seconds(self_, socket.TCP_KEEPINTVL, value)

    def tcp_socket_keep_alive_count(self, self_: TcpSocket) -> int:
        return self._get(self_, socket.IPPROTO_TCP, socket.TCP_KEEPCNT)

    def tcp_socket_set_keep_alive_count(self, self_: TcpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, socket.IPPROTO_TCP, socket.TCP_KEEPCNT, min(value, 127))

    def _hop_opt(self, s: TcpSocket | UdpSocket) -> tuple[int, int]:
        if s.family == socket.AF_INET:
            return socket.IPPROTO_IP, socket.IP_TTL
        return socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS

    def tcp_socket_hop_limit(self, self_: TcpSocket) -> int:
        return self._get(self_, *self._hop_opt(self_)) & 0xFF

    def tcp_socket_set_hop_limit(self, self_: TcpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, *self._hop_opt(self_), value)

    def tcp_socket_receive_buffer_size(self, self_: TcpSocket) -> int:
        return self._get(self_, socket.SOL_SOCKET, socket.SO_RCVBUF)

    def tcp_socket_set_receive_buffer_size(self, self_: TcpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, socket.SOL_SOCKET, socket.SO_RCVBUF, min(value, 1 << 30))

    def tcp_socket_send_buffer_size(self, self_: TcpSocket) -> int:
        return self._get(self_, socket.SOL_SOCKET, socket.SO_SNDBUF)

    def tcp_socket_set_send_buffer_size(self, self_: TcpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, socket.SOL_SOCKET, socket.SO_SNDBUF, min(value, 1 << 30))

    def tcp_socket_subscribe(self, self_: TcpSocket) -> Pollable:
        def progress() -> bool:
            return self_.state not in ("connect-started", "listening") or self_.connect_error != 0

        if self_.state == "connect-started":
            return Pollable(check=progress, sock=self_.sock, events=selectors.EVENT_WRITE)
        if self_.state == "listening":
            return Pollable(check=progress, sock=self_.sock, events=selectors.EVENT_READ)
        return Pollable()

    def tcp_socket_shutdown(self, self_: TcpSocket, shutdown_type: Any) -> None:
        if self_.state != "connected":
            raise net_error("INVALID_STATE")
        how = {T.ShutdownType.RECEIVE: socket.SHUT_RD, T.ShutdownType.SEND: socket.SHUT_WR,
               T.ShutdownType.BOTH: socket.SHUT_RDWR}[shutdown_type]
        try:
            self_.sock.shutdown(how)
        except OSError as exc:
            raise os_error(exc) from None

    def tcp_socket_drop(self, self_: TcpSocket) -> None:
        if self_.conn is not None:
            self_.conn.release()
        else:
            self_.sock.close()

    # --- wasi:sockets/ip-name-lookup

    def resolve_addresses(self, network: Network, name: str) -> ResolveAddressStream:
        # a `str`: the glue refused ill-formed UTF-8 (`bad_value`) before this runs
        text = name[1:-1] if name.startswith("[") and name.endswith("]") else name
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            if ip.version == 6 and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            return ResolveAddressStream([ip_address_value(ip)])
        ascii_name = hostname_ascii(name)
        if ascii_name is None:
            raise net_error("INVALID_ARGUMENT")
        stream = ResolveAddressStream(None, ascii_name, self.allow_network)
        if ascii_name == "invalid" or ascii_name.endswith(".invalid"):
            stream.error = "NAME_UNRESOLVABLE"  # RFC 6761 6.4: never asks the resolver
            stream.done.set()
        elif not self.allow_network and not _is_localhost_name(ascii_name):
            # Asking a DNS server is network access: a guest could carry data out in
            # the names it looks up. Without it only `localhost` names are looked up.
            stream.error = "ACCESS_DENIED"
            stream.done.set()
        else:
            RESOLVER.submit(stream)
        return stream

    def resolve_address_stream_resolve_next_address(self, self_: ResolveAddressStream) -> Any:
        if not self_.done.is_set():
            raise net_error("WOULD_BLOCK")
        if self_.error is not None:
            raise net_error(self_.error)  # every later call too: the lookup failed
        return self_.addresses.pop(0) if self_.addresses else None

    def resolve_address_stream_subscribe(self, self_: ResolveAddressStream) -> Pollable:
        return Pollable(check=self_.done.is_set)

    def resolve_address_stream_drop(self, self_: ResolveAddressStream) -> None:
        self_.dropped = True
        self_.addresses = []

    # --- wasi:sockets/udp-create-socket

    def create_udp_socket(self, address_family: Any) -> UdpSocket:
        family = socket.AF_INET if address_family == T.IpAddressFamily.IPV4 else socket.AF_INET6
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as exc:
            raise os_error(exc) from None
        sock.setblocking(False)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        return UdpSocket(family, sock)

    # --- wasi:sockets/udp

    def udp_socket_start_bind(self, self_: UdpSocket, network: Network, local_address: Any) -> None:
        if self_.state != "unbound":
            raise net_error("INVALID_STATE")
        sa = self._sockaddr(self_, local_address, remote=False)
        try:
            self_.sock.bind(sa)
        except OSError as exc:
            raise os_error(exc) from None
        self_.state = "bind-started"

    def udp_socket_finish_bind(self, self_: UdpSocket) -> None:
        if self_.state != "bind-started":
            raise net_error("NOT_IN_PROGRESS")
        self_.state = "bound"

    def udp_socket_stream(self, self_: UdpSocket, remote_address: Any) -> tuple[
            IncomingDatagramStream, OutgoingDatagramStream]:
        if self_.state != "bound":
            raise net_error("INVALID_STATE")
        sa = None
        if remote_address is not None:
            sa = self._sockaddr(self_, remote_address, remote=True, multicast=True)
        try:
            if self_.remote is not None:
                _disconnect(self_.sock)
                self_.remote = None
            if sa is not None:
                self_.sock.connect(sa)
                self_.remote = sa
        except OSError as exc:
            raise os_error(exc) from None
        self_.gen += 1  # the streams of an earlier call stop working
        return IncomingDatagramStream(self_), OutgoingDatagramStream(self_)

    def udp_socket_local_address(self, self_: UdpSocket) -> Any:
        if self_.state != "bound":
            raise net_error("INVALID_STATE")
        return from_sockaddr(self_.family, self_.sock.getsockname())

    def udp_socket_remote_address(self, self_: UdpSocket) -> Any:
        if self_.remote is None:
            raise net_error("INVALID_STATE")
        try:
            return from_sockaddr(self_.family, self_.sock.getpeername())
        except OSError as exc:
            raise os_error(exc) from None

    def udp_socket_address_family(self, self_: UdpSocket) -> Any:
        return self_.fam

    def udp_socket_unicast_hop_limit(self, self_: UdpSocket) -> int:
        return self._get(self_, *self._hop_opt(self_)) & 0xFF

    def udp_socket_set_unicast_hop_limit(self, self_: UdpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, *self._hop_opt(self_), value)

    def udp_socket_receive_buffer_size(self, self_: UdpSocket) -> int:
        return self._get(self_, socket.SOL_SOCKET, socket.SO_RCVBUF)

    def udp_socket_set_receive_buffer_size(self, self_: UdpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, socket.SOL_SOCKET, socket.SO_RCVBUF, min(value, 1 << 30))

    def udp_socket_send_buffer_size(self, self_: UdpSocket) -> int:
        return self._get(self_, socket.SOL_SOCKET, socket.SO_SNDBUF)

    def udp_socket_set_send_buffer_size(self, self_: UdpSocket, value: int) -> None:
        if value == 0:
            raise net_error("INVALID_ARGUMENT")
        self._set(self_, socket.SOL_SOCKET, socket.SO_SNDBUF, min(value, 1 << 30))

    def udp_socket_subscribe(self, self_: UdpSocket) -> Pollable:
        return Pollable()  # bind and stream finish at once: nothing to wait for

    def udp_socket_drop(self, self_: UdpSocket) -> None:
        self_.conn.release()

    def _operational(self, stream: IncomingDatagramStream | OutgoingDatagramStream) -> None:
        if stream.gen != stream.owner.gen:
            raise net_error("INVALID_STATE")  # `stream` was called again since

    def incoming_datagram_stream_receive(self, self_: IncomingDatagramStream, max_results: int, *,
                                         result_capacity: int, result_address: int = 0) -> list[Any]:
        """As many datagrams as fit in the caller's buffer: the records (4-aligned from
        `result_address`) then the payloads. One that does not fit is kept for the next
        call; when even the first does not, it is returned (the glue answers
        `buffer_too_small` with the exact size needed) and kept all the same."""
        self._operational(self_)
        out: list[Any] = []
        room = result_capacity - (-result_address % 4)
        sock = self_.conn.sock
        while len(out) < min(max_results, MAX_DATAGRAMS):
            if self_.kept is not None:
                data, sa = self_.kept
            else:
                try:
                    data, sa = sock.recvfrom(MAX_PAYLOAD)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    if out:
                        break  # report what came first; the error was consumed
                    raise os_error(exc) from None
                if not self.allow_network and not ipaddress.ip_address(sa[0].split("%")[0]).is_loopback:
                    continue  # a non-loopback source: not for a loopback-only guest
            datagram = T.IncomingDatagram(data=data, remote_address=from_sockaddr(self_.owner.family, sa))
            cost = DATAGRAM_RECORD + len(data)
            if cost <= room:
                self_.kept = None
                out.append(datagram)
                room -= cost
                continue
            self_.kept = (data, sa)
            if not out:
                out.append(datagram)
            break
        return out

    def incoming_datagram_stream_subscribe(self, self_: IncomingDatagramStream) -> Pollable:
        return Pollable(check=lambda: self_.kept is not None, sock=self_.conn.sock,
                        events=selectors.EVENT_READ)

    def incoming_datagram_stream_drop(self, self_: IncomingDatagramStream) -> None:
        self_.conn.release()

    def outgoing_datagram_stream_check_send(self, self_: OutgoingDatagramStream) -> int:
        self._operational(self_)
        if self_.permit == 0 and _writable(self_.conn.sock):
            self_.permit = MAX_DATAGRAMS
        return self_.permit

    def outgoing_datagram_stream_send(self, self_: OutgoingDatagramStream, datagrams: list[Any]) -> int:
        self._operational(self_)
        if not datagrams:
            return 0
        if len(datagrams) > self_.permit:
            # WASI traps here; the backport refuses the call (nothing sent)
            raise BadValue("send: more datagrams than check-send permitted")
        self_.permit = 0
        owner = self_.owner
        sent = 0
        for d in datagrams:
            try:
                self._send_one(owner, d)
            except T.ErrorCodeError:
                if sent:
                    break
                raise
            except (BlockingIOError, InterruptedError):
                break
            sent += 1
        return sent

    def _send_one(self, owner: UdpSocket, d: Any) -> None:
        sock = owner.sock
        if d.remote_address is None:
            if owner.remote is None:
                raise net_error("INVALID_ARGUMENT")  # EDESTADDRREQ
            target = None
        else:
            target = self._sockaddr(owner, d.remote_address, remote=True, multicast=True)
            if owner.remote is not None and target != owner.remote:
                raise net_error("INVALID_ARGUMENT")  # EISCONN
        if len(d.data) > MAX_PAYLOAD:
            raise net_error("DATAGRAM_TOO_LARGE")
        try:
            if target is None or owner.remote is not None:
                sock.send(d.data)
            else:
                sock.sendto(d.data, target)
        except (BlockingIOError, InterruptedError):
            raise
        except OSError as exc:
            raise os_error(exc) from None

    def outgoing_datagram_stream_subscribe(self, self_: OutgoingDatagramStream) -> Pollable:
        return Pollable(check=lambda: self_.permit > 0, sock=self_.conn.sock,
                        events=selectors.EVENT_WRITE)

    def outgoing_datagram_stream_drop(self, self_: OutgoingDatagramStream) -> None:
        self_.conn.release()

def wait_any_nowait(pollables: Iterable[Pollable]) -> list[int]:
    """The indices of the pollables ready right now (no waiting)."""
    out = []
    for i, p in enumerate(pollables):
        if p.ready_now():
            out.append(i)
        elif p.waits_on_socket():
            ready = _readable if p.events & selectors.EVENT_READ else _writable
            if ready(p.sock):
                out.append(i)
    return out


__all__ = ["SocketsHost", "Pollable", "InputStream", "OutputStream", "TcpSocket", "UdpSocket",
           "IncomingDatagramStream", "OutgoingDatagramStream", "ResolveAddressStream", "IoError"]
