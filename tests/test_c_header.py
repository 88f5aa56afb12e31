"""The C header back end, checked against the real wasi-libc `wasi/api.h` and real zig.

All numbers (sizes, alignments, offsets, constant values, core signatures) come from
compiling probe programs (tests/cfacts.py); none is written down here.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

import cfacts
from conftest import FIXTURES, corpus_path, zig_cc, ziglang_api_h
from wit2witx.diagnostics import UnsupportedError, Wit2WitxError
from wit2witx.emit import c_header
from wit2witx.emit.c_header import emit_c_header
from wit2witx.p1 import abi
from wit2witx.witx.reader import read_witx, read_witx_text

PREVIEW1 = ("witx", "preview1", "wasi_snapshot_preview1.witx")

# Every difference between our preview1 header and wasi-libc's api.h, with its reason.
# Keys are "<kind>:<name>" (fnmatch patterns); each entry must still be needed.
STRINGS_REASON = (
    "api.h's wrapper takes a NUL-terminated `const char *` and calls strlen; our prototype "
    "is the import itself, so it takes the (pointer, length) pair the witx ABI passes"
)
SIGNAL_REASON = (
    "the corpus witx (WASI branch wasi-0.1) still has `signal`/`proc_raise`; wasi-libc "
    "removed them from api.h"
)
ONLY_OURS = {
    "type:__wasi_signal_t": SIGNAL_REASON,
    "const:__WASI_SIGNAL_*": SIGNAL_REASON,
    "function:__wasi_proc_raise": SIGNAL_REASON,
    "import:wasi_snapshot_preview1.proc_raise": SIGNAL_REASON,
}
ONLY_THEIRS = {
    "const:__WASI_DIRCOOKIE_START": "added to api.h by hand ('TODO: Encoding this in witx'); "
                                     "the preview1 witx has no `@witx const` for it",
}
STRING_PARAM_FUNCTIONS = {
    f"function:__wasi_{name}": STRINGS_REASON
    for name in (
        "path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link",
        "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
        "path_unlink_file",
    )
}


def _allowed(key: str, allow: dict[str, str]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in allow)


def _unexplained(keys: set[str], allow: dict[str, str]) -> list[str]:
    return sorted(k for k in keys if not _allowed(k, allow))


def _stale(keys: set[str], allow: dict[str, str], kind: str) -> list[str]:
    return sorted(p for p in allow if p.startswith(kind + ":")
                  and not any(fnmatch.fnmatchcase(k, p) for k in keys))


# --------------------------------------------------------------------------- fixtures


def _write_header(doc, directory: Path, name: str, **kwargs) -> Path:
    path = directory / name
    path.write_text(emit_c_header(doc, **kwargs))
    return path


@pytest.fixture(scope="module")
def preview1_doc():
    return read_witx(corpus_path(*PREVIEW1))


@pytest.fixture(scope="module")
def ours(preview1_doc, tmp_path_factory) -> cfacts.HeaderFacts:
    header = _write_header(preview1_doc, tmp_path_factory.mktemp("p1"), "wasi_snapshot_preview1.h")
    return cfacts.extract_facts(header, macro_prefix="__WASI_")


@pytest.fixture(scope="module")
def theirs() -> cfacts.HeaderFacts:
    api_h = ziglang_api_h()
    # wasi-libc's generated import declarations ship next to its headers in zig.
    real = api_h.parents[3] / "wasi" / "libc-bottom-half" / "sources" / "__wasilibc_real.c"
    assert real.exists(), f"missing {real}"
    return cfacts.extract_facts(api_h, macro_prefix="__WASI_", extra_sources=[real])


# --------------------------------------------------------------------------- api.h identity


def test_extractor_sees_the_whole_of_api_h(theirs):
    # Guards against a silently broken extractor making the comparisons vacuous.
    assert len(theirs.types) >= 40
    assert len(theirs.constants) >= 150
    assert len(theirs.functions) >= 40
    assert len(theirs.imports) >= 40
    event = theirs.types["__wasi_event_t"]
    assert event.kind == "struct" and event.size > 0 and len(event.offsets) == 4


def test_same_type_names(ours, theirs):
    ours_only = {f"type:{n}" for n in set(ours.types) - set(theirs.types)}
    theirs_only = {f"type:{n}" for n in set(theirs.types) - set(ours.types)}
    assert _unexplained(ours_only, ONLY_OURS) == []
    assert _unexplained(theirs_only, ONLY_THEIRS) == []
    assert _stale(ours_only, ONLY_OURS, "type") == []
    assert _stale(theirs_only, ONLY_THEIRS, "type") == []


def test_same_sizes_alignments_and_offsets(ours, theirs):
    common = sorted(set(ours.types) & set(theirs.types))
    assert len(common) >= 40
    for name in common:
        a, b = ours.types[name], theirs.types[name]
        assert (a.kind, a.size, a.align) == (b.kind, b.size, b.align), name
        assert a.offsets == b.offsets, name  # same member names, order and offsets


def test_same_member_and_alias_spellings(ours, theirs):
    for name in sorted(set(ours.types) & set(theirs.types)):
        a, b = ours.types[name], theirs.types[name]
        assert a.members == b.members, name
        assert a.aliased == b.aliased, name


def test_same_constants_and_values(ours, theirs):
    ours_only = {f"const:{n}" for n in set(ours.constants) - set(theirs.constants)}
    theirs_only = {f"const:{n}" for n in set(theirs.constants) - set(ours.constants)}
    assert _unexplained(ours_only, ONLY_OURS) == []
    assert _unexplained(theirs_only, ONLY_THEIRS) == []
    assert _stale(ours_only, ONLY_OURS, "const") == []
    assert _stale(theirs_only, ONLY_THEIRS, "const") == []
    common = sorted(set(ours.constants) & set(theirs.constants))
    assert len(common) >= 150
    assert {n: ours.constants[n] for n in common} == {n: theirs.constants[n] for n in common}


def test_same_functions(ours, theirs):
    ours_only = {f"function:{n}" for n in set(ours.functions) - set(theirs.functions)}
    theirs_only = {f"function:{n}" for n in set(theirs.functions) - set(ours.functions)}
    assert _unexplained(ours_only, ONLY_OURS) == []
    assert _unexplained(theirs_only, ONLY_THEIRS) == []
    assert _stale(ours_only, ONLY_OURS, "function") == []


def _without_string_lengths(ours_fn: cfacts.FunctionFact, theirs_fn: cfacts.FunctionFact):
    """Our params minus the `x_len` that follows each `const char *x` api.h takes alone."""
    strings = {p.name for p in theirs_fn.params if p.ctype == "const char *"}
    return tuple(p for p in ours_fn.params
                 if not (p.name.endswith("_len") and p.name[:-4] in strings and p.ctype == "size_t"))


def test_same_prototypes(ours, theirs):
    differing = set()
    for name in sorted(set(ours.functions) & set(theirs.functions)):
        a, b = ours.functions[name], theirs.functions[name]
        assert (a.returns, a.noreturn, a.warn_unused_result) == \
               (b.returns, b.noreturn, b.warn_unused_result), name
        if a.params != b.params:
            differing.add(f"function:{name}")
            # The only difference allowed is the string length, nothing else.
            assert _without_string_lengths(a, b) == b.params, name
    assert _unexplained(differing, STRING_PARAM_FUNCTIONS) == []
    assert _stale(differing, STRING_PARAM_FUNCTIONS, "function") == []


def test_same_imports_and_core_signatures(ours, theirs):
    """Our prototypes lower to exactly the imports wasi-libc's real wrappers call."""
    ours_imports = {}
    for fn in ours.functions.values():
        assert fn.import_module == "wasi_snapshot_preview1", fn.name
        assert fn.import_name == fn.name.removeprefix("__wasi_"), fn.name
        assert fn.core is not None, f"{fn.name} was not imported by the probe"
        ours_imports[(fn.import_module, fn.import_name)] = fn.core
    ours_only = {f"import:{m}.{n}" for m, n in set(ours_imports) - set(theirs.imports)}
    theirs_only = {f"import:{m}.{n}" for m, n in set(theirs.imports) - set(ours_imports)}
    assert _unexplained(ours_only, ONLY_OURS) == []
    assert _unexplained(theirs_only, ONLY_THEIRS) == []
    common = sorted(set(ours_imports) & set(theirs.imports))
    assert len(common) >= 40
    for key in common:
        assert ours_imports[key] == theirs.imports[key], key


