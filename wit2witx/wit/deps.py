"""Package discovery: which .wit files make which packages, and in what order to resolve.

Rules (as wit-parser's `Resolve::push_path`):
- a directory is one package: every `*.wit` file directly inside it (sorted by path),
  all naming the same `package` (at least one must);
- its `deps/` folder holds dependencies, one per entry (sorted by name): a folder (one
  package, its own `deps/` is not read) or a single `.wit` file;
- a file may also hold nested `package ns:name { ... }` blocks, each its own package;
- a single `.wit` file is a package (plus its nested ones);
- packages are resolved dependencies first; a cycle or a package defined twice is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import ir
from ..diagnostics import InputError, ResolveError, SourceFile, Span, error, read_source
from . import ast


@dataclass(slots=True)
class DeclList:
    """The top-level items of one file (or one nested package block)."""

    items: list[ast.TopItem]
    file: SourceFile


@dataclass(slots=True)
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


def load_deps_folder(folder: str) -> list[PackageSource]:
    """Every dependency in a `deps/` folder: sub-folders and single `.wit` files."""
    found: list[PackageSource] = []
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise InputError(error(f"cannot read directory `{folder}`: {exc.strerror or exc}")) from None
    for name in names:
        full = os.path.join(folder, name)
        if os.path.isdir(full):
            found.extend(load_folder(full, is_main=False))
        elif name.endswith(".wit"):
            found.extend(load_file(full, is_main=False))
        # `.wasm`/`.wat` binary-encoded packages are not supported; ignored like
        # any other file.
    return found


def binary_packages(folders: list[str]) -> list[str]:
    """`.wasm`/`.wat` files in dependency folders: binary-encoded WIT packages, which
    wit2witx does not read (named in the "not found" diagnostic so users know why)."""
    found = []
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        found.extend(os.path.join(folder, n) for n in names if n.endswith((".wasm", ".wat")))
    return found


def discover(paths: list[str], extra_deps: list[str]) -> tuple[list[PackageSource], list[str]]:
    """All packages reachable from the inputs, and the dependency folders searched."""
    packages: list[PackageSource] = []
    searched: list[str] = []
    for path in paths:
        if not os.path.exists(path):
            raise InputError(error(f"no such file or directory: `{path}`"))
        if os.path.isdir(path):
            packages.extend(load_folder(path, is_main=True))
            deps_dir = os.path.join(path, "deps")
            searched.append(deps_dir)
            if os.path.isdir(deps_dir):
                packages.extend(load_deps_folder(deps_dir))
        else:
            packages.extend(load_file(path, is_main=True))
    for folder in extra_deps:
        if not os.path.isdir(folder):
            raise InputError(error(f"dependency folder not found: `{folder}`"))
        searched.append(folder)
        packages.extend(load_deps_folder(folder))
    return packages, searched


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
    order: list[PackageSource] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(pkg: PackageSource) -> None:
        key = str(pkg.name)
        if key in done:
            return
        for dep, span in pkg.foreign:
            if dep in visiting:
                raise ResolveError(error(f"package `{dep}` creates a dependency cycle", span))
            dep_pkg = by_name.get(dep)
            if dep_pkg is not None:
                visiting.add(dep)
                visit(dep_pkg)
                visiting.discard(dep)
        done.add(key)
        order.append(pkg)

    # wit-parser visits packages in name order (a BTreeMap); same here, for equal results.
    for key in sorted(by_name):
        visit(by_name[key])
    return order
