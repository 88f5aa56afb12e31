/* WASI Preview 1 for runtimes that bring none (wasm3): what a zig/wasi-libc command
 * imports, over POSIX: args, environ, clocks, random, proc_exit, sched_yield, and the
 * stdio descriptors 0-2 (fd_write, fd_read, fd_fdstat_get, fd_close, fd_seek, no
 * preopens). Every other P1 function answers `nosys` (generated/w2w_preview1_nosys.c).
 *
 * The generated glue (wasi_snapshot_preview1_host.c, from wasi_snapshot_preview1.witx)
 * checks every pointer and calls the `wasi_snapshot_preview1_impl_*` functions here.
 * One exception: witx declares `fd` a `handle`, and the glue checks handles against its
 * generation-checked table, where no handle is ever 0, 1 or 2. P1 descriptors are plain
 * numbers the guest knows in advance, so the wasm3 binding (w2w_posix_wasm3.c) links
 * the fd functions itself, bounds-checking with w2w_mem_ptr like the glue; the
 * implementations here that take a table `fd` answer `badf`.
 */
#ifndef W2W_PREVIEW1_H
#define W2W_PREVIEW1_H

#include "wasi_snapshot_preview1_host.h"

typedef struct w2w_preview1 {
    wasi_snapshot_preview1_host_ctx_t ctx; /* ctx.user points back here */
    int argc;
    char **argv;
    int envc;
    char **envp;
    /* proc_exit: the embedder ends the guest (the runner closes its sockets and exits) */
    void (*on_exit)(void *user, uint32_t code);
    void *exit_user;
} w2w_preview1;

bool w2w_preview1_init(w2w_preview1 *p1, w2w_handles *handles, int argc, char **argv, int envc, char **envp);

/* stdio for the wasm3 binding: fd in 0..2, else WASI_SNAPSHOT_PREVIEW1_ERRNO_BADF */
int32_t w2w_preview1_fd_write(const w2w_mem *mem, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten);
int32_t w2w_preview1_fd_read(const w2w_mem *mem, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread);
int32_t w2w_preview1_fd_fdstat_get(w2w_handles *handles, const w2w_mem *mem, uint32_t fd, uint32_t stat);
int32_t w2w_preview1_fd_close(uint32_t fd);
int32_t w2w_preview1_fd_seek(const w2w_mem *mem, uint32_t fd, int64_t offset, uint32_t whence, uint32_t newoffset);

#endif
