/* The C reference host: wasi:io/streams over a non-blocking socket (TCP connections). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "w2w_posix_internal.h"

#define ST_STREAM(name) WASI_IO_STREAMS_STREAM_ERROR_STATUS_##name
/* the most a single read returns and a check-write permits */
#define MAX_CHUNK (1u << 20)

typedef struct w2w_input {
    w2w_obj obj;
    w2w_fd *sock;
    bool closed; /* the peer shut down (or the connection failed): every read says `closed` */
} w2w_input;

/* Writes never block: what the socket does not take at once waits in `pending` (at
 * most one permit's worth), and check-write permits nothing until it has gone. Blocking
 * in a write instead would stop the guest reading, and a peer that echoes would stall
 * on the guest's full receive buffer (loopback then waits for TCP's window probes). */
typedef struct w2w_output {
    w2w_obj obj;
    w2w_fd *sock;
    uint64_t permit;  /* what the last check-write allowed and no write used yet */
    bool failed;      /* a write failed: every later call says `closed` */
    int error;        /* errno of the failed write */
    uint8_t *pending; /* accepted bytes the socket has not taken yet */
    uint32_t pending_len, pending_cap;
    bool in_backlog;  /* counted in host->backlog (until w2w_outputs_push finds it done) */
} w2w_output;

static void try_flush(w2w_output *out);

/* Pending bytes go out while the guest waits in poll (w2w_outputs_push), except with
 * W2W_THREADS: another guest thread may be inside a call on the same stream, which has
 * no lock; there they go out at the stream's next call. */
#if W2W_THREADS
#define BACKGROUND_SEND 0
#else
#define BACKGROUND_SEND 1
#endif

static void stream_destroy(w2w_obj *obj)
{
    w2w_fd *sock;
    if (obj->kind == W2W_INPUT) {
        sock = ((w2w_input *)obj)->sock;
    } else {
        w2w_output *out = (w2w_output *)obj;
        sock = out->sock;
        if (!obj->host->closing)
            try_flush(out); /* what the socket takes now; WASI: the rest may be lost */
        if (BACKGROUND_SEND && out->in_backlog)
            obj->host->backlog--;
        free(out->pending);
    }
    w2w_obj_unref(&sock->obj);
}

w2w_obj *w2w_input_new(w2w_posix *host, w2w_fd *sock)
{
    w2w_input *in = w2w_obj_new(host, sizeof *in, W2W_INPUT, stream_destroy);
    if (in == NULL)
        return NULL;
    in->sock = (w2w_fd *)w2w_obj_ref(&sock->obj);
    return &in->obj;
}

w2w_obj *w2w_output_new(w2w_posix *host, w2w_fd *sock)
{
    w2w_output *out = w2w_obj_new(host, sizeof *out, W2W_OUTPUT, stream_destroy);
    if (out == NULL)
        return NULL;
    out->sock = (w2w_fd *)w2w_obj_ref(&sock->obj);
    return &out->obj;
}

/* recv/send for sockets; read/write for stdio, which stays blocking (its file
 * description is shared with the parent): a read asks poll(2) first unless blocking. */
static ssize_t io_recv(w2w_fd *s, void *buf, size_t n, int flags, bool blocking)
{
    if (s->is_socket)
        return w2w_faulted(W2W_FAULT_RECV) ? -1 : recv(s->fd, buf, n, flags);
    if (!blocking) {
        struct pollfd pfd = { s->fd, POLLIN, 0 };
        if (poll(&pfd, 1, 0) == 0) {
            errno = EAGAIN;
            return -1;
        }
    }
    if (buf == NULL) { /* skip */
        uint8_t scratch[4096];
        return read(s->fd, scratch, n < sizeof scratch ? n : sizeof scratch);
    }
    return read(s->fd, buf, n);
}