# --------------------------------------------------------------------------- the model's ABI


def _corpus_modules() -> list[tuple[str, ...]]:
    out = [PREVIEW1, ("witx", "preview0", "wasi_unstable.witx")]
    names = ["args", "clock", "environ", "fd", "path", "poll", "proc", "random", "sched", "sock"]
    out += [("witx", "ephemeral", f"wasi_ephemeral_{n}.witx") for n in names]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("parts", _corpus_modules(), ids=lambda p: p[-1].removesuffix(".witx"))
def test_prototypes_lower_to_the_model_core_signature(parts, tmp_path):
    """What clang imports for each prototype is `p1.abi.core_signature` of the function."""
    doc = read_witx(corpus_path(*parts))
    module = doc.modules[0]
    header = _write_header(doc, tmp_path, f"{module.name}.h")
    facts = cfacts.extract_facts(header, macro_prefix=c_header.default_prefix(module.name).upper())
    by_import = {(f.import_module, f.import_name): f for f in facts.functions.values()}
    assert len(by_import) == len(module.functions)
    for func in module.functions:
        fact = by_import[(module.name, func.name)]
        sig = abi.core_signature(func)
        assert fact.core == cfacts.CoreSig(tuple(sig.param_types), tuple(sig.result_types)), func.name
        assert fact.noreturn == func.noreturn


