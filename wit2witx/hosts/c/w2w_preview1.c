/* WASI Preview 1 over POSIX for the wasm3 runner (see w2w_preview1.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "w2w_preview1.h"

#define P1_ERR(name) ((int32_t)WASI_SNAPSHOT_PREVIEW1_ERRNO_##name)

bool w2w_preview1_init(w2w_preview1 *p1, w2w_handles *handles, int argc, char **argv, int envc, char **envp)
{
    memset(p1, 0, sizeof *p1);
    p1->argc = argc;
    p1->argv = argv;
    p1->envc = envc;
    p1->envp = envp;
    return wasi_snapshot_preview1_host_init(&p1->ctx, handles, p1);
}

static w2w_preview1 *p1_of(wasi_snapshot_preview1_host_ctx_t *host) { return (w2w_preview1 *)host->user; }

static int32_t os_errno(int e)
{
    switch (e) {
    case EBADF: return P1_ERR(BADF);
    case EINVAL: return P1_ERR(INVAL);
    case EPIPE: return P1_ERR(PIPE);
    case ESPIPE: return P1_ERR(SPIPE);
    case EAGAIN: return P1_ERR(AGAIN);
    case EINTR: return P1_ERR(INTR);
    default: return P1_ERR(IO);
    }
}

/* ------------------------------------------------------------------ args, environ */

static int32_t strings_sizes(int n, char **strings, uint32_t *count, uint32_t *bytes)
{
    uint64_t total = 0;
    int i;
    for (i = 0; i < n; i++)
        total += strlen(strings[i]) + 1u;
    if (total > UINT32_MAX)
        return P1_ERR(2BIG);
    *count = (uint32_t)n;
    *bytes = (uint32_t)total;
    return 0;
}

/* argv-style: `n` guest pointers at `ptrs`, the NUL-terminated strings at `buf`. */
static int32_t strings_get(const w2w_mem *mem, int n, char **strings, w2w_gaddr_t ptrs, w2w_gaddr_t buf)
{
    uint32_t count = 0, bytes = 0, at = 0;
    uint8_t *p, *b;
    int i;
    int32_t st = strings_sizes(n, strings, &count, &bytes);
    if (st != 0)
        return st;
    p = w2w_mem_ptr(mem, ptrs, (uint64_t)count * 4u, 1);
    b = w2w_mem_ptr(mem, buf, bytes, 1);
    if ((p == NULL && count != 0) || (b == NULL && bytes != 0))
        return P1_ERR(FAULT);
    for (i = 0; i < n; i++) {
        size_t len = strlen(strings[i]) + 1u;
        w2w_st_u32(p + 4u * (uint32_t)i, buf + at);
        memcpy(b + at, strings[i], len);
        at += (uint32_t)len;
    }
    return 0;
}

int32_t wasi_snapshot_preview1_impl_args_sizes_get(wasi_snapshot_preview1_host_ctx_t *host,
                                                   wasi_snapshot_preview1_size_t *ret0,
                                                   wasi_snapshot_preview1_size_t *ret1)
{
    return strings_sizes(p1_of(host)->argc, p1_of(host)->argv, ret0, ret1);
}

int32_t wasi_snapshot_preview1_impl_args_get(wasi_snapshot_preview1_host_ctx_t *host, w2w_gaddr_t argv,
                                             w2w_gaddr_t argv_buf)
{
    return strings_get(w2w_call_mem(&host->mem), p1_of(host)->argc, p1_of(host)->argv, argv, argv_buf);
}

int32_t wasi_snapshot_preview1_impl_environ_sizes_get(wasi_snapshot_preview1_host_ctx_t *host,
                                                      wasi_snapshot_preview1_size_t *ret0,
                                                      wasi_snapshot_preview1_size_t *ret1)
{
    return strings_sizes(p1_of(host)->envc, p1_of(host)->envp, ret0, ret1);
}

int32_t wasi_snapshot_preview1_impl_environ_get(wasi_snapshot_preview1_host_ctx_t *host, w2w_gaddr_t environ,
                                                w2w_gaddr_t environ_buf)
{
    return strings_get(w2w_call_mem(&host->mem), p1_of(host)->envc, p1_of(host)->envp, environ, environ_buf);
}

/* ------------------------------------------------------------------ clocks, random, exit */

