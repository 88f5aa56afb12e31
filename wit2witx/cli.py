"""The `wit2witx` command: argument handling only; the work is in `compiler`.

Exit status: 0 success, 1 invalid input, 2 usage error, 3 `--check` found generated
files missing, stale, edited or orphaned (or `--fail-on-change` changed OUT), 70
internal error (a bug: please report it); 130 after Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

try:
    import typer
except KeyboardInterrupt:  # Ctrl-C while the command starts: exit as one later does,
    raise SystemExit(130) from None  # not with a traceback of the import

from . import __version__
from .records import record

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_STALE, EXIT_INTERNAL = 0, 1, 2, 3, 70

#: `--emit`'s default: a config file's `emit` replaces it
DEFAULT_EMIT = ["witx,c"]

HELP = """Backport WIT interfaces to WASI Preview 1: WITX, C headers and host glue.

PATH is a WIT package folder (its deps/ folder holds dependencies), a .wit file, a
WIT package encoded as wasm (.wasm, or .wat text), or .witx files. Without PATH, the
inputs, -o and options come from ./wit2witx.toml (or --config FILE): keys paths, out,
emit, world, features, all-features, deps, module-names (a table), prefix,
skip-unsupported; paths relative to that file.

\b
Examples:
  wit2witx wasi-sockets/ -o out/                 WITX + C headers for every interface
  wit2witx wasi-sockets/ --emit host-c,host-wamr -o out/
  wit2witx sensors.wit --emit witx -o -          one module's WITX on stdout
  wit2witx wasi-sockets/ -o out/ --check         exit 3 if out/ is stale (pre-commit)
  wit2witx wasi_snapshot_preview1.witx --emit c -o include/

\b
Commands:
  wit2witx run GUEST.wasm [--runtime wasmtime|wasm3|wamr] [--host wasi-sockets] [-- ARGS]
                          run a P1 guest in wasmtime, wasm3 or WAMR with reference
                          hosts (see `wit2witx run --help`)

A folder named `run` is a PATH when a compiler option such as -o follows it, or as ./run.

