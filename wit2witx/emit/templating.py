"""The templates of every back end: Jinja2, `templates/<backend>/<name>.j2`; templates only format.

A back end builds a view model (every name, type, line and escape already decided) and
hands it to its template, which lays the text out. Users adapt that layout without
forking: folders given with `--templates DIR` (also `templates = [...]` in wit2witx.toml,
`templates=` in `compile()`) are searched before the built-in templates, so
`DIR/<backend>/<name>.j2` replaces the built-in of the same relative path, and an
override may `{% extends "builtin/<backend>/<name>.j2" %}` and fill only some of its
named blocks (banner, guard, prologue, epilogue, type_doc, function_doc...).

Cost: `jinja2` is imported only when a back end renders (so a run pays for it only if
it emits something), the environment is made once per set of template folders (one per
run; a process that compiles again reuses it), each template is compiled once per
process, and the compiled code is kept in Jinja's bytecode cache in the user cache dir
(`cache_dir()/jinja`, of bounded size) so a later process skips Jinja's compiler too.
The compiled code reads `x.y` without a call into Jinja when `x` has the attribute, and
a run without override folders renders named blocks inline (nothing can extend them).

A broken override (a syntax error, an undefined variable, an unknown `extends`) is a
`TemplateError` diagnostic naming the template file and line: exit 1, nothing written.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from .._resources import cache_dir, templates_dir
from ..diagnostics import Wit2WitxError, error

#: the prefix under which an override reaches the built-in template it extends
BUILTIN_PREFIX = "builtin/"


class TemplateError(Wit2WitxError):
    """A template (usually a user's override) does not parse or fails to render."""


def template_dirs(program) -> tuple[str, ...]:
    """The override folders of a run (`Options.templates`), in search order."""
    options = getattr(program, "options", None)
    return tuple(getattr(options, "templates", ()) or ())


def render(name: str, /, view: Any = None, *, templates: Sequence[str] = (), **context: Any) -> str:
    """Render `<name>` (e.g. "docs/module.md.j2") with `view` (as `v`) and `context`.

    `templates` are the run's override folders, searched before the built-ins."""
    env = environment(tuple(os.fspath(t) for t in templates))
    if view is not None:
        context["v"] = view
    try:
        return env.get_template(name).render(context)
    except Exception as exc:  # noqa: BLE001 - only template failures become diagnostics
        diagnostic = _template_diagnostic(exc, name)
        if diagnostic is None:
            raise
        raise TemplateError(diagnostic) from None


@lru_cache(maxsize=8)
def environment(dirs: tuple[str, ...] = ()):
    """The Jinja environment of a set of override folders (none: the built-ins only)."""
    import jinja2  # noqa: PLC0415 - ~15 ms a run that renders nothing need not pay

    builtin = jinja2.FileSystemLoader(str(templates_dir()))
    environment_class = _fast_attribute_environment(jinja2)
    # Without override folders no template can extend another, so the named blocks
    # (override points) need not be separate functions: rendered inline (see below).
    inline = not dirs
    loader = jinja2.ChoiceLoader([
        jinja2.PrefixLoader({BUILTIN_PREFIX.rstrip("/"): builtin}, delimiter="/"),
        jinja2.FileSystemLoader([*dirs, str(templates_dir())]),
    ])
    env = environment_class(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        # Built-in templates change only with wit2witx; an override folder may be edited
        # between two compiles of one process, so its templates are checked for changes.
        auto_reload=bool(dirs),
        cache_size=-1,
        bytecode_cache=_bytecode_cache(jinja2, CODEGEN_TAG + ("i" if inline else "")),
    )
    env.inline_blocks = inline
    return env


#: the code generator's version, in the bytecode cache's keys: compiled code of another
#: generator (e.g. Jinja's own, before the fast attribute path) is not reused
CODEGEN_TAG = "fa2"


def _fast_attribute_environment(jinja2):
    """An Environment whose compiled templates read `x.y` without a Python call.

    Jinja compiles `x.y` to `environment.getattr(x, "y")`, a Python function call per
    lookup (~60k of them in an all-back-ends compile of WASI 0.2). The generated code
    here asks the builtin `getattr(x, "y", missing)` first and calls Jinja's own only when
    `x` has no such attribute (a dict key, an undefined name): same result, same errors
    (StrictUndefined still fails), about a fifth of the cost per lookup. Likewise a call
    `f(a, b)` goes through `w2w_call`, which runs a macro given all its arguments
    directly and leaves everything else to Jinja's `context.call`."""
    from jinja2.compiler import CodeGenerator, optimizeconst  # noqa: PLC0415 - jinja2 is being imported

    class FastAttributeCodeGenerator(CodeGenerator):
        def visit_Getattr(self, node, frame) -> None:
            if self.environment.is_async:
                super().visit_Getattr(node, frame)
                return
            # `x` is written twice but evaluated twice only on the slow path, which reads
            # a dict or fails; the walrus name is local to the generated function.
            self.write("(_w2w_attr if (_w2w_attr := getattr(")
            self.visit(node.node, frame)
            self.write(f", {node.attr!r}, missing)) is not missing else environment.getattr(")
            self.visit(node.node, frame)
            self.write(f", {node.attr!r}))")

        @optimizeconst  # as Jinja's: a call it can make at compile time is text
        def visit_Call(self, node, frame, forward_caller: bool = False) -> None:
            env = self.environment
            if env.is_async or env.sandboxed or forward_caller or node.kwargs \
                    or node.dyn_args or node.dyn_kwargs:
                super().visit_Call(node, frame, forward_caller=forward_caller)
                return
            # `f(a, b)`: a macro called with all its arguments goes straight to its body
            self.write("environment.w2w_call(context, ")
            self.visit(node.node, frame)
            for arg in node.args:
                self.write(", ")
                self.visit(arg, frame)
            if frame.loop_frame:
                self.write(", _loop_vars=_loop_vars")
            if frame.block_frame:
                self.write(", _block_vars=_block_vars")
            self.write(")")

    macro_class = jinja2.runtime.Macro

    class FastAttributeEnvironment(jinja2.Environment):
        code_generator_class = FastAttributeCodeGenerator
        inline_blocks = False

        def w2w_call(self, context, func, *args, **scope):
            """`context.call(func, *args, **scope)`, but a macro given exactly its
            arguments (no caller, no `*args`/`**kwargs` of its own, no autoescape) runs
            its body directly: what `Macro.__call__` would decide, without its argument
            matching (~1000 macro calls a WASI 0.2 compile)."""
            if (type(func) is macro_class and len(args) == func._argument_count
                    and not (func.caller or func.catch_kwargs or func.catch_varargs)
                    and not context.eval_ctx.autoescape):
                return func._func(*args)
            return context.call(func, *args, **scope)

        def _parse(self, source, name, filename):
            tree = super()._parse(source, name, filename)
            if self.inline_blocks:
                _inline_blocks(tree, jinja2.nodes)
            return tree

    return FastAttributeEnvironment


def _inline_blocks(node, nodes) -> None:
    """Every `{% block %}` of a template becomes a plain scope of its body.

    Jinja renders a block through its own function with a context derived for it
    (~1500 a WASI 0.2 compile: blocks in loops), which only an extending template needs.
    A scope keeps the body's `{% set %}` to itself; the body sees the names around it,
    as a `scoped` block does (the built-in templates render with both, byte for byte)."""
    for _, value in node.iter_fields():
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, nodes.Block):
                    item = value[i] = nodes.Scope(item.body, lineno=item.lineno)
                if isinstance(item, nodes.Node):
                    _inline_blocks(item, nodes)
        elif isinstance(value, nodes.Node):
            _inline_blocks(value, nodes)


