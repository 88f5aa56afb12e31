/* The libFuzzer harness of the generated C host glue: what the driver (fz_driver.c)
 * and the generated stubs (fz_gen.c, from tests/fuzz/gen_c.py) share.
 *
 * One input is one guest session: a guest memory of a chosen size (allocated at exactly
 * that size, so that AddressSanitizer sees any access past its end), one handle table
 * shared by every module, and a sequence of operations (write memory, plant a handle in
 * memory, call a trampoline with raw core arguments). The implementations are generated
 * stubs that draw their results from the same input. After every call the driver checks
 * the guarantees docs/abi.md lists; a violation aborts with a message (a crash to
 * libFuzzer, which saves the input).
 */
#ifndef FZ_RUNTIME_H
#define FZ_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "w2w_host.h"

/* --- the input, consumed front to back (zeros once exhausted) --------------------- */

/* Two streams over one input: the driver reads its operations from the front, the
 * stubs (while a call runs: `fz_stubs`) read their choices from the back, so that a
 * stub drawing more or fewer bytes never shifts the operations that follow. */
extern const uint8_t *fz_data;
extern size_t fz_left;
extern int fz_stubs;

static inline uint8_t fz_u8(void)
{
    if (fz_left == 0)
        return 0;
    fz_left--;
    if (fz_stubs)
        return fz_data[fz_left];
    return *fz_data++;
}
static inline uint16_t fz_u16(void) { return (uint16_t)(fz_u8() | (uint16_t)fz_u8() << 8); }
static inline uint32_t fz_u32(void) { return (uint32_t)fz_u16() | (uint32_t)fz_u16() << 16; }
static inline uint64_t fz_u64(void) { return (uint64_t)fz_u32() | (uint64_t)fz_u32() << 32; }
/* true about once in 32 draws: the hostile choices of an implementation */
static inline int fz_rare(void) { return (fz_u8() & 31u) == 31u; }
/* a list length: mostly short, sometimes long enough to overflow any caller buffer */
static inline uint32_t fz_len(void)
{
    uint8_t b = fz_u8();
    return (b & 0xC0u) == 0xC0u ? (uint32_t)fz_u16() % 2048u : (uint32_t)(b & 7u);
}
/* a case index below n, rarely any value (an invalid one for the glue to reject) */
static inline uint32_t fz_tag(uint32_t n) { return fz_rare() ? fz_u32() : (uint32_t)fz_u8() % n; }
static inline uint32_t fz_char(void)
{
    uint32_t c = fz_u32() % 0x110000u;
    return (c >= 0xD800u && c <= 0xDFFFu) ? 0x41u : c;
}

/* A byte of a string an implementation returns: ASCII, rarely any byte (ill-formed
 * UTF-8 for the glue to refuse). */
static inline uint8_t fz_text(void)
{
    uint8_t b = fz_u8();
    return fz_rare() ? b : (uint8_t)(b & 0x7Fu);
}

/* Whether `n` bytes at `s` are well-formed UTF-8: each sequence decoded to its scalar
 * value, which must need exactly that many bytes, be no surrogate and at most U+10FFFF
 * (the harness's own decoder, not the glue's `w2w_valid_utf8`). */
static inline int fz_utf8(const uint8_t *s, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint32_t c = s[i], len = c < 0x80u ? 1u : (c & 0xE0u) == 0xC0u ? 2u
            : (c & 0xF0u) == 0xE0u ? 3u : (c & 0xF8u) == 0xF0u ? 4u : 0u, j;
        static const uint32_t least[5] = { 0, 0, 0x80u, 0x800u, 0x10000u };
        if (len == 0 || n - i < len)
            return 0;
        if (len > 1u)
            c &= 0xFFu >> (len + 1u);
        for (j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0u) != 0x80u)
                return 0;
            c = c << 6 | (s[i + j] & 0x3Fu);
        }
        if (c < least[len] || (c >= 0xD800u && c <= 0xDFFFu) || c > 0x10FFFFu)
            return 0;
        i += len;
    }
    return 1;
}

