"""The output folder: writing it all or nothing, checking it, and its manifest.

A run's artifacts (relative path → text) become the folder OUT as one step:

1. every artifact path is checked to be a plain relative path inside OUT;
2. if OUT already holds exactly what this run makes, nothing is touched;
3. otherwise the whole new tree is built in a sibling staging folder: the new files,
   the unchanged ones hard-linked from OUT (so their mtimes stay and downstream builds
   do not rerun), and every file in OUT that wit2witx did not generate (hard-linked,
   or copied where links are not possible);
4. the staging folder and OUT are swapped by renames (on Linux one atomic
   `renameat2(RENAME_EXCHANGE)`; elsewhere OUT → backup, staging → OUT), and the old
   tree is removed.

The files may also come one at a time from back ends still making them (`write_files`,
what the command line does): steps 1-3 then happen file by file, each file staged as it
comes and let go (the staging folder is made at the first file OUT does not hold yet),
so that a run never holds its whole output in memory.

A reader of OUT therefore sees the old tree or the new one, never a mix. SIGINT and
SIGTERM are held off while this runs: before the swap they abort it (the staging
folder is removed), during the swap they wait for it to finish; then the signal is
delivered as usual. A staging or backup folder left by a killed run is recovered or
removed by the next `write`.

The manifest `.wit2witx-manifest` in OUT records what the last run generated (SHA-256
and path per line, in the format of `sha256sum`, so `sha256sum -c` reads it too). With
it, `check` reports generated files that are missing, stale, edited by hand or no
longer generated (orphans), and `write` removes orphans it generated earlier, never a
file it did not generate, nor one edited since it was generated.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import sys
from dataclasses import field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from .diagnostics import InputError, UsageError, error
from .records import record

MANIFEST = ".wit2witx-manifest"
MANIFEST_HEADER = (
    "# wit2witx manifest: the files wit2witx generated in this folder (SHA-256, path).\n"
    "# `wit2witx --check` compares them with the folder; `sha256sum -c` reads it too.\n"
)
STAGING_SUFFIX = ".wit2witx-staging"
BACKUP_SUFFIX = ".wit2witx-backup"

# characters no artifact path component may hold: control characters, and what
# Windows or a shell would read as structure (separators, drives, wildcards)
_BAD_PATH_CHARS = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|]')


# --- artifact paths ---------------------------------------------------------------------


def check_artifact_paths(paths) -> None:
    """Every path must be a plain relative POSIX path inside OUT, and the set portable.

    Refused: empty paths or components, `.`/`..`, absolute paths, backslashes, drive
    letters, control characters, the manifest's name, a path that is also the folder
    of another, and two paths equal but for case (one file on macOS and Windows).
    """
    checker = _PathChecker()
    for path in paths:
        checker.add(path)


class _PathChecker:
    """`check_artifact_paths` one path at a time: a write that stages each file as the
    back ends make it (`write_files`) checks it before it touches the staging folder."""

    __slots__ = ("seen", "folders")

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}  # case-folded path → the path
        self.folders: set[str] = set()  # case-folded folders of the paths so far

    def add(self, path) -> None:
        _check_plain(path)
        folded = path.casefold()
        if folded in self.seen:
            raise UsageError(f"artifact paths `{self.seen[folded]}` and `{path}` differ only in case")
        if folded in self.folders:
            raise _folder_clash(path)
        self.seen[folded] = path
        if "/" in folded:
            parts = folded.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                if folder in self.seen:
                    raise _folder_clash(self.seen[folder])
                self.folders.add(folder)


def _folder_clash(path: str) -> UsageError:
    return UsageError(f"artifact path `{path}` is also the folder of another artifact")


def _check_plain(path) -> None:
    if not isinstance(path, str) or not path:
        raise UsageError(f"artifact path {path!r} is not a non-empty string")
    parts = path.split("/")
    if _BAD_PATH_CHARS.search(path) or "" in parts or "." in parts or ".." in parts:
        raise UsageError(
            f"artifact path {path!r} is not a plain relative path inside the output "
            "folder (no `..`, `.`, empty parts, absolute paths, `\\`, `:` or control "
            "characters)")
    if parts[0].casefold() == MANIFEST:
        raise UsageError(f"artifact path {path!r} is the name of wit2witx's manifest")


# --- the manifest -----------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_text(files: Mapping[str, bytes]) -> bytes:
    return _manifest_of({path: _digest(data) for path, data in files.items()})


def _manifest_of(digests: Mapping[str, str]) -> bytes:
    """The manifest of the files whose SHA-256 (hex) `digests` gives by path."""
    lines = [f"{digest}  {path}\n" for path, digest in sorted(digests.items())]
    return (MANIFEST_HEADER + "".join(lines)).encode("utf-8")


def read_manifest(folder: str | os.PathLike) -> dict[str, str] | None:
    """Path → SHA-256 recorded in `folder`'s manifest; None without one.

    Lines that are not `<64 hex digits>  <plain path>` are ignored: the manifest only
    ever decides what to report or leave out, and a path it names is never opened for
    writing or removal by name (orphans are dropped while walking OUT itself).
    """
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    recorded: dict[str, str] = {}
    for line in lines:
        digest, sep, path = line.partition("  ")
        if sep and len(digest) == 64 and _HEX.fullmatch(digest):
            try:
                _check_plain(path)
            except UsageError:
                continue
            recorded[path] = digest
    return recorded


_HEX = re.compile(r"[0-9a-f]{64}")
_READ_BINARY = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _read_bytes(path: str) -> bytes | None:
    """The whole file, or None if it cannot be read (os.read: a run over an up-to-date
    folder reads every file, and buffered file objects cost twice as much)."""
    try:
        fd = os.open(path, _READ_BINARY)
    except OSError:
        return None
    try:
        want = os.fstat(fd).st_size + 1  # one byte more: a short read is the end
        chunks = []
        while True:
            chunk = os.read(fd, want)
            chunks.append(chunk)
            if len(chunk) < want:
                return b"".join(chunks)
            want = 1 << 16
    except OSError:
        return None
    finally:
        os.close(fd)


# --- checking ---------------------------------------------------------------------------


@record(slots=True)
class Stale:
    """A generated file that OUT does not hold as this run would write it."""

    path: str
    #: "missing"; "stale" (generated by an earlier run, out of date now); "edited"
    #: (differs from what wit2witx wrote there: changed by hand); "orphaned" (generated
    #: by an earlier run, no longer generated: a run removes it)
    reason: str
    diff: str = ""


def check(artifacts: Mapping[str, str], out: str | os.PathLike) -> list[Stale]:
    """Compare the artifacts with `out`, reading only; an empty list: up to date."""
    check_artifact_paths(artifacts)
    root = _readable_root(Path(out))
    recorded = read_manifest(root) or {}
    problems: list[Stale] = []
    digests: dict[str, str] = {}  # for the manifest: not all the bytes at once
    for rel, text in artifacts.items():
        data = text.encode("utf-8")
        digests[rel] = _digest(data)
        held = _read_bytes(os.path.join(root, rel))
        if held is None:
            problems.append(Stale(rel, "missing"))
        elif held != data:
            edited = rel in recorded and _digest(held) != recorded[rel]
            problems.append(Stale(rel, "edited" if edited else "stale", _diff(rel, held, text)))
    for rel in sorted(set(recorded) - set(artifacts)):
        if os.path.lexists(os.path.join(root, rel)):
            problems.append(Stale(rel, "orphaned"))
    if not problems and artifacts:
        held = _read_bytes(os.path.join(root, MANIFEST))
        if held != _manifest_of(digests):
            problems.append(Stale(MANIFEST, "missing" if held is None else "stale"))
    return problems


def _readable_root(out: Path) -> Path:
    """OUT, or the old tree a killed run left in the backup folder while OUT is absent."""
    if not out.exists():
        backup = _sibling(_resolved(out), BACKUP_SUFFIX)
        if backup.is_dir():
            return backup
    return out


def _diff(rel: str, held: bytes, text: str) -> str:
    import difflib  # noqa: PLC0415  (only a stale file needs it)

    current = held.decode("utf-8", errors="replace")
    return "".join(difflib.unified_diff(
        current.splitlines(True), text.splitlines(True),
        fromfile=f"{rel} (on disk)", tofile=f"{rel} (generated)", n=1))


# --- writing ----------------------------------------------------------------------------


@record(slots=True)
class Written:
    """What `write` changed in OUT (paths relative to it, sorted)."""

    #: generated files created or given new content
    changed: list[str] = field(default_factory=list)
    #: files an earlier run generated that this one does not: removed
    removed: list[str] = field(default_factory=list)
    #: such files kept because they were edited since (no longer in the manifest)
    kept: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed)


class WriteInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while staging: the write was abandoned, OUT unchanged."""