#: how many compiled templates the bytecode cache keeps of each kind (the newest): the
#: built-ins (16 a version; a few installs or versions side by side) and overrides
#: (every override folder, e.g. a temporary one, adds its own entries)
CACHE_LIMITS = {"builtin": 128, "override": 64}


def _bytecode_cache(jinja2, tag: str):
    """Jinja's bytecode cache in the user cache dir; a read-only or missing one only
    costs the compile it would have saved.

    Entries are named by kind (`builtin-<key>.cache`, `override-<key>.cache`; Jinja's
    key is the template's name and path), and a write that takes a kind past its
    `CACHE_LIMITS` removes that kind's oldest entries, so that the cache does not grow
    with every override folder ever used. Entries of earlier wit2witx versions (no kind
    in the name) go at the first write."""
    builtin_root = os.path.join(str(templates_dir()), "")

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def get_cache_key(self, name: str, filename: str | None = None) -> str:
            kind = "builtin" if filename and filename.startswith(builtin_root) else "override"
            return f"{kind}-{tag}{super().get_cache_key(name, filename)}"

        def load_bytecode(self, bucket) -> None:
            try:
                with open(self._get_cache_filename(bucket), "rb") as fh:
                    data = fh.read()
            except OSError:
                return
            _read_bucket(bucket, data, jinja2.bccache.bc_magic)

        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                return
            _prune_cache(self.directory, bucket.key.split("-", 1)[0])

    directory = cache_dir() / "jinja"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return QuietCache(str(directory), "%s.cache")


