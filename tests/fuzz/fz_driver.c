/* libFuzzer entry point: one input is one guest session (see fz_runtime.h).
 *
 * Input: [memory size][memory fill] then operations until the input ends (at most
 * FZ_MAX_OPS): write bytes, write a 32-bit value, plant a live or stale handle in
 * memory, or call a function with raw core arguments. Arguments are drawn in modes a
 * hostile guest would use: addresses near the end of memory, wrapping lengths,
 * misaligned out-pointers, live, stale and forged handles. At the end every handle the
 * guest holds is dropped, and every stub object must have been released exactly once.
 */
#include "fz_runtime.h"

#define FZ_MAX_OPS 48
#define FZ_MAX_OBJS 2048
#define FZ_STALE 16

const uint8_t *fz_data;
size_t fz_left;
int fz_stubs;
w2w_handles fz_scratch;
int fz_fill_failed;
int fz_impl_called;
int32_t fz_impl_status;
const fz_fn *fz_current;

static w2w_handles fz_table;
static w2w_mem fz_memv;
static uint8_t *fz_snap;
static fz_obj *fz_objs[FZ_MAX_OBJS];
static uint32_t fz_nobjs;

typedef struct fz_held {
    uint32_t handle;
    const w2w_type *type;
} fz_held;

/* the handles the guest was told about and has not dropped */
static fz_held fz_model[W2W_HANDLE_CAPACITY];
static uint32_t fz_nmodel;
static fz_held fz_new[4 * W2W_HANDLE_CAPACITY];
static uint32_t fz_nnew;
static uint32_t fz_stale[FZ_STALE];
static uint32_t fz_nstale;
static uint64_t fz_walk_lo, fz_walk_hi;

static const uint64_t *fz_args; /* the core arguments of the call being checked */

void fz_fail(const char *what, const char *detail)
{
    uint32_t i;
    fprintf(stderr, "FUZZ INVARIANT BROKEN: %s: %s (in %s)\n", what, detail,
            fz_current != NULL ? fz_current->name : "-");
    if (fz_current != NULL && fz_args != NULL) {
        fprintf(stderr, "  memory size %llu, core arguments:", (unsigned long long)fz_memv.size);
        for (i = 0; i < fz_current->nargs; i++)
            fprintf(stderr, " 0x%llx", (unsigned long long)fz_args[i]);
        fprintf(stderr, "\n");
    }
    abort();
}

/* --- stub objects ---------------------------------------------------------------- */

void *fz_obj_new(const w2w_type *type)
{
    fz_obj *o;
    if (fz_nobjs >= FZ_MAX_OBJS)
        return NULL;
    o = (fz_obj *)malloc(sizeof *o);
    if (o == NULL)
        return NULL;
    o->type = type;
    o->id = fz_nobjs;
    o->state = FZ_LIVE;
    fz_objs[fz_nobjs++] = o;
    return o;
}

static fz_obj *fz_find(const void *obj)
{
    uint32_t i;
    for (i = 0; i < fz_nobjs; i++)
        if (fz_objs[i] == obj)
            return fz_objs[i];
    return NULL;
}

void fz_obj_check(const void *obj, const w2w_type *type, const char *where)
{
    fz_obj *o = fz_find(obj);
    if (o == NULL)
        fz_fail("an implementation got an object no implementation made", where);
    if (o->state != FZ_LIVE)
        fz_fail("an implementation got a released object", where);
    if (type != NULL && o->type != type)
        fz_fail("an implementation got an object of another resource type", where);
}

void fz_obj_release(const void *obj, const w2w_type *type, const char *where)
{
    fz_obj *o = fz_find(obj);
    if (o == NULL)
        fz_fail("a drop got an object no implementation made", where);
    if (o->state == FZ_RELEASED)
        fz_fail("an object was released twice", where);
    if (o->state == FZ_DISCARDED)
        fz_fail("a drop got an object the implementation never handed over", where);
    if (o->type != type)
        fz_fail("a drop got an object of another resource type", where);
    o->state = FZ_RELEASED;
}

void fz_obj_discard(void *obj)
{
    fz_obj *o = fz_find(obj);
    if (o != NULL && o->state == FZ_LIVE)
        o->state = FZ_DISCARDED;
}

