/* The C reference host: objects, pollables, errors, addresses; wasi:io/error,
 * wasi:io/poll and wasi:clocks/monotonic-clock. */
#define _GNU_SOURCE
/* this file holds the one definition of the per-thread call record (W2W_THREADS=1) */
#define W2W_DEFINE_THREAD_STATE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "w2w_posix_internal.h"

/* ------------------------------------------------------------------ the host */

bool w2w_posix_init(w2w_posix *host, w2w_handles *handles, bool allow_network)
{
    memset(host, 0, sizeof *host);
    host->allow_network = allow_network;
    return wasi_clocks_monotonic_clock_host_init(&host->monotonic_clock, handles, host)
        && wasi_io_error_host_init(&host->error, handles, host)
        && wasi_io_poll_host_init(&host->poll, handles, host)
        && wasi_io_streams_host_init(&host->streams, handles, host)
        && wasi_sockets_network_host_init(&host->network, handles, host)
        && wasi_sockets_instance_network_host_init(&host->instance_network, handles, host)
        && wasi_sockets_tcp_host_init(&host->tcp, handles, host)
        && wasi_sockets_tcp_create_socket_host_init(&host->tcp_create_socket, handles, host)
        && wasi_sockets_udp_host_init(&host->udp, handles, host)
        && wasi_sockets_udp_create_socket_host_init(&host->udp_create_socket, handles, host)
        && wasi_sockets_ip_name_lookup_host_init(&host->ip_name_lookup, handles, host)
        && wasi_clocks_wall_clock_host_init(&host->wall_clock, handles, host)
        && wasi_random_random_host_init(&host->random, handles, host)
        && wasi_random_insecure_host_init(&host->insecure, handles, host)
        && wasi_random_insecure_seed_host_init(&host->insecure_seed, handles, host)
        && wasi_cli_environment_host_init(&host->environment, handles, host)
        && wasi_cli_exit_host_init(&host->exit, handles, host)
        && wasi_cli_stdin_host_init(&host->stdin_, handles, host)
        && wasi_cli_stdout_host_init(&host->stdout_, handles, host)
        && wasi_cli_stderr_host_init(&host->stderr_, handles, host)
        && wasi_cli_terminal_input_host_init(&host->terminal_input, handles, host)
        && wasi_cli_terminal_output_host_init(&host->terminal_output, handles, host)
        && wasi_cli_terminal_stdin_host_init(&host->terminal_stdin, handles, host)
        && wasi_cli_terminal_stdout_host_init(&host->terminal_stdout, handles, host)
        && wasi_cli_terminal_stderr_host_init(&host->terminal_stderr, handles, host);
}

void w2w_posix_close(w2w_posix *host)
{
    /* Whatever the guest left, regardless of references (the handle table that held
     * them dies with the guest): first every object lets go of what it holds (with
     * `closing` set, references are no longer counted, so nothing is freed under the
     * walk), then every object is freed. */
    w2w_obj *obj, *next;
    host->closing = true;
    for (obj = host->objects; obj != NULL; obj = obj->next)
        if (obj->destroy != NULL)
            obj->destroy(obj);
    for (obj = host->objects; obj != NULL; obj = next) {
        next = obj->next;
        free(obj);
    }
    host->objects = NULL;
    host->closing = false;
}

uint32_t w2w_posix_live_objects(const w2w_posix *host)
{
    uint32_t n = 0;
    const w2w_obj *o;
    for (o = host->objects; o != NULL; o = o->next)
        n++;
    return n;
}

/* ------------------------------------------------------------------ objects */

/* W2W_THREADS=1 (guest threads calling at once): the object list, the reference counts
 * and the counters are the host's shared state; one lock guards them (an object's own
 * state is used by the calls that hold its handle, which the glue keeps alive). */
#if W2W_THREADS
static pthread_mutex_t objects_lock = PTHREAD_MUTEX_INITIALIZER;
#define OBJECTS_LOCK() ((void)pthread_mutex_lock(&objects_lock))
#define OBJECTS_UNLOCK() ((void)pthread_mutex_unlock(&objects_lock))
#else
#define OBJECTS_LOCK() ((void)0)
#define OBJECTS_UNLOCK() ((void)0)
#endif

