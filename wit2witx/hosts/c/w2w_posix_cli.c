/* The C reference host: wasi:clocks/wall-clock, wasi:random (random, insecure,
 * insecure-seed) and wasi:cli (environment, exit, stdin, stdout, stderr, terminal-*). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "w2w_posix_internal.h"

/* ------------------------------------------------------------------ wall-clock */

static int32_t realtime(bool resolution, wasi_clocks_wall_clock_datetime_t *ret0)
{
    struct timespec ts;
    if ((resolution ? clock_getres(CLOCK_REALTIME, &ts) : clock_gettime(CLOCK_REALTIME, &ts)) != 0)
        return WASI_CLOCKS_WALL_CLOCK_STATUS_ERROR;
    ret0->seconds = (uint64_t)ts.tv_sec;
    ret0->nanoseconds = (uint32_t)ts.tv_nsec;
    return 0;
}

int32_t wasi_clocks_wall_clock_impl_now(wasi_clocks_wall_clock_host_ctx_t *host, wasi_clocks_wall_clock_datetime_t *ret0)
{
    (void)host;
    return realtime(false, ret0);
}

int32_t wasi_clocks_wall_clock_impl_resolution(wasi_clocks_wall_clock_host_ctx_t *host,
                                               wasi_clocks_wall_clock_datetime_t *ret0)
{
    (void)host;
    return realtime(true, ret0);
}

/* ------------------------------------------------------------------ random */

static bool fill_random(void *dst, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t got = getrandom((uint8_t *)dst + done, n - done, 0);
        if (got < 0 && errno != EINTR)
            return false;
        if (got > 0)
            done += (size_t)got;
    }
    return true;
}

/* `len` random bytes into the caller's buffer (at most what it holds, 1 MiB) */
static int32_t random_bytes(uint64_t len, w2w_buf *buf, w2w_list_t *ret0, int32_t too_small, int32_t error)
{
    uint32_t n = len > (1u << 20) ? (1u << 20) : (uint32_t)len;
    uint8_t *dst = w2w_buf_alloc(buf, n, 1);
    if (dst == NULL && n != 0)
        return too_small;
    if (n != 0 && !fill_random(dst, n))
        return error;
    ret0->ptr = n ? dst : NULL;
    ret0->len = n;
    return 0;
}

int32_t wasi_random_random_impl_get_random_bytes(wasi_random_random_host_ctx_t *host, uint64_t len, w2w_buf *buf,
                                                 wasi_random_random_get_random_bytes_result_t *ret0)
{
    (void)host;
    return random_bytes(len, buf, ret0, WASI_RANDOM_RANDOM_STATUS_BUFFER_TOO_SMALL,
                        WASI_RANDOM_RANDOM_STATUS_ERROR);
}

int32_t wasi_random_random_impl_get_random_u64(wasi_random_random_host_ctx_t *host,
                                               wasi_random_random_get_random_u64_result_t *ret0)
{
    (void)host;
    return fill_random(ret0, sizeof *ret0) ? 0 : WASI_RANDOM_RANDOM_STATUS_ERROR;
}

int32_t wasi_random_insecure_impl_get_insecure_random_bytes(wasi_random_insecure_host_ctx_t *host, uint64_t len,
                                                            w2w_buf *buf,
                                                            wasi_random_insecure_get_insecure_random_bytes_result_t *ret0)
{
    (void)host;
    return random_bytes(len, buf, ret0, WASI_RANDOM_INSECURE_STATUS_BUFFER_TOO_SMALL,
                        WASI_RANDOM_INSECURE_STATUS_ERROR);
}

int32_t wasi_random_insecure_impl_get_insecure_random_u64(wasi_random_insecure_host_ctx_t *host,
                                                          wasi_random_insecure_get_insecure_random_u64_result_t *ret0)
{
    (void)host;
    return fill_random(ret0, sizeof *ret0) ? 0 : WASI_RANDOM_INSECURE_STATUS_ERROR;
}