void fz_scratch_begin(void)
{
    w2w_handles_init(&fz_scratch);
    fz_fill_failed = 0;
}

void fz_scratch_discard(void)
{
    uint32_t i;
    for (i = 0; i < W2W_HANDLE_CAPACITY; i++)
        if (fz_scratch.slots[i].type != NULL)
            fz_obj_discard(fz_scratch.slots[i].obj);
    w2w_handles_init(&fz_scratch);
}

uint32_t fz_issue(w2w_handles *tbl, const w2w_type *type)
{
    void *o = fz_obj_new(type);
    uint32_t h = o != NULL ? w2w_handles_insert(tbl, type, o) : 0;
    if (h == 0) {
        if (o != NULL)
            fz_obj_discard(o);
        fz_fill_failed = 1;
    }
    return h;
}

/* --- stubs --------------------------------------------------------------------- */

int32_t fz_pick_status(const fz_fn *fn)
{
    uint8_t b = fz_u8();
    if (b < 160)
        return 0;
    if (b < 220 && fn->iface_errors != 0) {
        uint32_t k = fz_u8() % (uint32_t)__builtin_popcountll(fn->iface_errors);
        int32_t s;
        for (s = 0; s < 64; s++)
            if ((fn->iface_errors >> s & 1u) && k-- == 0)
                return s;
    }
    if (b < 232)
        return fn->too_small;
    if (b < 244)
        return fn->bad_value;
    if (b < 250)
        return fn->bad_handle;
    return (int32_t)fz_u32();
}

void fz_stub_enter(uint32_t index)
{
    if (index >= fz_nfns || &fz_fns[index] != fz_current)
        fz_fail("the glue called the implementation of another function", fz_fns[index].name);
    if (fz_impl_called)
        fz_fail("the glue called the implementation twice", fz_fns[index].name);
    fz_impl_called = 1;
}

int32_t fz_stub_leave(int32_t status)
{
    fz_impl_status = status;
    return status;
}

void fz_touch(const void *p, uint64_t bytes)
{
    const volatile uint8_t *q = (const volatile uint8_t *)p;
    uint64_t i;
    uint8_t sum = 0;
    if (bytes == 0)
        return;
    if (p == NULL)
        fz_fail("a span of bytes at NULL", "");
    /* its first and last bytes and a stride in between: ASan checks each */
    for (i = 0; i < bytes; i += 61)
        sum ^= q[i];
    sum ^= q[bytes - 1];
    (void)sum;
}

/* --- walking results -------------------------------------------------------------- */

void fz_told(uint32_t handle, const w2w_type *type)
{
    if (fz_nnew >= 4 * W2W_HANDLE_CAPACITY)
        fz_fail("more handles in one result than the table holds", type->name);
    fz_new[fz_nnew].handle = handle;
    fz_new[fz_nnew].type = type;
    fz_nnew++;
}

const uint8_t *fz_result_span(uint32_t p, uint32_t n, uint32_t size)
{
    uint64_t end = (uint64_t)p + (uint64_t)n * size;
    if (n == 0)
        return NULL;
    if (p < fz_walk_lo || end > fz_walk_hi) {
        fprintf(stderr, "list at 0x%x, %u elements of %u bytes; buffer [0x%llx, 0x%llx)\n", p, n, size,
                (unsigned long long)fz_walk_lo, (unsigned long long)fz_walk_hi);
        fz_fail("a list of the result is outside the caller buffer", "");
    }
    return fz_memv.base + p;
}

/* --- the driver ------------------------------------------------------------------ */

static uint32_t fz_live_handle(void)
{
    return fz_nmodel ? fz_model[fz_u8() % fz_nmodel].handle : 0;
}

