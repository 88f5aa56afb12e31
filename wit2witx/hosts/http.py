"""A reference host for backported wasi:http 0.2.12 (types, outgoing-handler, and the
proxy world's incoming-handler export), in Python over the standard library.

`HttpHost` is the wasi-cli host (`wit2witx.hosts.cli.CliHost`: wasi:io, clocks,
sockets, cli, random) plus the `Impl` of the generated glue for wasi:http/types and
wasi:http/outgoing-handler. `wit2witx run GUEST.wasm --host wasi-http` gives a guest
the client; `--serve HOST:PORT` serves HTTP with a guest exporting
`wasi_http_incoming_handler#handle` (see `wit2witx.hosts.http_serve`).

Why the standard library's `http.client` (and `http.server` for serving) and not a
third-party client: the host needs the raw protocol under its control — request bodies
written through a wasi:io output-stream *after* the request went out (chunked, with
trailers, or with the guest's own Content-Length), response trailers (which
`http.client` reads past, so the host decodes chunked bodies itself from the
response's buffered file), per-phase timeouts, and the socket errors behind each
`error-code`. `http.client` writes the request head and parses the response head;
everything else is a few lines over its socket. A high-level library (requests,
httpx, urllib3) hides exactly those parts and would be a dependency of the package.

Semantics (what a guest can rely on):

* `fields`: names are RFC 9110 tokens and values visible ASCII, obs-text, space or tab
  (else `invalid-syntax`); a name is compared without case and keeps its spelling in
  `entries`. Hop-by-hop and framing headers are `forbidden` (`FORBIDDEN_HEADERS`):
  the host frames the message itself. Fields a request or response holds, the
  headers of incoming messages and trailers are `immutable`. The backport ABI leaves a
  handle live after a call that takes `own<fields>`, so the constructor of a request or
  response freezes the fields object it is given: a later `set` through the old
  handle is `immutable` too.
* `outgoing-handler.handle` starts one worker thread per request (so `future-incoming-
  response` is a real future, polled with wasi:io/poll): it connects (within
  `connect-timeout`), sends the head, then the body as the guest writes it — with a
  Content-Length when the body was finished before `handle` (or the guest set one),
  otherwise chunked with the trailers given to `outgoing-body.finish` — and waits for
  the response head (within `first-byte-timeout`); the body is read as the guest reads
  it (`between-bytes-timeout` per read). A body that was never taken is empty.
* Network policy as the sockets host: only loopback destinations unless
  `allow_network` (`destination-IP-prohibited` for an address, `HTTP-request-denied`
  for a name other than `localhost`: asking DNS is network access already).
* `error-code` from what the host meets: refused → `connection-refused`; connect
  timeout → `connection-timeout`; no response head in time, or a body read timing out
  → `connection-read-timeout`; reset or EOF mid-message → `connection-terminated` /
  `HTTP-response-incomplete`; a malformed response → `HTTP-protocol-error`; name not
  found → `destination-not-found`; other resolver failures → `DNS-error` (rcode: the
  resolver's message) or `DNS-timeout`; unreachable → `destination-unavailable`;
  certificate failure → `TLS-certificate-error`; other TLS failures →
  `TLS-protocol-error` (HTTPS goes through `ssl` with the default context); a scheme
  other than HTTP/HTTPS → `HTTP-protocol-error`; no authority → `HTTP-request-URI-
  invalid`; a body shorter or longer than its Content-Length → `HTTP-request-body-
  size`. Stream errors carry an io `error` that `http-error-code` maps back.
* Using a body or stream after `finish` (or a second `body`/`consume`/`stream`/
  `write`) is the WIT error of the call (status `error`); a stale or forged handle is
  `bad_handle`, out-of-bounds buffers `bad_pointer`, from the glue, before the host runs.
* Threads: the guest calls the host on one thread (a wasmtime store is used by one
  thread; `--serve` gives each request its own host), and the host's own threads (a
  request's worker, a request body's reader) meet it only in the bodies and the
  exchange: every field both sides use changes under that object's `cond`, a producer
  sets `done` last (pollables read it without the lock), `future-trailers.get` reads
  the outcome under the lock, and the worker publishes and closes its socket under the
  exchange's lock, which `cancel` (dropping the future) holds to shut it down — so a
  cancel before connect(2) stops the request and a shutdown never meets a closed,
  reused descriptor. Flags only the guest's calls touch (`sent`, `taken`, `used`,
  `stream_taken`, a fields object's entries) need no lock.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import time
from collections import deque
from typing import Any

from .cli import CliHost
from .runtime import Err, Ok
from .sockets import IoError, Pollable, stream_closed, stream_failed

T: Any = None  # the generated wasi_http_types module, loaded by `HttpHost`

#: Headers a guest may not set: connection management and message framing belong to the
#: host (RFC 9110 7.6.1 hop-by-hop fields, plus Host, which comes from the authority).
FORBIDDEN_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host",
    "http2-settings",
})

_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

#: Bytes a guest may have written to a request body that the worker has not sent yet.
PIPE_LIMIT = 1 << 18
#: Bytes a response body may hold before its head can go out (the guest wrote it all
#: before `response-outparam.set`): beyond this the stream fails instead of growing.
PREHEAD_LIMIT = 1 << 26
READ_CHUNK = 1 << 16


def _types() -> Any:
    global T
    if T is None:
        from . import load_http_glue  # noqa: PLC0415

        T = load_http_glue()["wasi_http_types"]
    return T


def code(case: str, value: Any = None) -> Any:
    """An `error-code` value: `code("connection_refused")`."""
    maker = getattr(_types().ErrorCode, case)
    return maker(value) if value is not None or case in _PAYLOAD_CASES else maker()


_PAYLOAD_CASES = frozenset({"internal_error", "HTTP_request_body_size", "HTTP_response_body_size",
                            "DNS_error", "HTTP_response_transfer_coding"})


class HttpIoError(IoError):
    """A wasi:io `error` that `http-error-code` maps to `code`."""

    def __init__(self, message: str, error_code: Any) -> None:
        super().__init__(message)
        self.code = error_code


def http_stream_error(message: str, error_code: Any) -> Exception:
    """A wasi:io `stream-error.last-operation-failed` whose io error maps to `error_code`."""
    from .sockets import _types as io_types  # noqa: PLC0415  (wasi:io's generated classes)

    t = io_types()
    return t.StreamErrorError(t.StreamError.last_operation_failed(HttpIoError(message, error_code)))


# ----------------------------------------------------------------------------- fields


def _name_bytes(name: Any) -> bytes:
    """A field name as bytes. The glue gives a `string` parameter (`fields.get`'s name)
    and a list element's name (`from-list`) as a `str`, already valid UTF-8; bytes are
    taken too, for callers that have them."""
    return name.encode("utf-8") if isinstance(name, str) else bytes(name)


def valid_name(name: bytes) -> bool:
    return bool(name) and all(b in _TCHAR for b in name)


def valid_value(value: bytes) -> bool:
    return all(b == 9 or 32 <= b < 127 or b >= 128 for b in value)


class Fields:
    """`fields`: (name, value) pairs in order; `frozen` once a message holds them."""

    __slots__ = ("entries", "frozen")

    def __init__(self, entries: list[tuple[bytes, bytes]] | None = None, frozen: bool = False) -> None:
        self.entries = entries or []
        self.frozen = frozen

    def get(self, name: bytes) -> list[bytes]:
        low = name.lower()
        return [v for n, v in self.entries if n.lower() == low]

    def without(self, name: bytes) -> list[tuple[bytes, bytes]]:
        low = name.lower()
        return [(n, v) for n, v in self.entries if n.lower() != low]


def _header_error(case: str) -> Exception:
    t = _types()
    return t.HeaderErrorError(getattr(t.HeaderError, case))


def _check_field(name: bytes, values: list[bytes]) -> None:
    if not valid_name(name) or not all(valid_value(v) for v in values):
        raise _header_error("INVALID_SYNTAX")
    if name.lower().decode("ascii") in FORBIDDEN_HEADERS:
        raise _header_error("FORBIDDEN")


def _mutable(fields: Fields) -> None:
    if fields.frozen:
        raise _header_error("IMMUTABLE")


# ----------------------------------------------------------------------------- bodies


class _Owner:
    """Streams of bodies own no socket of their own (the `conn.release` of wasi:io)."""

    def __init__(self, on_release: Any = None) -> None:
        self.on_release = on_release

    def release(self) -> None:
        if self.on_release is not None:
            self.on_release()


class OutgoingBody:
    """`outgoing-body`: bytes the guest writes, taken by a consumer — the request
    worker (`take`) or, once a response head went out, a direct writer (`direct`)."""

    def __init__(self, limit: int) -> None:
        self.cond = threading.Condition()
        #: the request worker takes the bytes (set when it starts sending the body);
        #: before that, bytes in the host's buffer count as flushed (a request body
        #: written before `handle`, a response body before `set`), up to `limit`
        self.consumer = False
        self.pending: deque[bytes] = deque()
        self.pending_bytes = 0
        self.written = 0
        self.limit = limit
        self.finished = False
        self.aborted = False
        self.trailers: Fields | None = None
        self.error: Any = None  # an error-code: the consumer failed
        self.stream_taken = False
        self.direct: Any = None  # callable(bytes) once the head is out (server)
        self.on_finish: Any = None  # callable() after `finish` (server: the last chunk)

    # -- the guest's side (through the output-stream)

    def room(self) -> int:
        if self.direct is not None:
            return READ_CHUNK
        return max(0, self.limit - self.pending_bytes)

    def _fail_if_broken(self) -> None:
        if self.error is not None:
            raise http_stream_error("the HTTP body could not be sent", self.error)
        if self.finished or self.aborted:
            raise stream_closed()

    def write(self, data: bytes) -> None:
        with self.cond:
            self._fail_if_broken()
            if len(data) > self.room():
                raise stream_failed("write: more bytes than check-write permitted")
            self.written += len(data)
            if self.direct is not None:
                self._direct(data)
                return
            if data:
                self.pending.append(bytes(data))
                self.pending_bytes += len(data)
                self.cond.notify_all()

    def _direct(self, data: bytes) -> None:
        try:
            self.direct(data)
        except OSError as exc:
            self.error = code("connection_terminated")
            raise stream_failed(f"send: {exc}") from None

    def write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            with self.cond:
                while self.room() == 0 and self.error is None and not self.aborted:
                    if not self.consumer and self.direct is None:
                        raise stream_failed("the body's buffer is full before the message was sent")
                    self.cond.wait(1.0)
                n = min(len(view), max(self.room(), 1))
            self.write(bytes(view[:n]))
            view = view[n:]

    def wait_flushed(self) -> None:
        with self.cond:
            while (self.pending and self.consumer and self.direct is None
                   and self.error is None and not self.aborted):
                self.cond.wait(1.0)
            self._fail_if_broken()

    def finish(self, trailers: Fields | None) -> None:
        with self.cond:
            self.trailers = trailers
            self.finished = True
            self.cond.notify_all()

    def abort(self) -> None:
        with self.cond:
            if not self.finished:
                self.aborted = True
                self.cond.notify_all()

    # -- the consumer's side

    def take(self, timeout: float | None = None) -> bytes | None:
        """The next bytes written, b"" at the end, None when the guest dropped the body
        without `finish`."""
        with self.cond:
            while not self.pending and not self.finished and not self.aborted:
                self.cond.wait(timeout)
            if self.pending:
                data = self.pending.popleft()
                self.pending_bytes -= len(data)
                self.cond.notify_all()
                return data
            return None if self.aborted else b""

    def fail(self, error_code: Any) -> None:
        with self.cond:
            self.error = error_code
            self.cond.notify_all()


class BodyWriter:
    """The output-stream of an `outgoing-body` (what the wasi:io methods call)."""

    LIMIT = PIPE_LIMIT

    def __init__(self, body: OutgoingBody) -> None:
        self.body = body
        self.conn = _Owner()

    def _push(self) -> None:
        pass

    def _raise_if_failed(self) -> None:
        with self.body.cond:
            self.body._fail_if_broken()

    def check_write(self) -> int:
        self._raise_if_failed()
        return self.body.room()

    def write(self, data: bytes) -> None:
        self.body.write(data)

    def write_all(self, data: bytes | memoryview) -> None:
        self.body.write_all(data)
        self.body.wait_flushed()

    def blocking_flush(self) -> None:
        self.body.wait_flushed()

    def subscribe(self) -> Pollable:
        b = self.body
        return Pollable(check=lambda: b.room() > 0 or b.error is not None or b.finished)


class IncomingBody:
    """`incoming-body`: bytes a producer (the response worker, or the server reading a
    request) delivers, read by the guest through its input-stream; then trailers."""

    def __init__(self, limit: int = PIPE_LIMIT) -> None:
        self.cond = threading.Condition()
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.limit = limit
        self.done = False
        self.error: Any = None  # an error-code
        self.trailers: Fields | None = None
        self.stream_taken = False
        self.finished = False  # `finish` was called
        self.trailers_taken = False
        self.closed = False  # the guest is gone: the producer stops
        self.timeout: float | None = None  # between-bytes

    # -- producer

    def put(self, data: bytes) -> bool:
        with self.cond:
            while self.size >= self.limit and not self.closed and not self.finished:
                self.cond.wait(1.0)
            if self.closed:
                return False
            if self.finished:  # the guest waits for the trailers only: skip the rest
                return True
            self.chunks.append(data)
            self.size += len(data)
            self.cond.notify_all()
            return True

    def end(self, trailers: Fields | None = None, error: Any = None) -> None:
        with self.cond:
            self.trailers = trailers
            self.error = error
            self.done = True  # last: `ready` and pollables read it without the lock
            self.cond.notify_all()

    # -- consumer (the guest)

    def read(self, n: int, wait: bool) -> bytes:
        with self.cond:
            while wait and not self.chunks and not self.done:
                self.cond.wait(1.0)
            if self.chunks:
                data = self.chunks.popleft()
                if len(data) > n:
                    self.chunks.appendleft(data[n:])
                    data = data[:n]
                self.size -= len(data)
                self.cond.notify_all()
                return data
            if self.done:
                if self.error is not None:
                    raise http_stream_error("the HTTP body could not be read", self.error)
                raise stream_closed()
            return b""

    def ready(self) -> bool:
        return bool(self.chunks) or self.done

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class BodyReader:
    """The input-stream of an `incoming-body`."""

    def __init__(self, body: IncomingBody) -> None:
        self.body = body
        self.eof = False
        self.conn = _Owner(self._dropped)
        self.live = True

    def _dropped(self) -> None:
        self.live = False

    def read(self, n: int) -> bytes:
        return self.body.read(min(n, READ_CHUNK), wait=False) if n else b""

    def blocking_read(self, n: int) -> bytes:
        return self.body.read(min(n, READ_CHUNK), wait=True) if n else b""

    def subscribe(self) -> Pollable:
        return Pollable(check=self.body.ready)


class FutureTrailers:
    def __init__(self, body: IncomingBody) -> None:
        self.body = body
        self.taken = False


# ----------------------------------------------------------------------------- messages


class OutgoingRequest:
    def __init__(self, headers: Fields) -> None:
        self.headers = headers
        self.method: Any = _types().Method.get()
        self.path: str | None = None
        self.scheme: Any = None
        self.authority: str | None = None
        self.body: OutgoingBody | None = None
        self.body_taken = False
        self.sent = False


class RequestOptions:
    def __init__(self) -> None:
        self.connect: int | None = None
        self.first_byte: int | None = None
        self.between_bytes: int | None = None


class IncomingResponse:
    def __init__(self, status: int, headers: Fields, body: IncomingBody) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.consumed = False


class IncomingRequest:
    def __init__(self, method: Any, path: str | None, scheme: Any, authority: str | None,
                 headers: Fields, body: IncomingBody) -> None:
        self.method, self.path, self.scheme, self.authority = method, path, scheme, authority
        self.headers = headers
        self.body = body
        self.consumed = False


class OutgoingResponse:
    def __init__(self, headers: Fields) -> None:
        self.headers = headers
        self.status = 200
        self.body: OutgoingBody | None = None
        self.body_taken = False
        self.on_body: Any = None  # callable() when the body is taken after `set` (server)


class ResponseOutparam:
    """Where the guest's answer goes: `on_set(result)` is the server's (once)."""

    def __init__(self, on_set: Any) -> None:
        self.on_set = on_set
        self.used = False


# ----------------------------------------------------------------------------- the client


def _seconds(ns: int | None) -> float | None:
    return None if ns is None else max(ns, 1) / 1e9


_METHOD_NAMES = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")


def method_name(method: Any) -> str:
    t = _types()
    if method.tag == t.MethodTag.OTHER:
        return method.value
    return _METHOD_NAMES[int(method.tag)]


def method_value(name: str) -> Any:
    t = _types()
    if name in _METHOD_NAMES:
        return getattr(t.Method, name.lower())()
    return t.Method.other(name)


def _split_authority(authority: str, default_port: int) -> tuple[str, int] | None:
    host, port = authority, default_port
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host, rest = authority[1:end], authority[end + 1:]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None
            port = int(rest[1:])
    elif ":" in authority:
        host, _, p = authority.rpartition(":")
        if not p.isdigit():
            return None
        port = int(p)
    if not host or port > 65535 or "@" in host or "/" in host:
        return None
    return host, port


class ClientError(Exception):
    def __init__(self, error_code: Any) -> None:
        super().__init__(error_code)
        self.code = error_code


def _os_error_code(exc: OSError) -> Any:
    import errno  # noqa: PLC0415

    if isinstance(exc, (socket.timeout, TimeoutError)):
        return code("connection_timeout")
    n = exc.errno
    if n == errno.ECONNREFUSED:
        return code("connection_refused")
    if n in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN):
        return code("destination_unavailable")
    if n in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return code("connection_terminated")
    if n in (errno.EMFILE, errno.ENFILE):
        return code("connection_limit_reached")
    return code("internal_error", str(exc))


class Exchange:
    """One `outgoing-handler.handle`: the worker thread and the future it fills."""

    def __init__(self, request: OutgoingRequest, options: RequestOptions | None,
                 allow_network: bool) -> None:
        self.request = request
        self.options = options or RequestOptions()
        self.allow_network = allow_network
        self.cond = threading.Condition()
        self.result: Any = None  # Ok(IncomingResponse) / Err(error-code) once ready
        self.taken = False
        self.cancelled = False
        self.sock: socket.socket | None = None
        self.thread = threading.Thread(target=self._run, name="wit2witx-http", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def ready(self) -> bool:
        return self.result is not None

    def _settle(self, result: Any) -> None:
        with self.cond:
            if self.result is None:
                self.result = result
            self.cond.notify_all()

    def cancel(self) -> None:
        """The guest dropped the future (on its thread, while the worker runs): stop the
        worker. Under `cond`, which the worker holds to publish or close its socket, so
        the shutdown never meets a socket being closed (or its descriptor reused)."""
        with self.cond:
            self.cancelled = True
            if self.result is None and self.sock is not None:
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _close(self, closeable: Any) -> None:
        with self.cond:  # see `cancel`
            closeable.close()

    # -- the worker

    def _run(self) -> None:
        body = self.request.body
        try:
            conn = self._connect()
            try:
                self._send(conn)
                self._receive(conn)
            except BaseException:
                self._close(conn)
                raise
        except ClientError as exc:
            if body is not None:
                body.fail(exc.code)
            self._settle(Err(exc.code))
        except Exception as exc:  # noqa: BLE001 - a host bug becomes internal-error
            if body is not None:
                body.fail(code("internal_error", str(exc)))
            self._settle(Err(code("internal_error", f"{type(exc).__name__}: {exc}")))

    def _target(self) -> tuple[bool, str, int]:
        t = _types()
        req = self.request
        scheme = req.scheme if req.scheme is not None else t.Scheme.HTTP()
        if scheme.tag == t.SchemeTag.OTHER:
            raise ClientError(code("HTTP_protocol_error"))
        tls = scheme.tag == t.SchemeTag.HTTPS
        if not req.authority:
            raise ClientError(code("HTTP_request_URI_invalid"))
        parts = _split_authority(req.authority, 443 if tls else 80)
        if parts is None:
            raise ClientError(code("HTTP_request_URI_invalid"))
        return tls, parts[0], parts[1]

    def _address(self, host: str, port: int) -> tuple[int, tuple]:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is None:
            if not self.allow_network and host.rstrip(".").lower() != "localhost":
                raise ClientError(code("HTTP_request_denied"))
            try:
                infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
            except socket.gaierror as exc:
                if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -999)):
                    raise ClientError(code("destination_not_found")) from None
                if exc.errno == socket.EAI_AGAIN:
                    raise ClientError(code("DNS_timeout")) from None
                raise ClientError(code("DNS_error", _types().DNSErrorPayload(
                    rcode=str(exc.strerror or exc), info_code=None))) from None
            except UnicodeError:
                raise ClientError(code("HTTP_request_URI_invalid")) from None
            family, _, _, _, sa = infos[0]
            ip = ipaddress.ip_address(sa[0].split("%")[0])
        if not self.allow_network and not ip.is_loopback:
            raise ClientError(code("destination_IP_prohibited"))
        if ip.version == 4:
            return socket.AF_INET, (str(ip), port)
        return socket.AF_INET6, (str(ip), port, 0, 0)

    def _connect(self) -> http.client.HTTPConnection:
        tls, host, port = self._target()
        family, sa = self._address(host, port)
        sock = socket.socket(family, socket.SOCK_STREAM)
        self._publish(sock)
        sock.settimeout(_seconds(self.options.connect))
        try:
            sock.connect(sa)
        except OSError as exc:
            self._close(sock)
            raise ClientError(_os_error_code(exc)) from None
        # a cancel between `_publish` and connect(2) found nothing to shut down yet
        self._publish(sock)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            sock = self._wrap_tls(sock, host)
            self._publish(sock)  # the TLS socket took over the descriptor
        sock.settimeout(None)
        conn = http.client.HTTPConnection(host, port)
        conn.sock = sock
        return conn

    def _publish(self, sock: socket.socket) -> None:
        """Make `sock` the one `cancel` shuts down, unless the guest cancelled already."""
        with self.cond:
            if self.cancelled:
                sock.close()
                raise ClientError(code("internal_error", "cancelled"))
            self.sock = sock

    def _wrap_tls(self, sock: socket.socket, host: str) -> socket.socket:
        import ssl  # noqa: PLC0415

        try:
            return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError:
            self._close(sock)
            raise ClientError(code("TLS_certificate_error")) from None
        except (ssl.SSLError, OSError):
            self._close(sock)
            raise ClientError(code("TLS_protocol_error")) from None

    def _send(self, conn: http.client.HTTPConnection) -> None:
        req = self.request
        body = req.body
        path = req.path or "/"
        conn.putrequest(method_name(req.method), path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", req.authority)
        length = req.headers.get(b"content-length")
        for name, value in req.headers.entries:
            conn.putheader(name, value)
        chunked = False
        data_first: list[bytes] = []
        if body is not None and not length:
            with body.cond:
                if body.finished and body.trailers is None:  # all there: send its length
                    data_first = list(body.pending)
                    conn.putheader("Content-Length", str(sum(map(len, data_first))))
                else:
                    chunked = True
                    conn.putheader("Transfer-Encoding", "chunked")
        elif body is None and method_name(req.method) in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", "0")
        try:
            conn.endheaders()
            if body is not None:
                self._send_body(conn, body, chunked, int(length[0]) if length and length[0].isdigit() else None)
        except OSError as exc:
            raise ClientError(_os_error_code(exc)) from None

    def _send_body(self, conn: http.client.HTTPConnection, body: OutgoingBody, chunked: bool,
                   length: int | None) -> None:
        sent = 0
        while True:
            data = body.take()
            if data is None:  # dropped without finish: the request is incomplete
                raise ClientError(code("HTTP_request_body_size", sent))
            if not data:
                break
            sent += len(data)
            if length is not None and sent > length:
                raise ClientError(code("HTTP_request_body_size", sent))
            conn.send(chunk(data) if chunked else data)
        if length is not None and sent != length:
            raise ClientError(code("HTTP_request_body_size", sent))
        if chunked:
            conn.send(last_chunk(body.trailers))

    def _receive(self, conn: http.client.HTTPConnection) -> None:
        sock = conn.sock
        sock.settimeout(_seconds(self.options.first_byte))
        try:
            resp = conn.getresponse()
        except (socket.timeout, TimeoutError):
            raise ClientError(code("connection_read_timeout")) from None
        except http.client.RemoteDisconnected:
            raise ClientError(code("HTTP_response_incomplete")) from None
        except (http.client.HTTPException, ValueError):
            raise ClientError(code("HTTP_protocol_error")) from None
        except OSError as exc:
            raise ClientError(_os_error_code(exc)) from None
        headers = Fields([(n.encode("latin-1"), v.encode("latin-1")) for n, v in resp.msg.items()],
                         frozen=True)
        body = IncomingBody()
        body.timeout = _seconds(self.options.between_bytes)
        self._settle(Ok(IncomingResponse(resp.status, headers, body)))
        sock.settimeout(body.timeout)
        try:
            pump_response_body(resp, body)
        finally:
            self._close(conn)


def chunk(data: bytes) -> bytes:
    """`data` as one chunk of a chunked body (RFC 9112 7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def last_chunk(trailers: Fields | None) -> bytes:
    """The end of a chunked body: the last chunk, the trailer fields, the empty line."""
    lines = [name + b": " + value + b"\r\n" for name, value in (trailers.entries if trailers else [])]
    return b"0\r\n" + b"".join(lines) + b"\r\n"


def read_chunked(fp: Any, body: IncomingBody) -> Fields:
    """Decode a chunked body from `fp` into `body`; the trailers (RFC 9112 7.1)."""
    while True:
        line = fp.readline(65537)
        if not line.endswith(b"\n"):
            raise http.client.IncompleteRead(line)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise http.client.HTTPException("bad chunk size") from None
        if size == 0:
            break
        left = size
        while left:
            data = fp.read(min(left, READ_CHUNK))
            if not data:
                raise http.client.IncompleteRead(b"")
            left -= len(data)
            if not body.put(data):
                return Fields(frozen=True)
        if fp.read(2) != b"\r\n":
            raise http.client.HTTPException("bad chunk end")
    trailers = []
    while True:
        line = fp.readline(65537)
        if not line.endswith(b"\n"):
            raise http.client.IncompleteRead(line)
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise http.client.HTTPException("bad trailer")
        trailers.append((name.strip(), value.strip()))
    return Fields(trailers, frozen=True)


def pump_response_body(resp: http.client.HTTPResponse, body: IncomingBody) -> None:
    """Move a response body into `body` (the worker's loop), then its trailers/error."""
    try:
        if resp.chunked:
            trailers = read_chunked(resp.fp, body)
            body.end(trailers if trailers.entries else None)
            return
        while True:
            data = resp.read1(READ_CHUNK) if not resp.isclosed() else b""
            if not data:
                if resp.length:  # EOF before the Content-Length (read1 does not complain)
                    raise http.client.IncompleteRead(b"", resp.length)
                break
            if not body.put(data):
                break
        body.end()
    except (socket.timeout, TimeoutError):
        body.end(error=code("connection_read_timeout"))
    except http.client.IncompleteRead:
        body.end(error=code("HTTP_response_incomplete"))
    except http.client.HTTPException:
        body.end(error=code("HTTP_protocol_error"))
    except OSError as exc:
        body.end(error=_os_error_code(exc))


# ----------------------------------------------------------------------------- the host


class HttpHost(CliHost):
    """The wasi-cli host plus wasi:http/types and wasi:http/outgoing-handler."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        _types()

    # --- fields

    def fields_new(self) -> Fields:
        return Fields()

    def fields_from_list(self, entries: list[tuple[Any, bytes]]) -> Fields:
        out = []
        for name, value in entries:
            n = _name_bytes(name)
            _check_field(n, [bytes(value)])
            out.append((n, bytes(value)))
        return Fields(out)

    def fields_get(self, self_: Fields, name: str, *, result_capacity: int) -> list[bytes]:
        return self_.get(_name_bytes(name))

    def fields_has(self, self_: Fields, name: str) -> bool:
        return bool(self_.get(_name_bytes(name)))

    def fields_set(self, self_: Fields, name: str, value: list[bytes]) -> None:
        n = _name_bytes(name)
        _mutable(self_)
        values = [bytes(v) for v in value]
        _check_field(n, values)
        self_.entries = self_.without(n) + [(n, v) for v in values]

    def fields_delete(self, self_: Fields, name: str) -> None:
        n = _name_bytes(name)
        _mutable(self_)
        if not valid_name(n):
            raise _header_error("INVALID_SYNTAX")
        if n.lower().decode("ascii") in FORBIDDEN_HEADERS:
            raise _header_error("FORBIDDEN")
        self_.entries = self_.without(n)

    def fields_append(self, self_: Fields, name: str, value: bytes) -> None:
        n = _name_bytes(name)
        _mutable(self_)
        _check_field(n, [bytes(value)])
        self_.entries.append((n, bytes(value)))

    def fields_entries(self, self_: Fields, *, result_capacity: int) -> list[tuple[str, bytes]]:
        return [(n.decode("latin-1"), v) for n, v in self_.entries]

    def fields_clone(self, self_: Fields) -> Fields:
        return Fields(list(self_.entries))

    def fields_drop(self, self_: Fields) -> None:
        pass

    # --- outgoing-request

    def outgoing_request_new(self, headers: Fields) -> OutgoingRequest:
        headers.frozen = True
        return OutgoingRequest(headers)

    def outgoing_request_body(self, self_: OutgoingRequest) -> OutgoingBody:
        if self_.body_taken or self_.sent:
            raise T.TypesStatusError()
        self_.body_taken = True
        self_.body = OutgoingBody(PIPE_LIMIT)
        return self_.body

    def outgoing_request_method(self, self_: OutgoingRequest, *, result_capacity: int) -> Any:
        return self_.method

    def outgoing_request_set_method(self, self_: OutgoingRequest, method: Any) -> None:
        if method.tag == T.MethodTag.OTHER and not valid_name(method.value.encode("utf-8")):
            raise T.TypesStatusError()
        self_.method = method

    def outgoing_request_path_with_query(self, self_: OutgoingRequest, *, result_capacity: int) -> str | None:
        return self_.path

    def outgoing_request_set_path_with_query(self, self_: OutgoingRequest, path_with_query: str | None) -> None:
        if path_with_query is not None and not _valid_path(path_with_query):
            raise T.TypesStatusError()
        self_.path = path_with_query

    def outgoing_request_scheme(self, self_: OutgoingRequest, *, result_capacity: int) -> Any:
        return self_.scheme

    def outgoing_request_set_scheme(self, self_: OutgoingRequest, scheme: Any) -> None:
        if scheme is not None and scheme.tag == T.SchemeTag.OTHER and not _valid_scheme(scheme.value):
            raise T.TypesStatusError()
        self_.scheme = scheme

    def outgoing_request_authority(self, self_: OutgoingRequest, *, result_capacity: int) -> str | None:
        return self_.authority

    def outgoing_request_set_authority(self, self_: OutgoingRequest, authority: str | None) -> None:
        if authority is not None and _split_authority(authority, 80) is None:
            raise T.TypesStatusError()
        self_.authority = authority

    def outgoing_request_headers(self, self_: OutgoingRequest) -> Fields:
        return self_.headers

    def outgoing_request_drop(self, self_: OutgoingRequest) -> None:
        pass

    # --- request-options

    def request_options_new(self) -> RequestOptions:
        return RequestOptions()

    def request_options_connect_timeout(self, self_: RequestOptions) -> int | None:
        return self_.connect

    def request_options_set_connect_timeout(self, self_: RequestOptions, duration: int | None) -> None:
        self_.connect = duration

    def request_options_first_byte_timeout(self, self_: RequestOptions) -> int | None:
        return self_.first_byte

    def request_options_set_first_byte_timeout(self, self_: RequestOptions, duration: int | None) -> None:
        self_.first_byte = duration

    def request_options_between_bytes_timeout(self, self_: RequestOptions) -> int | None:
        return self_.between_bytes

    def request_options_set_between_bytes_timeout(self, self_: RequestOptions, duration: int | None) -> None:
        self_.between_bytes = duration

    def request_options_drop(self, self_: RequestOptions) -> None:
        pass

    # --- outgoing-handler

    def handle(self, request: OutgoingRequest, options: RequestOptions | None, *,
               result_capacity: int) -> Exchange:
        if request.sent:
            raise T.ErrorCodeError(code("internal_error", "the request was sent already"))
        request.sent = True
        opts = RequestOptions()
        if options is not None:  # a copy: the guest may change its options later
            opts.connect, opts.first_byte = options.connect, options.first_byte
            opts.between_bytes = options.between_bytes
        exchange = Exchange(request, opts, self.allow_network)
        if request.body is not None:  # from now on the worker takes what the guest writes
            with request.body.cond:
                request.body.consumer = True
                request.body.cond.notify_all()
        exchange.start()
        return exchange

    def future_incoming_response_subscribe(self, self_: Exchange) -> Pollable:
        return Pollable(check=self_.ready)

    def future_incoming_response_get(self, self_: Exchange, *, result_capacity: int) -> Any:
        if self_.result is None:
            return None
        if self_.taken:
            return Err(None)
        self_.taken = True
        return Ok(self_.result)

    def future_incoming_response_drop(self, self_: Exchange) -> None:
        if not self_.taken:
            self_.cancel()

    # --- incoming-response

    def incoming_response_status(self, self_: IncomingResponse) -> int:
        return self_.status

    def incoming_response_headers(self, self_: IncomingResponse) -> Fields:
        return self_.headers

    def incoming_response_consume(self, self_: IncomingResponse) -> IncomingBody:
        if self_.consumed:
            raise T.TypesStatusError()
        self_.consumed = True
        return self_.body

    def incoming_response_drop(self, self_: IncomingResponse) -> None:
        if not self_.consumed:
            self_.body.close()

    # --- incoming-body, future-trailers

    def incoming_body_stream(self, self_: IncomingBody) -> BodyReader:
        if self_.stream_taken or self_.finished:
            raise T.TypesStatusError()
        self_.stream_taken = True
        return BodyReader(self_)

    def incoming_body_finish(self, this: IncomingBody) -> FutureTrailers:
        if this.finished:
            raise T.TypesStatusError()
        with this.cond:
            this.finished = True
            this.chunks.clear()
            this.size = 0
            this.cond.notify_all()
        return FutureTrailers(this)

    def incoming_body_drop(self, self_: IncomingBody) -> None:
        if not self_.finished:
            self_.close()

    def future_trailers_subscribe(self, self_: FutureTrailers) -> Pollable:
        return Pollable(check=lambda: self_.body.done)

    def future_trailers_get(self, self_: FutureTrailers, *, result_capacity: int) -> Any:
        body = self_.body
        with body.cond:  # the producer's `end` sets done, trailers and error together
            done, error, trailers = body.done, body.error, body.trailers
        if not done:
            return None
        if self_.taken:
            return Err(None)
        self_.taken = True
        if error is not None:
            return Ok(Err(error))
        return Ok(Ok(trailers))

    def future_trailers_drop(self, self_: FutureTrailers) -> None:
        self_.body.close()

    # --- outgoing-body

    def outgoing_body_write(self, self_: OutgoingBody) -> BodyWriter:
        if self_.stream_taken or self_.finished or self_.aborted:
            raise T.TypesStatusError()
        self_.stream_taken = True
        return BodyWriter(self_)

    def outgoing_body_finish(self, this: OutgoingBody, trailers: Fields | None, *,
                             result_capacity: int) -> None:
        if this.finished or this.aborted:
            raise T.ErrorCodeError(code("internal_error", "the body was finished already"))
        if this.error is not None:
            raise T.ErrorCodeError(this.error)
        if trailers is not None:
            trailers.frozen = True
        this.finish(trailers)
        if this.on_finish is not None:
            this.on_finish()
        if this.error is not None:
            raise T.ErrorCodeError(this.error)

    def outgoing_body_drop(self, self_: OutgoingBody) -> None:
        self_.abort()

    # --- outgoing-response, response-outparam (the handler's side)

    def outgoing_response_new(self, headers: Fields) -> OutgoingResponse:
        headers.frozen = True
        return OutgoingResponse(headers)

    def outgoing_response_status_code(self, self_: OutgoingResponse) -> int:
        return self_.status

    def outgoing_response_set_status_code(self, self_: OutgoingResponse, status_code: int) -> None:
        if not 100 <= status_code <= 999:
            raise T.TypesStatusError()
        self_.status = status_code

    def outgoing_response_headers(self, self_: OutgoingResponse) -> Fields:
        return self_.headers

    def outgoing_response_body(self, self_: OutgoingResponse) -> OutgoingBody:
        if self_.body_taken:
            raise T.TypesStatusError()
        self_.body_taken = True
        self_.body = OutgoingBody(PREHEAD_LIMIT)
        if self_.on_body is not None:
            self_.on_body()
        return self_.body

    def outgoing_response_drop(self, self_: OutgoingResponse) -> None:
        pass

    def response_outparam_set(self, param: ResponseOutparam, response: Any) -> None:
        if param.used:
            raise T.TypesStatusError()
        param.used = True
        param.on_set(response)

    def response_outparam_drop(self, self_: ResponseOutparam) -> None:
        pass

    # --- incoming-request

    def incoming_request_method(self, self_: IncomingRequest, *, result_capacity: int) -> Any:
        return self_.method

    def incoming_request_path_with_query(self, self_: IncomingRequest, *, result_capacity: int) -> str | None:
        return self_.path

    def incoming_request_scheme(self, self_: IncomingRequest, *, result_capacity: int) -> Any:
        return self_.scheme

    def incoming_request_authority(self, self_: IncomingRequest, *, result_capacity: int) -> str | None:
        return self_.authority

    def incoming_request_headers(self, self_: IncomingRequest) -> Fields:
        return self_.headers

    def incoming_request_consume(self, self_: IncomingRequest) -> IncomingBody:
        if self_.consumed:
            raise T.TypesStatusError()
        self_.consumed = True
        return self_.body

    def incoming_request_drop(self, self_: IncomingRequest) -> None:
        pass

    # --- io errors

    def http_error_code(self, err: IoError, *, result_capacity: int) -> Any:
        return getattr(err, "code", None)


def _valid_path(path: str) -> bool:
    return all(33 <= ord(c) < 127 for c in path) and not path.startswith("//") and (
        path.startswith("/") or path.startswith("?") or path == "*")


def _valid_scheme(scheme: str) -> bool:
    return bool(scheme) and scheme[0].isascii() and scheme[0].isalpha() and all(
        c.isascii() and (c.isalnum() or c in "+-.") for c in scheme)


__all__ = ["HttpHost", "Fields", "FORBIDDEN_HEADERS", "Exchange", "IncomingBody", "OutgoingBody",
           "IncomingRequest", "ResponseOutparam", "HttpIoError", "method_value", "method_name",
           "read_chunked", "chunk", "last_chunk", "code"]
