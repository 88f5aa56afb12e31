"""Byte identity (issue 13, item 5): the generated text of every back end, for the corpus
(WASI 0.2 and 0.3, the WITX corpus, the wit-parser cases) and the fixtures, is the same at
HEAD as at a base commit: the move to Jinja templates, and overrides that are not used,
change no byte.

"Before" is this checkout with the modules the move touched (`MOVED`: the templating,
every back end, the JSON dump) and their templates taken from W2W_IDENTITY_BASE
(default: the last commit before the move; the C back ends' from `C_BASE`, the last
commit before they moved). So the front end is
the same on both sides, and a deliberate change there (another issue's) is no
difference here. W2W_IDENTITY_MODE=worktree compares against a whole `git worktree` of
the base instead. Run as a script to diff by hand:

Guest exports (issue 16 item 3) are the one deliberate change allowed: the lowering
(the same on both sides) puts world exports in `Module.exports`, which the base's back
ends never read. So the base side gets a `Module.exports` field in its model and runs
with every module's exports folded back into `functions` (as the lowering had them,
imports of the host), and a file may differ only where exports are: a WITX file only
by its `(@w2w guest_export)` lines; any other file only if it belongs to a unit that
has exports (its name is the unit's, `<unit>.h`, `<unit>_host.c`, ...).

Two more deliberate changes (task G): the C glue checks every element of a span whose
elements can be invalid before the implementation runs, so a `<unit>_host_inline.h` may
differ by its `<module>_check_<f>_<x>_inline` functions and the two lines of a
trampoline that call one (and the `int rc;` such a trampoline now needs); the Python
glue gives each FuncSpec the call plan's glue statuses, so a `<unit>_host.py` may differ
by its `glue_statuses=(...)` lines; and `w2w_host.h`'s `w2w_handles_slot` pins a handle
once per call (the checks and the implementation's decode look list handles up twice),
which is `_PIN_ONCE` in place of `_PIN_EACH` (`explained_by_glue_changes`).

And one more (task J): the C glue checks that strings are well-formed UTF-8 — a string
parameter, the strings in by-reference values and list elements (in the check
functions above), and each string it encodes into a result — so a
`<unit>_host_inline.h` may also differ by `if (!w2w_valid_utf8(...))` and the `return`
under it, and `w2w_host.h` by `w2w_valid_utf8` itself and its line in the header
comment (`_UTF8_FN`, `_UTF8_NOTE`).

And one more (task K): a WIT `string` parameter's pointer is marked `Param.utf8`, which
the base model gets as a field (its back ends never read it). Then a WITX file may
differ by `(@w2w string)` in parameters, a `<unit>_host_inline.h` by the UTF-8 checks
(as above), a `<unit>_host.py` by such a parameter given as `str` (`_rt.STRING`, `x: str`)
where the base gave a `list<u8>`'s `bytes` (`_rt.ListOf(_rt.U8)`, `x: bytes`), and the
P1 JSON of a WITX input by `"utf8": true` (`explained_by_string_marks`).

And one more (task N): when a result overflowed the caller's buffer, the C glue
releases the objects it owned and had not issued (the ok value's on success, the error
value's with an interface error) before its rollback, so a `<unit>_host_inline.h` may
differ by those release calls and their `if` right under a trampoline's
`if (buf.used > buf.cap || ...)` line (`_OVERFLOW_RELEASE`).

    .venv/bin/python tests/test_byte_identity.py [BASE [BACKENDS]]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the last commit with the Python formatting templates
DEFAULT_BASE = "dbf8e4c"

#: Run inside a checkout (PYTHONPATH): compile every case, write `<out>/<case>/...`;
#: a case the checkout refuses is recorded as its diagnostic text.
_GENERATE = r'''
import json, sys
from pathlib import Path
from wit2witx import compiler
from wit2witx.diagnostics import Wit2WitxError
cases, out = json.loads(sys.argv[1]), Path(sys.argv[2])
fold = len(sys.argv) > 3 and sys.argv[3] == "fold"
exported = {}
for name, paths, options in cases:
    # As compiler.compile() runs the back ends, each one's files kept apart.
    emit = options.pop("emit")
    opts = compiler.Options(emit=tuple(emit), **options)
    try:
        program = compiler.build_program(paths, opts)
        for unit in program.units:
            module = unit.module
            if module is not None and getattr(module, "exports", None):
                exported.setdefault(name, []).append(unit.name)
                if fold:  # the base's back ends know exports as the host's functions only
                    module.functions = [*module.functions, *module.exports]
                    module.exports = []
        outputs = {backend: compiler._backend(backend)(program) for backend in emit}
    except (Wit2WitxError, compiler.UsageError) as exc:
        outputs = {"ERROR": {"ERROR": str(exc)}}
    for backend, files in outputs.items():
        for rel, text in files.items():
            path = out / backend / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode())
(out / "exported.json").write_text(json.dumps(exported))
'''

#: every back end a plain run can ask for; c-p2 needs a world, asked for separately
P1_BACKENDS = ["witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs", "json"]


def corpus_dir() -> Path:
    return (ROOT.parent / "shared" / "corpus").resolve()


def cases() -> list[tuple[str, list[str], dict]]:
    """(name, paths, compile options) for every input: corpus and fixtures."""
    corpus = corpus_dir()
    every = {"emit": P1_BACKENDS}
    out: list[tuple[str, list[str], dict]] = []
    p2 = sorted(str(p) for p in (corpus / "wasi-p2").iterdir() if p.is_dir())
    out.append(("wasi-p2", p2, every))
    for world in ("wasi:cli/imports", "wasi:http/proxy", "wasi:cli/command"):
        out.append((f"wasi-p2-c-p2-{world.replace(':', '_').replace('/', '_')}", p2,
                    {"emit": ["c-p2"], "world": world}))
    p3 = sorted(str(p) for p in (corpus / "wasi-p3").iterdir() if p.is_dir())
    out.append(("wasi-p3", p3, {**every, "skip_unsupported": True}))
    for witx in sorted((corpus / "witx").rglob("*.witx")):
        out.append((f"witx-{witx.relative_to(corpus / 'witx')}", [str(witx)], every))
    for wit in sorted((corpus / "wit-parser-ui").iterdir()):
        if wit.suffix == ".wit" or (wit.is_dir() and not wit.name.endswith(".json")):
            out.append((f"ui-{wit.name}", [str(wit)], {**every, "skip_unsupported": True}))
    fixtures = ROOT / "fixtures"
    for src in sorted([*fixtures.rglob("*.wit"), *fixtures.rglob("*.witx")]):
        out.append((f"fixture-{src.relative_to(fixtures)}", [str(src)], every))
    return out


def generate(checkout: Path, out: Path, all_cases, fold: bool = False) -> dict[str, list[str]]:
    """Generate every case into `out`; returns the units with exports, by case. `fold`:
    exports go back into `functions` before the back ends run (the base side)."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0",
           "WIT2WITX_CACHE_DIR": str(out.parent / "cache")}
    proc = subprocess.run([sys.executable, "-c", _GENERATE, json.dumps(all_cases), str(out),
                           "fold" if fold else "as-is"],
                          cwd=checkout, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((out / "exported.json").read_text())


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


#: the back ends whose templates are Jinja now: their output must not have moved since
#: their base (move the base when one of them changes its output on purpose)
JINJA_BACKENDS = ("witx", "c", "host-c", "host-wasm3", "host-wamr", "host-py", "docs", "json", "c-p2")

#: the C back ends moved later, from this commit (after other work on them had landed)
C_BASE = "2649e08"

#: what the move to Jinja changed: these files and template folders, as they were at
#: DEFAULT_BASE (None below) or at C_BASE
MOVED = {
    None: ("wit2witx/emit/templating.py", "wit2witx/emit/witx.py", "wit2witx/emit/docs.py",
           "wit2witx/emit/host_py.py", "wit2witx/emit/c_p2.py", "wit2witx/emit/json.py",
           "wit2witx/p1/model.py", "templates/docs", "templates/host_py", "templates/c_p2"),
    C_BASE: ("wit2witx/emit/c_header.py", "wit2witx/emit/host_c.py", "templates/c",
             "templates/host_c"),
}


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def base_checkout(base: str, dest: Path) -> None:
    """This checkout's package, grammars and templates, with `MOVED` from `base`."""
    for folder in ("wit2witx", "grammars", "templates"):
        shutil.copytree(ROOT / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "generated"))
    for commit, paths in MOVED.items():
        commit = commit or base
        for moved in paths:
            if moved.startswith("templates/"):
                shutil.rmtree(dest / moved, ignore_errors=True)
            for path in git("ls-tree", "-r", "--name-only", commit, moved).decode().split():
                (dest / path).parent.mkdir(parents=True, exist_ok=True)
                (dest / path).write_bytes(git("show", f"{commit}:{path}"))
    _give_modules_exports(dest / "wit2witx" / "p1" / "model.py")