static uint32_t fz_arg32(void)
{
    uint32_t size = (uint32_t)fz_memv.size;
    switch (fz_u8() % 12) {
    case 0: return fz_u32();
    case 1: return fz_u8();
    case 2: return size - (fz_u8() % 64u);               /* near the end of memory */
    case 3: return fz_live_handle();
    case 4: return fz_nstale ? fz_stale[fz_u8() % fz_nstale] : 0; /* dropped */
    case 5: return 0xFFFFFFFFu - fz_u8();                 /* wraps */
    case 6: return ((uint32_t)fz_u16() * 8u) % size;      /* aligned, inside */
    case 7: return (uint32_t)fz_u16() % size;             /* any alignment */
    case 8: return 0;
    case 9: return fz_u16();
    case 10: return fz_live_handle() ^ ((uint32_t)fz_u8() << (fz_u8() & 1u ? 16 : 0)); /* forged */
    default: return size;
    }
}

static uint64_t fz_arg(uint8_t kind)
{
    switch (kind) {
    case FZ_ARG_I64: return fz_u8() & 1u ? fz_u64() : fz_u8();
    case FZ_ARG_F32: return fz_u32();
    case FZ_ARG_F64: return fz_u64();
    default: return fz_arg32();
    }
}

/* [lo, hi) of `len` bytes at guest address `addr`, clipped to memory */
static void fz_region(uint64_t addr, uint64_t len, uint64_t *lo, uint64_t *hi)
{
    uint64_t a = (uint32_t)addr, e = a + len;
    *lo = a < fz_memv.size ? a : fz_memv.size;
    *hi = e < fz_memv.size ? e : fz_memv.size;
}

typedef struct fz_regions {
    uint64_t lo[FZ_MAX_OUTS + 3], hi[FZ_MAX_OUTS + 3];
    uint32_t n;
} fz_regions;

static void fz_add(fz_regions *r, uint64_t addr, uint64_t len)
{
    fz_region(addr, len, &r->lo[r->n], &r->hi[r->n]);
    r->n++;
}

static int fz_in(const fz_regions *r, uint64_t at)
{
    uint32_t i;
    for (i = 0; i < r->n; i++)
        if (at >= r->lo[i] && at < r->hi[i])
            return 1;
    return 0;
}

static int fz_is_glue(const fz_fn *fn, int32_t s)
{
    return s == fn->too_small || s == fn->bad_handle || s == fn->bad_pointer || s == fn->bad_value;
}

static void fz_resync(void)
{
    uint32_t i;
    fz_nmodel = 0;
    for (i = 0; i < W2W_HANDLE_CAPACITY; i++) {
        w2w_slot *s = &fz_table.slots[i];
        if (s->type != NULL) {
            fz_model[fz_nmodel].handle = i | (uint32_t)s->gen << 16;
            fz_model[fz_nmodel].type = s->type;
            fz_nmodel++;
        }
    }
}

static int fz_model_index(uint32_t handle)
{
    uint32_t i;
    for (i = 0; i < fz_nmodel; i++)
        if (fz_model[i].handle == handle)
            return (int)i;
    return -1;
}

static void fz_check_table(void)
{
    uint32_t i;
    if (fz_table.live != fz_nmodel)
        fz_fail("the handle table holds handles the guest was not told about", "");
    for (i = 0; i < fz_nmodel; i++)
        if (w2w_handles_slot(&fz_table, fz_model[i].handle, fz_model[i].type) == NULL)
            fz_fail("a handle the guest holds is no longer in the table", fz_model[i].type->name);
}

/* The regions the call may write, given its status. */
static void fz_allowed(const fz_fn *fn, const uint64_t *a, int32_t st, fz_regions *r)
{
    uint32_t i;
    int iface = st > 0 && st < 64 && (fn->iface_errors >> st & 1u);
    r->n = 0;
    if (fn->buf_arg >= 0 && fz_impl_called)
        fz_add(r, a[fn->buf_arg], (uint32_t)a[fn->buf_len_arg]);
    if (fn->buf_used_arg >= 0 && (st == 0 || st == fn->too_small || iface))
        fz_add(r, a[fn->buf_used_arg], 4);
    if (fn->errp_arg >= 0 && iface)
        fz_add(r, a[fn->errp_arg], fn->errp_size);
    if (st == 0)
        for (i = 0; i < fn->nouts; i++)
            fz_add(r, a[fn->out_arg[i]], fn->out_size[i]);
}

/* Whether any two regions the call writes share a byte (then the guest itself made the
 * results overwrite each other, and which handles it saw cannot be told). */