def _read_bucket(bucket, data: bytes, magic: bytes) -> None:
    """`Bucket.load_bytecode` (magic, pickled checksum, marshalled code) from bytes:
    `marshal.load` on a file reads it piece by piece, five times slower than `loads`
    (~0.15 ms a template). A damaged entry is a miss."""
    import io  # noqa: PLC0415 - only runs that render read the cache (jinja2 has these loaded)
    import marshal  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    stream = io.BytesIO(data)
    try:
        if stream.read(len(magic)) != magic or pickle.load(stream) != bucket.checksum:
            bucket.reset()
            return
        bucket.code = marshal.loads(memoryview(data)[stream.tell():])
    except Exception:  # noqa: BLE001 - whatever the damage, the entry is only a miss
        bucket.reset()


def _prune_cache(directory: str, kind: str) -> None:
    """Keep the newest `CACHE_LIMITS[kind]` entries of `kind`; remove unnamed ones."""
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(".cache")]
    except OSError:
        return
    stale = [e for e in entries if "-" not in e.name]
    same_kind = [e for e in entries if e.name.startswith(f"{kind}-")]
    if len(same_kind) > CACHE_LIMITS[kind]:
        same_kind.sort(key=_modified)
        stale += same_kind[:len(same_kind) - CACHE_LIMITS[kind]]
    for entry in stale:
        try:
            os.unlink(entry.path)
        except OSError:
            pass  # another process removed it, or the cache is read-only: no matter


def _modified(entry: os.DirEntry) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0


# --------------------------------------------------------------------------- diagnostics


def _template_diagnostic(exc: BaseException, name: str):
    """A diagnostic at the template line that failed, or None for a failure that did
    not happen in a template (a bug in a back end: it keeps its traceback)."""
    import jinja2  # noqa: PLC0415 - already imported by `environment`

    if isinstance(exc, jinja2.TemplateSyntaxError):
        return _at(exc.filename or exc.name, exc.lineno, f"template syntax error: {exc.message}", exc.source)
    if isinstance(exc, jinja2.TemplateNotFound):
        where = _template_frame(exc)
        message = f"template `{exc.name}` not found"
        return _at(where[0], where[1], message) if where else error(message)
    if isinstance(exc, (UnicodeDecodeError, OSError)):  # after TemplateNotFound, an OSError
        return error(f"cannot read the template `{name}` (or one it extends or includes): {exc}")
    where = _template_frame(exc)
    if where is None:
        return None
    if isinstance(exc, jinja2.UndefinedError):
        message = f"template error: {exc.message}"
    else:
        message = f"template error: {type(exc).__name__}: {exc}"
    return _at(where[0], where[1], message)


def _template_frame(exc: BaseException) -> tuple[str, int] | None:
    """(file, line) of the innermost template frame of the failure, if any.

    Jinja rewrites a failing render's traceback so that a template's frames carry the
    template's file name and line."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _at(filename: str | None, line: int | None, message: str, source: str | None = None):
    """A diagnostic underlining line `line` of the template `filename`."""
    from ..diagnostics import SourceFile  # noqa: PLC0415

    if not filename:
        return error(message)
    if source is None:
        try:
            source = Path(filename).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return error(f"{message} ({filename}:{line})")
    file = SourceFile(filename, source)
    line = max(1, min(line or 1, len(file.line_starts)))
    start = file.line_starts[line - 1]
    text = file.line_text(line)
    indent = len(text) - len(text.lstrip())
    return error(message, file.span(start + indent, start + max(len(text), indent + 1)))


__all__ = ["render", "environment", "template_dirs", "TemplateError", "BUILTIN_PREFIX"]
