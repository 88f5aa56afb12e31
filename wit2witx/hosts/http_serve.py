"""`wit2witx run GUEST.wasm --host wasi-http --serve HOST:PORT`: serve HTTP with a P1
guest that exports wasi:http/incoming-handler's `handle` (the proxy world; `--emit c-p2`
exports it as `wasi_http_incoming_handler#handle`).

The server is the standard library's `http.server` (HTTP/1.1, keep-alive, a thread per
connection). Each request gets a *fresh guest instance*: its own store, WASI context,
handle tables and `HttpHost`, instantiated from the module compiled once. Why not a
pool: a trap leaves an instance unusable and a guest's globals outlive a request, so a
pooled instance would let one request see (or break) another's state; wasmtime's own
`serve` makes the same choice. What makes that affordable: the linker is built once per
server, not per request (defining the ~300 imports in Python costs about as much as a
hundred requests), its host functions dispatching to the `HttpHost` and handle tables of
the request the calling thread serves (`ThreadState`); a request then costs a store, an
instantiation and its own host objects.

The request becomes an `incoming-request` (its body read from the connection by a
thread of its own, so the guest can read it through its input-stream at its pace) and a
`response-outparam`; both are handed over (`own`) to the export. When the guest sets
the response its head goes out: with a Content-Length when the body was finished
already (or the guest gave one), else chunked, the body following as the guest writes
it and its trailers at `finish`. A guest that traps before setting the response, never
sets it, or sets an `error-code`, gets the client a 500 (a trap after the head went out
closes the connection instead: the client sees a body cut short). The server keeps
serving either way.

Threads: requests run at once on the connections' threads. What they share is made
before the first one (the engine, the module, the linker and its host-function proxies,
which find the request's host and tables in `ThreadState`, a `threading.local`) and only
read after: wasmtime's engine, module and linker may be used from several threads, a
proxy's cached forwarders are the same whichever thread makes them first, and the glue
modules and their generated types are loaded once, whole (`wit2witx.hosts._load`,
`sockets._types`). Each request's store, instance, handle tables and `HttpHost` belong
to its thread; its body reader thread meets them only in the `IncomingBody` (its lock).
Writes of concurrent guests to stdout/stderr go out whole (`cli.StdioOutput`).
"""

from __future__ import annotations

import http.server
import os
import sys
import threading
from typing import Any, Sequence

from .exports import Owned, call_export
from .http import (READ_CHUNK, Fields, IncomingBody, IncomingRequest, OutgoingBody,
                   ResponseOutparam, _types, chunk, last_chunk, method_value, read_chunked)
from .runtime import Ok

EXPORT = "wasi_http_incoming_handler#handle"
REQUEST_KEY = "wasi_http_types.incoming_request"
OUTPARAM_KEY = "wasi_http_types.response_outparam"


class GuestError(Exception):
    """The guest cannot serve (not loadable, no export, imports nobody provides)."""


class ThreadState(threading.local):
    """The host and handle tables of the request this thread serves."""

    host: Any = None
    tables: Any = None


class _HostProxy:
    """The `impl` the shared linker's functions call: each method forwards to this
    thread's host (with the real method's signature, which the glue inspects)."""

    def __init__(self, state: ThreadState, model: Any) -> None:
        self._state = state
        self._model = model

    def __getattr__(self, name: str) -> Any:
        import inspect  # noqa: PLC0415

        real = getattr(self._model, name)
        state = self._state

        def forward(*args: Any, **kw: Any) -> Any:
            return getattr(state.host, name)(*args, **kw)

        forward.__signature__ = inspect.signature(real)  # type: ignore[attr-defined]
        forward.__name__ = name
        setattr(self, name, forward)
        return forward


class _TablesProxy:
    """The handle tables the shared linker's functions use: this thread's."""

    def __init__(self, state: ThreadState) -> None:
        self._state = state
        self._droppers: dict[str, Any] = {}

    def set_dropper(self, key: str, drop: Any) -> None:
        self._droppers[key] = drop

    def fresh(self) -> Any:
        from .runtime import HandleTables  # noqa: PLC0415

        tables = HandleTables()
        for key, drop in self._droppers.items():
            tables.set_dropper(key, drop)
        return tables

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state.tables, name)