static int fz_overlap(const fz_fn *fn, const uint64_t *a)
{
    fz_regions r;
    uint32_t i, j;
    r.n = 0;
    if (fn->buf_arg >= 0)
        fz_add(&r, a[fn->buf_arg], (uint32_t)a[fn->buf_len_arg]);
    if (fn->buf_used_arg >= 0)
        fz_add(&r, a[fn->buf_used_arg], 4);
    if (fn->errp_arg >= 0)
        fz_add(&r, a[fn->errp_arg], fn->errp_size);
    for (i = 0; i < fn->nouts; i++)
        fz_add(&r, a[fn->out_arg[i]], fn->out_size[i]);
    for (i = 0; i < r.n; i++)
        for (j = i + 1; j < r.n; j++)
            if (r.lo[i] < r.hi[j] && r.lo[j] < r.hi[i])
                return 1;
    return 0;
}

static void fz_walk_value(void (*walk)(const uint8_t *), uint64_t addr, uint32_t size)
{
    if ((uint64_t)(uint32_t)addr + size > fz_memv.size)
        fz_fail("a result was written outside memory", "");
    walk(fz_memv.base + (uint32_t)addr);
}

static void fz_call_checked(const fz_fn *fn, const uint64_t *a)
{
    fz_regions allowed;
    int32_t st;
    uint64_t i;
    int overlap, iface;

    memcpy(fz_snap, fz_memv.base, fz_memv.size);
    fz_args = a;
    fz_current = fn;
    fz_impl_called = 0;
    fz_impl_status = 0;
    fz_stubs = 1;
    st = fn->call(&fz_memv, a);
    fz_stubs = 0;
    if (getenv("FZ_TRACE") != NULL) { /* replaying an input: what it calls */
        fprintf(stderr, "call %s(", fn->name);
        for (i = 0; i < fn->nargs; i++)
            fprintf(stderr, "%s0x%llx", i ? ", " : "", (unsigned long long)a[i]);
        fprintf(stderr, ") -> %d%s\n", (int)st, fz_impl_called ? "" : " (not called)");
    }

    /* the status is one the function may return */
    if (st < 0 || st >= fn->ncases)
        fz_fail("a status the function cannot return", "");
    if (!fz_impl_called && !fz_is_glue(fn, st))
        fz_fail("success or an interface error without calling the implementation", "");
    if (fz_impl_called && (fz_impl_status < 0 || fz_impl_status >= fn->ncases)
        && st != fn->bad_value && st != fn->too_small)
        fz_fail("an invalid status of the implementation passed through", "");
    iface = st > 0 && st < 64 && (fn->iface_errors >> st & 1u);

    /* nothing written outside what the status allows */
    fz_allowed(fn, a, st, &allowed);
    if (memcmp(fz_snap, fz_memv.base, fz_memv.size) != 0)
        for (i = 0; i < fz_memv.size; i++)
            if (fz_snap[i] != fz_memv.base[i] && !fz_in(&allowed, i)) {
                fprintf(stderr, "status %d, byte %llu\n", (int)st, (unsigned long long)i);
                fz_fail(st == 0 ? "a successful call wrote outside its out-pointers"
                                : "a failed call wrote guest memory it may not", "");
            }

    /* the handle table holds exactly the handles the guest was told about */
    overlap = fz_overlap(fn, a);
    fz_nnew = 0;
    if (fn->buf_arg >= 0)
        fz_region(a[fn->buf_arg], (uint32_t)a[fn->buf_len_arg], &fz_walk_lo, &fz_walk_hi);
    else
        fz_walk_lo = fz_walk_hi = 0;
    if (st == 0 && !overlap)
        for (i = 0; i < fn->nouts; i++)
            fz_walk_value(fn->out_walk[i], a[fn->out_arg[i]], fn->out_size[i]);
    if (iface && fn->errp_arg >= 0 && !overlap)
        fz_walk_value(fn->errp_walk, a[fn->errp_arg], fn->errp_size);
    if (fn->drop_type != NULL && fz_impl_called) {
        int k = fz_model_index((uint32_t)a[0]);
        if (k < 0)
            fz_fail("a drop took a handle the guest does not hold", fn->drop_type->name);
        if (fz_model[k].type != fn->drop_type)
            fz_fail("a drop took a handle of another resource type", fn->drop_type->name);
        fz_model[k] = fz_model[--fz_nmodel];
        fz_stale[fz_nstale++ % FZ_STALE] = (uint32_t)a[0];
        if (fz_nstale > FZ_STALE)
            fz_nstale = FZ_STALE;
    }
    if (overlap) {
        fz_resync();
        return;
    }
    for (i = 0; i < fz_nnew; i++) {
        if (w2w_handles_slot(&fz_table, fz_new[i].handle, fz_new[i].type) == NULL)
            fz_fail("the guest was told about a handle that is not live", fz_new[i].type->name);
        if (fz_model_index(fz_new[i].handle) >= 0)
            fz_fail("the guest was told about a handle it already held", fz_new[i].type->name);
        if (fz_nmodel >= W2W_HANDLE_CAPACITY)
            fz_fail("more handles told than the table holds", "");
        fz_model[fz_nmodel++] = fz_new[i];
    }
    fz_check_table();
}

