"""Source files, spans and diagnostics shared by every stage.

A `Span` is a pair of character offsets into a `SourceFile`; line and column are
computed on demand (1-based, columns counted in characters) so that building spans on
every AST node stays cheap. Diagnostics render like rustc / wit-parser:

    error: name `errno` does not exist
      --> sockets/tcp.wit:4:46
       |
     4 |   connect: func(addr: string) -> result<u32, errno>;
       |                                              ^----
"""

from __future__ import annotations

import bisect
from dataclasses import field
from typing import Iterable, Sequence

from .records import record


class SourceFile:
    """One input file's text, with a lazily built line index."""

    __slots__ = ("path", "text", "_line_starts")

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._line_starts: list[int] | None = None

    def __repr__(self) -> str:
        return f"SourceFile({self.path!r})"

    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._line_starts = starts
        return self._line_starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        starts = self.line_starts
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def line_text(self, line: int) -> str:
        starts = self.line_starts
        begin = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[begin:end].rstrip("\r")

    def span(self, start: int, end: int) -> "Span":
        return Span(self, start, end)


@record(frozen=True, slots=True)
class Span:
    """A half-open range [start, end) of character offsets in `file`."""

    file: SourceFile
    start: int
    end: int

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def line(self) -> int:
        return self.file.line_col(self.start)[0]

    @property
    def col(self) -> int:
        return self.file.line_col(self.start)[1]

    @property
    def end_line(self) -> int:
        return self.file.line_col(self.end)[0]

    @property
    def end_col(self) -> int:
        return self.file.line_col(self.end)[1]

    def to(self, other: "Span") -> "Span":
        """The span covering self through other (same file)."""
        return Span(self.file, min(self.start, other.start), max(self.end, other.end))

    def __repr__(self) -> str:
        return f"{self.file.path}:{self.line}:{self.col}"


@record(slots=True)
class Diagnostic:
    message: str
    span: Span | None = None
    severity: str = "error"  # "error" | "warning"
    notes: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        if self.span is None:
            return ""
        return f"{self.span.path}:{self.span.line}:{self.span.col}"

    def render(self, color: bool = False) -> str:
        return render(self, color=color)


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def render(diag: Diagnostic, color: bool = False) -> str:
    """Format one diagnostic as text (no trailing newline)."""
    sev_code = "1;31" if diag.severity == "error" else "1;33"
    head = _paint(diag.severity, sev_code, color) + _paint(f": {diag.message}", "1", color)
    lines = [head]
    span = diag.span
    if span is not None:
        line, col = span.file.line_col(span.start)
        src = span.file.line_text(line)
        gutter = " " * len(str(line))
        lines.append(f"{gutter}--> {span.path}:{line}:{col}")
        lines.append(f"{gutter} |")
        lines.append(f"{line} | {src}")
        # Underline only what lies on the first line of the span.
        end_line, end_col = span.file.line_col(span.end)
        last = end_col if end_line == line else len(src) + 1
        width = max(1, last - col)
        marker = "^" + "-" * (width - 1)
        lines.append(f"{gutter} | " + " " * (col - 1) + _paint(marker, sev_code, color))
    for note in diag.notes:
        lines.append(f"  = note: {note}")
    return "\n".join(lines)


class UsageError(ValueError):
    """Bad options or arguments (CLI exit status 2), as opposed to bad input (status 1)."""


class Wit2WitxError(Exception):
    """Raised for bad input; carries one or more diagnostics."""

    def __init__(self, diagnostics: Diagnostic | Sequence[Diagnostic]) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__(self.render())

    @property
    def diagnostic(self) -> Diagnostic:
        return self.diagnostics[0]

    def render(self, color: bool = False) -> str:
        return "\n\n".join(d.render(color=color) for d in self.diagnostics)


class WitSyntaxError(Wit2WitxError):
    """A .wit file does not parse."""


class ResolveError(Wit2WitxError):
    """WIT parses but is invalid: unknown names, duplicates, cycles, missing deps."""


class WitxError(Wit2WitxError):
    """A .witx file is malformed or invalid."""


class UnsupportedError(Wit2WitxError):
    """Valid WIT that the backport cannot express (WASI 0.3 async, streams, ...)."""


class InputError(Wit2WitxError):
    """An input path is missing, unreadable, empty or not UTF-8."""


def error(message: str, span: Span | None = None, *notes: str) -> Diagnostic:
    return Diagnostic(message, span, "error", list(notes))


def warning(message: str, span: Span | None = None, *notes: str) -> Diagnostic:
    return Diagnostic(message, span, "warning", list(notes))


def read_source(path: str, display: str | None = None) -> SourceFile:
    """Read a file as UTF-8, turning every OS or decoding problem into a diagnostic."""
    shown = display or path
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except IsADirectoryError:
        raise InputError(error(f"`{shown}` is a directory, expected a file")) from None
    except FileNotFoundError:
        raise InputError(error(f"no such file: `{shown}`")) from None
    except OSError as exc:
        raise InputError(error(f"cannot read `{shown}`: {exc.strerror or exc}")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Point at the first bad byte: decode what precedes it to find line/col.
        good = data[: exc.start].decode("utf-8", errors="replace")
        src = SourceFile(shown, good + "\ufffd")
        raise InputError(
            error("file is not valid UTF-8", src.span(len(good), len(good) + 1),
                  f"invalid byte 0x{data[exc.start]:02x} at byte offset {exc.start}")
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceFile(shown, text)


def join_all(diags: Iterable[Diagnostic]) -> str:
    return "\n\n".join(d.render() for d in diags)