def write(artifacts: Mapping[str, str], out: str | os.PathLike) -> Written:
    """Make `out` hold the artifacts, all or nothing (see the module docstring)."""
    check_artifact_paths(artifacts)
    return _write(artifacts.items(), out, check_paths=False)


def write_files(files: Iterable[tuple[str, str]], out: str | os.PathLike) -> Written:
    """`write` for artifacts that come one at a time, as (path, text), from a producer
    that may still be running (`compiler.compile_into`: the back ends).

    Each file is checked, encoded, compared with OUT's and staged as it comes, and then
    let go: the run never holds its whole output (on a large input, a quarter of the
    peak memory). If the producer fails, the write is abandoned and OUT left as it was;
    SIGINT and SIGTERM interrupt the producer at once (see `_SignalGuard`). The lock on
    OUT's parent folder (`_locked`) is held while the producer runs: writers into
    sibling folders wait for each other's back ends too, not only for the writes.
    """
    return _write(files, out, check_paths=True)


def _write(files: Iterable[tuple[str, str]], out: str | os.PathLike, *, check_paths: bool) -> Written:
    out = _resolved(Path(out))
    _refuse_unswappable(out)
    staging = _sibling(out, STAGING_SUFFIX)
    with _locked(out.parent), _SignalGuard() as guard:
        try:
            _recover(out)
            if out.exists() and not out.is_dir():
                raise InputError(error(f"output path `{out}` exists and is not a folder"))
            stager = _Stager(out, staging, guard, check_paths)
            for rel, text in guard.interruptible(files):
                stager.add(rel, text)
            plan = _plan(stager.digests, stager.unchanged, out)
            if not plan.result and out.is_dir() and not plan.manifest_changed:
                return plan.result  # OUT holds this run's files already: nothing was staged
            stager.finish(plan)
            guard.check()
            with guard.held():
                old = _swap(staging, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise InputError(error(
                f"cannot write into `{out}`: {exc.strerror or exc}"
                + (f" (`{exc.filename}`)" if exc.filename else ""),
                None, "the output folder was left as it was")) from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return plan.result


def _resolved(out: Path) -> Path:
    """An absolute OUT; a symlink to a folder stands for that folder (it is what we swap)."""
    out = Path(os.path.abspath(out))
    if out.is_symlink() and out.is_dir():
        out = Path(os.path.realpath(out))
    return out


def _refuse_unswappable(out: Path) -> None:
    if out.parent == out:
        raise UsageError(f"the output folder cannot be the file system root `{out}`")
    try:
        here = os.getcwd()
    except OSError:  # the current folder was removed: it is not inside OUT then
        return
    real = os.path.realpath(out)
    if here == real or here.startswith(real.rstrip(os.sep) + os.sep):
        raise UsageError(
            f"the output folder `{out}` holds the current folder; wit2witx replaces the "
            "output folder as a whole (an atomic update), so give it a subfolder")


def _sibling(out: Path, suffix: str) -> Path:
    return out.parent / f".{out.name}{suffix}"


def _recover(out: Path) -> None:
    """Undo what a killed run left: the backup is the old tree, staging is disposable."""
    staging, backup = _sibling(out, STAGING_SUFFIX), _sibling(out, BACKUP_SUFFIX)
    if backup.exists() and not out.exists():
        os.rename(backup, out)
    for leftover in (staging, backup):
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)


