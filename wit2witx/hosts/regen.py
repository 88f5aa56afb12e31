"""Regenerate the glue shipped in `wit2witx/hosts/_generated/` from the WASI WIT files.

    python -m wit2witx.hosts.regen [--corpus ../shared/corpus] [--check]

The WASI 0.2.12 WIT files are corpus data, not part of this repository, so the
package ships what `wit2witx --emit host-py` makes of them (wasi:sockets with its
wasi:io and wasi:clocks dependencies; wasi:cli, wasi:random and the wall clock from
world `wasi:cli/imports`; wasi:http/types and outgoing-handler from world
`wasi:http/proxy`). `--check` writes nothing and exits 1 when a
shipped file is missing or differs; the test suite runs the same comparison.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "_generated"
DEFAULT_CORPUS = HERE.parent.parent.parent / "shared" / "corpus"
PACKAGE = "sockets"
DEPS = ("io", "clocks")
INIT = '"""Generated host glue for the wasi-sockets reference host: see `wit2witx.hosts`."""\n'


def compile_sockets(corpus: Path, emit: list[str]) -> dict[str, str]:
    """`wit2witx` on WASI 0.2.12 wasi:sockets (deps: wasi:io, wasi:clocks) from the corpus."""
    from .. import compiler  # noqa: PLC0415

    src = Path(corpus) / "wasi-p2"
    with tempfile.TemporaryDirectory(prefix="wit2witx-regen-") as tmp:
        root = Path(tmp) / PACKAGE
        shutil.copytree(src / PACKAGE, root)
        for dep in DEPS:
            shutil.copytree(src / dep, root / "deps" / dep)
        return dict(compiler.compile([str(root)], emit=emit))


def compile_cli(corpus: Path, emit: list[str]) -> dict[str, str]:
    """`wit2witx --world wasi:cli/imports` on WASI 0.2.12 wasi:cli (every other WASI
    package a dependency): the wasi-cli host's modules come from it."""
    return compile_world(corpus, "cli", "wasi:cli/imports", emit)


def compile_world(corpus: Path, package: str, world: str, emit: list[str] | str) -> dict[str, str]:
    """`wit2witx --world WORLD` on WASI 0.2.12 `package` with every other WASI package
    a dependency."""
    from .. import compiler  # noqa: PLC0415

    src = Path(corpus) / "wasi-p2"
    with tempfile.TemporaryDirectory(prefix="wit2witx-regen-") as tmp:
        root = Path(tmp) / package
        shutil.copytree(src / package, root)
        for dep in sorted(p.name for p in src.iterdir() if p.is_dir() and p.name != package):
            shutil.copytree(src / dep, root / "deps" / dep)
        return dict(compiler.compile([str(root)], emit=emit, world=world))


def compile_http(corpus: Path, emit: list[str] | str) -> dict[str, str]:
    """`wit2witx --world wasi:http/proxy` on WASI 0.2.12 wasi:http: the wasi-http host's
    modules (and the C guests' headers and c-p2 API) come from it."""
    return compile_world(corpus, "http", "wasi:http/proxy", emit)


def generate(corpus: Path) -> dict[str, str]:
    """File name → text of every shipped module (plus the package `__init__.py`)."""
    artifacts = compile_sockets(corpus, ["host-py"])
    from . import CLI_MODULES, HTTP_MODULES, SOCKETS_MODULES  # noqa: PLC0415

    wanted = {f"{name}_host.py" for name in SOCKETS_MODULES}
    files = {name: text for name, text in artifacts.items() if name in wanted}
    cli_wanted = {f"{name}_host.py" for name in CLI_MODULES}
    files.update((name, text) for name, text in compile_cli(corpus, ["host-py"]).items()
                 if name in cli_wanted)
    wanted |= cli_wanted
    http_wanted = {f"{name}_host.py" for name in HTTP_MODULES}
    files.update((name, text) for name, text in compile_http(corpus, ["host-py"]).items()
                 if name in http_wanted)
    wanted |= http_wanted
    missing = wanted - set(files)
    if missing:
        raise RuntimeError(f"the lowering made no {', '.join(sorted(missing))}")
    files["__init__.py"] = INIT
    return dict(sorted(files.items()))


def stale_files(files: dict[str, str], folder: Path) -> list[str]:
    """Names of `files` missing from `folder` or held there with other text."""
    out = []
    for name, text in files.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def stale(corpus: Path) -> list[str]:
    """Names of shipped files that are missing or differ from a fresh generation."""
    return stale_files(generate(corpus), GENERATED)


def regen_main(argv: list[str] | None, *, prog: str, doc: str, generate, folder: Path,
               pattern: str) -> int:
    """The command line both shipped-glue folders share: `--check` reports stale files
    (exit 1); otherwise the folder is rewritten and files matching `pattern` that a
    generation no longer makes are removed."""
    ap = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = ap.parse_args(argv)
    files = generate(args.corpus)
    if args.check:
        bad = stale_files(files, folder)
        for name in bad:
            print(f"stale: {folder / name}")
        return 1 if bad else 0
    folder.mkdir(exist_ok=True)
    for old in folder.glob(pattern):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        with open(folder / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    print(f"wrote {len(files)} files to {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return regen_main(argv, prog="python -m wit2witx.hosts.regen", doc=__doc__,
                      generate=generate, folder=GENERATED, pattern="*.py")

if __name__ == "__main__":
    sys.exit(main())
