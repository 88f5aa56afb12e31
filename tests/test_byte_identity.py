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

    .venv/bin/python tests/test_byte_identity.py [BASE [BACKENDS]]
"""

from __future__ import annotations

import json
import os
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
for name, paths, options in cases:
    # As compiler.compile() runs the back ends, each one's files kept apart.
    emit = options.pop("emit")
    opts = compiler.Options(emit=tuple(emit), **options)
    try:
        program = compiler.build_program(paths, opts)
        outputs = {backend: compiler._backend(backend)(program) for backend in emit}
    except (Wit2WitxError, compiler.UsageError) as exc:
        outputs = {"ERROR": {"ERROR": str(exc)}}
    for backend, files in outputs.items():
        for rel, text in files.items():
            path = out / backend / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode())
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


def generate(checkout: Path, out: Path, all_cases) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0",
           "WIT2WITX_CACHE_DIR": str(out.parent / "cache")}
    proc = subprocess.run([sys.executable, "-c", _GENERATE, json.dumps(all_cases), str(out)],
                          cwd=checkout, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]


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


def differences(base: str, work: Path, backends=JINJA_BACKENDS) -> tuple[int, list[str]]:
    """(files compared, paths that differ) between `base` and this checkout, for the
    files of `backends` (each `<backend>/<case>/<file>`)."""
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
        generate(before, work / "before", all_cases)
    generate(ROOT, work / "after", all_cases)
    keep = tuple(f"{b}/" for b in (*backends, "ERROR"))
    before = {p: b for p, b in tree(work / "before").items() if p.startswith(keep)}
    after = {p: b for p, b in tree(work / "after").items() if p.startswith(keep)}
    differ = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
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