@record(slots=True)
class _Plan:
    result: Written
    unchanged: set[str]
    #: old entries of OUT to carry into the new tree: path → is a folder (empty ones)
    carried: dict[str, bool]
    manifest: bytes
    manifest_changed: bool


def _plan(digests: dict[str, str], unchanged: set[str], out: Path) -> _Plan:
    """Sort OUT's other entries: to carry over, orphans to drop. `digests` are the new
    files' (by path), `unchanged` those of them OUT holds already (`_Stager.add`)."""
    manifest = _manifest_of(digests)
    result = Written()
    carried: dict[str, bool] = {}
    if not out.is_dir():
        result.changed = sorted(digests)
        return _Plan(result, unchanged, carried, manifest, True)
    old_manifest = _read_bytes(os.path.join(out, MANIFEST))
    # the manifest is consulted only for entries the artifacts do not name: when it is
    # this run's already, it names none of them
    recorded = {} if old_manifest == manifest else read_manifest(out) or {}
    new_folders = {"/".join(p.split("/")[:i]) for p in digests for i in range(1, p.count("/") + 1)}
    base = os.fspath(out) + os.sep
    for rel, kind in _walk(out):
        if rel == MANIFEST:
            continue
        if rel in digests:
            if kind.startswith("dir"):
                raise _in_the_way(out, rel, kind)
            continue  # anything else there (a symlink, say) gives way to the new file
        if rel in new_folders:
            if not kind.startswith("dir"):
                _drop_or_refuse(rel, kind, out, recorded, result)
            continue
        if kind == "dir-with-content":
            continue  # its entries carry it over
        if kind == "dir":
            carried[rel] = True  # an empty folder; folders with content come with it
            continue
        if rel in recorded:
            if kind == "file" and _digest(_read_bytes(base + rel) or b"") == recorded[rel]:
                result.removed.append(rel)
                continue
            result.kept.append(rel)
        carried[rel] = False
    result.changed = sorted(digests.keys() - unchanged)
    result.removed.sort()
    result.kept.sort()
    return _Plan(result, unchanged, carried, manifest, old_manifest != manifest)