void *w2w_obj_new(w2w_posix *host, size_t size, w2w_kind kind, void (*destroy)(w2w_obj *))
{
    w2w_obj *obj = calloc(1, size);
    if (obj == NULL)
        return NULL;
    obj->kind = kind;
    obj->refs = 1;
    obj->host = host;
    obj->destroy = destroy;
    OBJECTS_LOCK();
    obj->next = host->objects;
    if (host->objects != NULL)
        host->objects->prev = obj;
    host->objects = obj;
    OBJECTS_UNLOCK();
    return obj;
}

w2w_obj *w2w_obj_ref(w2w_obj *obj)
{
    if (obj != NULL) {
        OBJECTS_LOCK();
        obj->refs++;
        OBJECTS_UNLOCK();
    }
    return obj;
}

void w2w_obj_unref(w2w_obj *obj)
{
    w2w_posix *host;
    if (obj == NULL)
        return;
    OBJECTS_LOCK();
    if (obj->host->closing || --obj->refs != 0) {
        OBJECTS_UNLOCK();
        return;
    }
    host = obj->host;
    if (obj->prev != NULL)
        obj->prev->next = obj->next;
    else
        host->objects = obj->next;
    if (obj->next != NULL)
        obj->next->prev = obj->prev;
    OBJECTS_UNLOCK();
    if (obj->destroy != NULL)
        obj->destroy(obj);
    free(obj);
}

/* ------------------------------------------------------------------ sockets */

static void fd_destroy(w2w_obj *obj)
{
    w2w_fd *s = (w2w_fd *)obj;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
        OBJECTS_LOCK();
        obj->host->sockets_closed++;
        OBJECTS_UNLOCK();
    }
}