/* WASI: the same seed for every call of one instance */
int32_t wasi_random_insecure_seed_impl_insecure_seed(wasi_random_insecure_seed_host_ctx_t *host,
                                                     wasi_random_insecure_seed_insecure_seed_result_0_t *ret0,
                                                     wasi_random_insecure_seed_insecure_seed_result_1_t *ret1)
{
    w2w_posix *h = w2w_host_of(host->user);
    if (!h->seeded) {
        if (!fill_random(h->insecure_seed_value, sizeof h->insecure_seed_value))
            return WASI_RANDOM_INSECURE_SEED_STATUS_ERROR;
        h->seeded = true;
    }
    *ret0 = h->insecure_seed_value[0];
    *ret1 = h->insecure_seed_value[1];
    return 0;
}

/* ------------------------------------------------------------------ environment */

/* A string copied into the buffer, as a list pointing there (NULL when it does not fit). */
static bool place_string(w2w_buf *buf, const char *s, size_t len, w2w_list_t *out)
{
    void *p = w2w_buf_copy(buf, s, (uint32_t)len);
    out->ptr = len ? p : NULL;
    out->len = (uint32_t)len;
    return p != NULL || len == 0;
}

int32_t wasi_cli_environment_impl_get_environment(wasi_cli_environment_host_ctx_t *host, w2w_buf *buf,
                                                  wasi_cli_environment_get_environment_result_t *ret0)
{
    w2w_posix *h = w2w_host_of(host->user);
    uint32_t n = (uint32_t)h->envc, i;
    uint8_t *records = w2w_buf_alloc(buf, 16u * n, 4);
    bool fits = records != NULL || n == 0;
    for (i = 0; i < n; i++) {
        wasi_cli_environment_get_environment_result_elem_t elem;
        const char *kv = h->envp[i], *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
        fits &= place_string(buf, kv, klen, &elem.f0);
        fits &= place_string(buf, eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0, &elem.f1);
        if (fits && wasi_cli_environment_encode_get_environment_result_elem(host->handles, buf, records + 16u * i,
                                                                            &elem) != W2W_OK)
            return WASI_CLI_ENVIRONMENT_STATUS_ERROR;
    }
    if (!fits)
        return WASI_CLI_ENVIRONMENT_STATUS_BUFFER_TOO_SMALL;
    ret0->ptr = n ? records : NULL;
    ret0->len = n;
    return 0;
}

int32_t wasi_cli_environment_impl_get_arguments(wasi_cli_environment_host_ctx_t *host, w2w_buf *buf,
                                                wasi_cli_environment_get_arguments_result_t *ret0)
{
    w2w_posix *h = w2w_host_of(host->user);
    uint32_t n = (uint32_t)h->argc, i;
    uint8_t *records = w2w_buf_alloc(buf, 8u * n, 4);
    bool fits = records != NULL || n == 0;
    for (i = 0; i < n; i++) {
        w2w_list_t s;
        uint32_t addr = 0;
        fits &= place_string(buf, h->argv[i], strlen(h->argv[i]), &s);
        if (fits) {
            if (w2w_buf_addr(buf, s.ptr, s.len, &addr) != W2W_OK)
                return WASI_CLI_ENVIRONMENT_STATUS_ERROR;
            w2w_st_u32(records + 8u * i, addr);
            w2w_st_u32(records + 8u * i + 4u, s.len);
        }
    }
    if (!fits)
        return WASI_CLI_ENVIRONMENT_STATUS_BUFFER_TOO_SMALL;
    ret0->ptr = n ? records : NULL;
    ret0->len = n;
    return 0;
}

int32_t wasi_cli_environment_impl_initial_cwd(wasi_cli_environment_host_ctx_t *host, w2w_buf *buf,
                                              wasi_cli_environment_initial_cwd_result_t *ret0)
{
    (void)host;
    (void)buf;
    memset(ret0, 0, sizeof *ret0); /* none: this host gives the guest no file system */
    return 0;
}