OUT is replaced as a whole (all or nothing); files in it that wit2witx did not generate
are kept. OUT/.wit2witx-manifest lists what it generated, so --check also reports
generated files edited by hand or no longer generated, and a run removes the latter.
"""

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _use_color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _say(message: str, *, err: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(message + "\n")


def _version_callback(value: bool) -> None:
    if value:
        _say(f"wit2witx {__version__}", err=False)
        raise typer.Exit(EXIT_OK)


def _parse_module_names(pairs: list[str]) -> dict[str, str]:
    from .diagnostics import UsageError

    names: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--module-name takes INTERFACE=NAME, got `{pair}`")
        names[key] = value
    return names


def _parse_pairs(pairs: list[str], option: str) -> dict[str, str]:
    from .diagnostics import UsageError

    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{option} takes INTERFACE=NAME, got `{pair}`")
        out[key] = value
    return out


def _parse_yes_no(value: str, option: str) -> bool:
    from .diagnostics import UsageError

    if value not in ("yes", "no"):
        raise UsageError(f"{option} takes yes or no, got `{value}`")
    return value == "yes"


def _split_list(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


CONFIG_KEYS = {
    "paths": list, "out": str, "emit": list, "world": str, "features": list,
    "all-features": bool, "deps": list, "module-names": dict, "prefix": str,
    "skip-unsupported": bool, "templates": list,
}


def _load_config(path: str, required: bool) -> dict:
    """Read a wit2witx.toml; paths in it are relative to its folder."""
    import tomllib

    from .diagnostics import UsageError

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        if required:
            raise UsageError(f"config file `{path}` not found") from None
        raise UsageError("no PATH given and no wit2witx.toml here; "
                         "see `wit2witx --help`") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config `{path}`: {exc}") from None
    table = data.get("tool", {}).get("wit2witx", data)
    for key, value in table.items():
        kind = CONFIG_KEYS.get(key)
        if kind is None:
            raise UsageError(f"{path}: unknown key `{key}` (known: {', '.join(CONFIG_KEYS)})")
        if kind is list and isinstance(value, str):
            value = [value]
        if not isinstance(value, kind):
            raise UsageError(f"{path}: `{key}` must be a {kind.__name__}")
        table[key] = value
    base = os.path.dirname(path)

    def locate(value: str) -> str:
        expanded = os.path.expandvars(value)
        if "$" in expanded:
            raise UsageError(f"{path}: `{value}` names an environment variable that is not set")
        return os.path.normpath(os.path.join(base, expanded))

    for key in ("paths", "deps", "templates"):
        if key in table:
            table[key] = [locate(p) for p in table[key]]
    if "out" in table and table["out"] != "-":
        table["out"] = locate(table["out"])
    return table


@app.command(help=HELP)
def compile_command(
    paths: Optional[List[str]] = typer.Argument(None, metavar="[PATH]...", show_default=False),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="Output folder, or - for stdout (one file only)."),
    emit: List[str] = typer.Option(list(DEFAULT_EMIT), "--emit", help="Back ends, comma-separated or repeated: witx, c, host-c, host-wasm3, host-wamr, host-py, docs, json, c-p2 (wit-bindgen's C API for a --world's imports)."),
    world: Optional[str] = typer.Option(None, "--world", help="Backport only the interfaces this world imports and exports."),
    features: List[str] = typer.Option([], "--features", help="Enable @unstable features (comma-separated or repeated)."),
    all_features: bool = typer.Option(False, "--all-features", help="Enable every @unstable feature."),
    deps: List[str] = typer.Option([], "--deps", help="Extra dependency folder (repeatable)."),
    module_name: List[str] = typer.Option([], "--module-name", help="Rename a P1 module: INTERFACE=NAME (e.g. wasi:sockets/tcp=tcp)."),
    prefix: Optional[str] = typer.Option(None, "--prefix", help="C identifier prefix of the guest headers (default: module name + _, __wasi_ for wasi_snapshot_preview1); the host glue keeps module-name prefixes."),
    skip_unsupported: bool = typer.Option(False, "--skip-unsupported", help="Leave out WASI 0.3 items (async, stream, future) with a warning instead of failing."),
    rename: List[str] = typer.Option([], "--rename", help="c-p2: C prefix of an interface, INTERFACE=NAME (as wit-bindgen's, e.g. wasi:io/streams@0.2.12=streams)."),
    rename_world: Optional[str] = typer.Option(None, "--rename-world", help="c-p2: the world's C name (files, string and primitive types), e.g. wasip2."),
    autodrop_borrows: str = typer.Option("no", "--autodrop-borrows", help="c-p2: yes|no, as wit-bindgen's (yes: no _drop_borrow helpers)."),
    templates: List[str] = typer.Option([], "--templates", help="Folder of template overrides, searched before the built-ins: DIR/<backend>/<name>.j2 (repeatable)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 3 if generated files in OUT are missing, stale, edited or no longer generated."),
    fail_on_change: bool = typer.Option(False, "--fail-on-change", help="Write OUT, then exit 3 if any file was created or changed (pre-commit)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only errors."),
    config: Optional[str] = typer.Option(None, "--config", help="Read inputs and options from this TOML file."),
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
) -> None:
    from . import compiler
    from .diagnostics import Wit2WitxError

    color = _use_color(sys.stderr)
    given = _Inputs(paths or [], out, emit, world, features, all_features, deps, module_name,
                    prefix, skip_unsupported, templates)
    try:
        inputs = _with_config(given, config)
        _check_inputs(inputs, check or fail_on_change, compiler)
        options = dict(
            emit=inputs.emit, world=inputs.world,
            features=_split_list(inputs.features), all_features=inputs.all_features,
            deps=inputs.deps, module_names=_parse_module_names(inputs.module_name),
            prefix=inputs.prefix, skip_unsupported=inputs.skip_unsupported,
            renames=_parse_pairs(rename, "--rename"), rename_world=rename_world,
            autodrop_borrows=_parse_yes_no(autodrop_borrows, "--autodrop-borrows"),
            templates=inputs.templates,
        )

        def say_warnings(warnings) -> None:
            if not quiet:
                for warning in warnings:
                    _say(warning.render(color=color))

        if check or inputs.out == "-":
            artifacts = compiler.compile(inputs.paths, **options)
            say_warnings(artifacts.warnings)
            _deliver(artifacts, inputs.out, check, quiet, compiler)
        else:  # each file goes to OUT's staging folder as it is made, none kept in memory
            artifacts, written = compiler.compile_into(inputs.out, inputs.paths,
                                                       on_warnings=say_warnings, **options)
            _report_write(artifacts, written, inputs.out, quiet, fail_on_change)
    except Wit2WitxError as exc:
        _say(exc.render(color=color))
        raise typer.Exit(EXIT_INPUT)
    except compiler.UsageError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)


@record
class _Inputs:
    """The options a config file can give too (the command line wins over it)."""

    paths: list[str]
    out: str | None
    emit: list[str]
    world: str | None
    features: list[str]
    all_features: bool
    deps: list[str]
    module_name: list[str]
    prefix: str | None
    skip_unsupported: bool
    templates: list[str]


def _with_config(given: _Inputs, config: str | None) -> _Inputs:
    """`given`, completed from `--config FILE`, or from ./wit2witx.toml (if there is
    one) when no PATH is given."""
    if not config and given.paths:
        return given
    cfg = _load_config(config or "wit2witx.toml", required=bool(config))
    module_names = [f"{k}={v}" for k, v in cfg.get("module-names", {}).items()]
    return _Inputs(
        paths=given.paths or cfg.get("paths") or [],
        out=given.out if given.out is not None else cfg.get("out"),
        emit=given.emit if given.emit != DEFAULT_EMIT else cfg.get("emit", given.emit),
        world=given.world or cfg.get("world"),
        features=given.features or cfg.get("features", []),
        all_features=given.all_features or cfg.get("all-features", False),
        deps=given.deps or cfg.get("deps", []),
        module_name=given.module_name or module_names,
        prefix=given.prefix or cfg.get("prefix"),
        skip_unsupported=given.skip_unsupported or cfg.get("skip-unsupported", False),
        templates=given.templates or cfg.get("templates", []),
    )


def _check_inputs(inputs: _Inputs, compares: bool, compiler) -> None:
    """Refuse a run without inputs or an output, or comparing OUT (`--check`,
    `--fail-on-change`) when OUT is stdout."""
    if not inputs.paths:
        raise compiler.UsageError("no input PATH given (on the command line or in the config)")
    if inputs.out is None:
        raise compiler.UsageError("missing -o/--out (a folder, or - for stdout)")
    if compares and inputs.out == "-":
        raise compiler.UsageError("--check and --fail-on-change need an output folder, not -")


def _deliver(artifacts, out: str, check: bool, quiet: bool, compiler) -> None:
    """Compare OUT (`--check`: exit 3 when it is not up to date) or print the one file
    (`-o -`)."""
    if check:
        raise typer.Exit(_report_check(compiler.check(artifacts, out), out, quiet))
    _write_stdout(artifacts, compiler)


def _report_write(artifacts, written, out: str, quiet: bool, fail_on_change: bool) -> None:
    """Say what the write changed in OUT; exit 3 with `--fail-on-change` if anything."""
    if not quiet:
        _say(f"wrote {len(artifacts)} files to {out}" + _emptied_note(artifacts))
    _report_written(written, out, quiet, fail_on_change)
    if fail_on_change and written:
        raise typer.Exit(EXIT_STALE)


def _emptied_note(artifacts) -> str:
    """The summary line's mention of interfaces --skip-unsupported left with no function."""
    count = len(getattr(artifacts, "emptied", ()))
    if not count:
        return ""
    return (f"; {count} interface{'s' if count != 1 else ''} left with no functions "
            "by --skip-unsupported (see the warnings)")