# --------------------------------------------------------------------------- compiling


C_FLAGS = ("--target=wasm32-wasi", "-Wall", "-Wextra", "-Werror", "-c")
# C++ guests see C11 keywords (_Static_assert, _Alignof, _Noreturn): -pedantic must not
# turn them into errors either.
PEDANTIC = "-pedantic"


def _compile_including(headers: list[Path], tmp_path: Path, cxx: bool) -> None:
    # Each header twice: the include guards must make the second time a no-op.
    lines = [f'#include "{h}"' for h in headers] * 2
    src = tmp_path / ("probe.cpp" if cxx else "probe.c")
    src.write_text("\n".join(lines) + "\nint wit2witx_probe;\n")
    std = "-std=c++17" if cxx else "-std=c11"
    proc = zig_cc(*C_FLAGS, PEDANTIC, std, str(src), "-o", str(tmp_path / "probe.o"), cxx=cxx)
    assert proc.returncode == 0, proc.stderr


def _corpus_set(name: str) -> list[tuple[str, ...]]:
    return [p for p in _corpus_modules() if p[1] == name]


@pytest.mark.slow
@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++17"])
@pytest.mark.parametrize("corpus_set", ["preview1", "preview0", "ephemeral"])
def test_headers_compile_warning_free(corpus_set, cxx, tmp_path):
    """All headers of a set in one translation unit: also proves they coexist."""
    headers = []
    for parts in _corpus_set(corpus_set):
        doc = read_witx(corpus_path(*parts))
        headers.append(_write_header(doc, tmp_path, f"{doc.modules[0].name}.h"))
    _compile_including(headers, tmp_path, cxx)


@pytest.mark.slow
def test_shared_types_are_defined_once_across_headers(tmp_path):
    """Two modules emitted with one prefix share typenames.witx's types: the per-type
    guards must let a guest include both (a repeated struct definition is an error)."""
    headers = []
    for name in ("fd", "sock"):  # no function names in common
        doc = read_witx(corpus_path("witx", "ephemeral", f"wasi_ephemeral_{name}.witx"))
        headers.append(_write_header(doc, tmp_path, f"{name}.h", prefix="__wasi_"))
    text = headers[0].read_text()
    assert "typedef struct __wasi_fdstat_t {" in text  # really the same names in both
    assert "typedef struct __wasi_fdstat_t {" in headers[1].read_text()
    _compile_including(headers, tmp_path, cxx=False)


def test_header_rejects_non_wasm32_targets(preview1_doc, tmp_path):
    header = _write_header(preview1_doc, tmp_path, "p1.h")
    src = tmp_path / "native.c"
    src.write_text(f'#include "{header}"\n')
    proc = zig_cc("--target=x86_64-linux-musl", "-c", str(src), "-o", str(tmp_path / "n.o"))
    assert proc.returncode != 0
    assert "wasm32" in proc.stderr


@pytest.mark.slow
def test_fixture_header_compiles_and_calls_link_as_imports(tmp_path):
    """A guest using the fixture header: its calls become the declared imports."""
    doc = read_witx(FIXTURES / "c" / "sensors.witx")
    header = _write_header(doc, tmp_path, "demo_sensors.h")
    guest = tmp_path / "guest.c"
    guest.write_text(f'''#include "{header}"
int use_sensor(void) {{
    demo_sensors_sensor_t s;
    demo_sensors_caps_t caps;
    demo_sensors_event_t ev;
    if (demo_sensors_open("i2c0/0x40", 9, &s, &caps) != DEMO_SENSORS_ERRNO_SUCCESS) return -1;
    if (demo_sensors_poll(s, &ev) != DEMO_SENSORS_ERRNO_SUCCESS) return -2;
    if (ev.tag == DEMO_SENSORS_EVENT_SAMPLE) return (int)ev.u.sample.milli;
    if (caps & DEMO_SENSORS_CAPS_HUMIDITY) demo_sensors_halt(3);
    return 0;
}}
''')
    obj = tmp_path / "guest.o"
    proc = zig_cc(*C_FLAGS, "-std=c11", str(guest), "-o", str(obj))
    assert proc.returncode == 0, proc.stderr
    imports = {(m, n): sig for m, n, sig in cfacts.read_object(obj.read_bytes()).func_imports}
    assert set(imports) >= {("demo_sensors", "open"), ("demo_sensors", "poll"),
                            ("demo_sensors", "halt")}
    for name in ("open", "poll", "halt"):
        sig = abi.core_signature(doc.modules[0].function(name))
        assert imports[("demo_sensors", name)] == cfacts.CoreSig(
            tuple(sig.param_types), tuple(sig.result_types)), name


