"""A reference host for backported wasi:sockets 0.2.12 (TCP), in Python over `socket`.

It implements, as one object, the `Impl` protocols of the generated glue for

* wasi:sockets — network, instance-network, tcp, tcp-create-socket, ip-name-lookup
  (numeric hosts only: no DNS);
* wasi:io — error, poll, streams (the streams of TCP connections);
* wasi:clocks — monotonic-clock.

Everything is non-blocking underneath (`socket.setblocking(False)`); the blocking
WASI calls (`blocking-read`, `pollable.block`, `poll`, ...) wait with `selectors`.
Network access is limited to loopback addresses unless `allow_network=True`
(`access-denied` otherwise).

Use it with `add_to_linker(linker, store)` (see `wit2witx.hosts`), or through
`wit2witx run GUEST.wasm --host wasi-sockets`.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import selectors
import socket
import time
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from . import load_glue

T = SimpleNamespace()  # every generated class, filled by `_types()`


def _types() -> SimpleNamespace:
    if not vars(T):
        for module in load_glue().values():
            for name in module.__all__:
                setattr(T, name, getattr(module, name))
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


def wait_any(pollables: list[Pollable]) -> list[int]:
    """Block until at least one is ready; the indices of the ready ones."""
    while True:
        ready = [i for i, p in enumerate(pollables) if p.ready_now()]
        if ready:
            return ready
        deadlines = [p.deadline for p in pollables if p.deadline is not None]
        timeout = None
        if deadlines:
            timeout = max(0.0, (min(deadlines) - time.monotonic_ns()) / 1e9)
        waiting = [(i, p) for i, p in enumerate(pollables) if p.waits_on_socket()]
        if not waiting and timeout is None:
            # nothing can ever become ready: a guest bug; do not hang forever
            time.sleep(0.01)
            continue
        with selectors.DefaultSelector() as sel:
            merged: dict[int, int] = {}
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

    def retain(self) -> "Connection":
        self.refs += 1
        return self

    def release(self) -> None:
        self.refs -= 1
        if self.refs <= 0:
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
    """Writes go into a bounded buffer that is sent as the socket accepts them."""

    LIMIT = 1 << 16

    def __init__(self, conn: Connection) -> None:
        self.conn = conn.retain()
        self.pending = bytearray()
        self.error: str | None = None
        self.closed = False

    def _push(self) -> None:
        while self.pending and self.error is None:
            try:
                sent = self.conn.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error = f"send: {exc.strerror or exc}"
                return
            del self.pending[:sent]

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            message, self.error = self.error, None
            self.closed = True
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
        self.connect_started = False

    @property
    def fam(self) -> Any:
        return T.IpAddressFamily.IPV4 if self.family == socket.AF_INET else T.IpAddressFamily.IPV6


class ResolveAddressStream:
    def __init__(self, addresses: list[Any]) -> None:
        self.addresses = addresses


class SocketsHost:
    """Implements every generated `Impl` of the modules listed in `wit2witx.hosts`."""

    def __init__(self, *, allow_network: bool = False) -> None:
        _types()
        self.allow_network = allow_network
        self.network = Network()

    # --- access control

    def _check_allowed(self, sa: tuple) -> None:
        if self.allow_network:
            return
        ip = ipaddress.ip_address(sa[0].split("%")[0])
        if not (ip.is_loopback or ip.is_unspecified):
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
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            raise os_error(exc) from None
        sock.setblocking(False)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        return TcpSocket(family, sock)

    # --- wasi:sockets/tcp

    def _sockaddr(self, s: TcpSocket, addr: Any, *, remote: bool) -> tuple:
        family, sa = to_sockaddr(addr)
        if family != s.family:
            raise net_error("INVALID_ARGUMENT")
        ip = ipaddress.ip_address(sa[0])
        if remote and (sa[1] == 0 or ip.is_unspecified or ip.is_multicast):
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
        rc = self_.sock.connect_ex(sa)
        if rc not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            self_.state = "closed"
            raise os_error(rc)
        self_.state = "connect-started"

    def tcp_socket_finish_connect(self, self_: TcpSocket) -> tuple[InputStream, OutputStream]:
        if self_.state != "connect-started":
            raise net_error("NOT_IN_PROGRESS")
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
        try:
            sock, _ = self_.sock.accept()
        except (BlockingIOError, InterruptedError):
            raise net_error("WOULD_BLOCK") from None
        except OSError as exc:
            raise os_error(exc) from None
        sock.setblocking(False)
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

    def _get(self, s: TcpSocket, level: int, opt: int) -> int:
        try:
            return s.sock.getsockopt(level, opt)
        except OSError as exc:
            raise os_error(exc) from None

    def _set(self, s: TcpSocket, level: int, opt: int, value: int) -> None:
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

    def _hop_opt(self, s: TcpSocket) -> tuple[int, int]:
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
            return self_.state not in ("connect-started", "listening")

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

    # --- wasi:sockets/ip-name-lookup (numeric hosts only)

    def resolve_addresses(self, network: Network, name: bytes | str) -> ResolveAddressStream:
        if isinstance(name, (bytes, bytearray)):  # a string parameter arrives as its bytes
            try:
                name = bytes(name).decode("utf-8")
            except UnicodeDecodeError:
                raise net_error("INVALID_ARGUMENT") from None
        text = name[1:-1] if name.startswith("[") and name.endswith("]") else name
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            if not name or any(c in name for c in " /\\:@") or len(name) > 253:
                raise net_error("INVALID_ARGUMENT") from None
            raise net_error("NAME_UNRESOLVABLE") from None
        return ResolveAddressStream([ip_address_value(ip)])

    def resolve_address_stream_resolve_next_address(self, self_: ResolveAddressStream) -> Any:
        return self_.addresses.pop(0) if self_.addresses else None

    def resolve_address_stream_subscribe(self, self_: ResolveAddressStream) -> Pollable:
        return Pollable()

    def resolve_address_stream_drop(self, self_: ResolveAddressStream) -> None:
        pass


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


__all__ = ["SocketsHost", "Pollable", "InputStream", "OutputStream", "TcpSocket", "IoError"]