#: the base model's `Module` fields end here; `exports` (guest exports) goes after them
_MODULE_SPAN = """    functions: list[Function] = field(default_factory=list)
    docs: str = ""
    span: Span | None = _span()
"""


#: the base model's `Param` fields; `own` (an export's `own<r>` parameter) goes after them
_PARAM_FIELDS = """    name: str
    type: TypeRef
    docs: str = ""
    span: Span | None = _span()


@node
class Function:
"""


def _give_modules_exports(model: Path) -> None:
    """The base model with `Module.exports` and `Param.own`, which today's lowering and
    WITX reader fill (the base's back ends never read them: `generate(fold=True)` moves
    exports into `functions`)."""
    text = model.read_text()
    if "exports: list[Function]" not in text:
        assert text.count(_MODULE_SPAN) == 1, "the base model's Module is not as expected"
        text = text.replace(
            _MODULE_SPAN, _MODULE_SPAN + "    exports: list[Function] = field(default_factory=list)\n")
    if "    own: bool" not in text:
        assert text.count(_PARAM_FIELDS) == 1, "the base model's Param is not as expected"
        head, tail = _PARAM_FIELDS.split("\n\n\n", 1)
        text = text.replace(_PARAM_FIELDS, f"{head}\n    own: bool = False\n    utf8: bool = False\n\n\n{tail}")
    model.write_text(text)


