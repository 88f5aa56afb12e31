"""Template: `w2w_host.h`, the support header every generated host core includes.

The same text whatever the input, except the run's header line (formatting only)."""

from __future__ import annotations

_BODY = """\
 *
 * w2w_host.h: the runtime-neutral support every generated `<module>_host.c` uses.
 *
 * - `w2w_mem`: a view of one guest linear memory (native base, size in bytes).
 *   `w2w_mem_ptr` turns a guest address + byte length into a native pointer, or NULL
 *   when the range leaves the memory (computed in 64-bit: `addr + len` cannot wrap) or
 *   when the address is not aligned as asked.
 * - little-endian loads and stores (`w2w_ld_*`, `w2w_st_*`): guest memory is always
 *   little-endian and guest addresses may be misaligned for the host.
 * - `w2w_buf`: the caller-supplied result buffer of a call (`$buf`, `$buf_len`). An
 *   implementation reserves space with `w2w_buf_alloc`; when it does not fit, the
 *   allocation returns NULL but `used` still grows, so after the call `used` is the size
 *   the guest needs.
 * - `w2w_handles`: the handle table. Fixed capacity (`W2W_HANDLE_CAPACITY`, at most
 *   65535), owned by the embedder, shared by every module of one guest instance (like
 *   the component model's per-instance handle table). A handle is `index | gen << 16`:
 *   each slot records the resource type (`w2w_type`, compared by address) and a 15-bit
 *   generation bumped on every removal, so forged, stale, dropped and other-type handles
 *   are all rejected. Handle 0 is never issued.
 * - no side effects on failure: every handle issued since `w2w_handles_begin` (the
 *   trampolines begin each call whose result can hold handles) is journaled, and
 *   `w2w_handles_rollback` removes them all again (generations bumped, as by a drop)
 *   and releases their objects through the owning module's `<r>_drop` implementation.
 *   Each module that owns resource types registers its host context with the table
 *   (`<module>_host_init` does it: initialize the table first), so that a call of one
 *   module can release another module's resources (a socket's streams). A generated
 *   `<module>_encode_<t>` issues all of a value's handles or none (`w2w_handles_unwind`).
 *
 * - threads (`W2W_THREADS=1`, off by default: a single-threaded build compiles exactly
 *   as without it): several guest threads sharing one memory may call at once. Every
 *   table operation takes the table's lock (porting hook: define W2W_LOCK_T,
 *   W2W_LOCK_INIT, W2W_LOCK and W2W_UNLOCK for the RTOS mutex; pthread by default). The
 *   call journal and the call's memory view live in one per-thread record
 *   (W2W_THREAD_LOCAL, `_Thread_local` by default), defined by the one translation unit
 *   that defines W2W_DEFINE_THREAD_STATE before including this header. A handle looked up
 *   by a call is pinned until the call returns (`w2w_call_leave`): a drop (or any `own`
 *   transfer) of a pinned handle fails with `bad_handle` and changes nothing, and a
 *   rollback of a pinned handle removes it at once but releases its object when the last
 *   pin goes, so no object is ever released while a call uses it (docs/abi.md).
 *
 * Nothing here allocates; there is no global mutable state. Define W2W_HANDLE_CAPACITY
 * (and W2W_MAX_OWNERS, the modules owning resource types that share one table, default
 * 16; W2W_THREADS and W2W_MAX_PINS, the handles one call may pin, default 64) the same
 * way for every translation unit (e.g. -DW2W_HANDLE_CAPACITY=32).
 */
#ifndef W2W_HOST_H
#define W2W_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "w2w_host.h: list views hand out guest data in place and assume a little-endian host"
#endif

#ifndef W2W_HANDLE_CAPACITY
#define W2W_HANDLE_CAPACITY 64
#endif
#if W2W_HANDLE_CAPACITY < 1 || W2W_HANDLE_CAPACITY > 65535
#error "W2W_HANDLE_CAPACITY must be between 1 and 65535"
#endif
#ifndef W2W_MAX_OWNERS
#define W2W_MAX_OWNERS 16
#endif
#if W2W_MAX_OWNERS < 1
#error "W2W_MAX_OWNERS must be at least 1"
#endif
#ifndef W2W_THREADS
#define W2W_THREADS 0
#endif
#if W2W_THREADS
#ifndef W2W_LOCK_T /* the porting hook: an RTOS maps these onto its mutex */
#include <pthread.h>
#define W2W_LOCK_T pthread_mutex_t
#define W2W_LOCK_INIT(l) ((void)pthread_mutex_init((l), NULL))
#define W2W_LOCK(l) ((void)pthread_mutex_lock(l))
#define W2W_UNLOCK(l) ((void)pthread_mutex_unlock(l))
#endif
#ifndef W2W_THREAD_LOCAL
#define W2W_THREAD_LOCAL _Thread_local
#endif
#ifndef W2W_MAX_PINS
#define W2W_MAX_PINS 64
#endif
#if W2W_MAX_PINS < 1 || W2W_MAX_PINS > 65535
#error "W2W_MAX_PINS must be between 1 and 65535"
#endif
#endif

/* Statuses of the glue itself; each module maps them onto its status enum. */
enum {
    W2W_OK = 0,
    W2W_E_BUFFER_TOO_SMALL = 1,
    W2W_E_BAD_HANDLE = 2,
    W2W_E_BAD_POINTER = 3,
    W2W_E_BAD_VALUE = 4
};

/* A guest address, for pointers whose extent the interface does not state. */
typedef uint32_t w2w_gaddr_t;

/* A list or string: `ptr` is native and points at `len` elements in guest layout. */
typedef struct w2w_list {
    void *ptr;
    uint32_t len;
} w2w_list_t;

typedef struct w2w_mem {
    uint8_t *base;
    uint64_t size;
} w2w_mem;

static inline uint8_t *w2w_mem_ptr(const w2w_mem *mem, uint32_t addr, uint64_t len, uint32_t align)
{
    if (mem->base == NULL || (uint64_t)addr + len > mem->size)
        return NULL;
    if ((addr & (align - 1u)) != 0)
        return NULL;
    return mem->base + addr;
}

static inline uint16_t w2w_ld_u16(const uint8_t *p) { return (uint16_t)(p[0] | (uint16_t)p[1] << 8); }
static inline uint32_t w2w_ld_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t w2w_ld_u64(const uint8_t *p)
{
    return (uint64_t)w2w_ld_u32(p) | (uint64_t)w2w_ld_u32(p + 4) << 32;
}
static inline float w2w_ld_f32(const uint8_t *p) { float f; uint32_t u = w2w_ld_u32(p); memcpy(&f, &u, 4); return f; }
static inline double w2w_ld_f64(const uint8_t *p) { double d; uint64_t u = w2w_ld_u64(p); memcpy(&d, &u, 8); return d; }

static inline void w2w_st_u8(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void w2w_st_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void w2w_st_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void w2w_st_u64(uint8_t *p, uint64_t v) { w2w_st_u32(p, (uint32_t)v); w2w_st_u32(p + 4, (uint32_t)(v >> 32)); }
static inline void w2w_st_f32(uint8_t *p, float f) { uint32_t u; memcpy(&u, &f, 4); w2w_st_u32(p, u); }
static inline void w2w_st_f64(uint8_t *p, double d) { uint64_t u; memcpy(&u, &d, 8); w2w_st_u64(p, u); }

/* A Unicode scalar value: not a surrogate, at most U+10FFFF. */
static inline bool w2w_valid_char(uint32_t c) { return c < 0xD800u || (c > 0xDFFFu && c <= 0x10FFFFu); }

/* --- the caller's result buffer ------------------------------------------------ */

typedef struct w2w_buf {
    uint8_t *data;   /* native address of the guest buffer (NULL when there is none) */
    uint32_t gaddr;  /* its guest address */
    uint32_t cap;    /* its size */
    uint32_t used;   /* bytes reserved so far; > cap after a failed reservation */
} w2w_buf;

/* Reserve `size` bytes at a guest address aligned to `align` (a power of two); NULL
 * if they do not fit (then `used` still counts them: it becomes the size needed). */
static inline void *w2w_buf_alloc(w2w_buf *buf, uint32_t size, uint32_t align)
{
    uint64_t at = (uint64_t)buf->gaddr + buf->used;
    uint64_t start = ((at + (align - 1u)) & ~(uint64_t)(align - 1u)) - buf->gaddr;
    uint64_t end = start + size;
    if (end > UINT32_MAX) {
        buf->used = UINT32_MAX;
        return NULL;
    }
    buf->used = (uint32_t)end;
    if (buf->data == NULL || end > buf->cap)
        return NULL;
    return buf->data + start;
}

/* Reserve and copy `len` bytes; NULL if they do not fit. */
static inline void *w2w_buf_copy(w2w_buf *buf, const void *src, uint32_t len)
{
    void *dst = w2w_buf_alloc(buf, len, 1);
    if (dst != NULL && len != 0)
        memcpy(dst, src, len);
    return dst;
}

/* The guest address of `bytes` bytes at native `ptr`, which must lie in the reserved
 * part of the buffer; W2W_E_BAD_VALUE otherwise (an implementation bug). */
static inline int w2w_buf_addr(const w2w_buf *buf, const void *ptr, uint64_t bytes, uint32_t *out)
{
    uintptr_t p = (uintptr_t)ptr, lo, hi;
    if (bytes == 0 && ptr == NULL) {
        *out = 0;
        return W2W_OK;
    }
    if (buf == NULL || buf->data == NULL)
        return W2W_E_BAD_VALUE;
    lo = (uintptr_t)buf->data;
    hi = lo + (buf->used < buf->cap ? buf->used : buf->cap);
    if (p < lo || p > hi || bytes > (uint64_t)(hi - p))
        return W2W_E_BAD_VALUE;
    *out = buf->gaddr + (uint32_t)(p - lo);
    return W2W_OK;
}

/* --- the handle table ------------------------------------------------------------ */

/* A module that owns resource types (generated: `<module>_module`). */
typedef struct w2w_module {
    const char *name;
} w2w_module;

/* A resource type (generated: `<module>_<r>_type`). */
typedef struct w2w_type {
    const char *name;
    const w2w_module *module;              /* the module that defines it */
    void (*release)(void *host, void *obj); /* calls that module's `<r>_drop`
                                              implementation (NULL: it has none) */
} w2w_type;

typedef struct w2w_slot {
    const w2w_type *type; /* NULL: free, unless (threads) `doomed` */
    void *obj;
    uint16_t gen;         /* 1..0x7fff */
#if W2W_THREADS
    uint16_t pins;          /* calls in flight that looked this handle up */
    const w2w_type *doomed; /* removed while pinned: `obj` released at the last unpin */
#endif
} w2w_slot;

typedef struct w2w_owner {
    const w2w_module *module;
    void *host; /* its host context, what `release` gets */
} w2w_owner;

/* What one call journals: in the table without threads, per thread with them. */
typedef struct w2w_journal {
    uint32_t issued; /* handles journaled since w2w_handles_begin */
    uint32_t handles[W2W_HANDLE_CAPACITY];
} w2w_journal;

typedef struct w2w_handles {
    w2w_slot slots[W2W_HANDLE_CAPACITY];
    uint32_t live;
    uint32_t next;   /* where the search for a free slot starts */
#if W2W_THREADS
    W2W_LOCK_T lock; /* guards slots, live and next */
#else
    w2w_journal journal;
#endif
    uint32_t owners_len; /* written before the guest runs, read-only after */
    w2w_owner owners[W2W_MAX_OWNERS];
} w2w_handles;

#if W2W_THREADS
/* The calling thread's call in flight: its journal, its pins, its memory view. A thread
 * makes one call at a time, so one record per thread serves every table. */
typedef struct w2w_thread_call {
    w2w_journal journal;
    uint32_t pins_len;
    uint16_t pins[W2W_MAX_PINS]; /* slot indices pinned by this call */
    w2w_mem mem;
} w2w_thread_call;

#ifdef W2W_DEFINE_THREAD_STATE
W2W_THREAD_LOCAL w2w_thread_call w2w_this_call;
#else
extern W2W_THREAD_LOCAL w2w_thread_call w2w_this_call;
#endif

static inline w2w_journal *w2w_journal_of(w2w_handles *t) { (void)t; return &w2w_this_call.journal; }
static inline void w2w_lock_(w2w_handles *t) { W2W_LOCK(&t->lock); }
static inline void w2w_unlock_(w2w_handles *t) { W2W_UNLOCK(&t->lock); }
static inline bool w2w_slot_unused_(const w2w_slot *s) { return s->type == NULL && s->doomed == NULL; }
#else
static inline w2w_journal *w2w_journal_of(w2w_handles *t) { return &t->journal; }
static inline void w2w_lock_(w2w_handles *t) { (void)t; }
static inline void w2w_unlock_(w2w_handles *t) { (void)t; }
static inline bool w2w_slot_unused_(const w2w_slot *s) { return s->type == NULL; }
#endif

/* The memory view a call's implementation reads (`host->mem`): stored per call. With
 * threads it is the calling thread's, so that concurrent calls never share it. */
static inline void w2w_call_mem_set(w2w_mem *host_mem, const w2w_mem *mem)
{
#if W2W_THREADS
    (void)host_mem;
    w2w_this_call.mem = *mem;
#else
    *host_mem = *mem;
#endif
}

static inline const w2w_mem *w2w_call_mem(const w2w_mem *host_mem)
{
#if W2W_THREADS
    (void)host_mem;
    return &w2w_this_call.mem;
#else
    return host_mem;
#endif
}

/* Initialize the table before the host contexts that use it (they register with it). */
static inline void w2w_handles_init(w2w_handles *t)
{
    uint32_t i;
    for (i = 0; i < W2W_HANDLE_CAPACITY; i++) {
        t->slots[i].type = NULL;
        t->slots[i].obj = NULL;
        t->slots[i].gen = 1;
#if W2W_THREADS
        t->slots[i].pins = 0;
        t->slots[i].doomed = NULL;
#endif
    }
    t->live = 0;
    t->next = 0;
#if W2W_THREADS
    W2W_LOCK_INIT(&t->lock);
#else
    t->journal.issued = 0;
#endif
    t->owners_len = 0;
}

/* Register `host` as the context the resources of `module` are released with (a
 * module's `<module>_host_init` calls it); false when W2W_MAX_OWNERS modules are
 * registered already. Registering a module again replaces its context. */
static inline bool w2w_handles_set_owner(w2w_handles *t, const w2w_module *module, void *host)
{
    uint32_t i;
    for (i = 0; i < t->owners_len; i++) {
        if (t->owners[i].module == module) {
            t->owners[i].host = host;
            return true;
        }
    }
    if (t->owners_len >= W2W_MAX_OWNERS)
        return false;
    t->owners[t->owners_len].module = module;
    t->owners[t->owners_len].host = host;
    t->owners_len++;
    return true;
}

/* Release an object of `type` that no handle refers to (any more), as a drop does: the
 * owning module's `<r>_drop` implementation gets it. False (and nothing happens) when
 * the type has no drop or its module registered no host context with this table. */
static inline bool w2w_handles_release(w2w_handles *t, const w2w_type *type, void *obj)
{
    uint32_t i;
    if (type->release == NULL)
        return false;
    for (i = 0; i < t->owners_len; i++) {
        if (t->owners[i].module == type->module) {
            type->release(t->owners[i].host, obj);
            return true;
        }
    }
    return false;
}

/* Free slots now (with threads: a snapshot; an insert may still find the table full). */
static inline uint32_t w2w_handles_free(w2w_handles *t)
{
    uint32_t n;
    w2w_lock_(t);
    n = W2W_HANDLE_CAPACITY - t->live;
    w2w_unlock_(t);
    return n;
}

/* A new handle for `obj` of `type`; 0 when the table is full. A live handle's object
 * is found with w2w_handles_slot (NULL: not a live handle of that type). */
static inline uint32_t w2w_handles_insert(w2w_handles *t, const w2w_type *type, void *obj)
{
    uint32_t n, i, handle = 0;
    w2w_journal *j = w2w_journal_of(t);
    w2w_lock_(t);
    i = t->next;
    for (n = 0; t->live < W2W_HANDLE_CAPACITY && n < W2W_HANDLE_CAPACITY; n++, i = (i + 1u) % W2W_HANDLE_CAPACITY) {
        w2w_slot *s = &t->slots[i];
        if (w2w_slot_unused_(s)) {
            s->type = type;
            s->obj = obj;
            t->live++;
            t->next = (i + 1u) % W2W_HANDLE_CAPACITY;
            handle = i | (uint32_t)s->gen << 16;
            break;
        }
    }
    w2w_unlock_(t);
    if (handle != 0) {
        if (j->issued < W2W_HANDLE_CAPACITY)
            j->handles[j->issued] = handle;
        j->issued++;
    }
    return handle;
}

/* The slot of a live handle of `type`, or NULL (lock held with threads). */
static inline w2w_slot *w2w_handles_find_(w2w_handles *t, uint32_t handle, const w2w_type *type)
{
    uint32_t index = handle & 0xFFFFu, gen = handle >> 16;
    w2w_slot *s;
    if (index >= W2W_HANDLE_CAPACITY || gen == 0 || gen > 0x7FFFu)
        return NULL;
    s = &t->slots[index];
    if (s->type != type || s->gen != gen)
        return NULL;
    return s;
}

/* A live handle's slot (NULL: not a live handle of that type). With threads the handle
 * is pinned until the calling thread's w2w_call_leave: its `obj` stays valid that long
 * (NULL too when the call pinned W2W_MAX_PINS handles already). */
static inline w2w_slot *w2w_handles_slot(w2w_handles *t, uint32_t handle, const w2w_type *type)
{
    w2w_slot *s;
    w2w_lock_(t);
    s = w2w_handles_find_(t, handle, type);
#if W2W_THREADS
    if (s != NULL) {
        if (w2w_this_call.pins_len < W2W_MAX_PINS && s->pins < UINT16_MAX) {
            s->pins++;
            w2w_this_call.pins[w2w_this_call.pins_len++] = (uint16_t)(handle & 0xFFFFu);
        } else {
            s = NULL;
        }
    }
#endif
    w2w_unlock_(t);
    return s;
}

static inline void w2w_slot_vacate_(w2w_handles *t, w2w_slot *s)
{
    s->type = NULL;
    s->obj = NULL;
    s->gen = (uint16_t)(s->gen == 0x7FFFu ? 1u : s->gen + 1u);
    t->live--;
}

/* Remove a live handle of `type` and store its object in `*obj`; false (and nothing
 * changes) when the handle is not a live handle of that type, or (threads) when a call
 * in flight has it pinned: its object is in use, so it cannot be handed over. */
static inline bool w2w_handles_take(w2w_handles *t, uint32_t handle, const w2w_type *type, void **obj)
{
    w2w_slot *s;
    w2w_lock_(t);
    s = w2w_handles_find_(t, handle, type);
#if W2W_THREADS
    if (s != NULL && s->pins != 0)
        s = NULL;
#endif
    if (s != NULL) {
        *obj = s->obj;
        w2w_slot_vacate_(t, s);
    }
    w2w_unlock_(t);
    return s != NULL;
}

/* --- no side effects on failure ---------------------------------------------------- */

/* Start journaling the handles a call issues (forgets the previous call's). */
static inline void w2w_handles_begin(w2w_handles *t) { w2w_journal_of(t)->issued = 0; }

/* How many handles were issued since w2w_handles_begin: a mark for w2w_handles_unwind. */
static inline uint32_t w2w_handles_issued(w2w_handles *t) { return w2w_journal_of(t)->issued; }

/* Remove a journaled handle again (if it is still live), bumping its generation as a
 * drop does; its object in `*obj` and its type returned (NULL: it was gone already, or
 * (threads) another thread's call has it pinned: then the handle is gone at once and
 * the object is released by the last unpin instead). */
static inline const w2w_type *w2w_handles_unissue_(w2w_handles *t, uint32_t handle, void **obj)
{
    w2w_slot *s = &t->slots[handle & 0xFFFFu];
    const w2w_type *type;
    w2w_lock_(t);
    type = s->type;
    if (type == NULL || s->gen != handle >> 16) {
        type = NULL;
#if W2W_THREADS
    } else if (s->pins != 0) {
        s->doomed = type;
        s->type = NULL;
        s->gen = (uint16_t)(s->gen == 0x7FFFu ? 1u : s->gen + 1u);
        type = NULL;
#endif
    } else {
        *obj = s->obj;
        w2w_slot_vacate_(t, s);
    }
    w2w_unlock_(t);
    return type;
}

/* Remove the handles issued after `mark` (newest first), leaving their objects to the
 * caller, which still holds them; returns `rc`. A generated encode that fails unwinds
 * what it issued, so its value is issued entirely or not at all. */
static inline int w2w_handles_unwind(w2w_handles *t, uint32_t mark, int rc)
{
    void *obj;
    w2w_journal *j = w2w_journal_of(t);
    if (j->issued > W2W_HANDLE_CAPACITY) /* more than a table's worth in one call */
        j->issued = W2W_HANDLE_CAPACITY;
    while (j->issued > mark) {
        j->issued--;
        (void)w2w_handles_unissue_(t, j->handles[j->issued], &obj);
    }
    return rc;
}

/* Undo every handle issued since w2w_handles_begin (newest first): each is removed
 * (generation bumped) and its object released through its module's `<r>_drop`
 * implementation, so that the table is as before the call. */
static inline void w2w_handles_rollback(w2w_handles *t)
{
    void *obj;
    const w2w_type *type;
    w2w_journal *j = w2w_journal_of(t);
    if (j->issued > W2W_HANDLE_CAPACITY)
        j->issued = W2W_HANDLE_CAPACITY;
    while (j->issued > 0) {
        j->issued--;
        type = w2w_handles_unissue_(t, j->handles[j->issued], &obj);
        if (type != NULL)
            (void)w2w_handles_release(t, type, obj);
    }
}

/* --- a call's start and end (what the bindings wrap every call in) ------------------- */

/* Without threads both do nothing (and compile to nothing). */
static inline void w2w_call_enter(w2w_handles *t)
{
    (void)t;
#if W2W_THREADS
    w2w_this_call.pins_len = 0;
#endif
}

/* Unpin every handle the call looked up; an object whose handle was removed while
 * pinned is released by its last unpin (outside the lock: `<r>_drop` may call back). */
static inline void w2w_call_leave(w2w_handles *t)
{
    (void)t;
#if W2W_THREADS
    while (w2w_this_call.pins_len > 0) {
        w2w_slot *s = &t->slots[w2w_this_call.pins[--w2w_this_call.pins_len]];
        const w2w_type *doomed = NULL;
        void *obj = NULL;
        w2w_lock_(t);
        if (--s->pins == 0 && s->doomed != NULL) {
            doomed = s->doomed;
            obj = s->obj;
            s->doomed = NULL;
            s->obj = NULL;
            t->live--;
        }
        w2w_unlock_(t);
        if (doomed != NULL)
            (void)w2w_handles_release(t, doomed, obj);
    }
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* W2W_HOST_H */
"""


def render(header_line: str) -> str:
    return f"/* {header_line}\n" + _BODY
