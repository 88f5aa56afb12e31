/* The C reference host and WASI Preview 1 in wasm3 (see w2w_posix_wasm3.h). */
#include <string.h>

#include "w2w_posix_wasm3.h"
#include "wasi_clocks_wall_clock_wasm3.h"
#include "wasi_random_random_wasm3.h"
#include "wasi_random_insecure_wasm3.h"
#include "wasi_random_insecure_seed_wasm3.h"
#include "wasi_cli_environment_wasm3.h"
#include "wasi_cli_exit_wasm3.h"
#include "wasi_cli_stdin_wasm3.h"
#include "wasi_cli_stdout_wasm3.h"
#include "wasi_cli_stderr_wasm3.h"
#include "wasi_cli_terminal_input_wasm3.h"
#include "wasi_cli_terminal_output_wasm3.h"
#include "wasi_cli_terminal_stdin_wasm3.h"
#include "wasi_cli_terminal_stdout_wasm3.h"
#include "wasi_cli_terminal_stderr_wasm3.h"
#include "wasi_clocks_monotonic_clock_wasm3.h"
#include "wasi_io_error_wasm3.h"
#include "wasi_io_poll_wasm3.h"
#include "wasi_io_streams_wasm3.h"
#include "wasi_snapshot_preview1_wasm3.h"
#include "wasi_sockets_instance_network_wasm3.h"
#include "wasi_sockets_ip_name_lookup_wasm3.h"
#include "wasi_sockets_network_wasm3.h"
#include "wasi_sockets_tcp_create_socket_wasm3.h"
#include "wasi_sockets_tcp_wasm3.h"
#include "wasi_sockets_udp_create_socket_wasm3.h"
#include "wasi_sockets_udp_wasm3.h"

M3Result w2w_posix_wasm3_link(IM3Module module, w2w_posix *host)
{
    M3Result r;
    if ((r = wasi_clocks_monotonic_clock_wasm3_link(module, &host->monotonic_clock)) != m3Err_none
        || (r = wasi_io_error_wasm3_link(module, &host->error)) != m3Err_none
        || (r = wasi_io_poll_wasm3_link(module, &host->poll)) != m3Err_none
        || (r = wasi_io_streams_wasm3_link(module, &host->streams)) != m3Err_none
        || (r = wasi_sockets_network_wasm3_link(module, &host->network)) != m3Err_none
        || (r = wasi_sockets_instance_network_wasm3_link(module, &host->instance_network)) != m3Err_none
        || (r = wasi_sockets_tcp_wasm3_link(module, &host->tcp)) != m3Err_none
        || (r = wasi_sockets_tcp_create_socket_wasm3_link(module, &host->tcp_create_socket)) != m3Err_none
        || (r = wasi_sockets_udp_wasm3_link(module, &host->udp)) != m3Err_none
        || (r = wasi_sockets_udp_create_socket_wasm3_link(module, &host->udp_create_socket)) != m3Err_none
        || (r = wasi_sockets_ip_name_lookup_wasm3_link(module, &host->ip_name_lookup)) != m3Err_none
        || (r = wasi_clocks_wall_clock_wasm3_link(module, &host->wall_clock)) != m3Err_none
        || (r = wasi_random_random_wasm3_link(module, &host->random)) != m3Err_none
        || (r = wasi_random_insecure_wasm3_link(module, &host->insecure)) != m3Err_none
        || (r = wasi_random_insecure_seed_wasm3_link(module, &host->insecure_seed)) != m3Err_none
        || (r = wasi_cli_environment_wasm3_link(module, &host->environment)) != m3Err_none
        || (r = wasi_cli_exit_wasm3_link(module, &host->exit)) != m3Err_none
        || (r = wasi_cli_stdin_wasm3_link(module, &host->stdin_)) != m3Err_none
        || (r = wasi_cli_stdout_wasm3_link(module, &host->stdout_)) != m3Err_none
        || (r = wasi_cli_stderr_wasm3_link(module, &host->stderr_)) != m3Err_none
        || (r = wasi_cli_terminal_input_wasm3_link(module, &host->terminal_input)) != m3Err_none
        || (r = wasi_cli_terminal_output_wasm3_link(module, &host->terminal_output)) != m3Err_none
        || (r = wasi_cli_terminal_stdin_wasm3_link(module, &host->terminal_stdin)) != m3Err_none
        || (r = wasi_cli_terminal_stdout_wasm3_link(module, &host->terminal_stdout)) != m3Err_none
        || (r = wasi_cli_terminal_stderr_wasm3_link(module, &host->terminal_stderr)) != m3Err_none)
        return r;
    return m3Err_none;
}