def _write_stdout(artifacts, compiler) -> None:
    if len(artifacts) != 1:
        listing = ", ".join(artifacts) or "nothing"
        raise compiler.UsageError(
            f"-o - needs exactly one output file, this run makes {len(artifacts)}: {listing}; "
            "narrow it with --emit or --world, or give a folder")
    (text,) = artifacts.values()
    sys.stdout.write(text)


LISTED_REMOVALS = 10


def _report_written(written, out: str, quiet: bool, fail_on_change: bool) -> None:
    """Name what a run changed: removed orphans always, every change for pre-commit."""
    if fail_on_change:
        for path in written.changed:
            _say(f"updated: {os.path.join(out, path)}")
    if not quiet:
        for path in written.removed[:LISTED_REMOVALS]:
            _say(f"removed (no longer generated): {os.path.join(out, path)}")
        if len(written.removed) > LISTED_REMOVALS:
            _say(f"... and {len(written.removed) - LISTED_REMOVALS} more files no longer generated")
        for path in written.kept:
            _say(f"warning: kept {os.path.join(out, path)}: wit2witx generated it earlier "
                 "and no longer does, but it was edited since; delete it if unneeded")


#: how `--check` names each problem (`output.Stale.reason`)
CHECK_REASONS = {
    "missing": "missing",
    "stale": "stale",
    "edited": "edited (differs from what wit2witx generated there)",
    "orphaned": "orphaned (generated by an earlier run, no longer generated)",
}