def test_unused_status_is_a_warning(tmp_path):
    """`__warn_unused_result__` is really on the status-returning prototypes."""
    doc = read_witx(FIXTURES / "c" / "sensors.witx")
    header = _write_header(doc, tmp_path, "demo_sensors.h")
    guest = tmp_path / "ignore.c"
    guest.write_text(f'#include "{header}"\nvoid f(demo_sensors_sensor_t s) {{ demo_sensors_poll(s, 0); }}\n')
    proc = zig_cc(*C_FLAGS, "-std=c11", str(guest), "-o", str(tmp_path / "i.o"))
    assert proc.returncode != 0
    assert "unused-result" in proc.stderr


# --------------------------------------------------------------------------- naming and API


def test_default_prefixes():
    assert c_header.default_prefix("wasi_snapshot_preview1") == "__wasi_"
    assert c_header.default_prefix("wasi_sockets_tcp") == "wasi_sockets_tcp_"


def test_custom_prefix_renames_everything():
    doc = read_witx(FIXTURES / "c" / "sensors.witx")
    text = emit_c_header(doc, prefix="ds_")
    assert "typedef int ds_sensor_t;" in text
    assert "#define DS_ERRNO_BUSY (UINT16_C(1))" in text
    assert "ds_errno_t ds_open(" in text
    assert "demo_sensors_" not in text.replace('"demo_sensors"', "")  # import module kept
    assert '__import_module__("demo_sensors")' in text


def test_header_comment_and_determinism():
    doc = read_witx(FIXTURES / "c" / "sensors.witx")
    first = emit_c_header(doc, header_comment="Made for a test.\nSecond line.\n")
    assert first.startswith("/**\n * Made for a test.\n * Second line.\n */\n")
    assert first == emit_c_header(read_witx(FIXTURES / "c" / "sensors.witx"),
                                  header_comment="Made for a test.\nSecond line.\n")


def test_docs_cannot_close_the_comment_early():
    doc = read_witx_text(
        ";;; Tricky */ docs.\n(typename $t u8)\n(module $m (@interface func (export \"f\")))\n")
    text = emit_c_header(doc)
    assert "Tricky * / docs." in text
    assert "*/ docs" not in text


def test_template_is_compiled_once():
    from wit2witx.emit.templating import environment  # noqa: PLC0415

    env = environment()
    assert environment() is env
    assert env.get_template("c/header.h.j2") is env.get_template("c/header.h.j2")


def test_anonymous_aggregates_get_synthesized_typedefs(tmp_path):
    doc = read_witx_text(
        "(typename $pair (record (field $xy (tuple u32 u64)) (field $name string)))\n"
        "(module $m (@interface func (export \"f\") (param $p $pair)))\n")
    text = emit_c_header(doc)
    assert "typedef struct m_pair_xy_t {" in text
    assert "m_pair_xy_t xy;" in text
    assert "char *name;" in text and "size_t name_len;" in text
    header = tmp_path / "m.h"
    header.write_text(text)
    facts = cfacts.extract_facts(header, macro_prefix="M_")
    # clang agrees with the witx layout (the header's own asserts checked it too).
    assert facts.types["m_pair_t"].offsets == (("xy", 0), ("name", 16), ("name_len", 20))
    assert facts.functions["m_f"].params == (cfacts.Param("p", "const m_pair_t *"),)


def test_unresolvable_input_is_a_diagnostic_not_a_traceback():
    from wit2witx.diagnostics import SourceFile
    from wit2witx.p1.model import Document, Function, Module, Param, Ref

    src = SourceFile("m.witx", '(module $m (@interface func (export "f") (param $x $missing)))')
    start = src.text.index("$missing")
    ref = Ref("missing", None, src.span(start, start + len("$missing")))
    doc = Document([Module("m", [], [Function("f", [Param("x", ref)])])])
    with pytest.raises(Wit2WitxError) as info:
        emit_c_header(doc)
    assert isinstance(info.value, UnsupportedError)
    diag = info.value.diagnostic
    assert "missing" in diag.message
    assert (diag.span.line, diag.span.col) == (1, start + 1)
    assert "^-------" in diag.render()


def test_snapshot_of_the_fixture_header(snapshot):
    """For review only; the behaviour is checked by the tests above."""
    doc = read_witx(FIXTURES / "c" / "sensors.witx")
    assert emit_c_header(doc) == snapshot