_GUEST_EXPORT_LINE = re.compile(rb"^[ \t]*\(@w2w guest_export\)\n", re.MULTILINE)
#: an export's `own<r>` parameter: `(param $x (@w2w own) $r)`
_OWN_MARK = re.compile(rb"(\(param \$[^ ()]+) \(@w2w own\)")


def explained_by_exports(path: str, before: bytes | None, after: bytes | None,
                         exported: dict[str, list[str]]) -> bool:
    """Whether the difference of `path` (`<backend>/<case>/<file>`) is the guest
    exports' own: a WITX file differs only by its export marks (`(@w2w guest_export)`
    lines, `(@w2w own)` in parameters), another file belongs
    to a unit that has exports (host glue for a unit whose functions are all exports
    is no longer made: such a file is missing on this side)."""
    backend, case, rel = path.split("/", 2)
    units = exported.get(case, [])
    if not units:
        return False
    if backend == "witx":
        return before is not None and after is not None and \
            _OWN_MARK.sub(rb"\1", _GUEST_EXPORT_LINE.sub(b"", after)) == before
    name = rel.rsplit("/", 1)[-1]
    return any(name.startswith((f"{unit}.", f"{unit}_")) for unit in units)


#: an element check of the C glue: its definition, and the call in a trampoline
_CHECK_FN = re.compile(rb"\nstatic inline int \w+_check_\w+_inline\(const w2w_mem \*mem, "
                       rb"w2w_handles \*handles, const uint8_t \*src, uint32_t n\)\n\{\n.*?\n\}\n",
                       re.DOTALL)
_CHECK_CALL = re.compile(rb"^    if \(\(rc = \w+_check_\w+_inline\(mem, host->handles, p_\w+, [^\n]*\)\) != 0\)\n"
                         rb"        return [^\n]*;\n", re.MULTILINE)