def _in_the_way(out: Path, rel: str, kind: str) -> InputError:
    return InputError(error(
        f"cannot write `{out / rel}`: a {_KIND_WORDS[kind]} of that name is in the way"))


def _drop_or_refuse(rel, kind, out, recorded, result) -> None:
    """A file where the new tree needs a folder: only an unedited orphan may go."""
    if rel in recorded and _digest(_read_bytes(os.fspath(out / rel)) or b"") == recorded[rel]:
        result.removed.append(rel)
        return
    raise InputError(error(f"cannot create the folder `{out / rel}`: a {_KIND_WORDS[kind]} "
                           "of that name is in the way"))


_KIND_WORDS = {"dir": "folder", "dir-with-content": "folder", "file": "file",
               "link": "symbolic link", "special": "special file"}


def _walk(root: Path) -> Iterator[tuple[str, str]]:
    """(relative path, kind) for OUT's entries, symlinks not followed: kind is "file",
    "link", "special", "dir" (an empty folder) or "dir-with-content" (its entries
    follow, and carry it over)."""
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(root / rel_dir if rel_dir else root) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        if not listed and rel_dir:
            yield rel_dir, "dir"
        for entry in listed:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                yield rel, "link"
            elif entry.is_dir():
                stack.append(rel)
                yield rel, "dir-with-content"
            elif entry.is_file():
                yield rel, "file"
            else:
                yield rel, "special"


