/* The C reference host: wasi:sockets network, instance-network, tcp, tcp-create-socket,
 * udp, udp-create-socket and ip-name-lookup over non-blocking POSIX sockets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "w2w_posix_internal.h"

#define FAMILY_V4 WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4
#define FAMILY_V6 WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV6

static int os_family(uint8_t family) { return family == FAMILY_V6 ? AF_INET6 : AF_INET; }
static uint8_t wasi_family(int family) { return family == AF_INET6 ? FAMILY_V6 : FAMILY_V4; }

/* ------------------------------------------------------------------ network */

int32_t wasi_sockets_instance_network_impl_instance_network(wasi_sockets_instance_network_host_ctx_t *host,
                                                            wasi_sockets_network_network_t *ret0)
{
    w2w_obj *net = w2w_obj_new(w2w_host_of(host->user), sizeof *net, W2W_NETWORK, NULL);
    if (net == NULL)
        return WASI_SOCKETS_INSTANCE_NETWORK_INSTANCE_NETWORK_STATUS_ERROR;
    *ret0 = net;
    return 0;
}

int32_t wasi_sockets_network_impl_network_drop(wasi_sockets_network_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

/* The policy: loopback only unless the network is allowed (the unspecified address
 * may be bound: what arrives from elsewhere is dropped). */
static int32_t check_address(w2w_posix *host, const struct sockaddr *sa, bool binding)
{
    if (host->allow_network || w2w_sockaddr_loopback(sa) || (binding && w2w_sockaddr_unspecified(sa)))
        return 0;
    return ST_NET(ACCESS_DENIED);
}

/* A socket address of the guest as a sockaddr of the socket's family. */
static int32_t guest_address(const wasi_sockets_network_ip_socket_address_t *a, int family,
                             struct sockaddr_storage *ss, socklen_t *len)
{
    if (w2w_sockaddr_from(a, ss, len) != family)
        return ST_NET(INVALID_ARGUMENT);
    if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)ss)->sin6_addr))
        return ST_NET(INVALID_ARGUMENT); /* WASI: IPv4-mapped addresses are refused */
    return 0;
}

static int32_t errno_status(void) { return w2w_errno_status(errno); }

/* Neither multicast nor the IPv4 limited broadcast: a TCP peer can be there (WIT:
 * `invalid-argument` otherwise, before the policy is asked, as wasmtime and the Python host). */
static bool unicast(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 28) != 0xE && a != 0xFFFFFFFFu;
    }
    return !IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* ------------------------------------------------------------------ tcp */

enum tcp_state { TCP_UNBOUND, TCP_BIND_STARTED, TCP_BOUND, TCP_LISTEN_STARTED, TCP_LISTENING,
                 TCP_CONNECTING, TCP_CONNECTED, TCP_CLOSED };

typedef struct w2w_tcp {
    w2w_obj obj;
    w2w_fd *sock;
    enum tcp_state state;
    int connect_error;   /* an error connect(2) reported at once, for finish-connect */
    int backlog;
    bool ready_now;      /* connect(2) succeeded at once */
} w2w_tcp;

static void tcp_destroy(w2w_obj *obj) { w2w_obj_unref(&((w2w_tcp *)obj)->sock->obj); }

static w2w_tcp *tcp_new(w2w_posix *host, w2w_fd *sock, enum tcp_state state)
{
    w2w_tcp *t = w2w_obj_new(host, sizeof *t, W2W_TCP, tcp_destroy);
    if (t == NULL)
        return NULL;
    t->sock = sock;
    t->state = state;
    t->backlog = 128;
    return t;
}

int32_t wasi_sockets_tcp_create_socket_impl_create_tcp_socket(wasi_sockets_tcp_create_socket_host_ctx_t *host,
                                                              wasi_sockets_network_ip_address_family_t address_family,
                                                              wasi_sockets_tcp_tcp_socket_t *ret0)
{
    w2w_posix *h = w2w_host_of(host->user);
    w2w_fd *sock = w2w_fd_open(h, os_family(address_family), SOCK_STREAM);
    w2w_tcp *t;
    if (sock == NULL)
        return errno_status();
    t = tcp_new(h, sock, TCP_UNBOUND);
    if (t == NULL) {
        w2w_obj_unref(&sock->obj);
        return ST_NET(OUT_OF_MEMORY);
    }
    *ret0 = t;
    return 0;
}