/* ---- the P1 fd functions by number (see w2w_preview1.h for why) ---- */

static w2w_mem guest_mem(IM3Runtime runtime, void *base)
{
    w2w_mem mem;
    mem.base = (uint8_t *)base;
    mem.size = m3_GetMemorySize(runtime);
    return mem;
}

static uint32_t arg_u32(const uint64_t *sp, int i)
{
    uint32_t v;
    memcpy(&v, &sp[i], sizeof v);
    return v;
}

static const void *put_result(uint64_t *sp, int32_t result)
{
    memcpy(&sp[0], &result, sizeof result);
    return m3Err_none;
}

static const void *p1_fd_write(IM3Runtime rt, IM3ImportContext ictx, uint64_t *sp, void *base)
{
    w2w_mem mem = guest_mem(rt, base);
    (void)ictx;
    return put_result(sp, w2w_preview1_fd_write(&mem, arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3), arg_u32(sp, 4)));
}

static const void *p1_fd_read(IM3Runtime rt, IM3ImportContext ictx, uint64_t *sp, void *base)
{
    w2w_mem mem = guest_mem(rt, base);
    (void)ictx;
    return put_result(sp, w2w_preview1_fd_read(&mem, arg_u32(sp, 1), arg_u32(sp, 2), arg_u32(sp, 3), arg_u32(sp, 4)));
}

static const void *p1_fd_fdstat_get(IM3Runtime rt, IM3ImportContext ictx, uint64_t *sp, void *base)
{
    w2w_mem mem = guest_mem(rt, base);
    w2w_preview1 *p1 = (w2w_preview1 *)ictx->userdata;
    return put_result(sp, w2w_preview1_fd_fdstat_get(p1->ctx.handles, &mem, arg_u32(sp, 1), arg_u32(sp, 2)));
}

static const void *p1_fd_close(IM3Runtime rt, IM3ImportContext ictx, uint64_t *sp, void *base)
{
    (void)rt;
    (void)ictx;
    (void)base;
    return put_result(sp, w2w_preview1_fd_close(arg_u32(sp, 1)));
}

static const void *p1_fd_seek(IM3Runtime rt, IM3ImportContext ictx, uint64_t *sp, void *base)
{
    w2w_mem mem = guest_mem(rt, base);
    int64_t offset;
    (void)ictx;
    memcpy(&offset, &sp[2], sizeof offset);
    return put_result(sp, w2w_preview1_fd_seek(&mem, arg_u32(sp, 1), offset, arg_u32(sp, 3), arg_u32(sp, 4)));
}

M3Result w2w_preview1_wasm3_link(IM3Module module, w2w_preview1 *p1)
{
    static const struct {
        const char *name, *sig;
        M3RawCall fn;
    } by_number[] = {
        { "fd_write", "i(iiii)", p1_fd_write },
        { "fd_read", "i(iiii)", p1_fd_read },
        { "fd_fdstat_get", "i(ii)", p1_fd_fdstat_get },
        { "fd_close", "i(i)", p1_fd_close },
        { "fd_seek", "i(iIii)", p1_fd_seek },
    };
    size_t i;
    M3Result r = wasi_snapshot_preview1_wasm3_link(module, &p1->ctx);
    if (r != m3Err_none)
        return r;
    /* linked again: the later link replaces the generated one for these imports */
    for (i = 0; i < sizeof by_number / sizeof by_number[0]; i++) {
        r = m3_LinkRawFunctionEx(module, "wasi_snapshot_preview1", by_number[i].name, by_number[i].sig,
                                 by_number[i].fn, p1);
        if (r != m3Err_none && r != m3Err_functionLookupFailed)
            return r;
    }
    return m3Err_none;
}