def shared_linker(engine: Any, state: ThreadState, model: Any) -> tuple[Any, "_TablesProxy"]:
    """A linker for every instance of a server: WASI P1 and the wasi-http host's
    imports, dispatching through `state` (see `ThreadState`)."""
    import wasmtime  # noqa: PLC0415

    from . import load_cli_glue, load_glue, load_http_glue  # noqa: PLC0415
    from .cli import WallClock  # noqa: PLC0415

    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    impl = _HostProxy(state, model)
    tables = _TablesProxy(state)
    for group in (load_glue(), load_cli_glue(), load_http_glue()):
        for name, module in group.items():
            this = WallClock(module.Datetime) if name == "wasi_clocks_wall_clock" else impl
            module.add_to_linker(linker, None, this, tables=tables)
    return linker, tables


class Guest:
    """The compiled guest and what each instance gets."""

    def __init__(self, path: str, *, allow_network: bool = False, argv: Sequence[str] = (),
                 env: Sequence[tuple[str, str]] = ()) -> None:
        import wasmtime  # noqa: PLC0415

        self.wasmtime = wasmtime
        self.engine = wasmtime.Engine()
        try:
            self.module = wasmtime.Module.from_file(self.engine, path)
        except (OSError, wasmtime.WasmtimeError) as exc:
            raise GuestError(f"cannot load `{path}`: {exc}") from None
        if not any(e.name == EXPORT for e in self.module.exports):
            raise GuestError(f"`{path}` exports no `{EXPORT}` (wasi:http/incoming-handler)")
        self.allow_network = allow_network
        self.argv = list(argv)
        self.env = list(env)
        self.state = ThreadState()
        self.linker, self.tables = shared_linker(self.engine, self.state, self.new_host())
        store = wasmtime.Store(self.engine)  # imports nobody provides: say so at once
        try:
            self.linker.instantiate(store, self.module)
        except wasmtime.WasmtimeError as exc:
            raise GuestError(f"cannot instantiate `{path}`: {exc}") from None

    def new_host(self) -> Any:
        from .http import HttpHost  # noqa: PLC0415

        return HttpHost(allow_network=self.allow_network, argv=self.argv, env=self.env)

    def instantiate(self) -> tuple[Any, Any, Any]:
        """A fresh (store, instance, handle tables), this thread's host and tables set
        (call `_initialize` first when the guest has one)."""
        wasmtime = self.wasmtime
        store = wasmtime.Store(self.engine)
        config = wasmtime.WasiConfig()
        config.argv = self.argv
        config.env = self.env
        config.inherit_stdout()
        config.inherit_stderr()
        store.set_wasi(config)
        self.state.host = self.new_host()
        self.state.tables = tables = self.tables.fresh()
        instance = self.linker.instantiate(store, self.module)
        init = instance.exports(store).get("_initialize")
        if init is not None:
            init(store)
        return store, instance, tables


# ----------------------------------------------------------------------------- one request


def pump_request_body(rfile: Any, headers: Any, body: IncomingBody) -> None:
    """Read a request body (chunked or Content-Length) from the connection into `body`."""
    import http.client  # noqa: PLC0415

    try:
        if headers.get("Transfer-Encoding", "").lower() == "chunked":
            trailers = read_chunked(rfile, body)
            body.end(trailers if trailers.entries else None)
            return
        left = int(headers.get("Content-Length") or 0)
        while left > 0:
            data = rfile.read(min(left, READ_CHUNK))
            if not data:
                raise http.client.IncompleteRead(b"")
            left -= len(data)
            if not body.put(data):
                break
        body.end()
    except (http.client.HTTPException, ValueError, OSError):
        from .http import code  # noqa: PLC0415

        body.end(error=code("HTTP_request_body_size", None))