__attribute__((noreturn)) void fz_fail(const char *what, const char *detail);

/* --- stub objects: what implementations hand out, released exactly once ------------ */

enum { FZ_LIVE = 0, FZ_RELEASED = 1, FZ_DISCARDED = 2 };

typedef struct fz_obj {
    const w2w_type *type;
    uint32_t id;
    uint8_t state;
} fz_obj;

void *fz_obj_new(const w2w_type *type);
/* An implementation got `obj` as a handle parameter of resource `type` (NULL: any). */
void fz_obj_check(const void *obj, const w2w_type *type, const char *where);
/* A `<r>_drop` implementation got `obj`: released now, and never again. */
void fz_obj_release(const void *obj, const w2w_type *type, const char *where);
/* An implementation keeps an object it never handed to the glue (its call failed). */
void fz_obj_discard(void *obj);

/* The table a stub issues handles of a value into before decoding it with the generated
 * `<module>_decode_<t>` (top-level results); list elements get handles of the real table,
 * as the glue's contract has implementations encode list elements themselves. */
extern w2w_handles fz_scratch;
extern int fz_fill_failed; /* a handle could not be issued while a value was filled */
void fz_scratch_begin(void);
void fz_scratch_discard(void);
uint32_t fz_issue(w2w_handles *tbl, const w2w_type *type);

/* --- the functions under test ---------------------------------------------------- */

enum { FZ_ARG_I32 = 0, FZ_ARG_I64 = 1, FZ_ARG_F32 = 2, FZ_ARG_F64 = 3 };
#define FZ_MAX_ARGS 16
#define FZ_MAX_OUTS 4

typedef struct fz_fn {
    const char *name;
    int32_t (*call)(const w2w_mem *mem, const uint64_t *args);
    uint8_t nargs;
    uint8_t arg_kind[FZ_MAX_ARGS];
    int32_t ncases;                 /* statuses 0 .. ncases-1 */
    uint64_t iface_errors;          /* bit s: status s is an error of the interface */
    int32_t too_small, bad_handle, bad_pointer, bad_value;
    int8_t buf_arg, buf_len_arg, buf_used_arg; /* core argument indices, -1: none */
    int8_t errp_arg;
    uint32_t errp_size;
    void (*errp_walk)(const uint8_t *img);
    uint8_t nouts;
    int8_t out_arg[FZ_MAX_OUTS];
    uint32_t out_size[FZ_MAX_OUTS];
    void (*out_walk[FZ_MAX_OUTS])(const uint8_t *img);
    const w2w_type *drop_type;      /* `<r>_drop`: the resource it drops */
} fz_fn;

extern const fz_fn fz_fns[];
extern const uint32_t fz_nfns;
void fz_hosts_init(w2w_handles *handles);

/* What the stub of the function being called did (the driver resets it per call). */
extern int fz_impl_called;
extern int32_t fz_impl_status;
extern const fz_fn *fz_current;

/* A stub draws its status: success mostly, an interface error, a glue status of its
 * own (buffer too small, bad value) or any integer. */
int32_t fz_pick_status(const fz_fn *fn);
void fz_stub_enter(uint32_t index);
int32_t fz_stub_leave(int32_t status);
/* The stub reads every byte of a span the glue handed it (ASan checks they exist). */
void fz_touch(const void *p, uint64_t bytes);

/* --- walking a result in guest memory (after a call) ------------------------------- */

/* A handle the guest was told about. */
void fz_told(uint32_t handle, const w2w_type *type);
/* `n` elements of `size` bytes at guest address `p` of a result list: in the caller
 * buffer, or a failure; NULL for an empty list. */
const uint8_t *fz_result_span(uint32_t p, uint32_t n, uint32_t size);

#endif /* FZ_RUNTIME_H */
