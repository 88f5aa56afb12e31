"""Package discovery: which .wit files make which packages, and in what order to resolve.

Rules (as wit-parser's `Resolve::push_path`):
- a directory is one package: every `*.wit` file directly inside it (sorted by path),
  all naming the same `package` (at least one must);
- its `deps/` folder holds dependencies, one per entry (sorted by name): a folder (one
  package, its own `deps/` is not read), a single `.wit` file, or a wasm-encoded package
  (`.wasm`, or `.wat` text; recognised by content, as wit-parser does, for all three
  extensions), which is decoded and merged before any text package is resolved;
- a file may also hold nested `package ns:name { ... }` blocks, each its own package;
- a single `.wit` file is a package (plus its nested ones);
- packages are resolved dependencies first; a cycle or a package defined twice is an error.
"""

from __future__ import annotations

import os
from dataclasses import field

from .. import ir
from ..diagnostics import InputError, ResolveError, SourceFile, Span, error, read_source
from ..records import record
from . import ast


@record(slots=True)
class DeclList:
    """The top-level items of one file (or one nested package block)."""

    items: list[ast.TopItem]
    file: SourceFile


@record(slots=True)
class PackageSource:
    """One package's unresolved text: its name and the item lists of its files."""

    name: ir.PackageName
    name_span: Span
    decls: list[DeclList]
    docs: str | None = None
    origin: str = ""  # the folder or file it came from, for messages
    is_main: bool = False
    foreign: list[tuple[str, Span]] = field(default_factory=list)  # (package, first span)


def package_name(pkg: ast.PackageName) -> ir.PackageName:
    return ir.PackageName(pkg.namespace.name, pkg.name.name, pkg.version)


def _parse(path: str) -> ast.File:
    from .parser import parse_file  # lazy: the parser loads a grammar

    return parse_file(read_source(path))


def _wit_files(folder: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise InputError(error(f"cannot read directory `{folder}`: {exc.strerror or exc}")) from None
    files = []
    for name in names:
        full = os.path.join(folder, name)
        if name.endswith(".wit") and not os.path.isdir(full):
            files.append(full)
    return sorted(files)


def _split_file(parsed: ast.File, source: SourceFile) -> tuple[DeclList, list[PackageSource]]:
    """A file's own items, and its nested packages (each a package of its own)."""
    own: list[ast.TopItem] = []
    nested: list[PackageSource] = []
    for item in parsed.items:
        if isinstance(item, ast.NestedPackage):
            for inner in item.items:
                if isinstance(inner, ast.NestedPackage):
                    raise ResolveError(error("nested packages must be placed at the top-level",
                                             inner.package.span))
            nested.append(PackageSource(
                package_name(item.package), item.package.span,
                [DeclList(list(item.items), source)], item.docs, source.path))
        else:
            own.append(item)
    return DeclList(own, source), nested


def _docs_span(source: SourceFile, header: Span) -> Span:
    """Where the doc comment above a `package` header starts (the AST keeps no span)."""
    line = header.line
    first = line
    while first > 1:
        text = source.line_text(first - 1).strip()
        if text.startswith(("///", "/**", "*")) or text.endswith("*/"):
            first -= 1
        else:
            break
    if first == line:
        return header
    start = source.line_starts[first - 1]
    text = source.line_text(first)
    start += len(text) - len(text.lstrip())
    return source.span(start, start + len(text.strip()))


def _source_of(parsed: ast.File) -> SourceFile:
    if parsed.span is not None:
        return parsed.span.file
    return SourceFile(parsed.path, "")


def _group(files: list[str], origin: str, *, is_main: bool) -> list[PackageSource]:
    """Parse the files of one package folder (or one file): main package last, nested first."""
    decls: list[DeclList] = []
    nested: list[PackageSource] = []
    name: ir.PackageName | None = None
    name_span: Span | None = None
    docs: str | None = None
    first_file: SourceFile | None = None
    for path in files:
        parsed = _parse(path)
        source = _source_of(parsed)
        first_file = first_file or source
        own, inner = _split_file(parsed, source)
        nested.extend(inner)
        decls.append(own)
        header = parsed.package
        if header is None:
            continue
        this = package_name(header)
        if name is not None and this != name:
            raise ResolveError(error(
                f"package identifier `{this}` does not match previous package name of `{name}`",
                header.span))
        name, name_span = this, name_span or header.span
        if parsed.package_docs:
            if docs is not None:
                raise ResolveError(error("found doc comments on multiple 'package' items",
                                         _docs_span(source, header.span)))
            docs = parsed.package_docs
    if name is None:
        span = first_file.span(0, 0) if first_file is not None else None
        if first_file is None:
            raise InputError(error(f"no .wit files found in `{origin}`"))
        raise ResolveError(error("no `package` header was found in any WIT file for this package",
                                 span, f"in {origin}"))
    assert name_span is not None
    main = PackageSource(name, name_span, decls, docs, origin, is_main)
    return [*nested, main]


def load_folder(folder: str, *, is_main: bool) -> list[PackageSource]:
    return _group(_wit_files(folder), folder, is_main=is_main)


def load_file(path: str, *, is_main: bool) -> list[PackageSource]:
    return _group([path], path, is_main=is_main)


@record(slots=True)
class EncodedPackage:
    """A WIT package encoded as wasm: decoded by `decode.py`, not parsed."""

    path: str
    data: bytes
    is_main: bool = False


@record(slots=True)
class Discovery:
    """Everything reachable from the inputs, in the order wit-parser meets it."""

    packages: list[PackageSource] = field(default_factory=list)
    encoded: list[EncodedPackage] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)  # dependency folders looked in