w2w_fd *w2w_fd_adopt(w2w_posix *host, int fd, int family)
{
    w2w_fd *s = w2w_obj_new(host, sizeof *s, W2W_SOCKET, fd_destroy);
    if (s == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    s->fd = fd;
    s->family = family;
    s->is_socket = true;
    OBJECTS_LOCK();
    host->sockets_opened++;
    OBJECTS_UNLOCK();
    return s;
}

static void stdio_destroy(w2w_obj *obj) { (void)obj; /* the process's own descriptor stays open */ }

w2w_fd *w2w_fd_stdio(w2w_posix *host, int fd)
{
    w2w_fd *s = w2w_obj_new(host, sizeof *s, W2W_SOCKET, stdio_destroy);
    if (s != NULL) {
        s->fd = fd;
        s->family = AF_UNSPEC;
    }
    return s;
}

w2w_fd *w2w_fd_open(w2w_posix *host, int family, int type)
{
    int fd = w2w_faulted(W2W_FAULT_SOCKET) ? -1 : socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (family == AF_INET6) {
        int on = 1; /* an IPv6 socket speaks IPv6 only, as WASI says */
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    return w2w_fd_adopt(host, fd, family);
}

/* ------------------------------------------------------------------ errors */

int32_t w2w_errno_status(int err)
{
    switch (err) {
    case ECONNREFUSED: return ST_NET(CONNECTION_REFUSED);
    case ECONNRESET: case EPIPE: return ST_NET(CONNECTION_RESET);
    case ECONNABORTED: return ST_NET(CONNECTION_ABORTED);
    case EADDRINUSE: return ST_NET(ADDRESS_IN_USE);
    case EADDRNOTAVAIL: return ST_NET(ADDRESS_NOT_BINDABLE);
    case EACCES: case EPERM: return ST_NET(ACCESS_DENIED);
    case EINVAL: case EDESTADDRREQ: return ST_NET(INVALID_ARGUMENT);
    case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EHOSTDOWN: return ST_NET(REMOTE_UNREACHABLE);
    case ETIMEDOUT: return ST_NET(TIMEOUT);
    case EAGAIN: case EINPROGRESS: return ST_NET(WOULD_BLOCK);
    case EMFILE: case ENFILE: return ST_NET(NEW_SOCKET_LIMIT);
    case ENOMEM: case ENOBUFS: return ST_NET(OUT_OF_MEMORY);
    case EAFNOSUPPORT: case EOPNOTSUPP: return ST_NET(NOT_SUPPORTED);
    case EISCONN: case ENOTCONN: return ST_NET(INVALID_STATE);
    case EMSGSIZE: return ST_NET(DATAGRAM_TOO_LARGE);
    default: return ST_NET(UNKNOWN);
    }
}

typedef struct w2w_error {
    w2w_obj obj;
    char message[128];
} w2w_error;

w2w_obj *w2w_error_new(w2w_posix *host, const char *message, int err)
{
    w2w_error *e = w2w_obj_new(host, sizeof *e, W2W_ERROR, NULL);
    if (e == NULL)
        return NULL;
    if (err != 0)
        snprintf(e->message, sizeof e->message, "%s: %s", message, strerror(err));
    else
        snprintf(e->message, sizeof e->message, "%s", message);
    return &e->obj;
}

int32_t wasi_io_error_impl_error_to_debug_string(wasi_io_error_host_ctx_t *host, void *self, w2w_buf *buf,
                                                 wasi_io_error_error_to_debug_string_result_t *ret0)
{
    w2w_error *e = self;
    uint32_t len = (uint32_t)strlen(e->message);
    void *dst = w2w_buf_copy(buf, e->message, len);
    (void)host;
    if (dst == NULL)
        return WASI_IO_ERROR_ERROR_STATUS_BUFFER_TOO_SMALL;
    ret0->ptr = dst;
    ret0->len = len;
    return 0;
}

int32_t wasi_io_error_impl_error_drop(wasi_io_error_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

/* ------------------------------------------------------------------ addresses */

int w2w_sockaddr_from(const wasi_sockets_network_ip_socket_address_t *a, struct sockaddr_storage *ss,
                      socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (a->tag == WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        const wasi_sockets_network_ipv4_address_t *b = &a->val.ipv4.address;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->val.ipv4.port);
        in->sin_addr.s_addr = htonl((uint32_t)b->f0 << 24 | (uint32_t)b->f1 << 16 | (uint32_t)b->f2 << 8 | b->f3);
        *len = sizeof *in;
        return AF_INET;
    }
    {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        const wasi_sockets_network_ipv6_address_t *b = &a->val.ipv6.address;
        const uint16_t w[8] = { b->f0, b->f1, b->f2, b->f3, b->f4, b->f5, b->f6, b->f7 };
        int i;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a->val.ipv6.port);
        in6->sin6_flowinfo = htonl(a->val.ipv6.flow_info);
        in6->sin6_scope_id = a->val.ipv6.scope_id;
        for (i = 0; i < 8; i++) {
            in6->sin6_addr.s6_addr[2 * i] = (uint8_t)(w[i] >> 8);
            in6->sin6_addr.s6_addr[2 * i + 1] = (uint8_t)w[i];
        }
        *len = sizeof *in6;
        return AF_INET6;
    }
}

void w2w_sockaddr_to(const struct sockaddr *sa, wasi_sockets_network_ip_socket_address_t *a)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uint32_t ip = ntohl(in->sin_addr.s_addr);
        a->tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
        a->val.ipv4.port = ntohs(in->sin_port);
        a->val.ipv4.address.f0 = (uint8_t)(ip >> 24);
        a->val.ipv4.address.f1 = (uint8_t)(ip >> 16);
        a->val.ipv4.address.f2 = (uint8_t)(ip >> 8);
        a->val.ipv4.address.f3 = (uint8_t)ip;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        wasi_sockets_network_ipv6_address_t *d = &a->val.ipv6.address;
        a->tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV6;
        a->val.ipv6.port = ntohs(in6->sin6_port);
        a->val.ipv6.flow_info = ntohl(in6->sin6_flowinfo);
        a->val.ipv6.scope_id = in6->sin6_scope_id;
        d->f0 = (uint16_t)(b[0] << 8 | b[1]); d->f1 = (uint16_t)(b[2] << 8 | b[3]);
        d->f2 = (uint16_t)(b[4] << 8 | b[5]); d->f3 = (uint16_t)(b[6] << 8 | b[7]);
        d->f4 = (uint16_t)(b[8] << 8 | b[9]); d->f5 = (uint16_t)(b[10] << 8 | b[11]);
        d->f6 = (uint16_t)(b[12] << 8 | b[13]); d->f7 = (uint16_t)(b[14] << 8 | b[15]);
    }
}

bool w2w_sockaddr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