_RC_DECL = re.compile(rb"^    int rc;\n", re.MULTILINE)
#: a UTF-8 check of a string, in a trampoline or an encode: the test and its `return`
_UTF8_CHECK = re.compile(rb"^[ \t]*if \(!w2w_valid_utf8\([^\n]*\)\)\n[ \t]*return [^\n]*;\n", re.MULTILINE)
#: task N: the releases under a trampoline's buffer_too_small branch (its head kept)
_OVERFLOW_RELEASE = re.compile(
    rb"(^    if \(buf\.used > buf\.cap \|\| status == \w+\[W2W_E_BUFFER_TOO_SMALL\]\) \{\n)"
    rb"(?:        if \(status == 0\) \{\n"
    rb"(?:            \w+_release_\w+\(host->handles, &ret\d+\);\n)+        \}\n)?"
    rb"(?:        if \(status > 0 && status < \d+ && [^\n]*\)\n"
    rb"            \w+_release_\w+\(host->handles, &\w+\);\n)?", re.MULTILINE)
#: the call plan's glue statuses in a FuncSpec of the Python glue
_GLUE_STATUSES = re.compile(rb"^        glue_statuses=\([^\n]*\),\n", re.MULTILINE)


#: `w2w_handles_slot` before and after it pins a handle once per call
_PIN_EACH = b"""
 * (NULL too when the call pinned W2W_MAX_PINS handles already). */
static inline w2w_slot *w2w_handles_slot(w2w_handles *t, uint32_t handle, const w2w_type *type)
{
    w2w_slot *s;
    w2w_lock_(t);
    s = w2w_handles_find_(t, handle, type);
#if W2W_THREADS
    if (s != NULL) {
"""
_PIN_ONCE = b"""
 * (NULL too when the call pinned W2W_MAX_PINS handles already). A call pins a handle
 * once, however often it looks it up: the glue checks a list's handles before the
 * implementation decodes them again. */
static inline w2w_slot *w2w_handles_slot(w2w_handles *t, uint32_t handle, const w2w_type *type)
{
    w2w_slot *s;
#if W2W_THREADS
    uint32_t k;
#endif
    w2w_lock_(t);
    s = w2w_handles_find_(t, handle, type);
#if W2W_THREADS
    for (k = 0; s != NULL && k < w2w_this_call.pins_len; k++)
        if (w2w_this_call.pins[k] == (uint16_t)(handle & 0xFFFFu)) {
            w2w_unlock_(t);
            return s;
        }
    if (s != NULL) {
"""


#: `w2w_valid_utf8` in w2w_host.h, and its line in the header comment
_UTF8_FN = re.compile(rb"\n/\* Whether `n` bytes at `s` are well-formed UTF-8 .*?\nstatic inline bool "
                      rb"w2w_valid_utf8\(const uint8_t \*s, uint32_t n\)\n\{\n.*?\n\}\n", re.DOTALL)
_UTF8_NOTE = b" * - what a valid char and a valid string are (`w2w_valid_char`, `w2w_valid_utf8`).\n"


def explained_by_glue_changes(path: str, before: bytes | None, after: bytes | None) -> bool:
    """Whether `path` differs only by the C glue's element checks (and, task N, the
    releases of a result that overflowed the buffer) or by the Python glue's
    `glue_statuses` (see the module's docstring)."""
    if before is None or after is None:
        return False
    backend, _case, rel = path.split("/", 2)
    if backend == "host-c" and rel.endswith("_host_inline.h"):
        def strip(text: bytes) -> bytes:
            text = _OVERFLOW_RELEASE.sub(rb"\1", text)
            return _RC_DECL.sub(b"", _CHECK_CALL.sub(b"", _CHECK_FN.sub(b"", _UTF8_CHECK.sub(b"", text))))
        return strip(after) == strip(before)
    if backend == "host-c" and rel.rsplit("/", 1)[-1] == "w2w_host.h":  # (a case name may hold `/`)
        if after.count(_UTF8_NOTE) != 1 or len(_UTF8_FN.findall(after)) != 1:
            return False
        after = _UTF8_FN.sub(b"", after.replace(_UTF8_NOTE, b""), count=1)
        return after.count(_PIN_ONCE) == 1 and after.replace(_PIN_ONCE, _PIN_EACH) == before
    if backend == "host-py" and rel.endswith("_host.py"):
        return _GLUE_STATUSES.sub(b"", after) == before
    return False