def _encoded(path: str, is_main: bool) -> EncodedPackage | None:
    """The file as an encoded package if its content is wasm (binary or text)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None  # `read_source` reports it when the file is read as WIT
    # Cheap first: WIT text never starts with `\0`, `(` or `;`, so plain WIT files
    # do not pay for importing the wasm readers.
    if data.lstrip()[:1] not in (b"\0", b"(", b";"):
        return None
    from .decode import is_wasm

    return EncodedPackage(path, data, is_main) if is_wasm(data) else None


def _load_file_or_encoded(path: str, found: Discovery, *, is_main: bool) -> None:
    encoded = _encoded(path, is_main)
    if encoded is not None:
        found.encoded.append(encoded)
    else:
        found.packages.extend(load_file(path, is_main=is_main))


def load_deps_folder(folder: str, found: Discovery) -> None:
    """Every dependency in a `deps/` folder: sub-folders, single `.wit` files and
    wasm-encoded packages; other files are ignored (`.DS_Store`, READMEs)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise InputError(error(f"cannot read directory `{folder}`: {exc.strerror or exc}")) from None
    for name in names:
        full = os.path.join(folder, name)
        if not os.path.exists(full):
            # A dangling symlink (or a loop of them): wasm-tools stops at any entry of a
            # dependency folder it cannot follow, whatever its name; skipping it would
            # resolve against other (stale) packages without a word.
            raise InputError(error(
                f"dependency `{full}` is a symbolic link to "
                f"`{_link_target(full)}`, which does not exist"))
        if os.path.isdir(full):
            found.packages.extend(load_folder(full, is_main=False))
        elif name.endswith((".wit", ".wasm", ".wat")):
            _load_file_or_encoded(full, found, is_main=False)


def _link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def discover(paths: list[str], extra_deps: list[str]) -> Discovery:
    """All packages reachable from the inputs, and the dependency folders searched."""
    found = Discovery()
    for path in paths:
        if not os.path.exists(path):
            raise InputError(error(f"no such file or directory: `{path}`"))
        if os.path.isdir(path):
            found.packages.extend(load_folder(path, is_main=True))
            deps_dir = os.path.join(path, "deps")
            found.searched.append(deps_dir)
            if os.path.isdir(deps_dir):
                load_deps_folder(deps_dir, found)
        else:
            _load_file_or_encoded(path, found, is_main=True)
    for folder in extra_deps:
        if not os.path.isdir(folder):
            raise InputError(error(f"dependency folder not found: `{folder}`"))
        found.searched.append(folder)
        load_deps_folder(folder, found)
    return found


def foreign_packages(src: PackageSource) -> list[tuple[str, Span]]:
    """Packages this one names in `use`/`import`/`include` paths: (name, first span)."""
    seen: dict[str, Span] = {}

    def note(path: ast.UsePath) -> None:
        if isinstance(path, ast.PackagePath):
            key = str(package_name(path.package))
            seen.setdefault(key, path.package.span)

    def walk_iface_items(items: list) -> None:
        for it in items:
            if isinstance(it, ast.Use):
                note(it.path)

    for decl in src.decls:
        for item in decl.items:
            if isinstance(item, ast.TopLevelUse):
                note(item.path)
            elif isinstance(item, ast.Interface):
                walk_iface_items(item.items)
            elif isinstance(item, ast.World):
                for wi in item.items:
                    if isinstance(wi, (ast.Use, ast.Include)):
                        note(wi.path)
                    elif isinstance(wi, ast.Extern):
                        kind = wi.kind
                        if isinstance(kind, ast.PackagePath):
                            note(kind)
                        elif isinstance(kind, ast.NamedPath):  # `import label: path;`
                            note(kind.path)
                        elif isinstance(kind, ast.InlineInterface):
                            walk_iface_items(kind.items)
    return list(seen.items())


def sort_packages(packages: list[PackageSource]) -> list[PackageSource]:
    """Dependencies before dependents; duplicates and cycles are errors."""
    by_name: dict[str, PackageSource] = {}
    for pkg in packages:
        key = str(pkg.name)
        prev = by_name.get(key)
        if prev is not None:
            a, b = pkg.name_span, prev.name_span
            raise ResolveError(error(
                f"package `{key}` is defined in two different locations", a,
                f"also defined at {b.path}:{b.line}:{b.col}"))
        by_name[key] = pkg
        pkg.foreign = foreign_packages(pkg)
    order = _DependencyOrder(by_name)
    # wit-parser visits packages in name order (a BTreeMap); same here, for equal results.
    for key in sorted(by_name):
        order.visit(by_name[key])
    return order.packages


class _DependencyOrder:
    """A depth-first walk of the packages' references: each package after those it names.

    An object rather than a nested function: a closure that calls itself is a reference
    cycle (function -> cell -> function), and it would keep every package's AST alive
    until the cyclic collector found it (and make the collector scan all of it).
    """

    def __init__(self, by_name: dict[str, PackageSource]) -> None:
        self.by_name = by_name
        self.packages: list[PackageSource] = []
        self.done: set[str] = set()
        self.visiting: set[str] = set()  # the packages on the current path

    def visit(self, pkg: PackageSource) -> None:
        key = str(pkg.name)
        if key in self.done:
            return
        for dep, span in pkg.foreign:
            if dep in self.visiting:
                raise ResolveError(error(f"package `{dep}` creates a dependency cycle", span))
            dep_pkg = self.by_name.get(dep)
            if dep_pkg is not None:
                self.visiting.add(dep)
                self.visit(dep_pkg)
                self.visiting.discard(dep)
        self.done.add(key)
        self.packages.append(pkg)
