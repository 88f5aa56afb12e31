"""Reference host for backported wasi:cli, wasi:random and wasi:clocks/wall-clock.

`CliHost` is the sockets host (`wit2witx.hosts.sockets.SocketsHost`: wasi:io, the
monotonic clock, wasi:sockets) plus what a WASI 0.2 command needs beyond it:

- wasi:cli/environment: the arguments and variables `wit2witx run` was given, no cwd;
- wasi:cli/exit: ends the run with the status (`GuestExit`, which `wit2witx run` turns
  into the process's exit status);
- wasi:cli/stdin, stdout, stderr: wasi:io streams over the process's file descriptors
  0, 1 and 2 (the same ones WASI P1's `fd_write` reaches, so output stays in order);
- wasi:cli/terminal-*: "not a terminal" (every `get-terminal-*` returns none);
- wasi:random: `os.urandom` for the secure functions, `random` for the insecure ones;
- wasi:clocks/wall-clock: `time.time_ns()` (its `now`/`resolution` share their names
  with the monotonic clock's, so the wall clock is an object of its own, `WallClock`).

Threads (docs/abi.md, Threads): wasmtime-py calls a host on the thread that runs the
guest, and `wit2witx run --serve` runs one instance per request on the connection's
thread, each with its own host. What hosts share is the process's descriptors 0, 1 and
2: one write of a guest to stdout or stderr goes out whole, under a lock per descriptor
(`write` loops over partial writes, and a pipe lets another writer in between). The
rest needs no lock: the arguments and variables are only read (copies are returned),
`random.Random`'s generator steps are atomic (each `getrandbits` is one C call), and a
stream's own state (`eof`) is used by the calls that hold its handle, as in the C host.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any, Sequence

from .sockets import Pollable, SocketsHost, stream_closed

#: What a `get-random-bytes` may ask for at once: WASI lets a host trap beyond what it
#: can give; this one reports an I/O failure of the glue instead of allocating GiBs.
MAX_RANDOM_BYTES = 1 << 24


class GuestExit(BaseException):
    """Raised by wasi:cli/exit through the guest's call (not an `Exception`, so the glue
    does not turn it into a status): the run ends with `code`."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _NoConnection:
    """Stdio streams own no socket: dropping one releases nothing."""

    def release(self) -> None:
        pass


#: One lock per descriptor written by `StdioOutput`s (hosts of concurrent requests share
#: the process's stdout and stderr).
_FD_LOCKS: dict[int, threading.Lock] = {}


class StdioOutput:
    """An output-stream writing straight to a file descriptor (blocking, no buffer)."""

    LIMIT = 1 << 16

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = _FD_LOCKS.setdefault(fd, threading.Lock())  # setdefault: one lock, even if made at once
        self.conn = _NoConnection()

    def _push(self) -> None:
        pass

    def _raise_if_failed(self) -> None:
        pass

    def check_write(self) -> int:
        return self.LIMIT

    def write(self, data: bytes) -> None:
        self.write_all(data)

    def write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        with self.lock:  # the guest's write stays whole among other threads' writes
            while view:
                view = view[os.write(self.fd, view):]

    def blocking_flush(self) -> None:
        pass

    def subscribe(self) -> Pollable:
        return Pollable(check=lambda: True)


class StdioInput:
    """An input-stream reading a file descriptor (each read may block, as stdin does)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.conn = _NoConnection()
        self.eof = False

    def read(self, n: int) -> bytes:
        if self.eof:
            raise stream_closed()
        if n == 0:
            return b""
        data = os.read(self.fd, n)
        if not data:
            self.eof = True
            raise stream_closed()
        return data

    def blocking_read(self, n: int) -> bytes:
        return self.read(n)

    def subscribe(self) -> Pollable:
        return Pollable(check=lambda: True)


class CliHost(SocketsHost):
    """The sockets host plus wasi:cli and wasi:random (see the module docstring)."""

    def __init__(self, *, allow_network: bool = False, argv: Sequence[str] = (),
                 env: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(allow_network=allow_network)
        self.argv = list(argv)
        self.env = [(str(k), str(v)) for k, v in env]
        self.insecure = random.Random()

    # --- wasi:cli/environment

    def get_environment(self, *, result_capacity: int) -> list[tuple[str, str]]:
        return list(self.env)

    def get_arguments(self, *, result_capacity: int) -> list[str]:
        return list(self.argv)

    def initial_cwd(self, *, result_capacity: int) -> str | None:
        return None

    # --- wasi:cli/exit

    def exit(self, status: Any) -> None:
        from .runtime import Ok  # noqa: PLC0415

        raise GuestExit(0 if isinstance(status, Ok) else 1)

    def exit_with_code(self, status_code: int) -> None:
        raise GuestExit(status_code)

    # --- wasi:cli/stdin, stdout, stderr and the terminals (there are none)

    def get_stdin(self) -> StdioInput:
        return StdioInput(0)

    def get_stdout(self) -> StdioOutput:
        return StdioOutput(1)

    def get_stderr(self) -> StdioOutput:
        return StdioOutput(2)

    def get_terminal_stdin(self) -> None:
        return None

    def get_terminal_stdout(self) -> None:
        return None

    def get_terminal_stderr(self) -> None:
        return None

    def terminal_input_drop(self, self_: Any) -> None:
        pass

    def terminal_output_drop(self, self_: Any) -> None:
        pass

    # --- wasi:random

    def get_random_bytes(self, len: int, *, result_capacity: int) -> bytes:  # noqa: A002
        if len > MAX_RANDOM_BYTES:
            raise ValueError(f"get-random-bytes({len}): more than this host gives at once")
        return os.urandom(len)

    def get_random_u64(self) -> int:
        return int.from_bytes(os.urandom(8), "little")

    def get_insecure_random_bytes(self, len: int, *, result_capacity: int) -> bytes:  # noqa: A002
        if len > MAX_RANDOM_BYTES:
            raise ValueError(f"get-insecure-random-bytes({len}): too many at once")
        return self.insecure.randbytes(len)

    def get_insecure_random_u64(self) -> int:
        return self.insecure.getrandbits(64)

    def insecure_seed(self) -> tuple[int, int]:
        return self.insecure.getrandbits(64), self.insecure.getrandbits(64)


class WallClock:
    """wasi:clocks/wall-clock (its own object: see the module docstring)."""

    def __init__(self, datetime_type: Any) -> None:
        self.datetime = datetime_type

    def now(self) -> Any:
        ns = time.time_ns()
        return self.datetime(ns // 1_000_000_000, ns % 1_000_000_000)

    def resolution(self) -> Any:
        return self.datetime(0, 1)


__all__ = ["CliHost", "GuestExit", "StdioInput", "StdioOutput", "WallClock", "MAX_RANDOM_BYTES"]
