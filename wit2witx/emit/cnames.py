"""C names for every C back end: keywords, identifiers, the injective name registry, docs.

WIT and WITX names are data. A WITX name may hold any of `!#$%&'*+-./:<=>?@\\^_`|~`, a
WIT name may be a C or C++ keyword, and names that are fine one by one can still spell
the same C identifier once joined with a prefix (`<p>v_u_t` is both variant `v`'s union
and type `v-u`'s typedef). Whatever a C back end emits goes through this module:

- `member()` spells a struct member, parameter or local name (one scope at a time:
  `unique()` makes a scope's names distinct);
- `Registry` hands out global names (typedefs, struct tags, unions, macros, functions,
  guards) so that no two entities of a run ever get the same identifier: an entity
  claims every name it derives from a stem at once, and a stem whose names are taken
  gets the next numbered suffix (`_2`, `_3`, ...), first come first served in a stable
  order (units in order; fixed names, typenames, functions; then what a back end
  synthesizes, in the order it meets it);
- `program_names()` runs that claim once per run for the guest header and the host
  glue together, so both spell every WIT type with the same identifier;
- `doc_lines()` and `c_string()` escape text for comments and string literals.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import field
from functools import lru_cache
from itertools import accumulate
from typing import Callable, Hashable, Iterable, Mapping, Sequence

from ..records import record

# --------------------------------------------------------------------------- keywords

#: C (C23 included) and C++ (C++23 included) keywords and alternative tokens.
KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while _Alignas _Alignof _Atomic _BitInt _Bool
    _Complex _Decimal128 _Decimal32 _Decimal64 _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local alignas alignof bool constexpr false nullptr
    static_assert thread_local true typeof typeof_unqual
    and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl concept
    consteval constinit const_cast co_await co_return co_yield decltype delete
    dynamic_cast explicit export friend mutable namespace new noexcept not not_eq operator
    or or_eq private protected public reinterpret_cast requires static_cast template this
    throw try typeid typename using virtual wchar_t xor xor_eq
""".split())

#: Names the generated files cannot use for anything else: macros and types of the
#: standard headers they include (stddef.h, stdint.h, stdbool.h, string.h), macros
#: compilers predefine in GNU modes (`unix`, `linux`), and what C++ treats specially.
LIBRARY_NAMES = frozenset("""
    NULL offsetof size_t ptrdiff_t max_align_t wchar_t
    int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t intptr_t uintptr_t
    intmax_t uintmax_t int_least8_t int_least16_t int_least32_t int_least64_t
    uint_least8_t uint_least16_t uint_least32_t uint_least64_t int_fast8_t int_fast16_t
    int_fast32_t int_fast64_t uint_fast8_t uint_fast16_t uint_fast32_t uint_fast64_t
    INT8_C INT16_C INT32_C INT64_C UINT8_C UINT16_C UINT32_C UINT64_C INTMAX_C UINTMAX_C
    INT8_MIN INT16_MIN INT32_MIN INT64_MIN INT8_MAX INT16_MAX INT32_MAX INT64_MAX
    UINT8_MAX UINT16_MAX UINT32_MAX UINT64_MAX SIZE_MAX PTRDIFF_MIN PTRDIFF_MAX
    INTPTR_MIN INTPTR_MAX UINTPTR_MAX INTMAX_MIN INTMAX_MAX UINTMAX_MAX
    __bool_true_false_are_defined memcpy memset memcmp memmove strlen
    unix linux i386 errno assert noreturn complex imaginary I
    main final override import module
""".split())

_RESERVED = KEYWORDS | LIBRARY_NAMES
#: identifier fragments: what is left after replacing everything C does not allow
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")


def fragment(name: str) -> str:
    """A WIT/WITX name as a piece of a C identifier: kebab-case to snake_case, every
    other character C does not allow to `_` (not injective on its own: the registry and
    `unique()` make the final names distinct)."""
    frag = _NOT_IDENT.sub("_", name.lstrip("%"))
    return frag or "_"


def is_reserved(name: str) -> bool:
    """A keyword, a standard library name, or an identifier C reserves for the
    implementation (`__x`, `_X`)."""
    return name in _RESERVED or name.startswith("__") or (
        len(name) > 1 and name[0] == "_" and name[1].isupper())


