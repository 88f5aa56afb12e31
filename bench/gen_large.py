"""Generate a large WIT package for the size benchmark (`make bench`, issue 12 item 8).

`python bench/gen_large.py DEST --mib 50` writes one package, `bench:large`, as a folder
of .wit files totalling about that many MiB: a shared `common` interface, then many
interfaces of the same realistic mix (each a little different, so nothing is a verbatim
repeat): a record, a variant with and without payloads, an enum used as error type,
flags, a resource with a constructor, methods and a static function, and functions
whose parameters and results mix scalars, strings, lists, options, tuples and results.
About 14 functions per KiB of input (50 MiB ≈ 700k functions; the issue saw ≈600k).

Deterministic: the same size gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: interfaces per .wit file: keeps files to a few hundred KiB, as large real packages are
_PER_FILE = 200
_SCALARS = ("u8", "u16", "u32", "u64", "s32", "s64", "f32", "f64", "bool", "char")

_COMMON = """\
package bench:large@1.0.0;

/// Types every generated interface uses.
interface common {
  /// A point in time, in nanoseconds.
  record instant { seconds: u64, nanos: u32 }
  /// Errors shared by every interface.
  enum error-code { access, busy, invalid, no-memory, timeout, unsupported }
  type bytes = list<u8>;
}
"""


def _interface(n: int) -> str:
    """Interface number `n`: about 3.5 KiB, 49 functions (methods included)."""
    s = _SCALARS[n % len(_SCALARS)]
    t = _SCALARS[(n + 3) % len(_SCALARS)]
    lines = [
        f"/// Generated interface {n}.",
        f"interface iface{n} {{",
        "  use common.{instant, error-code, bytes};",
        "",
        f"  /// Settings of device {n}.",
        "  record settings {",
        f"    name: string, rate: {s}, scale: {t}, when: instant, tags: list<string>,",
        "    limit: option<u32>,",
        "  }",
        "  variant event {",
        "    started(instant), stopped, data(bytes), moved(tuple<s32, s32>), failed(error-code),",
        "  }",
        f"  enum mode {{ idle, active, standby, fault{n % 7} }}",
        "  flags caps { read, write, seek, poll, async-io }",
        "  /// An open device.",
        "  resource device {",
        "    constructor(path: string, mode: mode);",
        "    read: func(len: u32) -> result<bytes, error-code>;",
        "    write: func(peer: borrow<device>, chunk: list<u8>) -> result<u32, error-code>;",
        "    configure: func(settings: settings) -> result<_, error-code>;",
        "    state: func() -> tuple<mode, caps>;",
        "    open: static func(path: string) -> result<device, error-code>;",
        "  }",
        "",
    ]
    for k in range(43):
        a = _SCALARS[(n + k) % len(_SCALARS)]
        shape = k % 8
        if shape == 0:
            sig = f"func(dev: borrow<device>, x: {a}) -> result<{a}, error-code>"
        elif shape == 1:
            sig = "func(name: string, data: list<u8>) -> result<string, error-code>"
        elif shape == 2:
            sig = f"func(s: settings, when: option<instant>) -> list<{a}>"
        elif shape == 3:
            sig = "func(ev: event) -> result<event, error-code>"
        elif shape == 4:
            sig = f"func(m: mode, c: caps, v: list<tuple<string, {a}>>)"
        elif shape == 5:
            sig = "func(path: string) -> result<device, error-code>"
        elif shape == 6:
            sig = f"func(a: {a}, b: {a}, c: {a}) -> {a}"
        else:
            sig = "func() -> result<list<string>, error-code>"
        lines.append(f"  op{k}-{n}: {sig};")
    lines.append("}")
    lines.append("")
    return "\n".join(lines)


def generate(dest: Path, mib: float) -> tuple[int, int]:
    """Write the package into `dest` (created); return (bytes, interfaces)."""
    dest.mkdir(parents=True, exist_ok=True)
    target = int(mib * 1024 * 1024)
    total = len(_COMMON)
    (dest / "common.wit").write_text(_COMMON)
    n = 0
    file_no = 0
    while total < target:
        chunk = []
        for _ in range(_PER_FILE):
            if total >= target:
                break
            text = _interface(n)
            chunk.append(text)
            total += len(text)
            n += 1
        (dest / f"part{file_no:04d}.wit").write_text("\n".join(chunk))
        total += len(chunk) - 1
        file_no += 1
    return total, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--mib", type=float, default=50.0)
    args = parser.parse_args()
    size, count = generate(args.dest, args.mib)
    print(f"wrote {size / 2**20:.1f} MiB, {count} interfaces into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