bool w2w_sockaddr_unspecified(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

/* ------------------------------------------------------------------ clocks */

uint64_t w2w_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int32_t wasi_clocks_monotonic_clock_impl_now(wasi_clocks_monotonic_clock_host_ctx_t *host,
                                             wasi_clocks_monotonic_clock_instant_t *ret0)
{
    (void)host;
    *ret0 = w2w_now_ns();
    return 0;
}

int32_t wasi_clocks_monotonic_clock_impl_resolution(wasi_clocks_monotonic_clock_host_ctx_t *host,
                                                    wasi_clocks_monotonic_clock_duration_t *ret0)
{
    struct timespec ts;
    (void)host;
    clock_getres(CLOCK_MONOTONIC, &ts);
    *ret0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

int32_t wasi_clocks_monotonic_clock_impl_subscribe_instant(wasi_clocks_monotonic_clock_host_ctx_t *host,
                                                           wasi_clocks_monotonic_clock_instant_t when,
                                                           wasi_io_poll_pollable_t *ret0)
{
    w2w_pollable *p = w2w_pollable_timer(w2w_host_of(host->user), when);
    if (p == NULL)
        return WASI_CLOCKS_MONOTONIC_CLOCK_MONOTONIC_CLOCK_STATUS_ERROR;
    *ret0 = p;
    return 0;
}

int32_t wasi_clocks_monotonic_clock_impl_subscribe_duration(wasi_clocks_monotonic_clock_host_ctx_t *host,
                                                            wasi_clocks_monotonic_clock_duration_t when,
                                                            wasi_io_poll_pollable_t *ret0)
{
    uint64_t now = w2w_now_ns();
    uint64_t deadline = when > UINT64_MAX - now ? UINT64_MAX : now + when;
    return wasi_clocks_monotonic_clock_impl_subscribe_instant(host, deadline, ret0);
}

/* ------------------------------------------------------------------ pollables */

static void pollable_destroy(w2w_obj *obj)
{
    w2w_pollable *p = (w2w_pollable *)obj;
    w2w_obj *source = p->source;
    p->source = NULL;
    w2w_obj_unref(source);
}

w2w_pollable *w2w_pollable_new(w2w_posix *host, w2w_obj *source, int fd, short events,
                               int (*ready)(w2w_obj *))
{
    w2w_pollable *p = w2w_obj_new(host, sizeof *p, W2W_POLLABLE, pollable_destroy);
    if (p == NULL)
        return NULL;
    p->source = w2w_obj_ref(source);
    p->fd = fd;
    p->events = events;
    p->ready = ready;
    return p;
}

w2w_pollable *w2w_pollable_timer(w2w_posix *host, uint64_t deadline)
{
    w2w_pollable *p = w2w_pollable_new(host, NULL, -1, 0, NULL);
    if (p != NULL) {
        p->timer = true;
        p->deadline = deadline;
    }
    return p;
}

/* 1 ready, 0 not yet, -1 only poll(2) can tell */
static int ready_without_waiting(w2w_pollable *p)
{
    if (p->timer)
        return w2w_now_ns() >= p->deadline;
    if (p->ready != NULL) {
        int r = p->ready(p->source);
        if (r >= 0)
            return r;
    }
    return p->fd < 0 ? 1 : -1;
}

bool w2w_pollable_is_ready(w2w_pollable *p)
{
    int r = ready_without_waiting(p);
    if (r < 0) {
        struct pollfd pfd = { p->fd, p->events, 0 };
        return poll(&pfd, 1, 0) != 0; /* ready, or an error: the next call tells the guest */
    }
    return r == 1;
}

/* Wait until one of `ps` is ready: poll(2) on their fds up to the nearest deadline.
 * Meanwhile the outputs' pending bytes go out as their sockets take them. */
void w2w_wait_any(w2w_pollable **ps, uint32_t n)
{
    w2w_posix *host = n != 0 ? ps[0]->obj.host : NULL;
    uint32_t sending = host != NULL ? host->backlog : 0; /* only falls while we wait */
    struct pollfd stack[64], *fds = n + sending <= 64 ? stack : calloc(n + sending, sizeof *fds);
    if (fds == NULL)
        return; /* out of memory: return at once, the guest polls again */
    for (;;) {
        uint64_t deadline = UINT64_MAX, now;
        nfds_t nfds = 0, guest_nfds;
        uint32_t i;
        int timeout;
        if (sending != 0)
            sending = w2w_outputs_push(host, fds + n, sending); /* parked past the guest's fds */
        for (i = 0; i < n; i++) {
            int r = ready_without_waiting(ps[i]);
            if (r == 1)
                goto done;
            if (ps[i]->timer && ps[i]->deadline < deadline)
                deadline = ps[i]->deadline;
            if (r < 0) {
                fds[nfds].fd = ps[i]->fd;
                fds[nfds].events = ps[i]->events;
                fds[nfds].revents = 0;
                nfds++;
            }
        }
        now = w2w_now_ns();
        if (deadline == UINT64_MAX)
            timeout = -1;
        else if (deadline <= now)
            continue;
        else {
            uint64_t ms = (deadline - now + 999999u) / 1000000u;
            timeout = ms > 60000 ? 60000 : (int)ms;
        }
        if (nfds == 0 && timeout < 0)
            goto done; /* nothing could ever become ready: do not hang the host */
        guest_nfds = nfds;
        for (i = 0; i < sending; i++)
            fds[nfds++] = fds[n + i]; /* room for a sending fd: the next round sends more */
        if (!w2w_faulted(W2W_FAULT_POLL) && poll(fds, nfds, timeout) > 0) { /* a failed poll: look again */
            for (i = 0; i < guest_nfds; i++)
                if (fds[i].revents != 0)
                    goto done;
        }
    }
done:
    if (fds != stack)
        free(fds);
}

int32_t wasi_io_poll_impl_pollable_ready(wasi_io_poll_host_ctx_t *host, void *self,
                                         wasi_io_poll_pollable_ready_result_t *ret0)
{
    (void)host;
    *ret0 = w2w_pollable_is_ready(self);
    return 0;
}

int32_t wasi_io_poll_impl_pollable_block(wasi_io_poll_host_ctx_t *host, void *self)
{
    w2w_pollable *p = self;
    (void)host;
    w2w_wait_any(&p, 1);
    return 0;
}

int32_t wasi_io_poll_impl_pollable_drop(wasi_io_poll_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

int32_t wasi_io_poll_impl_poll(wasi_io_poll_host_ctx_t *host, const uint8_t *in, uint32_t in_len, w2w_buf *buf,
                               wasi_io_poll_poll_result_t *ret0)
{
    w2w_pollable *stack[64], **ps;
    uint32_t i, k = 0, *out;
    uint8_t *dst;
    int32_t status = 0;
    if (in_len == 0)
        return WASI_IO_POLL_POLL_STATUS_BAD_VALUE; /* WASI traps on an empty list */
    ps = in_len <= 64 ? stack : calloc(in_len, sizeof *ps);
    out = calloc(in_len, sizeof *out);
    if (ps == NULL || out == NULL) {
        status = WASI_IO_POLL_POLL_STATUS_ERROR;
        goto end;
    }
    for (i = 0; i < in_len; i++) {
        wasi_io_poll_pollable_t obj;
        if (wasi_io_poll_decode_pollable(w2w_call_mem(&host->mem), host->handles, in + 4u * i, &obj) != W2W_OK) {
            status = WASI_IO_POLL_POLL_STATUS_BAD_HANDLE;
            goto end;
        }
        ps[i] = obj;
    }
    /* the result list must fit: refuse before waiting (no side effects either way) */
    {
        w2w_buf probe = *buf;
        probe.data = NULL;
        (void)w2w_buf_alloc(&probe, 4u * in_len, 4);
        if (probe.used > buf->cap) {
            buf->used = probe.used;
            status = WASI_IO_POLL_POLL_STATUS_BUFFER_TOO_SMALL;
            goto end;
        }
    }
    w2w_wait_any(ps, in_len);
    for (i = 0; i < in_len; i++)
        if (w2w_pollable_is_ready(ps[i]))
            out[k++] = i;
    dst = w2w_buf_alloc(buf, 4u * k, 4);
    if (dst == NULL && k != 0) {
        status = WASI_IO_POLL_POLL_STATUS_BUFFER_TOO_SMALL;
        goto end;
    }
    for (i = 0; i < k; i++)
        w2w_st_u32(dst + 4u * i, out[i]);
    ret0->ptr = k ? dst : NULL;
    ret0->len = k;
end:
    if (ps != stack)
        free(ps);
    free(out);
    return status;
}