def _report_check(problems, out: str, quiet: bool) -> int:
    if not problems:
        if not quiet:
            _say(f"{out} is up to date")
        return EXIT_OK
    for item in problems:
        _say(f"{CHECK_REASONS.get(item.reason, item.reason)}: {os.path.join(out, item.path)}")
        if item.diff and not quiet:
            _say(_summarize_diff(item.diff))
    _say(f"{len(problems)} generated file(s) in {out} are missing, stale, edited or no longer "
         "generated; rerun wit2witx without --check to update them")
    return EXIT_STALE


def _summarize_diff(diff: str, limit: int = 40) -> str:
    lines = diff.splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; never lets a traceback reach the user.

    Without `argv` (the `wit2witx` command, `python -m wit2witx`), a compile is the
    whole life of a short process, which frees nothing worth collecting before it ends:
    the cyclic garbage collector stays off (a compile pauses it anyway, and turning it
    back on would scan every object the compile made), and what is alive at the end is
    moved out of its sight (`gc.freeze`), so that the interpreter's final collection
    does not scan the whole heap only for the OS to free it. Measured over all of WASI
    0.2 with every back end: 15 ms, a tenth of the run. (`wit2witx run` keeps the
    collector: a guest may run for long.)
    """
    if argv is not None:
        return _main(argv)
    argv = sys.argv[1:]
    if is_run_subcommand(argv):
        return _main(argv)
    import gc  # noqa: PLC0415

    gc.disable()
    code = _main(argv)
    gc.freeze()
    return code


#: options only the compiler takes (`wit2witx run` has --host, --allow-network, --env,
#: --runtime, --wamr)
COMPILE_ONLY_OPTIONS = frozenset((
    "-o", "--out", "--emit", "--world", "--features", "--all-features", "--deps",
    "--module-name", "--prefix", "--skip-unsupported", "--check", "--fail-on-change",
    "--rename", "--rename-world", "--autodrop-borrows", "-q", "--quiet", "--config", "--version",
))


def is_run_subcommand(argv: list[str]) -> bool:
    """Whether `argv` asks for `wit2witx run`, not for compiling a folder named `run`.

    A first argument `run` is the subcommand unless an option only the compiler takes
    comes before `--` (`wit2witx run -o out` compiles the folder `run`); `./run` is
    always a path.
    """
    if not argv or argv[0] != "run":
        return False
    head = argv[1:argv.index("--")] if "--" in argv else argv[1:]
    for arg in head:
        name = arg.split("=", 1)[0]
        if name in COMPILE_ONLY_OPTIONS or (arg.startswith(("-o", "-q")) and not arg.startswith("--")):
            return False
    return True


def _main(argv: list[str]) -> int:
    try:
        if is_run_subcommand(argv):
            from .run import app as run_app

            run_app(argv[1:], prog_name="wit2witx run", standalone_mode=True)
        else:
            app(argv, prog_name="wit2witx", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in wit2witx, not bad input
        if os.environ.get("WIT2WITX_TRACEBACK"):
            raise
        _say(f"error: internal compiler error: {type(exc).__name__}: {exc}\n"
             "  = note: this is a bug in wit2witx; rerun with WIT2WITX_TRACEBACK=1 and report it")
        return EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