/* ------------------------------------------------------------------ exit */

static int32_t guest_exit(wasi_cli_exit_host_ctx_t *host, uint32_t code)
{
    w2w_posix *h = w2w_host_of(host->user);
    if (h->on_exit != NULL)
        h->on_exit(h->exit_user, code);
    _exit((int)(code & 0xFF)); /* on_exit must not return; never let the guest go on */
}

int32_t wasi_cli_exit_impl_exit(wasi_cli_exit_host_ctx_t *host, uint32_t status)
{
    return guest_exit(host, status == 0 ? 0 : 1);
}

int32_t wasi_cli_exit_impl_exit_with_code(wasi_cli_exit_host_ctx_t *host, uint8_t status_code)
{
    return guest_exit(host, status_code);
}

/* ------------------------------------------------------------------ stdio */

static w2w_obj *stdio_stream(w2w_posix *h, int fd, bool input)
{
    w2w_fd *s = w2w_fd_stdio(h, fd);
    w2w_obj *stream;
    if (s == NULL)
        return NULL;
    stream = input ? w2w_input_new(h, s) : w2w_output_new(h, s);
    w2w_obj_unref(&s->obj); /* the stream holds it */
    return stream;
}

int32_t wasi_cli_stdin_impl_get_stdin(wasi_cli_stdin_host_ctx_t *host, wasi_io_streams_input_stream_t *ret0)
{
    w2w_obj *s = stdio_stream(w2w_host_of(host->user), 0, true);
    if (s == NULL)
        return WASI_CLI_STDIN_STDIN_STATUS_ERROR;
    *ret0 = s;
    return 0;
}

int32_t wasi_cli_stdout_impl_get_stdout(wasi_cli_stdout_host_ctx_t *host, wasi_io_streams_output_stream_t *ret0)
{
    w2w_obj *s = stdio_stream(w2w_host_of(host->user), 1, false);
    if (s == NULL)
        return WASI_CLI_STDOUT_STDOUT_STATUS_ERROR;
    *ret0 = s;
    return 0;
}

int32_t wasi_cli_stderr_impl_get_stderr(wasi_cli_stderr_host_ctx_t *host, wasi_io_streams_output_stream_t *ret0)
{
    w2w_obj *s = stdio_stream(w2w_host_of(host->user), 2, false);
    if (s == NULL)
        return WASI_CLI_STDERR_STDERR_STATUS_ERROR;
    *ret0 = s;
    return 0;
}

/* ------------------------------------------------------------------ terminal-*: not a terminal */

int32_t wasi_cli_terminal_stdin_impl_get_terminal_stdin(wasi_cli_terminal_stdin_host_ctx_t *host,
                                                        wasi_cli_terminal_stdin_get_terminal_stdin_result_t *ret0)
{
    (void)host;
    memset(ret0, 0, sizeof *ret0); /* none */
    return 0;
}

int32_t wasi_cli_terminal_stdout_impl_get_terminal_stdout(wasi_cli_terminal_stdout_host_ctx_t *host,
                                                          wasi_cli_terminal_stdout_get_terminal_stdout_result_t *ret0)
{
    (void)host;
    memset(ret0, 0, sizeof *ret0);
    return 0;
}

int32_t wasi_cli_terminal_stderr_impl_get_terminal_stderr(wasi_cli_terminal_stderr_host_ctx_t *host,
                                                          wasi_cli_terminal_stderr_get_terminal_stderr_result_t *ret0)
{
    (void)host;
    memset(ret0, 0, sizeof *ret0);
    return 0;
}

/* never issued (no terminals), but droppable all the same */
int32_t wasi_cli_terminal_input_impl_terminal_input_drop(wasi_cli_terminal_input_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

int32_t wasi_cli_terminal_output_impl_terminal_output_drop(wasi_cli_terminal_output_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}