def _kitchen_sink_document():
    """Every type shape the model has, including those only the WIT lowering makes."""
    from wit2witx.p1.model import (
        Bool, Builtin, Case, ConstPointer, Document, Enum, EnumCase, Expected, Field, Flag,
        Flags, Function, Handle, IntRepr, List, Module, OptionType, Param, Pointer, Record,
        Ref, String, Tuple, TypeName, Union, Variant,
    )

    def ref(tn):
        return Ref(tn.name, tn)

    errno = TypeName("errno", Enum(IntRepr.U8, [EnumCase("ok"), EnumCase("bad")]))
    wide = TypeName("wide", Flags(IntRepr.U64, [Flag(f"b{i}") for i in range(40)]))
    res = TypeName("res", Handle())
    scalars = TypeName("scalars", Record([
        Field(n, Builtin(n)) for n in ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64",
                                       "f32", "f64", "char", "char8", "usize")
    ] + [Field("flag", Bool()), Field("handle", ref(res))]))
    bytes_ = TypeName("bytes", List(Builtin("u8")))
    shape = TypeName("shape", Variant(IntRepr.U8, [
        Case("none"), Case("point", Tuple([Builtin("s32"), Builtin("s32")])),
        Case("blob", ref(bytes_)), Case("label", String()),
        Case("maybe", OptionType(Builtin("u64"))),
        Case("outcome", Expected(Builtin("u32"), ref(errno))),
    ]))
    either = TypeName("either", Union(IntRepr.U8, [Case("l", ref(scalars)), Case("r", Builtin("f64"))]))
    holder = TypeName("holder", Record([
        Field("opt", OptionType(ref(scalars))), Field("items", List(ref(shape))),
        Field("pp", Pointer(Pointer(Builtin("u8")))), Field("cp", ConstPointer(ref(either))),
        Field("w", ref(wide)),
    ]))
    funcs = [
        Function("take", [Param("h", ref(holder)), Param("s", ref(shape)), Param("o", OptionType(Builtin("u8"))),
                          Param("t", Tuple([Builtin("u8"), Builtin("u64")])), Param("b", Bool()),
                          Param("f", Builtin("f32")), Param("w", ref(wide)), Param("text", String())],
                 [Param("error", Expected(None, ref(errno)))]),
        Function("give", [Param("r", ref(res))],
                 [Param("error", Expected(Tuple([ref(holder), ref(wide), ref(res)]), ref(errno)))]),
        Function("count", [], [Param("n", Builtin("u64"))]),
        Function("kind", [], [Param("e", ref(errno))]),
    ]
    return Document([errno, wide, res, scalars, bytes_, shape, either, holder,
                     Module("sink", [], funcs)])


@pytest.mark.slow
@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++17"])
def test_every_type_shape_compiles_with_witx_layout(cxx, tmp_path):
    # The header's own _Static_asserts compare clang's layout with p1.layout's.
    header = _write_header(_kitchen_sink_document(), tmp_path, "sink.h")
    _compile_including([header], tmp_path, cxx)


@pytest.mark.slow
def test_every_type_shape_lowers_to_the_model_core_signature(tmp_path):
    doc = _kitchen_sink_document()
    header = _write_header(doc, tmp_path, "sink.h")
    text = header.read_text()
    assert "((sink_wide_t)(UINT64_C(1) << 39))" in text  # no int overflow for high bits
    facts = cfacts.extract_facts(header, macro_prefix="SINK_")
    assert facts.constants["SINK_WIDE_B39"] == 1 << 39
    assert facts.constants["SINK_SHAPE_OUTCOME"] == 5
    for func in doc.modules[0].functions:
        sig = abi.core_signature(func)
        fact = facts.functions[f"sink_{func.name}"]
        assert fact.core == cfacts.CoreSig(tuple(sig.param_types), tuple(sig.result_types)), func.name
    # Anonymous aggregates got typedefs named after where they occur.
    for name in ("sink_shape_point_t", "sink_holder_opt_t", "sink_take_t_t", "sink_bytes_t"):
        assert name in facts.types, name


@pytest.mark.slow
def test_units_define_own_types_and_include_used_ones(tmp_path):
    from wit2witx.p1.unit import units_from_witx

    doc = read_witx_text(
        "(typename $errno (enum (@witx tag u16) $ok $bad))\n"
        "(typename $pt (record (field $x u32) (field $y (tuple u8 u16))))\n"
        '(module $alpha (@interface func (export "f") (param $p $pt)'
        " (result $e (expected (error $errno)))))\n"
        '(module $beta (@interface func (export "g") (result $e (expected $pt (error $errno)))))\n',
        "two.witx")
    units = units_from_witx(doc, "two.witx")
    headers = [_write_header(u, tmp_path, f"{u.name}.h", units=units) for u in units]
    beta = headers[1].read_text()
    assert '#include "alpha.h"' in beta
    assert "typedef" not in beta  # every type belongs to alpha
    assert "alpha_errno_t beta_g(" in beta and "alpha_pt_t *retptr0" in beta
    _compile_including(headers, tmp_path, cxx=False)


