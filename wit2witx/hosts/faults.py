"""Fault injection in the Python reference host, for tests: the next N OS calls of a
kind fail with a chosen errno, or a send passes fewer bytes than asked.

The grammar is the C host's (wit2witx/hosts/c/w2w_posix_fault.h): W2W_FAULTS, read once
when this module is imported, is a comma-separated list of `KIND=WHAT[*COUNT][@SKIP]`,
KIND one of socket, connect, accept, recv, send (the Python host has no poll call of
its own to fail: it waits in `selectors`), WHAT an errno name or `short` (send only).
With W2W_FAULTS set, "w2w-fault: injected=N" is printed on stderr at exit. Without it,
every hook is one test of a module global.
"""

from __future__ import annotations

import atexit
import errno
import os
import sys
import threading
from dataclasses import dataclass

KINDS = ("socket", "connect", "accept", "recv", "send")
ERRNOS = ("ECONNRESET", "EAGAIN", "EINTR", "ENOMEM", "EPIPE", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT",
          "ENOBUFS", "EMFILE", "ENETUNREACH", "EHOSTUNREACH")
SHORT = -1


@dataclass
class Rule:
    kind: str
    err: int      # an errno, or SHORT
    count: int    # faults still to inject
    skip: int     # calls of `kind` still to let through


def parse_rule(text: str) -> Rule | None:
    kind, eq, what = text.partition("=")
    if not eq or kind not in KINDS:
        return None
    count, skip = 1, 0
    name = what
    try:
        if "@" in name:
            name, _, at = name.partition("@")
            if "*" in at:
                at, _, star = at.partition("*")
                count = int(star)
            skip = int(at)
        if "*" in name:
            name, _, star = name.partition("*")
            count = int(star)
    except ValueError:
        return None
    if name == "short":
        return Rule(kind, SHORT, count, skip) if kind == "send" else None
    if name not in ERRNOS:
        return None
    return Rule(kind, getattr(errno, name), count, skip)


class Faults:
    def __init__(self, spec: str) -> None:
        self.lock = threading.Lock()
        self.injected = 0
        self.rules: list[Rule] = []
        for text in filter(None, spec.split(",")):
            rule = parse_rule(text)
            if rule is None:
                print(f"w2w-fault: ignored rule `{text}`", file=sys.stderr)
            else:
                self.rules.append(rule)

    def fire(self, kind: str, short: bool) -> Rule | None:
        """The rule that fires for this call of `kind`; every matching rule counts the
        call against its SKIP (as the C host does)."""
        hit = None
        with self.lock:
            for rule in self.rules:
                if rule.kind != kind or rule.count == 0 or (rule.err == SHORT) != short:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                elif hit is None:
                    hit = rule
            if hit is not None:
                hit.count -= 1
                self.injected += 1
        return hit

    def report(self) -> None:
        print(f"w2w-fault: injected={self.injected}", file=sys.stderr, flush=True)


ACTIVE: Faults | None = None
if os.environ.get("W2W_FAULTS") is not None:
    ACTIVE = Faults(os.environ["W2W_FAULTS"])
    atexit.register(ACTIVE.report)


def fail(kind: str) -> None:
    """Raise the OSError a rule injects into this OS call of `kind` (the subclass
    Python's own call would raise: ConnectionResetError, BlockingIOError, ...)."""
    if ACTIVE is not None:
        rule = ACTIVE.fire(kind, False)
        if rule is not None:
            raise OSError(rule.err, os.strerror(rule.err))


def connect_result(rc: int) -> int:
    """connect_ex's result, or the errno a rule injects after the real call (the
    connection may be under way: as the C host, report it as the OS would)."""
    if ACTIVE is not None and rc in (0, errno.EINPROGRESS):
        rule = ACTIVE.fire("connect", False)
        if rule is not None:  # EINTR: the connection goes on, as connect(2) says
            return errno.EINPROGRESS if rule.err == errno.EINTR else rule.err
    return rc


def send_view(data: bytearray) -> bytearray | bytes:
    """What to pass to send(): all of `data`, or one byte under a `short` rule."""
    if ACTIVE is not None and len(data) > 1 and ACTIVE.fire("send", True) is not None:
        return bytes(data[:1])
    return data
