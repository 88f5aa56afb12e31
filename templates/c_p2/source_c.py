"""Template: the c-p2 source `<world>.c`, from `emit.c_p2.P2View` (formatting only)."""

from __future__ import annotations

#: The shim's own helpers: tunables, unaligned-safe loads/stores of witx values, an
#: allocation that traps when memory runs out (as `cabi_realloc` aborts), and a list of
#: temporaries freed after a call.
_PRELUDE = """\
#include <stdlib.h>
#include <string.h>

// Bytes of the stack buffer a result's strings and lists are first written into.
#ifndef W2W_P2_STACK_BUFFER
#define W2W_P2_STACK_BUFFER 256
#endif
// Calls retried with a bigger buffer after `buffer_too_small` before trapping.
#ifndef W2W_P2_RETRIES
#define W2W_P2_RETRIES 4
#endif
// The largest block a `list<u8>` read allocates up front.
#ifndef W2W_P2_READ_CAP
#define W2W_P2_READ_CAP 65536
#endif

// Helpers not every set of interfaces needs.
#define W2W_HELPER __attribute__((__unused__))

W2W_HELPER static inline uint32_t w2w_ld1(const uint8_t *p) { return p[0]; }
W2W_HELPER static inline uint32_t w2w_ld2(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
W2W_HELPER static inline uint32_t w2w_ld4(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
W2W_HELPER static inline uint64_t w2w_ld8(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
W2W_HELPER static inline void w2w_st1(uint8_t *p, uint8_t v) { p[0] = v; }
W2W_HELPER static inline void w2w_st2(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
W2W_HELPER static inline void w2w_st4(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
W2W_HELPER static inline void w2w_st8(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

W2W_HELPER static void *w2w_p2_alloc(size_t n) {
  if (n == 0) return NULL;
  void *p = malloc(n);
  if (!p) __builtin_trap();
  return p;
}

typedef struct w2w_p2_temp {
  struct w2w_p2_temp *next;
  uint64_t align;
} w2w_p2_temp;

typedef struct {
  w2w_p2_temp *head;
} w2w_p2_temps;

W2W_HELPER static uint8_t *w2w_p2_temp_alloc(w2w_p2_temps *t, size_t n) {
  w2w_p2_temp *node = (w2w_p2_temp *) w2w_p2_alloc(sizeof(w2w_p2_temp) + n);
  node->next = t->head;
  t->head = node;
  return (uint8_t *) (node + 1);
}

W2W_HELPER static void w2w_p2_temps_free(w2w_p2_temps *t) {
  while (t->head) {
    w2w_p2_temp *next = t->head->next;
    free(t->head);
    t->head = next;
  }
}
"""


def _function(decl: str, body, out: list) -> None:
    out.append(f"\n{decl} {{\n")
    out.extend(f"  {line}\n" for line in body)
    out.append("}\n")


def render(v) -> str:
    out = [f"// {v.generated}\n#include {v.header}\n", _PRELUDE,
           "\n// The P1 imports (the backport), declared privately\n"]
    for i in v.imports:
        params = ", ".join(i.params) or "void"
        out.append(f"\n__attribute__((__import_module__({i.module}), __import_name__({i.name})))\n"
                   f"extern {i.result} {i.symbol}({params});\n")
    for section in v.sections:
        if section.exported:
            continue
        out.append(f"\n// {section.title}\n")
        for f in section.functions:
            _function(f.decl, f.body, out)
    if v.trampolines:
        out.append("\n// The guest's exports (the backport's flat signatures), calling its exports_ functions\n")
        for t in v.trampolines:
            _function(t.decl, t.body, out)
    if v.helpers:
        out.append("\n// Helper Functions\n")
        for h in v.helpers:
            _function(h.decl, h.body, out)
    return "".join(out)