# --------------------------------------------------------------------------- WIT → P1 units


@pytest.fixture(scope="module")
def sockets_headers(tmp_path_factory) -> Path:
    """wasi:sockets 0.2 lowered by the WIT front end, one header per unit (compiler.py)."""
    import shutil

    from wit2witx import compiler

    root = tmp_path_factory.mktemp("sockets")
    pkg = root / "sockets"
    shutil.copytree(corpus_path("wasi-p2", "sockets"), pkg)
    for dep in ("io", "clocks"):
        shutil.copytree(corpus_path("wasi-p2", dep), pkg / "deps" / dep)
    artifacts = compiler.compile([str(pkg)], emit=["c"], skip_unsupported=True)
    out = root / "out"
    compiler.write(artifacts, out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++17"])
def test_wasi_sockets_headers_compile_together(sockets_headers, cxx, tmp_path):
    headers = sorted(sockets_headers.glob("*.h"))
    assert {h.name for h in headers} >= {"wasi_sockets_tcp.h", "wasi_sockets_network.h",
                                         "wasi_io_streams.h"}
    _compile_including(headers, tmp_path, cxx)


@pytest.mark.slow
def test_wasi_sockets_prototypes_lower_to_the_model_core_signature(sockets_headers, tmp_path):
    from wit2witx import compiler

    program = compiler.build_program([str(sockets_headers.parent / "sockets")],
                                     compiler.Options(emit=("c",), skip_unsupported=True))
    checked = 0
    for unit in program.units:
        module = unit.module
        if module is None:
            continue
        facts = cfacts.extract_facts(sockets_headers / f"{unit.name}.h",
                                     macro_prefix=c_header.default_prefix(unit.name).upper())
        by_import = {(f.import_module, f.import_name): f for f in facts.functions.values()}
        for func in module.functions:
            sig = abi.core_signature(func)
            fact = by_import[(module.name, func.name)]
            assert fact.core == cfacts.CoreSig(tuple(sig.param_types), tuple(sig.result_types)), \
                f"{module.name}.{func.name}"
            checked += 1
    assert checked >= 50


@pytest.mark.slow
def test_witx_constants_become_macros_like_the_hand_written_one(theirs, tmp_path):
    """The ephemeral witx has `(@witx const $dircookie $start 0)`: emitted with api.h's
    prefix it yields the very macro wasi-libc wrote by hand, with the same value."""
    doc = read_witx(corpus_path("witx", "ephemeral", "wasi_ephemeral_fd.witx"))
    header = _write_header(doc, tmp_path, "fd.h", prefix="__wasi_")
    facts = cfacts.extract_facts(header, macro_prefix="__WASI_")
    assert facts.constants["__WASI_DIRCOOKIE_START"] == theirs.constants["__WASI_DIRCOOKIE_START"]
    assert "#define __WASI_DIRCOOKIE_START (UINT64_C(0))" in header.read_text()


# --------------------------------------------------------------------------- issue 12: names and docs

from wit2witx.emit import cnames  # noqa: E402

# Each of these once gave two definitions one C name (the second silently dropped by its
# `#ifndef` guard): the tuple element of a named list, a variant's union vs a type named
# `<v>-u`, a record field's anonymous option/list vs a named type of the same spelling.
CLASHING_WIT = """package clash:names;

interface %clash {
  type metadata = list<tuple<string, string>>;
  type metadata-elem = u64;
  variant v { a(u32), b(string) }
  type v-u = u8;
  record r { f: option<u16>, g: list<tuple<u8, u32>> }
  type r-f = s64;
  record r-g { x: u8 }
  enum e { a-b, t-defined }
  enum e-a { b }
  record %this { %class: u32, %new: string, %this: metadata }
  use-all: func(m: metadata, x: v, y: r, z: r-f, w: r-g, q: e, p: e-a, s: %this, t: v-u,
                u: metadata-elem) -> result<metadata, e>;
}
"""


def _wit_package(tmp_path: Path, text: str) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "pkg.wit").write_text(text, encoding="utf-8")
    return src