class _Stager:
    """Builds the complete new tree in the staging folder, one generated file at a time.

    A file OUT holds already with the same bytes is hard-linked from there (its mtime
    stays, so downstream builds do not rerun); any other is written anew. The staging
    folder is made at the first file that needs it: a run that changes nothing never
    makes one. New folders get the user's umask, or the mode they had in OUT.
    """

    __slots__ = ("out", "staging", "guard", "checker", "digests", "unchanged", "pending",
                 "made", "real_folders", "_old", "_new", "_out_is_dir")

    def __init__(self, out: Path, staging: Path, guard, check_paths: bool) -> None:
        self.out, self.staging, self.guard = out, staging, guard
        self.checker = _PathChecker() if check_paths else None
        self.digests: dict[str, str] = {}  # every new file's SHA-256, for the manifest
        self.unchanged: set[str] = set()
        self.pending: list[str] | None = []  # unchanged files met before staging exists
        self.made: set[str] = set()  # folders made in staging
        self.real_folders: dict[str, bool] = {}  # OUT's folders that are folders, no links
        self._old, self._new = os.fspath(out) + os.sep, os.fspath(staging) + os.sep
        self._out_is_dir = out.is_dir()  # no OUT yet (a first run): nothing to look up in it

    def add(self, rel: str, text: str) -> None:
        """One new file (a signal was checked for just before, by the guard's
        `interruptible` that hands the files over)."""
        if self.checker is not None:
            self.checker.add(rel)
        data = text.encode("utf-8")
        self.digests[rel] = _digest(data)
        if self._held_in_out(rel, data):
            self.unchanged.add(rel)
            if self.pending is not None:
                self.pending.append(rel)
            else:
                self._link(rel)
            return
        self._open()
        if "/" in rel:
            _prepare(self.staging, self.out, rel, self.made)
        _write_new(self._new + rel, data)

    def _held_in_out(self, rel: str, data: bytes) -> bool:
        """Whether OUT holds `rel` as a regular file with these bytes, as `_walk` would
        find it (under folders that are no symlinks); a folder there is an error."""
        if not self._out_is_dir:
            return False
        folder = rel.rpartition("/")[0]
        if folder and not self._real_folder(folder):
            return False
        try:
            st = os.lstat(self._old + rel)
        except OSError:
            return False
        if stat.S_ISDIR(st.st_mode):
            raise _in_the_way(self.out, rel, "dir")
        return (stat.S_ISREG(st.st_mode) and st.st_size == len(data)
                and _read_bytes(self._old + rel) == data)

    def _real_folder(self, folder: str) -> bool:
        known = self.real_folders.get(folder)
        if known is None:
            parent = folder.rpartition("/")[0]
            try:
                known = stat.S_ISDIR(os.lstat(self._old + folder).st_mode)
            except OSError:
                known = False
            known = known and (not parent or self._real_folder(parent))
            self.real_folders[folder] = known
        return known

    def _open(self) -> None:
        """Make the staging folder, and link the unchanged files met before it."""
        if self.pending is None:
            return
        os.mkdir(self.staging)  # mode 0o777 minus the umask, unlike mkdtemp's 0o700
        pending, self.pending = self.pending, None
        for rel in pending:
            self._link(rel)

    def _link(self, rel: str) -> None:
        if "/" in rel:
            _prepare(self.staging, self.out, rel, self.made)
        _link_or_copy(self._old + rel, self._new + rel)

    def finish(self, plan: _Plan) -> None:
        """Carry over what OUT holds besides the new files, and write the manifest."""
        self._open()
        old, new = self._old, self._new
        for rel, is_dir in plan.carried.items():
            self.guard.check()
            _prepare(self.staging, self.out, rel, self.made)
            if is_dir:
                os.mkdir(new + rel)
                _copy_mode(old + rel, new + rel)
            else:
                _carry(old + rel, new + rel)
        _write_new(new + MANIFEST, plan.manifest)
        if self.out.is_dir():
            _copy_mode(self.out, self.staging)