static void fz_call(void)
{
    const fz_fn *fn = &fz_fns[fz_u16() % fz_nfns];
    uint64_t a[FZ_MAX_ARGS];
    uint32_t i;
    for (i = 0; i < fn->nargs; i++)
        a[i] = fz_arg(fn->arg_kind[i]);
    fz_call_checked(fn, a);
}

/* At the end of a session the guest drops every handle it holds (input exhausted:
 * the stubs now draw zeros, success). */
static void fz_drop_all(void)
{
    uint32_t guard = 0, i;
    while (fz_nmodel > 0 && guard++ < 4 * W2W_HANDLE_CAPACITY) {
        fz_held h = fz_model[fz_nmodel - 1];
        uint64_t a[FZ_MAX_ARGS] = {0};
        for (i = 0; i < fz_nfns; i++)
            if (fz_fns[i].drop_type == h.type)
                break;
        if (i == fz_nfns)
            fz_fail("no drop function for a resource type", h.type->name);
        a[0] = h.handle;
        fz_call_checked(&fz_fns[i], a);
    }
    if (fz_table.live != 0)
        fz_fail("handles left in the table after the guest dropped all it holds", "");
}

static const uint32_t fz_sizes[] = {64, 256, 1024, 4096, 65536};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t i, ops, msize;
    uint8_t fill[16];
    fz_data = data;
    fz_left = size;
    fz_stubs = 0;
    fz_current = NULL;
    msize = fz_sizes[fz_u8() % 5];
    fz_memv.base = (uint8_t *)malloc(msize); /* exactly: ASan sees one byte past it */
    fz_memv.size = msize;
    fz_snap = (uint8_t *)malloc(msize);
    for (i = 0; i < 16; i++)
        fill[i] = fz_u8();
    for (i = 0; i < msize; i++)
        fz_memv.base[i] = fill[i % 16];
    fz_nobjs = 0;
    fz_nmodel = 0;
    fz_nstale = 0;
    w2w_handles_init(&fz_table);
    fz_hosts_init(&fz_table);

    for (ops = 0; fz_left > 0 && ops < FZ_MAX_OPS; ops++) {
        switch (fz_u8() % 10) {
        case 0: { /* write bytes */
            uint32_t at = fz_u32() % msize, n = fz_u8();
            for (i = 0; i < n && at + i < msize; i++)
                fz_memv.base[at + i] = fz_u8();
            break;
        }
        case 1: { /* plant a handle (live, stale or forged) or any value */
            uint32_t at = fz_arg32(), v = fz_arg32();
            if ((uint64_t)at + 4 <= msize)
                w2w_st_u32(fz_memv.base + at, v);
            break;
        }
        default:
            fz_call();
        }
    }
    fz_left = 0;
    fz_drop_all();
    for (i = 0; i < fz_nobjs; i++) {
        if (fz_objs[i]->state == FZ_LIVE)
            fz_fail("an object was never released", fz_objs[i]->type->name);
        free(fz_objs[i]);
    }
    free(fz_memv.base);
    free(fz_snap);
    return 0;
}