def _compile_alone(header: Path, tmp_path: Path, cxx: bool, extra: str = "") -> None:
    src = tmp_path / ("alone.cpp" if cxx else "alone.c")
    src.write_text(f'#include "{header}"\n{extra}\nint alone_probe;\n')
    std = "-std=c++17" if cxx else "-std=c11"
    proc = zig_cc(*C_FLAGS, PEDANTIC, std, str(src), "-o", str(tmp_path / "alone.o"), cxx=cxx)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++17"])
def test_generated_names_never_meet_user_names(tmp_path, cxx):
    """Every typedef, union, macro and guard of the header is defined once (a duplicate
    would be dropped by its guard or be a redefinition), and it compiles."""
    import re

    from wit2witx import compile as w2w_compile

    files = w2w_compile(_wit_package(tmp_path, CLASHING_WIT), emit=("c", "host-c"))
    header = tmp_path / "clash_names_clash.h"
    text = files["clash_names_clash.h"]
    header.write_text(text)
    typedefs = re.findall(r"\} (\w+);\n|typedef [^;{]*?(\w+);\n", text)
    names = [a or b for a, b in typedefs]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    guards = re.findall(r"#ifndef (\w+_T_DEFINED)", text)
    assert len(guards) == len(set(guards))
    macros = re.findall(r"#define (\w+)", text)
    assert len(macros) == len(set(macros))
    # the user's types keep their own names; what was generated gave way
    host = files["clash_names_clash_host.h"]
    # `v` comes first: its union keeps `v_u_t`, the type `v-u` after it takes `v_u_2_t`
    assert "} clash_names_clash_v_u_t;" in text
    for user in ("metadata_t", "metadata_elem_t", "v_u_2_t", "r_f_t", "r_g_t", "this_t"):
        assert f" clash_names_clash_{user};" in text, user
        assert f" clash_names_clash_{user};" in host, user  # the host glue's names are the same
    assert "CLASH_NAMES_CLASH_E_T_DEFINED_2" in text  # the case `t-defined` vs e's guard
    # every type is usable from the guest: sizes asserted against the witx layout
    uses = "\n".join(f"clash_names_clash_{u} *u{i};" for i, u in enumerate(
        ("metadata_t", "metadata_elem_t", "v_t", "v_u_t", "r_t", "r_f_t", "r_g_t", "this_t")))
    _compile_alone(header, tmp_path, cxx, uses)


def test_doc_lines_cannot_end_continue_or_nest_a_comment():
    lines = cnames.doc_lines("ends in a backslash \\\nclose */ open /* ok\ntri ??/\n\x01ctl\x7f\tok ✓")
    assert lines[0].endswith("\\u{5c}") and not lines[0].endswith("\\")
    assert "*/" not in lines[1] and "/*" not in lines[1]
    assert "??/" not in lines[2] and not lines[2].endswith("\\")
    assert lines[3] == "\\u{1}ctl\\u{7f}\tok ✓"
    # every line is comment-safe however the text is cut
    for text in ("a\\", "*//*", "/**/", "??/\r\n??=", "x\u2028y\x0bz", "\\\\\n\\ \n"):
        for line in cnames.doc_lines(text):
            assert "*/" not in line and "/*" not in line and "??/" not in line
            assert not line.rstrip().endswith("\\") and line.isprintable() or "\t" in line


def test_plain_doc_text_takes_the_fast_path_with_the_same_lines():
    """Printable ASCII docs skip the character-by-character escape; they get the lines
    the escape would give them (random texts near every special case)."""
    import random

    rnd = random.Random(13)
    alphabet = list("ab */?\\\n\r\t ") + ["\u00a0", "\x01", "é"]
    plain = 0
    for _ in range(20000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14)))
        plain += bool(cnames._is_plain_doc(text))
        assert cnames.doc_lines(text) == cnames._escaped_doc_lines(text), repr(text)
    assert plain > 1000  # the fast path was taken often enough to be tested
    assert cnames.doc_lines("  \n Reads a file.  \n\n  two\n\n") == [" Reads a file.", "", "  two"]


def test_c_string_escapes_every_byte_that_could_end_or_change_it():
    assert cnames.c_string('a"b\\c??/d\n\x00é') == '"a\\"b\\\\c\\?\\?/d\\012\\000\\303\\251"'