#: task K: the mark of a WIT `string` parameter in WITX, and in the P1 JSON
_STRING_MARK = re.compile(rb"(\(param \$[^ ()]+) \(@w2w string\)")
_UTF8_JSON = re.compile(rb',\n[ ]*"utf8": true')
#: a FuncSpec of the Python glue: its method and its params line
_SPEC = re.compile(rb"^        method='(\w+)',\n        params=\(([^\n]*)\),\n", re.MULTILINE)
_TEXT_PARAM = rb"(_rt.LIST, '%s', _rt.STRING)"
_BYTES_PARAM = rb"(_rt.LIST, '%s', _rt.ListOf(_rt.U8))"


def _as_bytes_parameters(after: bytes, before: bytes) -> bytes:
    """`after` with each `str` parameter of a function given back as the `bytes` the base
    had where the base had them (its FuncSpec entry and its annotation in the `def`)."""
    base_specs = {m.group(1): m.group(2) for m in _SPEC.finditer(before)}
    for m in _SPEC.finditer(after):
        method, params = m.group(1), m.group(2)
        spec = m.group(0)
        for name in re.findall(rb"\(_rt\.LIST, '(\w+)', _rt\.STRING\)", params):
            if _BYTES_PARAM % name not in base_specs.get(method, b""):
                continue
            as_bytes = spec.replace(_TEXT_PARAM % name, _BYTES_PARAM % name)
            after, spec = after.replace(spec, as_bytes, 1), as_bytes
            after = re.sub(rb"^(    def " + method + rb"\(self, [^\n]*\b" + name + rb": )str\b",
                           rb"\1bytes", after, count=1, flags=re.MULTILINE)
    return after


def explained_by_string_marks(path: str, before: bytes | None, after: bytes | None) -> bool:
    """Whether `path` differs only by what marking WIT `string` parameters changes."""
    if before is None or after is None:
        return False
    backend, _case, rel = path.split("/", 2)
    if backend == "witx":
        return _STRING_MARK.sub(rb"\1", after) == before
    if backend == "json":
        return _UTF8_JSON.sub(b"", after) == before
    if backend == "host-py" and rel.endswith("_host.py"):
        return _as_bytes_parameters(after, before) == before \
            or _as_bytes_parameters(_GLUE_STATUSES.sub(b"", after), before) == before
    return False


def differences(base: str, work: Path, backends=JINJA_BACKENDS) -> tuple[int, list[str]]:
    """(files compared, paths that differ) between `base` and this checkout, for the
    files of `backends` (each `<backend>/<case>/<file>`), but for the differences guest
    exports make (`explained_by_exports`)."""
    all_cases = cases()
    before = work / "base"
    if os.environ.get("W2W_IDENTITY_MODE") == "worktree":
        git("worktree", "add", "--detach", str(before), base)
        try:
            generate(before, work / "before", all_cases)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)],
                           cwd=ROOT, capture_output=True)
    else:
        base_checkout(base, before)
        generate(before, work / "before", all_cases, fold=True)
    exported = generate(ROOT, work / "after", all_cases)
    keep = tuple(f"{b}/" for b in (*backends, "ERROR"))
    before = {p: b for p, b in tree(work / "before").items() if p.startswith(keep)}
    after = {p: b for p, b in tree(work / "after").items() if p.startswith(keep)}
    differ = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p)
                    and not explained_by_exports(p, before.get(p), after.get(p), exported)
                    and not explained_by_glue_changes(p, before.get(p), after.get(p))
                    and not explained_by_string_marks(p, before.get(p), after.get(p)))
    return len(before), differ


def test_every_back_end_is_byte_identical_to_the_base_commit(tmp_path):
    from conftest import corpus_path  # noqa: PLC0415 - fails under CI=true when absent

    corpus_path("wasi-p2")
    base = os.environ.get("W2W_IDENTITY_BASE", DEFAULT_BASE)
    compared, differ = differences(base, tmp_path)
    assert compared > 1500, compared  # the corpus really was generated
    assert not differ, f"{len(differ)} files differ from {base}: {differ[:20]}"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        base = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BASE
        backends = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else JINJA_BACKENDS
        compared, differ = differences(base, Path(tmp), backends)
        print(f"{compared} files compared, {len(differ)} differ")
        for path in differ:
            print("  " + path)
        sys.exit(1 if differ else 0)