@lru_cache(maxsize=4096)
def member(name: str) -> str:
    """A struct member, parameter or local name: `0` becomes `f0` (tuple members), a
    keyword or reserved name gets a trailing `_` (`this` → `this_`, `__x` → `f__x`).

    Memoized: the C back ends ask for the same few hundred names ~2000 times a run."""
    ident = fragment(name)
    if ident[0].isdigit() or ident.startswith("_"):
        ident = "f" + ident
    return ident + "_" if is_reserved(ident) else ident


def unique(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """Make the names of one scope distinct, in order: a repeat gets `_2`, `_3`, ...
    (names in `taken` are never handed out)."""
    used = set(taken)
    out = []
    for name in names:
        candidate, n = name, 2
        while candidate in used:
            candidate = f"{name}_{n}"
            n += 1
        used.add(candidate)
        out.append(candidate)
    return out


# --------------------------------------------------------------------------- the registry


class NameClash(AssertionError):
    """A registry could not find free names for an entity (a bug in a derive function)."""


class _Frozen:
    """A registry's claims, read-only and compact: the names joined into one string (a
    byte a character, for ASCII names), where each starts (4 bytes), the index of its
    owner among the distinct owners (4 bytes), and an open-addressing table of name
    numbers by `hash()` (4 bytes a slot, at most 2/3 full; the hash only places names,
    a lookup compares the names themselves). A dict of the same names costs ~130 bytes
    a name (entry, string object), and the run's names live through every C back end."""

    __slots__ = ("text", "starts", "owner_index", "owners", "slots", "mask")

    def __init__(self, owner: Mapping[str, Hashable]) -> None:
        index: dict[Hashable, int] = {}
        self.owner_index = array("I", (index.setdefault(k, len(index)) for k in owner.values()))
        self.owners: list[Hashable] = list(index)
        self.text = "".join(owner)
        self.starts = array("I" if len(self.text) < 1 << 32 else "Q", accumulate(map(len, owner), initial=0))
        size = 1 << max(3, (len(owner) * 3 // 2).bit_length())
        slots, mask = array("I", [0]) * size, size - 1
        for number, name in enumerate(owner, 1):
            j = hash(name) & mask
            while slots[j]:
                j = (j + 1) & mask
            slots[j] = number
        self.slots, self.mask = slots, mask

    def _name(self, i: int) -> str:
        return self.text[self.starts[i]:self.starts[i + 1]]

    def get(self, name: str) -> Hashable | None:
        slots, mask = self.slots, self.mask
        j = hash(name) & mask
        while number := slots[j]:
            if self._name(number - 1) == name:
                return self.owners[self.owner_index[number - 1]]
            j = (j + 1) & mask
        return None

    def items(self):
        owners, index = self.owners, self.owner_index
        return ((self._name(i), owners[index[i]]) for i in range(len(index)))


class Registry:
    """Global C identifiers of a run, each owned by one entity (any hashable key).

    A fork is an overlay: its own claims in a small dict over the parent's, frozen
    (`_Frozen`), so a back end neither copies the run's names nor changes them.
    """

    __slots__ = ("_owner", "_base")

    def __init__(self, base: _Frozen | None = None) -> None:
        self._owner: dict[str, Hashable] = {}
        self._base = base

    def fork(self) -> "Registry":
        """A registry to claim a back end's synthesized names in, over this one's (the
        run's base stays the same whichever back ends run, so every back end's names are
        deterministic). Claims made here afterwards are not seen by the fork."""
        if self._base is None:
            return Registry(_Frozen(self._owner))
        if self._owner:  # a fork of a fork (a header emitted on its own): rare
            return Registry(_Frozen({**dict(self._base.items()), **self._owner}))
        return Registry(self._base)

    def owner(self, name: str) -> Hashable | None:
        got = self._owner.get(name)
        if got is None and self._base is not None:
            got = self._base.get(name)
        return got

    def reserve(self, key: Hashable, names: Iterable[str]) -> None:
        """Claim fixed names (a unit's own: guards, contexts) where they are free; a clash
        between fixed names of two units is a file-level clash the driver resolves."""
        owner = self._owner
        for x in names:
            if self.owner(x) is None:
                owner[x] = key

    def _free(self, key: Hashable, names: set[str]) -> bool:
        """Whether every one of `names` is free or already `key`'s."""
        if self._base is None and self._owner.keys().isdisjoint(names):
            return True  # the usual case while a run's names are claimed, checked in C
        return all(self.owner(x) in (None, key) for x in names)

    def claim(self, key: Hashable, stem: str, derive: Callable[[str], Sequence[str]]) -> str:
        """The first of `stem`, `stem_2`, `stem_3`, ... whose derived names are all free
        (or already `key`'s); claims them for `key` and returns that stem."""
        candidate = stem
        for n in range(2, 10_000):
            # the guest and host spellings coincide under default prefixes: one claim
            names = set(derive(candidate))
            if names.isdisjoint(_RESERVED) and self._free(key, names):
                self._owner.update(dict.fromkeys(names, key))
                return candidate
            candidate = f"{stem}_{n}"
        raise NameClash(f"no free C names for {stem!r}")


# --------------------------------------------------------------------------- text


_TRIGRAPH = re.compile(r"\?\?(?=[=/'()!<>\-])")


def _visible(ch: str) -> str:
    return f"\\u{{{ord(ch):x}}}"


def doc_lines(text: str) -> list[str]:
    """Doc text as lines that are safe inside `/** ... */` and after `///`.

    Docs are data: nothing in them may end the comment (`*/`), open a nested one (`/*`,
    a -Wcomment error), continue the line (a trailing `\\`, also through the `??/`
    trigraph) or carry raw control characters. Lines split at `\\n` only (`\\r\\n` is one
    break); other control characters and a line-ending backslash are written as
    `\\u{XX}`; `*/`, `/*` and trigraph `??` get a space. Leading and trailing blank lines
    go, as do trailing blanks of each line.
    """
    if not text:
        return []
    if _is_plain_doc(text):
        # the common case: nothing to escape
        lines = [line.rstrip() for line in text.split("\n")]
        return _trim_blank_ends(lines)
    return _escaped_doc_lines(text)


def _escaped_doc_lines(text: str) -> list[str]:
    """`doc_lines` of any text, character by character where a line needs it."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.isprintable() or "\\" in line:
            line = "".join(ch if ch.isprintable() or ch == "\t" else _visible(ch) for ch in line)
        line = line.rstrip()
        if "*/" in line or "/*" in line:
            line = line.replace("*/", "* /").replace("/*", "/ *").replace("*/", "* /")
        if "??" in line:
            line = _TRIGRAPH.sub("? ?", line)
        if line.endswith("\\"):
            line = line[:-1] + _visible("\\")
        lines.append(line)
    return _trim_blank_ends(lines)


def _is_plain_doc(text: str) -> bool:
    """Text `doc_lines` leaves as it is but for trailing blanks and blank end lines:
    printable lines split at `\n`, without a backslash, `*/`, `/*` or `??`."""
    return ("\\" not in text and "*/" not in text and "/*" not in text and "??" not in text
            and text.replace("\n", "").isprintable())


def _trim_blank_ends(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


#: Text a C string literal holds as it is: printable ASCII but `"`, `?` and `\` (module
#: and function names always are; the byte-by-byte escape is for the rest).
_PLAIN_LITERAL = re.compile(r'[\x20\x21\x23-\x3e\x40-\x5b\x5d-\x7e]*')


def c_string(text: str) -> str:
    """A C string literal (with its quotes) holding `text` as UTF-8: quotes, backslashes,
    `?` (no trigraph can form) and every byte outside printable ASCII escaped in octal."""
    if _PLAIN_LITERAL.fullmatch(text):
        return '"' + text + '"'
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def macro_case(name: str) -> str:
    return name.upper()


# --------------------------------------------------------------------------- a run's names


@record(slots=True, eq=False, repr=False)
class CaseNames:
    """The macro-name suffix of every case/flag/constant of one type (distinct)."""

    suffixes: list[str]


@record(slots=True, eq=False, repr=False)
class ProgramNames:
    """Every global C name of a run, shared by the guest header and the host glue.

    `fragment_of[id(x)]` is the identifier fragment of a typename or function (its name,
    made distinct); spelled with a prefix by each back end (`<prefix><fragment>_t`).
    `registry` is the base every back end forks for its synthesized types.
    """

    registry: Registry
    fragment_of: dict[int, str] = field(default_factory=dict)
    case_suffixes: dict[int, list[str]] = field(default_factory=dict)
    members: dict[int, list[str]] = field(default_factory=dict)

    def fragment(self, node) -> str:
        frag = self.fragment_of.get(id(node))
        return frag if frag is not None else fragment(node.name)


def case_suffixes(names: Sequence[str]) -> list[str]:
    """Upper-case macro suffixes of a type's cases, distinct (`T_DEFINED` is the guard's)."""
    return unique((macro_case(fragment(n)) for n in names), taken=("T_DEFINED",))


def guest_type_names(prefix: str, frag: str, cases: Sequence[str], variant: bool) -> list[str]:
    """What the guest header defines for a typename: typedef (also the struct tag), the
    union of a variant with payloads, guard, and one macro per case/flag/constant."""
    upper = macro_case(prefix + frag)
    names = [f"{prefix}{frag}_t", f"{upper}_T_DEFINED"]
    if variant:
        names.append(f"{prefix}{frag}_u_t")
    names += [f"{upper}_{c}" for c in cases]
    return names


def host_type_names(prefix: str, frag: str, cases: Sequence[str]) -> list[str]:
    """What the host glue defines for a typename: typedef, struct tag, codecs (public
    and inline), handle descriptor and its release callback, status table, macros."""
    upper = macro_case(prefix + frag)
    names = [f"{prefix}{frag}_t", f"{prefix}{frag}", f"{prefix}{frag}_type", f"{prefix}{frag}_release",
             f"{prefix}glue_{frag}"]
    for which in ("decode", "encode", "release"):
        names += [f"{prefix}{which}_{frag}", f"{prefix}{which}_{frag}_inline"]
    names += [f"{upper}_{c}" for c in cases]
    return names


def guest_function_names(prefix: str, frag: str) -> list[str]:
    return [f"{prefix}{frag}"]


def host_function_names(prefix: str, frag: str) -> list[str]:
    return [f"{prefix}impl_{frag}", f"{prefix}call_{frag}", f"{prefix}call_{frag}_inline",
            f"{prefix}w3_{frag}", f"{prefix}wamr_{frag}"]


def guest_unit_names(prefix: str, stem: str) -> list[str]:
    return [f"{macro_case(stem)}_H"]


def host_unit_names(prefix: str) -> list[str]:
    """The fixed names of a unit's host glue (context, init, bindings, guards)."""
    upper = macro_case(prefix)
    return [f"{prefix}host_ctx_t", f"{prefix}host_ctx", f"{prefix}host_init", f"{prefix}module",
            f"{prefix}wasm3_link", f"{prefix}wamr_memory", f"{prefix}wamr_natives",
            f"{prefix}wamr_register", f"{upper}FN_PTR", f"{upper}WAMR_NATIVE_COUNT",
            f"{upper}HOST_H", f"{upper}HOST_INLINE_H", f"{upper}WASM3_H", f"{upper}WAMR_H"]


def typename_key(tn) -> Hashable:
    """Who owns a typename's names: copies of one WITX typename (each document that
    `(use "typenames.witx")` reads its own) are one entity, so that their headers can
    define it under one name behind one guard; anything else is its own entity."""
    span = getattr(tn, "span", None)
    if span is not None and getattr(span, "file", None) is not None and span.path.endswith(".witx"):
        return ("typename", span.path, span.start, tn.name)
    return ("typename", id(tn))


def has_union(tn) -> bool:
    """Whether the guest header gives this typename a union (a variant with payloads)."""
    from ..p1.model import Ref, canonical_variant_cases, is_enum_like, resolve  # noqa: PLC0415

    if isinstance(tn.type, Ref):
        return False
    try:
        ty = resolve(tn.type)
    except ValueError:
        return False
    cases = canonical_variant_cases(ty)
    return cases is not None and not is_enum_like(ty) and any(c.type is not None for c in cases)


def type_cases(tn, constants: Sequence = ()) -> list[str]:
    """Names of the macros a typename defines: its enum/flags/variant cases (not for an
    alias), then its `@witx const`s."""
    from ..p1.model import Enum, Flags, Ref, canonical_variant_cases, resolve  # noqa: PLC0415

    names: list[str] = []
    if not isinstance(tn.type, Ref):
        try:
            ty = resolve(tn.type)
        except ValueError:
            ty = None
        if isinstance(ty, Enum):
            names = [c.name for c in ty.cases]
        elif isinstance(ty, Flags):
            names = [f.name for f in ty.flags]
        elif ty is not None:
            names = [c.name for c in (canonical_variant_cases(ty) or [])]
    return names + [c.name for c in constants]


PREVIEW1 = "wasi_snapshot_preview1"
PREVIEW1_PREFIX = "__wasi_"


def default_guest_prefix(module_name: str | None) -> str:
    """The guest header's prefix: `__wasi_` for wasi_snapshot_preview1 (as wasi-libc),
    the module name + `_` otherwise."""
    if module_name is None or module_name == PREVIEW1:
        return PREVIEW1_PREFIX
    return module_name + "_"


def guest_prefixes(units: Sequence, prefix: str | None) -> dict[str, str]:
    """Unit name -> its guest header prefix (`--prefix` for every unit, if given)."""
    out = {}
    for u in units:
        module = u.module
        out[u.name] = prefix if prefix is not None else default_guest_prefix(
            module.name if module is not None else u.name)
    return out


def names_of(program) -> ProgramNames:
    """The run's names (computed once per run, shared by every C back end)."""
    views = getattr(program, "views", None)
    if views is not None and "cnames" in views:
        return views["cnames"]
    units = list(program.units)
    names = program_names(units, guest_prefixes(units, program.options.prefix))
    if views is not None:
        views["cnames"] = names
    return names


def program_names(units: Sequence, guest_prefix: Mapping[str, str]) -> ProgramNames:
    """Claim every user-named global of a run, guest and host side together.

    Units in order; for each: its fixed names, its typenames (in definition order), its
    functions. `guest_prefix` maps a unit name to its guest header prefix; the host
    prefix is always the module name + `_`. Synthesized names come later, per back end,
    from a fork of the returned registry.
    """
    names = ProgramNames(Registry())
    reg = names.registry
    for unit in units:
        module = unit.module
        host = (module.name if module is not None else unit.name) + "_"
        guest = guest_prefix.get(unit.name, host)
        reg.reserve(("unit", unit.name), guest_unit_names(guest, unit.name) + host_unit_names(host))
        by_type: dict[str, list] = {}
        for c in unit.document.constants:
            by_type.setdefault(c.type_name, []).append(c)
        for d in unit.own:
            if getattr(d, "kind", None) != "typename":
                continue
            suffixes = case_suffixes(type_cases(d, by_type.get(d.name, ())))
            names.case_suffixes[id(d)] = suffixes
            union = has_union(d)
            frag = reg.claim(typename_key(d), fragment(d.name), lambda f, s=suffixes, g=guest, h=host, v=union:
                             guest_type_names(g, f, s, v) + host_type_names(h, f, s))
            names.fragment_of[id(d)] = frag
        if module is not None:
            for func in (*module.functions, *module.exports):  # one namespace per module
                frag = reg.claim(("function", id(func)), fragment(func.name), lambda f, g=guest, h=host:
                                 guest_function_names(g, f) + host_function_names(h, f))
                names.fragment_of[id(func)] = frag
    names.registry = reg.fork()  # frozen: it lives as long as the run's C back ends
    return names


__all__ = [
    "KEYWORDS", "LIBRARY_NAMES", "fragment", "member", "unique", "is_reserved", "Registry",
    "NameClash", "doc_lines", "c_string", "ProgramNames", "case_suffixes", "guest_type_names",
    "host_type_names", "guest_function_names", "host_function_names", "guest_unit_names",
    "host_unit_names", "typename_key", "type_cases", "program_names",
]