def _prepare(staging: Path, out: Path, rel: str, made: set[str]) -> None:
    """Create the folders above `rel` in staging, with the modes they had in OUT."""
    parts = rel.split("/")
    for i in range(1, len(parts)):
        folder = "/".join(parts[:i])
        if folder not in made:
            os.mkdir(staging / folder)
            if (out / folder).is_dir():
                _copy_mode(out / folder, staging / folder)
            made.add(folder)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _write_new(target: str, data: bytes) -> None:
    fd = os.open(target, _CREATE, 0o666)  # 0o666 minus the umask
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _carry(source: str, target: str) -> None:
    """Keep a file of OUT in the new tree: a hard link (same inode, mtime and mode)."""
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
    else:
        _link_or_copy(source, target)


def _copy_mode(source: str | Path, target: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(target, stat.S_IMODE(os.stat(source).st_mode))


def _swap(staging: Path, out: Path) -> Path | None:
    """Put staging in OUT's place; return where the old tree now is (None: no old tree)."""
    if not out.exists():
        os.rename(staging, out)
        return None
    if _exchange(staging, out):
        return staging
    backup = _sibling(out, BACKUP_SUFFIX)
    os.rename(out, backup)
    try:
        os.rename(staging, out)
    except OSError:
        os.rename(backup, out)
        raise
    return backup


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux `renameat2`); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # noqa: PLC0415  (only a run that replaces a folder needs it)
    import errno  # noqa: PLC0415

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # the file system cannot: two renames instead
    raise OSError(code, os.strerror(code), os.fspath(b))


@contextlib.contextmanager
def _locked(folder: Path):
    """One writer at a time per parent folder (staging and backup names are fixed)."""
    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # not on Windows: no lock there
        fcntl = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(error(
            f"cannot create the output folder's parent `{folder}`: {exc.strerror or exc}")) from None
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


class _SignalGuard:
    """Hold SIGINT and SIGTERM while OUT is written; deliver them once it is safe.

    Before the swap, a signal makes `check()` abandon the write (the caller removes the
    staging folder), or the signal handler itself while the files are being made
    (`interruptible()`); during the swap (`held()`) it only waits. On leaving, the signal
    is raised again with the handlers of before, so Ctrl-C is a KeyboardInterrupt and
    SIGTERM ends the process as it would have. Only the main thread can install
    handlers; elsewhere nothing is held.
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self) -> None:
        self.received: int | None = None
        self._saved: dict[int, object] = {}
        self._holding = False
        self._producing = False

    def __enter__(self) -> "_SignalGuard":
        import signal  # noqa: PLC0415
        import threading  # noqa: PLC0415

        if threading.current_thread() is not threading.main_thread():
            return self
        for name in self.SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            previous = signal.getsignal(signum)
            if previous in (signal.SIG_IGN, None):
                continue  # an ignored signal stays ignored
            self._saved[signum] = previous
            signal.signal(signum, self._record)
        return self

    def _record(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        if self._producing:
            raise WriteInterrupted()

    def interruptible(self, items: Iterable):
        """`items`, where making the next one (a back end rendering a file, which may
        take seconds) is interrupted by the signal at once, not at the next `check()`:
        the caller abandons the write as it would then."""
        produce = iter(items).__next__
        while True:
            self.check()  # a signal that came while the last item was handled
            self._producing = True
            try:
                item = produce()
            except StopIteration:
                return
            finally:
                self._producing = False
            yield item

    def check(self) -> None:
        if self.received is not None and not self._holding:
            raise WriteInterrupted()

    @contextlib.contextmanager
    def held(self):
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def __exit__(self, *exc) -> None:
        import signal  # noqa: PLC0415

        for signum, previous in self._saved.items():
            signal.signal(signum, previous)
        if self.received is not None and self._saved:
            signal.raise_signal(self.received)