static ssize_t io_send(w2w_fd *s, const void *buf, size_t n)
{
    if (!s->is_socket)
        return write(s->fd, buf, n);
    if (w2w_faulted(W2W_FAULT_SEND))
        return -1;
    return send(s->fd, buf, w2w_fault_send_len(n), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int32_t failed(wasi_io_streams_host_ctx_t *host, wasi_io_streams_stream_error_t *err, const char *what,
                      int e)
{
    w2w_obj *error = w2w_error_new(w2w_host_of(host->user), what, e);
    if (error == NULL) {
        err->tag = WASI_IO_STREAMS_STREAM_ERROR_CLOSED;
        return ST_STREAM(CLOSED);
    }
    err->tag = WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED;
    err->val.last_operation_failed = error;
    return ST_STREAM(LAST_OPERATION_FAILED);
}

static int32_t closed(wasi_io_streams_stream_error_t *err)
{
    err->tag = WASI_IO_STREAMS_STREAM_ERROR_CLOSED;
    return ST_STREAM(CLOSED);
}

static void wait_fd(int fd, short events)
{
    struct pollfd pfd = { fd, events, 0 };
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ input */

static int32_t read_into(wasi_io_streams_host_ctx_t *host, w2w_input *in, uint64_t len, w2w_buf *buf,
                         wasi_io_streams_stream_error_t *err, w2w_list_t *ret0, bool blocking)
{
    uint32_t want = len > MAX_CHUNK ? MAX_CHUNK : (uint32_t)len, mark = buf->used;
    uint8_t *dst;
    ssize_t got;
    if (in->closed)
        return closed(err);
    if (want == 0) {
        ret0->ptr = NULL;
        ret0->len = 0;
        return 0;
    }
    /* read no more than the caller's buffer holds; an empty buffer is too small */
    if (buf->cap > mark && buf->cap - mark < want)
        want = buf->cap - mark;
    dst = w2w_buf_alloc(buf, want, 1);
    if (dst == NULL)
        return ST_STREAM(BUFFER_TOO_SMALL);
    for (;;) {
        got = io_recv(in->sock, dst, want, 0, blocking);
        if (got > 0)
            break;
        if (got == 0) { /* end of stream */
            in->closed = true;
            buf->used = mark;
            return closed(err);
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            in->closed = true;
            buf->used = mark;
            return failed(host, err, "recv", errno);
        }
        if (!blocking) {
            got = 0; /* nothing there yet */
            break;
        }
        wait_fd(in->sock->fd, POLLIN);
    }
    buf->used = (uint32_t)(dst - buf->data) + (uint32_t)got;
    ret0->ptr = got ? dst : NULL;
    ret0->len = (uint32_t)got;
    return 0;
}

int32_t wasi_io_streams_impl_input_stream_read(wasi_io_streams_host_ctx_t *host, void *self, uint64_t len,
                                               w2w_buf *buf, wasi_io_streams_stream_error_t *error_payload,
                                               wasi_io_streams_input_stream_read_result_t *ret0)
{
    return read_into(host, self, len, buf, error_payload, ret0, false);
}

int32_t wasi_io_streams_impl_input_stream_blocking_read(wasi_io_streams_host_ctx_t *host, void *self, uint64_t len,
                                                        w2w_buf *buf, wasi_io_streams_stream_error_t *error_payload,
                                                        wasi_io_streams_input_stream_blocking_read_result_t *ret0)
{
    return read_into(host, self, len, buf, error_payload, ret0, true);
}

static int32_t skip(wasi_io_streams_host_ctx_t *host, w2w_input *in, uint64_t len,
                    wasi_io_streams_stream_error_t *err, uint64_t *ret0, bool blocking)
{
    uint32_t want = len > 65536 ? 65536 : (uint32_t)len;
    ssize_t got;
    if (in->closed)
        return closed(err);
    *ret0 = 0;
    if (want == 0)
        return 0;
    for (;;) {
        /* MSG_TRUNC on a TCP socket discards the bytes without copying them */
        got = io_recv(in->sock, NULL, want, MSG_TRUNC, blocking);
        if (got > 0) {
            *ret0 = (uint64_t)got;
            return 0;
        }
        if (got == 0) {
            in->closed = true;
            return closed(err);
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            in->closed = true;
            return failed(host, err, "recv", errno);
        }
        if (!blocking)
            return 0;
        wait_fd(in->sock->fd, POLLIN);
    }
}

int32_t wasi_io_streams_impl_input_stream_skip(wasi_io_streams_host_ctx_t *host, void *self, uint64_t len,
                                               wasi_io_streams_stream_error_t *error_payload,
                                               wasi_io_streams_input_stream_skip_result_t *ret0)
{
    return skip(host, self, len, error_payload, ret0, false);
}

int32_t wasi_io_streams_impl_input_stream_blocking_skip(wasi_io_streams_host_ctx_t *host, void *self, uint64_t len,
                                                        wasi_io_streams_stream_error_t *error_payload,
                                                        wasi_io_streams_input_stream_blocking_skip_result_t *ret0)
{
    return skip(host, self, len, error_payload, ret0, true);
}

static int input_ready(w2w_obj *source)
{
    return ((w2w_input *)source)->closed ? 1 : -1;
}

int32_t wasi_io_streams_impl_input_stream_subscribe(wasi_io_streams_host_ctx_t *host, void *self,
                                                    wasi_io_poll_pollable_t *ret0)
{
    w2w_input *in = self;
    w2w_pollable *p = w2w_pollable_new(w2w_host_of(host->user), &in->obj, in->sock->fd, POLLIN, input_ready);
    if (p == NULL)
        return WASI_IO_STREAMS_STREAMS_STATUS_ERROR;
    *ret0 = p;
    return 0;
}

int32_t wasi_io_streams_impl_input_stream_drop(wasi_io_streams_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

/* ------------------------------------------------------------------ output */

/* What may be written now without blocking: the free room in the send buffer. */
static uint64_t room(int fd)
{
    struct pollfd pfd = { fd, POLLOUT, 0 };
    int sndbuf = 0, queued = 0;
    socklen_t len = sizeof sndbuf;
    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 || ioctl(fd, SIOCOUTQ, &queued) != 0)
        return 65536; /* not a socket (stdout, stderr): writes there block briefly */
    if (sndbuf / 2 <= queued) /* Linux reports twice the payload room in SO_SNDBUF */
        return 4096;
    return (uint64_t)(sndbuf / 2 - queued) > MAX_CHUNK ? MAX_CHUNK : (uint64_t)(sndbuf / 2 - queued);
}

int32_t wasi_io_streams_impl_output_stream_check_write(wasi_io_streams_host_ctx_t *host, void *self,
                                                       wasi_io_streams_stream_error_t *error_payload,
                                                       wasi_io_streams_output_stream_check_write_result_t *ret0)
{
    w2w_output *out = self;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    (void)host;
    if (out->failed)
        return closed(error_payload);
    if (out->sock->is_socket && getsockopt(out->sock->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
        out->failed = true;
        return failed(host, error_payload, "send", soerr);
    }
    try_flush(out);
    if (out->failed)
        return failed(host, error_payload, "send", out->error);
    out->permit = out->pending_len != 0 ? 0 : room(out->sock->fd);
    *ret0 = out->permit;
    return 0;
}

/* Send what the socket takes of `pending` now. */
static void try_flush(w2w_output *out)
{
    uint32_t done = 0;
    while (done < out->pending_len && !out->failed) {
        ssize_t sent = io_send(out->sock, out->pending + done, out->pending_len - done);
        if (sent > 0) {
            done += (uint32_t)sent;
        } else if (sent < 0 && errno != EINTR) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                out->failed = true;
                out->error = errno;
            }
            break;
        }
    }
    if (done != 0) {
        memmove(out->pending, out->pending + done, out->pending_len - done);
        out->pending_len -= done;
    }
}

/* Send `data` without blocking; keep what the socket does not take in `pending`. */
static int32_t send_all(wasi_io_streams_host_ctx_t *host, w2w_output *out, const uint8_t *data, uint64_t n,
                        wasi_io_streams_stream_error_t *err)
{
    try_flush(out);
    while (n > 0 && out->pending_len == 0 && !out->failed) {
        ssize_t sent = io_send(out->sock, data, n);
        if (sent > 0) {
            data += sent;
            n -= (uint64_t)sent;
        } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else if (sent < 0 && errno != EINTR) {
            out->failed = true;
            out->error = errno;
        }
    }
    if (out->failed)
        return failed(host, err, "send", out->error);
    if (n > 0) {
        if ((uint64_t)out->pending_len + n > out->pending_cap) {
            uint64_t cap = (uint64_t)out->pending_len + n;
            uint8_t *grown = cap > UINT32_MAX ? NULL : realloc(out->pending, (size_t)cap);
            if (grown == NULL)
                return failed(host, err, "out of memory for a write", 0);
            out->pending = grown;
            out->pending_cap = (uint32_t)cap;
        }
        memcpy(out->pending + out->pending_len, data, (size_t)n);
        out->pending_len += (uint32_t)n;
        if (BACKGROUND_SEND && !out->in_backlog) {
            out->in_backlog = true;
            out->obj.host->backlog++;
        }
    }
    return 0;
}

uint32_t w2w_outputs_push(w2w_posix *host, struct pollfd *fds, uint32_t room)
{
    uint32_t n = 0;
#if BACKGROUND_SEND
    w2w_obj *obj;
    for (obj = host->objects; obj != NULL && host->backlog != 0; obj = obj->next) {
        w2w_output *out = (w2w_output *)obj;
        if (obj->kind != W2W_OUTPUT || !out->in_backlog)
            continue;
        try_flush(out);
        if (out->pending_len == 0 || out->failed) {
            out->in_backlog = false; /* a failure waits for the guest's next call on it */
            host->backlog--;
        } else if (n < room) {
            fds[n].fd = out->sock->fd;
            fds[n].events = POLLOUT;
            fds[n].revents = 0;
            n++;
        }
    }
#else
    (void)host, (void)fds, (void)room;
#endif
    return n;
}

/* Wait until everything pending has gone to the socket (or the socket failed). */
static int32_t drain(wasi_io_streams_host_ctx_t *host, w2w_output *out, wasi_io_streams_stream_error_t *err)
{
    for (;;) {
        try_flush(out);
        if (out->failed)
            return failed(host, err, "send", out->error);
        if (out->pending_len == 0)
            return 0;
        wait_fd(out->sock->fd, POLLOUT);
    }
}

static int32_t write_checked(wasi_io_streams_host_ctx_t *host, w2w_output *out, const uint8_t *data, uint64_t n,
                             wasi_io_streams_stream_error_t *err, bool flush)
{
    if (out->failed)
        return closed(err);
    if (!flush) {
        /* WASI traps on a write beyond check-write; this host answers with an error */
        if (n > out->permit)
            return failed(host, err, "write beyond check-write's permit", 0);
        out->permit -= n;
    } else if (n > 4096) {
        return failed(host, err, "blocking-write-and-flush of more than 4096 bytes", 0);
    }
    {
        int32_t st = send_all(host, out, data, n, err);
        return st != 0 || !flush ? st : drain(host, out, err);
    }
}

int32_t wasi_io_streams_impl_output_stream_write(wasi_io_streams_host_ctx_t *host, void *self,
                                                 const uint8_t *contents, uint32_t contents_len,
                                                 wasi_io_streams_stream_error_t *error_payload)
{
    return write_checked(host, self, contents, contents_len, error_payload, false);
}

int32_t wasi_io_streams_impl_output_stream_blocking_write_and_flush(wasi_io_streams_host_ctx_t *host, void *self,
                                                                    const uint8_t *contents, uint32_t contents_len,
                                                                    wasi_io_streams_stream_error_t *error_payload)
{
    return write_checked(host, self, contents, contents_len, error_payload, true);
}

/* flush starts sending what is pending (check-write permits nothing until it has gone) */
int32_t wasi_io_streams_impl_output_stream_flush(wasi_io_streams_host_ctx_t *host, void *self,
                                                 wasi_io_streams_stream_error_t *error_payload)
{
    w2w_output *out = self;
    if (out->failed)
        return closed(error_payload);
    try_flush(out);
    return out->failed ? failed(host, error_payload, "send", out->error) : 0;
}

int32_t wasi_io_streams_impl_output_stream_blocking_flush(wasi_io_streams_host_ctx_t *host, void *self,
                                                          wasi_io_streams_stream_error_t *error_payload)
{
    w2w_output *out = self;
    if (out->failed)
        return closed(error_payload);
    return drain(host, out, error_payload);
}

static int output_ready(w2w_obj *source)
{
    return ((w2w_output *)source)->failed ? 1 : -1;
}

int32_t wasi_io_streams_impl_output_stream_subscribe(wasi_io_streams_host_ctx_t *host, void *self,
                                                     wasi_io_poll_pollable_t *ret0)
{
    w2w_output *out = self;
    w2w_pollable *p = w2w_pollable_new(w2w_host_of(host->user), &out->obj, out->sock->fd, POLLOUT, output_ready);
    if (p == NULL)
        return WASI_IO_STREAMS_STREAMS_STATUS_ERROR;
    *ret0 = p;
    return 0;
}

static int32_t write_zeroes(wasi_io_streams_host_ctx_t *host, w2w_output *out, uint64_t len,
                            wasi_io_streams_stream_error_t *err, bool flush)
{
    static const uint8_t zeroes[4096];
    int32_t st;
    if (out->failed)
        return closed(err);
    if (flush ? len > 4096 : len > out->permit)
        return failed(host, err, "write-zeroes beyond the permit", 0);
    if (!flush)
        out->permit -= len;
    while (len > 0) {
        uint64_t k = len < sizeof zeroes ? len : sizeof zeroes;
        if ((st = send_all(host, out, zeroes, k, err)) != 0)
            return st;
        len -= k;
    }
    return flush ? drain(host, out, err) : 0;
}

int32_t wasi_io_streams_impl_output_stream_write_zeroes(wasi_io_streams_host_ctx_t *host, void *self, uint64_t len,
                                                        wasi_io_streams_stream_error_t *error_payload)
{
    return write_zeroes(host, self, len, error_payload, false);
}

int32_t wasi_io_streams_impl_output_stream_blocking_write_zeroes_and_flush(
    wasi_io_streams_host_ctx_t *host, void *self, uint64_t len, wasi_io_streams_stream_error_t *error_payload)
{
    return write_zeroes(host, self, len, error_payload, true);
}

/* splice: read what the input has (at most `len`, 64 KiB) and send it all. */
static int32_t splice(wasi_io_streams_host_ctx_t *host, w2w_output *out, w2w_input *in, uint64_t len,
                      wasi_io_streams_stream_error_t *err, uint64_t *ret0, bool blocking)
{
    uint8_t chunk[65536];
    uint32_t want = len > sizeof chunk ? (uint32_t)sizeof chunk : (uint32_t)len;
    ssize_t got;
    *ret0 = 0;
    if (out->failed)
        return closed(err);
    if (in->closed)
        return closed(err);
    if (want == 0)
        return 0;
    for (;;) {
        got = io_recv(in->sock, chunk, want, 0, blocking);
        if (got > 0)
            break;
        if (got == 0) {
            in->closed = true;
            return closed(err);
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            in->closed = true;
            return failed(host, err, "recv", errno);
        }
        if (!blocking)
            return 0;
        wait_fd(in->sock->fd, POLLIN);
    }
    *ret0 = (uint64_t)got;
    {
        int32_t st = send_all(host, out, chunk, (uint64_t)got, err);
        return st != 0 || !blocking ? st : drain(host, out, err);
    }
}

int32_t wasi_io_streams_impl_output_stream_splice(wasi_io_streams_host_ctx_t *host, void *self, void *src,
                                                  uint64_t len, wasi_io_streams_stream_error_t *error_payload,
                                                  wasi_io_streams_output_stream_splice_result_t *ret0)
{
    return splice(host, self, src, len, error_payload, ret0, false);
}

int32_t wasi_io_streams_impl_output_stream_blocking_splice(wasi_io_streams_host_ctx_t *host, void *self, void *src,
                                                           uint64_t len,
                                                           wasi_io_streams_stream_error_t *error_payload,
                                                           wasi_io_streams_output_stream_blocking_splice_result_t *ret0)
{
    return splice(host, self, src, len, error_payload, ret0, true);
}

int32_t wasi_io_streams_impl_output_stream_drop(wasi_io_streams_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}