static int32_t os_clock(wasi_snapshot_preview1_clockid_t id, clockid_t *out)
{
    switch (id) {
    case WASI_SNAPSHOT_PREVIEW1_CLOCKID_REALTIME: *out = CLOCK_REALTIME; return 0;
    case WASI_SNAPSHOT_PREVIEW1_CLOCKID_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
    case WASI_SNAPSHOT_PREVIEW1_CLOCKID_PROCESS_CPUTIME_ID: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
    case WASI_SNAPSHOT_PREVIEW1_CLOCKID_THREAD_CPUTIME_ID: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return P1_ERR(INVAL);
    }
}

int32_t wasi_snapshot_preview1_impl_clock_res_get(wasi_snapshot_preview1_host_ctx_t *host,
                                                  wasi_snapshot_preview1_clockid_t id,
                                                  wasi_snapshot_preview1_timestamp_t *ret0)
{
    clockid_t clk;
    struct timespec ts;
    (void)host;
    if (os_clock(id, &clk) != 0 || clock_getres(clk, &ts) != 0)
        return P1_ERR(INVAL);
    *ret0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

int32_t wasi_snapshot_preview1_impl_clock_time_get(wasi_snapshot_preview1_host_ctx_t *host,
                                                   wasi_snapshot_preview1_clockid_t id,
                                                   wasi_snapshot_preview1_timestamp_t precision,
                                                   wasi_snapshot_preview1_timestamp_t *ret0)
{
    clockid_t clk;
    struct timespec ts;
    (void)host;
    (void)precision;
    if (os_clock(id, &clk) != 0 || clock_gettime(clk, &ts) != 0)
        return P1_ERR(INVAL);
    *ret0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

int32_t wasi_snapshot_preview1_impl_random_get(wasi_snapshot_preview1_host_ctx_t *host, uint8_t *buf,
                                               uint32_t buf_len)
{
    uint32_t done = 0;
    (void)host;
    while (done < buf_len) {
        ssize_t n = getrandom(buf + done, buf_len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return os_errno(errno);
        }
        done += (uint32_t)n;
    }
    return 0;
}

void wasi_snapshot_preview1_impl_proc_exit(wasi_snapshot_preview1_host_ctx_t *host,
                                           wasi_snapshot_preview1_exitcode_t rval)
{
    w2w_preview1 *p1 = p1_of(host);
    if (p1->on_exit != NULL)
        p1->on_exit(p1->exit_user, rval);
    _exit((int)(rval & 0xFF)); /* on_exit must not return; never let the guest go on */
}

int32_t wasi_snapshot_preview1_impl_sched_yield(wasi_snapshot_preview1_host_ctx_t *host)
{
    (void)host;
    sched_yield();
    return 0;
}

/* ------------------------------------------------------------------ fds through the table: none */

int32_t wasi_snapshot_preview1_impl_fd_close(wasi_snapshot_preview1_host_ctx_t *host, void *fd)
{
    (void)host;
    (void)fd;
    return P1_ERR(BADF);
}

int32_t wasi_snapshot_preview1_impl_fd_fdstat_get(wasi_snapshot_preview1_host_ctx_t *host, void *fd,
                                                  wasi_snapshot_preview1_fdstat_t *ret0)
{
    (void)host;
    (void)fd;
    (void)ret0;
    return P1_ERR(BADF);
}

int32_t wasi_snapshot_preview1_impl_fd_prestat_get(wasi_snapshot_preview1_host_ctx_t *host, void *fd,
                                                   wasi_snapshot_preview1_prestat_t *ret0)
{
    (void)host;
    (void)fd;
    (void)ret0;
    return P1_ERR(BADF); /* no preopened directories */
}

int32_t wasi_snapshot_preview1_impl_fd_prestat_dir_name(wasi_snapshot_preview1_host_ctx_t *host, void *fd,
                                                        uint8_t *path, uint32_t path_len)
{
    (void)host;
    (void)fd;
    (void)path;
    (void)path_len;
    return P1_ERR(BADF);
}

int32_t wasi_snapshot_preview1_impl_fd_read(wasi_snapshot_preview1_host_ctx_t *host, void *fd, const uint8_t *iovs,
                                            uint32_t iovs_len, wasi_snapshot_preview1_size_t *ret0)
{
    (void)host;
    (void)fd;
    (void)iovs;
    (void)iovs_len;
    (void)ret0;
    return P1_ERR(BADF);
}

int32_t wasi_snapshot_preview1_impl_fd_write(wasi_snapshot_preview1_host_ctx_t *host, void *fd, const uint8_t *iovs,
                                             uint32_t iovs_len, wasi_snapshot_preview1_size_t *ret0)
{
    (void)host;
    (void)fd;
    (void)iovs;
    (void)iovs_len;
    (void)ret0;
    return P1_ERR(BADF);
}

int32_t wasi_snapshot_preview1_impl_fd_seek(wasi_snapshot_preview1_host_ctx_t *host, void *fd,
                                            wasi_snapshot_preview1_filedelta_t offset,
                                            wasi_snapshot_preview1_whence_t whence,
                                            wasi_snapshot_preview1_filesize_t *ret0)
{
    (void)host;
    (void)fd;
    (void)offset;
    (void)whence;
    (void)ret0;
    return P1_ERR(BADF);
}

/* ------------------------------------------------------------------ stdio by number */

/* Move the iovecs' bytes: writing (to fd) or reading (from fd); *done counts them. */
static int32_t stdio_iovs(const w2w_mem *mem, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t out,
                          bool writing)
{
    uint8_t *vec = w2w_mem_ptr(mem, iovs, (uint64_t)iovs_len * 8u, 4);
    uint8_t *res = w2w_mem_ptr(mem, out, 4, 4);
    uint64_t total = 0;
    uint32_t i;
    if (fd > 2 || (writing ? fd == 0 : fd != 0))
        return P1_ERR(BADF);
    if (vec == NULL || res == NULL)
        return P1_ERR(FAULT);
    for (i = 0; i < iovs_len; i++) {
        uint32_t addr = w2w_ld_u32(vec + 8u * i), len = w2w_ld_u32(vec + 8u * i + 4u);
        uint8_t *p = w2w_mem_ptr(mem, addr, len, 1);
        uint32_t done = 0;
        if (p == NULL)
            return P1_ERR(FAULT);
        while (done < len) {
            ssize_t n = writing ? write((int)fd, p + done, len - done) : read((int)fd, p + done, len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                if (total != 0)
                    goto end;
                return os_errno(errno);
            }
            if (n == 0)
                goto end; /* end of input */
            done += (uint32_t)n;
            total += (uint64_t)n;
            if (!writing && done < len)
                goto end; /* a short read: return what there is */
        }
    }
end:
    w2w_st_u32(res, (uint32_t)total);
    return 0;
}

int32_t w2w_preview1_fd_write(const w2w_mem *mem, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten)
{
    return stdio_iovs(mem, fd, iovs, iovs_len, nwritten, true);
}

int32_t w2w_preview1_fd_read(const w2w_mem *mem, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread)
{
    return stdio_iovs(mem, fd, iovs, iovs_len, nread, false);
}

int32_t w2w_preview1_fd_fdstat_get(w2w_handles *handles, const w2w_mem *mem, uint32_t fd, uint32_t stat)
{
    wasi_snapshot_preview1_fdstat_t st;
    uint8_t *dst = w2w_mem_ptr(mem, stat, 24, 8);
    if (fd > 2)
        return P1_ERR(BADF);
    if (dst == NULL)
        return P1_ERR(FAULT);
    memset(&st, 0, sizeof st);
    st.fs_filetype = isatty((int)fd) ? WASI_SNAPSHOT_PREVIEW1_FILETYPE_CHARACTER_DEVICE
                                     : WASI_SNAPSHOT_PREVIEW1_FILETYPE_UNKNOWN;
    st.fs_rights_base = fd == 0 ? WASI_SNAPSHOT_PREVIEW1_RIGHTS_FD_READ : WASI_SNAPSHOT_PREVIEW1_RIGHTS_FD_WRITE;
    return wasi_snapshot_preview1_encode_fdstat(handles, NULL, dst, &st) == W2W_OK ? 0 : P1_ERR(FAULT);
}

int32_t w2w_preview1_fd_close(uint32_t fd)
{
    return fd <= 2 ? 0 : P1_ERR(BADF); /* the guest may close stdio; the process keeps it */
}

int32_t w2w_preview1_fd_seek(const w2w_mem *mem, uint32_t fd, int64_t offset, uint32_t whence, uint32_t newoffset)
{
    (void)offset;
    (void)whence;
    if (fd > 2)
        return P1_ERR(BADF);
    if (w2w_mem_ptr(mem, newoffset, 8, 8) == NULL)
        return P1_ERR(FAULT);
    return P1_ERR(SPIPE);
}