class Exchange:
    """One request served: writes the guest's response to the connection."""

    def __init__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self.handler = handler
        self.response: Any = None  # the OutgoingResponse once set
        self.head_sent = False
        self.complete = False
        self.chunked = False
        self.error: Any = None  # an error-code the guest set

    # -- called by the host while the guest runs (on this thread)

    def on_set(self, result: Any) -> None:
        if not isinstance(result, Ok):
            self.error = result.value
            return
        self.response = resp = result.value
        resp.on_body = self._body_taken
        if resp.body is not None:
            self._send_head()

    def _body_taken(self) -> None:
        if not self.head_sent:
            self._send_head()

    def _send_head(self) -> None:
        resp, h = self.response, self.handler
        body: OutgoingBody | None = resp.body
        h.send_response_only(resp.status)
        for name, value in resp.headers.entries:
            h.send_header(name.decode("latin-1"), value.decode("latin-1"))
        given_length = resp.headers.get(b"content-length")
        if body is None:
            if not given_length:
                h.send_header("Content-Length", "0")
        else:
            with body.cond:
                if body.finished and body.trailers is None and not given_length:
                    h.send_header("Content-Length", str(body.pending_bytes))
                elif not given_length:
                    self.chunked = True
                    h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        self.head_sent = True
        if body is None:
            self.complete = not given_length
            return
        with body.cond:
            pending = list(body.pending)
            body.pending.clear()
            body.pending_bytes = 0
            body.direct = self._write
            body.on_finish = self._finish
            body.cond.notify_all()
        for data in pending:
            self._write(data)
        if body.finished:
            self._finish()

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self.handler.wfile.write(chunk(data) if self.chunked else data)

    def _finish(self) -> None:
        body: OutgoingBody = self.response.body
        if self.chunked:
            self.handler.wfile.write(last_chunk(body.trailers))
        self.complete = True

    # -- after the guest returned (or trapped)

    def conclude(self, trapped: str | None) -> None:
        h = self.handler
        if self.head_sent:
            if not self.complete:
                h.close_connection = True  # a body cut short: the client must see it end
            return
        if self.response is not None and trapped is None:
            self._send_head()
            if not self.complete:
                h.close_connection = True
            return
        reason = trapped or ("the guest set an error" if self.error is not None
                             else "the guest set no response")
        text = f"500 Internal Server Error: {reason}\n".encode()
        h.send_response_only(500)
        h.send_header("Content-Type", "text/plain; charset=utf-8")
        h.send_header("Content-Length", str(len(text)))
        h.end_headers()
        h.wfile.write(text)


def incoming_request(handler: http.server.BaseHTTPRequestHandler) -> tuple[IncomingRequest, threading.Thread]:
    """The `incoming-request` of what `handler` parsed; the thread reading its body."""
    t = _types()
    headers = Fields([(n.encode("latin-1"), v.encode("latin-1")) for n, v in handler.headers.items()],
                     frozen=True)
    body = IncomingBody()
    reader = threading.Thread(target=pump_request_body, args=(handler.rfile, handler.headers, body),
                              name="wit2witx-http-body", daemon=True)
    request = IncomingRequest(method_value(handler.command), handler.path, t.Scheme.HTTP(),
                              handler.headers.get("Host"), headers, body)
    return request, reader


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "Server"

    def setup(self) -> None:
        super().setup()
        # the head and the body go out in separate writes: without this, Nagle's
        # algorithm holds the body until the client's delayed ACK (40 ms a request)
        import socket  # noqa: PLC0415

        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method goes to the guest
            return self.serve_with_guest
        raise AttributeError(name)

    def serve_with_guest(self) -> None:
        wasmtime = self.server.guest.wasmtime
        exchange = Exchange(self)
        request, reader = incoming_request(self)
        reader.start()
        trapped = None
        try:
            store, instance, tables = self.server.guest.instantiate()
            call_export(instance, store, tables, EXPORT,
                        Owned(REQUEST_KEY, request), Owned(OUTPARAM_KEY, ResponseOutparam(exchange.on_set)))
        except wasmtime.Trap as exc:
            lines = [line.strip() for line in exc.message.splitlines() if line.strip()]
            trapped = f"the guest trapped: {lines[-1] if lines else 'trap'}"
        except (wasmtime.WasmtimeError, OSError, Exception) as exc:  # noqa: BLE001 - one request fails
            trapped = f"the guest failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if trapped is not None and self.server.verbose:
            sys.stderr.write(f"{self.command} {self.path}: {trapped}\n")
        exchange.conclude(trapped)
        if not request.body.done:
            request.body.close()
            self.close_connection = True  # the rest of the body is still on the wire
        else:
            reader.join()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], guest: Guest, verbose: bool = False) -> None:
        self.guest = guest
        self.verbose = verbose
        super().__init__(address, Handler)


def parse_address(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        return None
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "127.0.0.1", int(port)


def serve(guest_path: str, address: tuple[str, int], *, allow_network: bool = False,
          argv: Sequence[str] = (), env: Sequence[tuple[str, str]] = ()) -> None:
    """Serve until interrupted; prints `serving http://HOST:PORT` on stderr first."""
    guest = Guest(guest_path, allow_network=allow_network, argv=argv, env=env)
    server = Server(address, guest, verbose=os.environ.get("WIT2WITX_HTTP_LOG", "") not in ("", "0"))
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"serving http://{shown}:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = ["serve", "Guest", "GuestError", "Server", "parse_address", "EXPORT"]