def test_c_string_literals_hold_exactly_their_text(tmp_path):
    """What gcc makes of each literal is the text's UTF-8, byte for byte: plain names
    (written as they are) and text that needs escapes alike."""
    import random
    import subprocess

    rnd = random.Random(13)
    alphabet = [chr(i) for i in range(1, 0x80)] + ["\u00e9", "\u2028", "\U0001f600"]
    texts = ["", "wasi_io_streams", "m#run", "a?b", 'q"', "back\\slash", "??=", "\x7f"]
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10))) for _ in range(300)]
    lines = ["#include <stdio.h>", "static const char *const texts[] = {"]
    lines += [f"    {cnames.c_string(text)}," for text in texts]
    lines += ["};", "int main(void) {", "    for (unsigned i = 0; i < sizeof texts / sizeof *texts; i++) {",
              "        for (const unsigned char *c = (const unsigned char *)texts[i]; *c; c++)",
              '            printf("%02x", *c);', '        printf("\\n");', "    }", "    return 0;", "}"]
    (tmp_path / "t.c").write_text("\n".join(lines) + "\n")
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-trigraphs", "-o", str(tmp_path / "t"),
                    str(tmp_path / "t.c")], check=True)
    out = subprocess.run([str(tmp_path / "t")], check=True, capture_output=True, text=True).stdout
    assert out.splitlines() == [text.encode().hex() for text in texts]


def test_member_names_are_c_and_cpp_identifiers():
    for kw in ("this", "class", "new", "delete", "int", "template", "unix", "errno", "bool"):
        assert cnames.member(kw) == kw + "_"
    assert cnames.member("0") == "f0"
    assert cnames.member("a.b/c") == "a_b_c"
    assert cnames.member("__x") == "f__x" and cnames.member("_X") == "f_X"
    assert cnames.unique(["a", "a", "a_2"]) == ["a", "a_2", "a_2_2"]


@pytest.mark.slow
@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++17"])
def test_docs_are_data_in_the_guest_header(tmp_path, cxx):
    """A doc ending in a backslash must not swallow the next line (here a prototype the
    probe calls), nor may `*/`, `/*` or a trigraph break the comment."""
    wit = ("package docs:data;\n\ninterface %docs {\n"
           "  /// swallow the next line \\\n"
           "  first: func() -> u32;\n"
           "  /// close */ here /* nested ??/\n"
           "  second: func(x: u32) -> u32;\n"
           "  /// \u00e9\U0001d11e \"quote\" ??= \\\n"
           "  third: func() -> u32;\n}\n")
    from wit2witx import compile as w2w_compile

    files = w2w_compile(_wit_package(tmp_path, wit), emit=("c",))
    header = tmp_path / "docs_data_docs.h"
    header.write_text(files["docs_data_docs.h"])
    # naming each prototype is enough: an identifier a comment swallowed is undeclared
    calls = ("unsigned long use_sizes = sizeof(&docs_data_docs_first) + sizeof(&docs_data_docs_second)"
             " + sizeof(&docs_data_docs_third);")
    _compile_alone(header, tmp_path, cxx, calls)


def test_every_header_starts_with_api_h_layout_asserts(preview1_doc):
    """wasi-libc's api.h opens with "non-wasi data layout" asserts: every header has the
    same ones (its types all assume that layout), whatever its input."""
    import re

    pattern = re.compile(r"_Static_assert\(_Alignof\((\w+\s*\*?)\) == (\d+), \"non-wasi data layout\"\);")
    theirs = [(t.replace(" ", ""), int(a)) for t, a in pattern.findall(ziglang_api_h().read_text())]
    assert len(theirs) == 9
    for doc in (preview1_doc, read_witx(FIXTURES / "c" / "sensors.witx")):
        ours = [(t.replace(" ", ""), int(a)) for t, a in pattern.findall(emit_c_header(doc))]
        assert ours == theirs


@pytest.mark.slow
@pytest.mark.parametrize("cxx", [False, True], ids=["c11", "c++17"])
def test_witx_names_with_any_idchar_give_valid_c(tmp_path, cxx):
    """WITX names may hold `!#$%&'*+-./:<=>?@\\^_`|~`: each becomes a distinct C name,
    and the import name stays exact (a C string with `?`, `\\` and `"` escaped)."""
    text = r"""
(typename $a.b u32)
(typename $a-b u64)
(typename $c*/d (record (field $x.y u8) (field $x-y u16) (field $class u32)))
(typename $e?? (enum (@witx tag u8) $p.q $p-q $P_Q))
(module $m
  (@interface func (export "f??/\\\"x")
    (param $in.1 $a.b) (param $in-1 $a-b) (param $this (@witx const_pointer $c*/d))
    (result $error (expected (error $e??)))))
"""
    doc = read_witx_text(text, "odd.witx")
    text_h = emit_c_header(doc)
    header = tmp_path / "m.h"
    header.write_text(text_h)
    assert "m_a_b_t" in text_h and "m_a_b_2_t" in text_h
    assert '__import_name__("f\\?\\?/\\\\\\"x")' in text_h
    uses = "m_a_b_t u1; m_a_b_2_t u2; m_c__d_t u3; m_e___t u4;"
    _compile_alone(header, tmp_path, cxx, uses)