static int32_t bind_to(w2w_posix *host, w2w_fd *sock, const wasi_sockets_network_ip_socket_address_t *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int32_t st = guest_address(addr, sock->family, &ss, &len);
    if (st == 0)
        st = check_address(host, (struct sockaddr *)&ss, true);
    if (st == 0 && bind(sock->fd, (struct sockaddr *)&ss, len) != 0)
        st = errno == EADDRNOTAVAIL ? ST_NET(ADDRESS_NOT_BINDABLE) : errno_status();
    return st;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_start_bind(wasi_sockets_tcp_host_ctx_t *host, void *self, void *network,
                                                    const wasi_sockets_network_ip_socket_address_t *local_address)
{
    w2w_tcp *t = self;
    int32_t st;
    (void)network;
    if (t->state != TCP_UNBOUND)
        return ST_NET(INVALID_STATE);
    {
        int on = 1; /* as the WASI hosts do: a listener can rebind a port in TIME_WAIT */
        (void)setsockopt(t->sock->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    }
    if ((st = bind_to(w2w_host_of(host->user), t->sock, local_address)) != 0)
        return st;
    t->state = TCP_BIND_STARTED;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_finish_bind(wasi_sockets_tcp_host_ctx_t *host, void *self)
{
    w2w_tcp *t = self;
    (void)host;
    if (t->state != TCP_BIND_STARTED)
        return ST_NET(NOT_IN_PROGRESS);
    t->state = TCP_BOUND;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_start_connect(wasi_sockets_tcp_host_ctx_t *host, void *self, void *network,
                                                       const wasi_sockets_network_ip_socket_address_t *remote_address)
{
    w2w_tcp *t = self;
    struct sockaddr_storage ss;
    socklen_t len;
    int32_t st;
    int err;
    (void)network;
    if (t->state != TCP_UNBOUND && t->state != TCP_BOUND)
        return ST_NET(INVALID_STATE);
    if ((st = guest_address(remote_address, t->sock->family, &ss, &len)) != 0)
        return st;
    if (w2w_sockaddr_unspecified((struct sockaddr *)&ss) || ((struct sockaddr_in *)&ss)->sin_port == 0
        || !unicast((struct sockaddr *)&ss))
        return ST_NET(INVALID_ARGUMENT);
    if ((st = check_address(w2w_host_of(host->user), (struct sockaddr *)&ss, false)) != 0)
        return st;
    t->connect_error = 0;
    t->ready_now = false;
    err = connect(t->sock->fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
    if ((err == 0 || err == EINPROGRESS) && w2w_faulted(W2W_FAULT_CONNECT))
        err = errno; /* an injected fault follows the real call, as if connect had reported it */
    if (err == 0)
        t->ready_now = true;
    else if (err != EINPROGRESS && err != EINTR) /* EINTR: the connection goes on */
        t->connect_error = err; /* told by finish-connect, as an asynchronous failure */
    t->state = TCP_CONNECTING;
    return 0;
}

static int connecting_ready(w2w_obj *source)
{
    w2w_tcp *t = (w2w_tcp *)source;
    if (t->state != TCP_CONNECTING || t->ready_now || t->connect_error)
        return 1;
    return -1;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_finish_connect(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                        wasi_io_streams_input_stream_t *ret0,
                                                        wasi_io_streams_output_stream_t *ret1)
{
    w2w_tcp *t = self;
    w2w_posix *h = w2w_host_of(host->user);
    int err = t->connect_error;
    w2w_obj *in, *out;
    if (t->state != TCP_CONNECTING)
        return ST_NET(NOT_IN_PROGRESS);
    if (err == 0 && !t->ready_now) {
        struct pollfd pfd = { t->sock->fd, POLLOUT, 0 };
        socklen_t len = sizeof err;
        if (poll(&pfd, 1, 0) == 0)
            return ST_NET(WOULD_BLOCK);
        if (getsockopt(t->sock->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
    }
    if (err != 0) {
        t->state = TCP_CLOSED;
        return w2w_errno_status(err);
    }
    in = w2w_input_new(h, t->sock);
    out = w2w_output_new(h, t->sock);
    if (in == NULL || out == NULL) {
        w2w_obj_unref(in);
        w2w_obj_unref(out);
        return ST_NET(OUT_OF_MEMORY);
    }
    t->state = TCP_CONNECTED;
    *ret0 = in;
    *ret1 = out;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_start_listen(wasi_sockets_tcp_host_ctx_t *host, void *self)
{
    w2w_tcp *t = self;
    (void)host;
    if (t->state != TCP_BOUND)
        return ST_NET(INVALID_STATE);
    if (listen(t->sock->fd, t->backlog) != 0)
        return errno_status();
    t->state = TCP_LISTEN_STARTED;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_finish_listen(wasi_sockets_tcp_host_ctx_t *host, void *self)
{
    w2w_tcp *t = self;
    (void)host;
    if (t->state != TCP_LISTEN_STARTED)
        return ST_NET(NOT_IN_PROGRESS);
    t->state = TCP_LISTENING;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_accept(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                wasi_sockets_tcp_tcp_socket_t *ret0,
                                                wasi_io_streams_input_stream_t *ret1,
                                                wasi_io_streams_output_stream_t *ret2)
{
    w2w_tcp *t = self, *conn;
    w2w_posix *h = w2w_host_of(host->user);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    w2w_fd *sock;
    w2w_obj *in, *out;
    int fd;
    if (t->state != TCP_LISTENING)
        return ST_NET(INVALID_STATE);
    do /* an interrupted accept leaves the connection queued: take it */
        fd = w2w_faulted(W2W_FAULT_ACCEPT) ? -1 : accept4(t->sock->fd, (struct sockaddr *)&peer, &len,
                                                          SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno_status();
    if (check_address(h, (struct sockaddr *)&peer, false) != 0) {
        close(fd); /* a peer from beyond loopback: as if nobody had come */
        return ST_NET(WOULD_BLOCK);
    }
    sock = w2w_fd_adopt(h, fd, t->sock->family);
    if (sock == NULL)
        return ST_NET(OUT_OF_MEMORY);
    conn = tcp_new(h, sock, TCP_CONNECTED);
    if (conn == NULL) {
        w2w_obj_unref(&sock->obj);
        return ST_NET(OUT_OF_MEMORY);
    }
    in = w2w_input_new(h, sock);
    out = w2w_output_new(h, sock);
    if (in == NULL || out == NULL) {
        w2w_obj_unref(in);
        w2w_obj_unref(out);
        w2w_obj_unref(&conn->obj);
        return ST_NET(OUT_OF_MEMORY);
    }
    *ret0 = conn;
    *ret1 = in;
    *ret2 = out;
    return 0;
}

static int32_t sock_address(int fd, bool peer, wasi_sockets_network_ip_socket_address_t *ret0)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len)) != 0)
        return errno_status();
    w2w_sockaddr_to((struct sockaddr *)&ss, ret0);
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_local_address(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                       wasi_sockets_network_ip_socket_address_t *ret0)
{
    w2w_tcp *t = self;
    (void)host;
    if (t->state == TCP_UNBOUND || t->state == TCP_BIND_STARTED || t->state == TCP_CLOSED)
        return ST_NET(INVALID_STATE);
    return sock_address(t->sock->fd, false, ret0);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_remote_address(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                        wasi_sockets_network_ip_socket_address_t *ret0)
{
    w2w_tcp *t = self;
    (void)host;
    if (t->state != TCP_CONNECTED)
        return ST_NET(INVALID_STATE);
    return sock_address(t->sock->fd, true, ret0);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_is_listening(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                      wasi_sockets_tcp_tcp_socket_is_listening_result_t *ret0)
{
    (void)host;
    *ret0 = ((w2w_tcp *)self)->state == TCP_LISTENING;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_address_family(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                        wasi_sockets_network_ip_address_family_t *ret0)
{
    (void)host;
    *ret0 = wasi_family(((w2w_tcp *)self)->sock->family);
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_listen_backlog_size(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                                 uint64_t value)
{
    w2w_tcp *t = self;
    (void)host;
    if (value == 0)
        return ST_NET(INVALID_ARGUMENT);
    t->backlog = value > 4096 ? 4096 : (int)value;
    if (t->state == TCP_LISTENING && listen(t->sock->fd, t->backlog) != 0)
        return errno_status();
    return 0;
}

static int32_t get_int(int fd, int level, int name, int *out)
{
    socklen_t len = sizeof *out;
    return getsockopt(fd, level, name, out, &len) == 0 ? 0 : errno_status();
}

static int32_t set_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno_status();
}

/* durations (ns) as whole seconds for the keep-alive options, at least 1 */
static int seconds(uint64_t ns)
{
    uint64_t s = (ns + 999999999u) / 1000000000u;
    return s > 32767 ? 32767 : (int)s;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_keep_alive_enabled(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                            wasi_sockets_tcp_tcp_socket_keep_alive_enabled_result_t *ret0)
{
    int v = 0;
    int32_t st = get_int(((w2w_tcp *)self)->sock->fd, SOL_SOCKET, SO_KEEPALIVE, &v);
    (void)host;
    *ret0 = v != 0;
    return st;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_keep_alive_enabled(wasi_sockets_tcp_host_ctx_t *host, void *self, bool value)
{
    (void)host;
    return set_int(((w2w_tcp *)self)->sock->fd, SOL_SOCKET, SO_KEEPALIVE, value);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_keep_alive_idle_time(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                              wasi_clocks_monotonic_clock_duration_t *ret0)
{
    int v = 0;
    int32_t st = get_int(((w2w_tcp *)self)->sock->fd, IPPROTO_TCP, TCP_KEEPIDLE, &v);
    (void)host;
    *ret0 = (uint64_t)v * 1000000000u;
    return st;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_keep_alive_idle_time(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                                  wasi_clocks_monotonic_clock_duration_t value)
{
    (void)host;
    if (value == 0)
        return ST_NET(INVALID_ARGUMENT);
    return set_int(((w2w_tcp *)self)->sock->fd, IPPROTO_TCP, TCP_KEEPIDLE, seconds(value));
}

int32_t wasi_sockets_tcp_impl_tcp_socket_keep_alive_interval(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                             wasi_clocks_monotonic_clock_duration_t *ret0)
{
    int v = 0;
    int32_t st = get_int(((w2w_tcp *)self)->sock->fd, IPPROTO_TCP, TCP_KEEPINTVL, &v);
    (void)host;
    *ret0 = (uint64_t)v * 1000000000u;
    return st;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_keep_alive_interval(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                                 wasi_clocks_monotonic_clock_duration_t value)
{
    (void)host;
    if (value == 0)
        return ST_NET(INVALID_ARGUMENT);
    return set_int(((w2w_tcp *)self)->sock->fd, IPPROTO_TCP, TCP_KEEPINTVL, seconds(value));
}

int32_t wasi_sockets_tcp_impl_tcp_socket_keep_alive_count(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                          wasi_sockets_tcp_tcp_socket_keep_alive_count_result_t *ret0)
{
    int v = 0;
    int32_t st = get_int(((w2w_tcp *)self)->sock->fd, IPPROTO_TCP, TCP_KEEPCNT, &v);
    (void)host;
    *ret0 = (uint32_t)v;
    return st;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_keep_alive_count(wasi_sockets_tcp_host_ctx_t *host, void *self, uint32_t value)
{
    (void)host;
    if (value == 0)
        return ST_NET(INVALID_ARGUMENT);
    return set_int(((w2w_tcp *)self)->sock->fd, IPPROTO_TCP, TCP_KEEPCNT, value > 127 ? 127 : (int)value);
}

static int32_t hop_limit(w2w_fd *sock, uint8_t *ret0)
{
    int v = 0;
    int32_t st = sock->family == AF_INET6 ? get_int(sock->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v)
                                          : get_int(sock->fd, IPPROTO_IP, IP_TTL, &v);
    *ret0 = (uint8_t)v;
    return st;
}

static int32_t set_hop_limit(w2w_fd *sock, uint8_t value)
{
    if (value == 0)
        return ST_NET(INVALID_ARGUMENT);
    return sock->family == AF_INET6 ? set_int(sock->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, value)
                                    : set_int(sock->fd, IPPROTO_IP, IP_TTL, value);
}

static int32_t buffer_size(w2w_fd *sock, int name, uint64_t *ret0)
{
    int v = 0;
    int32_t st = get_int(sock->fd, SOL_SOCKET, name, &v);
    *ret0 = (uint64_t)v;
    return st;
}

static int32_t set_buffer_size(w2w_fd *sock, int name, uint64_t value)
{
    if (value == 0)
        return ST_NET(INVALID_ARGUMENT);
    return set_int(sock->fd, SOL_SOCKET, name, value > (1u << 24) ? (1 << 24) : (int)value);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_hop_limit(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                   wasi_sockets_tcp_tcp_socket_hop_limit_result_t *ret0)
{
    (void)host;
    return hop_limit(((w2w_tcp *)self)->sock, ret0);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_hop_limit(wasi_sockets_tcp_host_ctx_t *host, void *self, uint8_t value)
{
    (void)host;
    return set_hop_limit(((w2w_tcp *)self)->sock, value);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_receive_buffer_size(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                             wasi_sockets_tcp_tcp_socket_receive_buffer_size_result_t *ret0)
{
    (void)host;
    return buffer_size(((w2w_tcp *)self)->sock, SO_RCVBUF, ret0);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_receive_buffer_size(wasi_sockets_tcp_host_ctx_t *host, void *self, uint64_t value)
{
    (void)host;
    return set_buffer_size(((w2w_tcp *)self)->sock, SO_RCVBUF, value);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_send_buffer_size(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                          wasi_sockets_tcp_tcp_socket_send_buffer_size_result_t *ret0)
{
    (void)host;
    return buffer_size(((w2w_tcp *)self)->sock, SO_SNDBUF, ret0);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_set_send_buffer_size(wasi_sockets_tcp_host_ctx_t *host, void *self, uint64_t value)
{
    (void)host;
    return set_buffer_size(((w2w_tcp *)self)->sock, SO_SNDBUF, value);
}

int32_t wasi_sockets_tcp_impl_tcp_socket_subscribe(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                   wasi_io_poll_pollable_t *ret0)
{
    w2w_tcp *t = self;
    w2w_posix *h = w2w_host_of(host->user);
    w2w_pollable *p;
    if (t->state == TCP_CONNECTING)
        p = w2w_pollable_new(h, &t->obj, t->sock->fd, POLLOUT, connecting_ready);
    else if (t->state == TCP_LISTENING)
        p = w2w_pollable_new(h, &t->obj, t->sock->fd, POLLIN, NULL);
    else
        p = w2w_pollable_new(h, &t->obj, -1, 0, NULL); /* nothing pending: ready */
    if (p == NULL)
        return ST_NET(OUT_OF_MEMORY);
    *ret0 = p;
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_shutdown(wasi_sockets_tcp_host_ctx_t *host, void *self,
                                                  wasi_sockets_tcp_shutdown_type_t shutdown_type)
{
    w2w_tcp *t = self;
    int how = shutdown_type == WASI_SOCKETS_TCP_SHUTDOWN_TYPE_RECEIVE ? SHUT_RD
            : shutdown_type == WASI_SOCKETS_TCP_SHUTDOWN_TYPE_SEND ? SHUT_WR : SHUT_RDWR;
    (void)host;
    if (t->state != TCP_CONNECTED)
        return ST_NET(INVALID_STATE);
    if (shutdown(t->sock->fd, how) != 0 && errno != ENOTCONN)
        return errno_status();
    return 0;
}

int32_t wasi_sockets_tcp_impl_tcp_socket_drop(wasi_sockets_tcp_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

/* ------------------------------------------------------------------ udp */

typedef struct w2w_udp {
    w2w_obj obj;
    w2w_fd *sock;
    enum { UDP_UNBOUND, UDP_BIND_STARTED, UDP_BOUND } state;
    bool connected;
    uint32_t streams;  /* bumped by every stream(): the streams of earlier calls are stale */
} w2w_udp;

/* incoming and outgoing datagram streams */
typedef struct w2w_dgrams {
    w2w_obj obj;
    w2w_udp *udp;
    uint64_t permit; /* outgoing: what the last check-send allowed */
    uint32_t generation; /* the udp socket's `streams` when this stream was made */
} w2w_dgrams;

/* WASI: a later stream() call makes the streams of an earlier one unusable */
static bool stale(const w2w_dgrams *d) { return d->generation != d->udp->streams; }

#define SEND_PERMIT 16
#define RECEIVE_MAX 64

static void udp_destroy(w2w_obj *obj) { w2w_obj_unref(&((w2w_udp *)obj)->sock->obj); }
static void dgrams_destroy(w2w_obj *obj) { w2w_obj_unref(&((w2w_dgrams *)obj)->udp->obj); }

int32_t wasi_sockets_udp_create_socket_impl_create_udp_socket(wasi_sockets_udp_create_socket_host_ctx_t *host,
                                                              wasi_sockets_network_ip_address_family_t address_family,
                                                              wasi_sockets_udp_udp_socket_t *ret0)
{
    w2w_posix *h = w2w_host_of(host->user);
    w2w_fd *sock = w2w_fd_open(h, os_family(address_family), SOCK_DGRAM);
    w2w_udp *u;
    if (sock == NULL)
        return errno_status();
    u = w2w_obj_new(h, sizeof *u, W2W_UDP, udp_destroy);
    if (u == NULL) {
        w2w_obj_unref(&sock->obj);
        return ST_NET(OUT_OF_MEMORY);
    }
    u->sock = sock;
    *ret0 = u;
    return 0;
}

int32_t wasi_sockets_udp_impl_udp_socket_start_bind(wasi_sockets_udp_host_ctx_t *host, void *self, void *network,
                                                    const wasi_sockets_network_ip_socket_address_t *local_address)
{
    w2w_udp *u = self;
    int32_t st;
    (void)network;
    if (u->state != UDP_UNBOUND)
        return ST_NET(INVALID_STATE);
    if ((st = bind_to(w2w_host_of(host->user), u->sock, local_address)) != 0)
        return st;
    u->state = UDP_BIND_STARTED;
    return 0;
}

int32_t wasi_sockets_udp_impl_udp_socket_finish_bind(wasi_sockets_udp_host_ctx_t *host, void *self)
{
    w2w_udp *u = self;
    (void)host;
    if (u->state != UDP_BIND_STARTED)
        return ST_NET(NOT_IN_PROGRESS);
    u->state = UDP_BOUND;
    return 0;
}

int32_t wasi_sockets_udp_impl_udp_socket_stream(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                const wasi_sockets_udp_udp_socket_stream_remote_address_t *remote_address,
                                                wasi_sockets_udp_incoming_datagram_stream_t *ret0,
                                                wasi_sockets_udp_outgoing_datagram_stream_t *ret1)
{
    w2w_udp *u = self;
    w2w_posix *h = w2w_host_of(host->user);
    w2w_dgrams *in, *out;
    if (u->state != UDP_BOUND)
        return ST_NET(INVALID_STATE);
    if (remote_address->tag == WASI_SOCKETS_UDP_UDP_SOCKET_STREAM_REMOTE_ADDRESS_SOME) {
        struct sockaddr_storage ss;
        socklen_t len;
        int32_t st = guest_address(&remote_address->val.some, u->sock->family, &ss, &len);
        if (st == 0 && (w2w_sockaddr_unspecified((struct sockaddr *)&ss) || ((struct sockaddr_in *)&ss)->sin_port == 0))
            st = ST_NET(INVALID_ARGUMENT);
        if (st == 0)
            st = check_address(h, (struct sockaddr *)&ss, false);
        if (st == 0 && connect(u->sock->fd, (struct sockaddr *)&ss, len) != 0)
            st = errno_status();
        if (st != 0)
            return st;
        u->connected = true;
    } else if (u->connected) {
        struct sockaddr sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_family = AF_UNSPEC; /* disconnect */
        (void)connect(u->sock->fd, &sa, sizeof sa);
        u->connected = false;
    }
    in = w2w_obj_new(h, sizeof *in, W2W_INCOMING, dgrams_destroy);
    out = w2w_obj_new(h, sizeof *out, W2W_OUTGOING, dgrams_destroy);
    if (in == NULL || out == NULL) {
        if (in != NULL) { in->obj.destroy = NULL; w2w_obj_unref(&in->obj); }
        if (out != NULL) { out->obj.destroy = NULL; w2w_obj_unref(&out->obj); }
        return ST_NET(OUT_OF_MEMORY);
    }
    in->udp = (w2w_udp *)w2w_obj_ref(&u->obj);
    out->udp = (w2w_udp *)w2w_obj_ref(&u->obj);
    in->generation = out->generation = ++u->streams;
    *ret0 = in;
    *ret1 = out;
    return 0;
}

int32_t wasi_sockets_udp_impl_udp_socket_local_address(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                       wasi_sockets_network_ip_socket_address_t *ret0)
{
    w2w_udp *u = self;
    (void)host;
    if (u->state != UDP_BOUND)
        return ST_NET(INVALID_STATE);
    return sock_address(u->sock->fd, false, ret0);
}

int32_t wasi_sockets_udp_impl_udp_socket_remote_address(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                        wasi_sockets_network_ip_socket_address_t *ret0)
{
    w2w_udp *u = self;
    (void)host;
    if (!u->connected)
        return ST_NET(INVALID_STATE);
    return sock_address(u->sock->fd, true, ret0);
}

int32_t wasi_sockets_udp_impl_udp_socket_address_family(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                        wasi_sockets_network_ip_address_family_t *ret0)
{
    (void)host;
    *ret0 = wasi_family(((w2w_udp *)self)->sock->family);
    return 0;
}

int32_t wasi_sockets_udp_impl_udp_socket_unicast_hop_limit(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                           wasi_sockets_udp_udp_socket_unicast_hop_limit_result_t *ret0)
{
    (void)host;
    return hop_limit(((w2w_udp *)self)->sock, ret0);
}

int32_t wasi_sockets_udp_impl_udp_socket_set_unicast_hop_limit(wasi_sockets_udp_host_ctx_t *host, void *self, uint8_t value)
{
    (void)host;
    return set_hop_limit(((w2w_udp *)self)->sock, value);
}

int32_t wasi_sockets_udp_impl_udp_socket_receive_buffer_size(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                             wasi_sockets_udp_udp_socket_receive_buffer_size_result_t *ret0)
{
    (void)host;
    return buffer_size(((w2w_udp *)self)->sock, SO_RCVBUF, ret0);
}

int32_t wasi_sockets_udp_impl_udp_socket_set_receive_buffer_size(wasi_sockets_udp_host_ctx_t *host, void *self, uint64_t value)
{
    (void)host;
    return set_buffer_size(((w2w_udp *)self)->sock, SO_RCVBUF, value);
}

int32_t wasi_sockets_udp_impl_udp_socket_send_buffer_size(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                          wasi_sockets_udp_udp_socket_send_buffer_size_result_t *ret0)
{
    (void)host;
    return buffer_size(((w2w_udp *)self)->sock, SO_SNDBUF, ret0);
}

int32_t wasi_sockets_udp_impl_udp_socket_set_send_buffer_size(wasi_sockets_udp_host_ctx_t *host, void *self, uint64_t value)
{
    (void)host;
    return set_buffer_size(((w2w_udp *)self)->sock, SO_SNDBUF, value);
}

int32_t wasi_sockets_udp_impl_udp_socket_subscribe(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                   wasi_io_poll_pollable_t *ret0)
{
    w2w_pollable *p = w2w_pollable_new(w2w_host_of(host->user), self, -1, 0, NULL); /* binding is instant */
    if (p == NULL)
        return ST_NET(OUT_OF_MEMORY);
    *ret0 = p;
    return 0;
}

int32_t wasi_sockets_udp_impl_udp_socket_drop(wasi_sockets_udp_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

/* The size the next datagram has (-1: none waiting, errno set). */
static ssize_t next_size(int fd)
{
    return recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
}

/* Datagrams as records (40 bytes each, 4-aligned) followed by their payloads, in the
 * caller's buffer. A datagram that does not fit stays queued (it was only peeked). */
int32_t wasi_sockets_udp_impl_incoming_datagram_stream_receive(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                               uint64_t max_results, w2w_buf *buf,
                                                               wasi_sockets_udp_incoming_datagram_stream_receive_result_t *ret0)
{
    w2w_dgrams *in = self;
    w2w_posix *h = w2w_host_of(host->user);
    int fd = in->udp->sock->fd;
    uint32_t max = max_results > RECEIVE_MAX ? RECEIVE_MAX : (uint32_t)max_results, k = 0, i;
    wasi_sockets_udp_incoming_datagram_t dg[RECEIVE_MAX];
    uint8_t *payload[RECEIVE_MAX];
    uint32_t payload_total = 0;
    uint8_t *records;
    int32_t st = 0;
    ret0->ptr = NULL;
    ret0->len = 0;
    if (stale(in))
        return ST_NET(INVALID_STATE);
    while (k < max) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        ssize_t size = next_size(fd), got;
        w2w_buf probe = *buf;
        if (size < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && k == 0)
                st = errno_status();
            break;
        }
        /* would records for k+1 datagrams and all their payloads still fit? */
        probe.data = NULL;
        (void)w2w_buf_alloc(&probe, 40u * (k + 1), 4);
        probe.used += payload_total;
        (void)w2w_buf_alloc(&probe, (uint32_t)size, 1);
        if (probe.used > buf->cap) {
            if (k == 0) {
                buf->used = probe.used; /* the size needed; the datagram stays queued */
                st = WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_BUFFER_TOO_SMALL;
            }
            break;
        }
        payload[k] = malloc(size ? (size_t)size : 1u);
        if (payload[k] == NULL) {
            if (k == 0)
                st = ST_NET(OUT_OF_MEMORY);
            break;
        }
        got = recvfrom(fd, payload[k], (size_t)size, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
        if (got < 0) {
            free(payload[k]);
            break;
        }
        if (!h->allow_network && !w2w_sockaddr_loopback((struct sockaddr *)&ss)) {
            free(payload[k]); /* from beyond loopback: not for this guest */
            continue;
        }
        memset(&dg[k], 0, sizeof dg[k]);
        dg[k].data.len = (uint32_t)got;
        w2w_sockaddr_to((struct sockaddr *)&ss, &dg[k].remote_address);
        payload_total += (uint32_t)got;
        k++;
    }
    if (st == 0 && k > 0) {
        records = w2w_buf_alloc(buf, 40u * k, 4);
        for (i = 0; i < k && records != NULL; i++) {
            dg[i].data.ptr = w2w_buf_copy(buf, payload[i], dg[i].data.len);
            if (dg[i].data.len == 0)
                dg[i].data.ptr = NULL;
        }
        for (i = 0; i < k && records != NULL && st == 0; i++)
            if (wasi_sockets_udp_encode_incoming_datagram(host->handles, buf, records + 40u * i, &dg[i]) != W2W_OK)
                st = ST_NET(UNKNOWN);
        ret0->ptr = records;
        ret0->len = k;
    }
    for (i = 0; i < k; i++)
        free(payload[i]);
    return st;
}

int32_t wasi_sockets_udp_impl_incoming_datagram_stream_subscribe(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                                 wasi_io_poll_pollable_t *ret0)
{
    w2w_dgrams *in = self;
    w2w_pollable *p = w2w_pollable_new(w2w_host_of(host->user), &in->obj, in->udp->sock->fd, POLLIN, NULL);
    if (p == NULL)
        return ST_NET(OUT_OF_MEMORY);
    *ret0 = p;
    return 0;
}

int32_t wasi_sockets_udp_impl_incoming_datagram_stream_drop(wasi_sockets_udp_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

int32_t wasi_sockets_udp_impl_outgoing_datagram_stream_check_send(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                                  wasi_sockets_udp_outgoing_datagram_stream_check_send_result_t *ret0)
{
    w2w_dgrams *out = self;
    struct pollfd pfd = { out->udp->sock->fd, POLLOUT, 0 };
    (void)host;
    if (stale(out))
        return ST_NET(INVALID_STATE);
    out->permit = poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLOUT) ? SEND_PERMIT : 0;
    *ret0 = out->permit;
    return 0;
}

int32_t wasi_sockets_udp_impl_outgoing_datagram_stream_send(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                            const uint8_t *datagrams, uint32_t datagrams_len,
                                                            wasi_sockets_udp_outgoing_datagram_stream_send_result_t *ret0)
{
    w2w_dgrams *out = self;
    w2w_posix *h = w2w_host_of(host->user);
    uint32_t i;
    *ret0 = 0;
    if (stale(out))
        return ST_NET(INVALID_STATE);
    if (datagrams_len == 0)
        return 0;
    /* WASI traps on a send beyond check-send; this host answers bad_value, sends nothing */
    if (datagrams_len > out->permit)
        return WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_BAD_VALUE;
    out->permit = 0;
    for (i = 0; i < datagrams_len; i++) {
        wasi_sockets_udp_outgoing_datagram_t dg;
        struct sockaddr_storage ss;
        socklen_t len = 0;
        int32_t st = 0;
        ssize_t sent;
        if (wasi_sockets_udp_decode_outgoing_datagram(w2w_call_mem(&host->mem), host->handles, datagrams + 44u * i, &dg) != W2W_OK)
            st = WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_BAD_POINTER;
        else if (dg.remote_address.tag == WASI_SOCKETS_UDP_OUTGOING_DATAGRAM_REMOTE_ADDRESS_SOME) {
            st = guest_address(&dg.remote_address.val.some, out->udp->sock->family, &ss, &len);
            if (st == 0 && (w2w_sockaddr_unspecified((struct sockaddr *)&ss) || ((struct sockaddr_in *)&ss)->sin_port == 0))
                st = ST_NET(INVALID_ARGUMENT);
            if (st == 0)
                st = check_address(h, (struct sockaddr *)&ss, false);
            if (st == 0 && out->udp->connected) {
                struct sockaddr_storage peer;
                socklen_t plen = sizeof peer;
                if (getpeername(out->udp->sock->fd, (struct sockaddr *)&peer, &plen) != 0 || plen != len
                    || memcmp(&peer, &ss, len) != 0)
                    st = ST_NET(INVALID_ARGUMENT); /* WASI: another address than the connected one */
            }
        } else if (!out->udp->connected) {
            st = ST_NET(INVALID_ARGUMENT);
        }
        if (st == 0) {
            sent = len ? sendto(out->udp->sock->fd, dg.data.ptr, dg.data.len, MSG_DONTWAIT | MSG_NOSIGNAL,
                                (struct sockaddr *)&ss, len)
                       : send(out->udp->sock->fd, dg.data.ptr, dg.data.len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent < 0)
                st = errno == EAGAIN ? -1 : errno_status();
        }
        if (st != 0) {
            if (i > 0 || st == -1)
                return 0; /* what was sent counts; the error comes again on the next send */
            return st;
        }
        *ret0 = i + 1u;
    }
    return 0;
}

int32_t wasi_sockets_udp_impl_outgoing_datagram_stream_subscribe(wasi_sockets_udp_host_ctx_t *host, void *self,
                                                                 wasi_io_poll_pollable_t *ret0)
{
    w2w_dgrams *out = self;
    w2w_pollable *p = w2w_pollable_new(w2w_host_of(host->user), &out->obj, out->udp->sock->fd, POLLOUT, NULL);
    if (p == NULL)
        return ST_NET(OUT_OF_MEMORY);
    *ret0 = p;
    return 0;
}

int32_t wasi_sockets_udp_impl_outgoing_datagram_stream_drop(wasi_sockets_udp_host_ctx_t *host, void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}

/* ------------------------------------------------------------------ ip-name-lookup */

#define LOOKUP_MAX 16

typedef struct w2w_lookup {
    w2w_obj obj;
    wasi_sockets_network_ip_address_t addresses[LOOKUP_MAX];
    uint32_t count, next;
    int32_t error; /* a failed lookup: every resolve-next-address says so */
} w2w_lookup;

/* hostname syntax: labels of letters, digits and '-', 1..63 long, 253 in all */
static bool hostname_syntax(const char *name, size_t len)
{
    size_t label = 0, i;
    if (len == 0 || len > 253)
        return false;
    for (i = 0; i < len; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static void add_address(w2w_lookup *l, const struct sockaddr *sa)
{
    wasi_sockets_network_ip_socket_address_t full;
    uint32_t i;
    if (l->count >= LOOKUP_MAX)
        return;
    w2w_sockaddr_to(sa, &full);
    memset(&l->addresses[l->count], 0, sizeof l->addresses[l->count]);
    l->addresses[l->count].tag = full.tag;
    if (full.tag == WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4)
        l->addresses[l->count].val.ipv4 = full.val.ipv4.address;
    else
        l->addresses[l->count].val.ipv6 = full.val.ipv6.address;
    for (i = 0; i < l->count; i++)
        if (memcmp(&l->addresses[i], &l->addresses[l->count], sizeof l->addresses[i]) == 0)
            return; /* getaddrinfo gives each address once per socket type */
    l->count++;
}

int32_t wasi_sockets_ip_name_lookup_impl_resolve_addresses(wasi_sockets_ip_name_lookup_host_ctx_t *host, void *network,
                                                           const uint8_t *name, uint32_t name_len,
                                                           wasi_sockets_ip_name_lookup_resolve_address_stream_t *ret0)
{
    w2w_posix *h = w2w_host_of(host->user);
    char text[256];
    size_t n = name_len;
    const char *s = text;
    w2w_lookup *l;
    struct in_addr a4;
    struct in6_addr a6;
    (void)network;
    if (name_len >= sizeof text || memchr(name, 0, name_len) != NULL)
        return ST_NET(INVALID_ARGUMENT);
    memcpy(text, name, name_len);
    text[name_len] = '\0';
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') { /* a bracketed IPv6 literal */
        text[n - 1] = '\0';
        s = text + 1;
        n -= 2;
    }
    l = w2w_obj_new(h, sizeof *l, W2W_LOOKUP, NULL);
    if (l == NULL)
        return ST_NET(OUT_OF_MEMORY);
    if (inet_pton(AF_INET, s, &a4) == 1) {
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr = a4 };
        add_address(l, (struct sockaddr *)&in);
    } else if (inet_pton(AF_INET6, s, &a6) == 1) {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = a6 };
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            struct sockaddr_in in = { .sin_family = AF_INET };
            memcpy(&in.sin_addr, &a6.s6_addr[12], 4);
            add_address(l, (struct sockaddr *)&in);
        } else {
            add_address(l, (struct sockaddr *)&in6);
        }
    } else if (!hostname_syntax(s, n)) {
        w2w_obj_unref(&l->obj);
        return ST_NET(INVALID_ARGUMENT);
    } else if (strcasecmp(s, "invalid") == 0 || ends_with(s, n, ".invalid")) {
        l->error = ST_NET(NAME_UNRESOLVABLE); /* RFC 6761 6.4: never asks the resolver */
    } else if (!h->allow_network && strcasecmp(s, "localhost") != 0 && strcasecmp(s, "localhost.") != 0) {
        l->error = ST_NET(ACCESS_DENIED); /* asking a DNS server is network access */
    } else {
        struct addrinfo hints, *res = NULL, *ai;
        int rc;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(s, NULL, &hints, &res);
        if (rc == 0) {
            for (ai = res; ai != NULL; ai = ai->ai_next)
                if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
                    add_address(l, ai->ai_addr);
            freeaddrinfo(res);
        } else {
            l->error = rc == EAI_AGAIN ? ST_NET(TEMPORARY_RESOLVER_FAILURE)
                     : rc == EAI_FAIL ? ST_NET(PERMANENT_RESOLVER_FAILURE) : ST_NET(NAME_UNRESOLVABLE);
        }
    }
    *ret0 = l;
    return 0;
}

int32_t wasi_sockets_ip_name_lookup_impl_resolve_address_stream_resolve_next_address(
    wasi_sockets_ip_name_lookup_host_ctx_t *host, void *self,
    wasi_sockets_ip_name_lookup_resolve_address_stream_resolve_next_address_result_t *ret0)
{
    w2w_lookup *l = self;
    (void)host;
    if (l->error != 0)
        return l->error;
    if (l->next < l->count) {
        ret0->tag = WASI_SOCKETS_IP_NAME_LOOKUP_RESOLVE_ADDRESS_STREAM_RESOLVE_NEXT_ADDRESS_RESULT_SOME;
        ret0->val.some = l->addresses[l->next++];
    } else {
        ret0->tag = WASI_SOCKETS_IP_NAME_LOOKUP_RESOLVE_ADDRESS_STREAM_RESOLVE_NEXT_ADDRESS_RESULT_NONE;
    }
    return 0;
}

int32_t wasi_sockets_ip_name_lookup_impl_resolve_address_stream_subscribe(wasi_sockets_ip_name_lookup_host_ctx_t *host,
                                                                          void *self, wasi_io_poll_pollable_t *ret0)
{
    /* the lookup ended inside resolve-addresses: always ready */
    w2w_pollable *p = w2w_pollable_new(w2w_host_of(host->user), self, -1, 0, NULL);
    if (p == NULL)
        return ST_NET(OUT_OF_MEMORY);
    *ret0 = p;
    return 0;
}

int32_t wasi_sockets_ip_name_lookup_impl_resolve_address_stream_drop(wasi_sockets_ip_name_lookup_host_ctx_t *host,
                                                                     void *self)
{
    (void)host;
    w2w_obj_unref(self);
    return 0;
}
