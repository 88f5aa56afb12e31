/* Internals shared by the C reference host's sources (not for embedders). */
#ifndef W2W_POSIX_INTERNAL_H
#define W2W_POSIX_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/socket.h>

#include "w2w_posix.h"
#include "w2w_posix_fault.h"

/* Every object the host hands to the glue starts with this header. Objects are
 * reference counted: a stream keeps its socket alive, a pollable its source, so the
 * guest may drop them in any order; the OS socket closes with the last reference. */
typedef enum w2w_kind {
    W2W_NETWORK, W2W_SOCKET, W2W_TCP, W2W_UDP, W2W_INPUT, W2W_OUTPUT, W2W_POLLABLE,
    W2W_ERROR, W2W_LOOKUP, W2W_INCOMING, W2W_OUTGOING
} w2w_kind;

struct w2w_obj {
    w2w_kind kind;
    uint32_t refs;
    w2w_posix *host;
    w2w_obj *prev, *next;
    void (*destroy)(w2w_obj *self); /* frees what the object holds (not the object) */
};

/* An OS socket shared by a TCP/UDP socket and its streams. */
typedef struct w2w_fd {
    w2w_obj obj;
    int fd;
    int family;   /* AF_INET or AF_INET6 (AF_UNSPEC: stdio) */
    bool is_socket; /* false: the process's stdin/stdout/stderr (blocking, never closed) */
} w2w_fd;

/* A pollable: ready when `ready(source)` says so, or (when it does not know) when poll(2)
 * reports `events` on `fd`, or at `deadline` (monotonic ns) when `timer` is set. */
typedef struct w2w_pollable {
    w2w_obj obj;
    w2w_obj *source;              /* a reference, or NULL */
    int fd;                       /* -1: no fd to wait on */
    short events;
    bool timer;
    uint64_t deadline;
    int (*ready)(w2w_obj *source); /* 1 ready, 0 not, -1 ask poll(2); NULL: ask poll(2) */
} w2w_pollable;

/* true (errno set) when a W2W_FAULTS rule makes this OS call of `kind` fail */
static inline bool w2w_faulted(w2w_fault_kind kind)
{
    int err = w2w_fault_take(kind);
    if (err != 0)
        errno = err;
    return err != 0;
}

/* object lifetime */
void *w2w_obj_new(w2w_posix *host, size_t size, w2w_kind kind, void (*destroy)(w2w_obj *));
w2w_obj *w2w_obj_ref(w2w_obj *obj);
void w2w_obj_unref(w2w_obj *obj);
static inline w2w_posix *w2w_host_of(void *user) { return (w2w_posix *)user; }

/* sockets */
w2w_fd *w2w_fd_open(w2w_posix *host, int family, int type);
/* the process's stdio descriptor `fd` as a stream source (not closed with it) */
w2w_fd *w2w_fd_stdio(w2w_posix *host, int fd);
/* take `fd` (closed on failure) */
w2w_fd *w2w_fd_adopt(w2w_posix *host, int fd, int family);

/* pollables */
w2w_pollable *w2w_pollable_new(w2w_posix *host, w2w_obj *source, int fd, short events,
                               int (*ready)(w2w_obj *));
w2w_pollable *w2w_pollable_timer(w2w_posix *host, uint64_t deadline);
/* wait until one of `ps` is ready (deadline: none when UINT64_MAX) */
void w2w_wait_any(w2w_pollable **ps, uint32_t n);
bool w2w_pollable_is_ready(w2w_pollable *p);
uint64_t w2w_now_ns(void);

/* wasi:io error objects */
w2w_obj *w2w_error_new(w2w_posix *host, const char *message, int err);

/* wasi:sockets statuses from errno (the Python host's table) */
int32_t w2w_errno_status(int err);

/* addresses */
int w2w_sockaddr_from(const wasi_sockets_network_ip_socket_address_t *a, struct sockaddr_storage *ss,
                      socklen_t *len);
void w2w_sockaddr_to(const struct sockaddr *sa, wasi_sockets_network_ip_socket_address_t *a);
bool w2w_sockaddr_loopback(const struct sockaddr *sa);
bool w2w_sockaddr_unspecified(const struct sockaddr *sa);

/* streams over an fd (TCP connections) */
w2w_obj *w2w_input_new(w2w_posix *host, w2w_fd *sock);
w2w_obj *w2w_output_new(w2w_posix *host, w2w_fd *sock);
/* W2W_THREADS=0: send what the sockets take of every output's pending bytes, and put
 * the fds of those still holding some in `fds` (POLLOUT), at most `room`; how many.
 * A write only starts the write: w2w_wait_any sends the rest while the guest waits. */
uint32_t w2w_outputs_push(w2w_posix *host, struct pollfd *fds, uint32_t room);

#define ST_NET(name) ((int32_t)WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_##name)

#endif /* W2W_POSIX_INTERNAL_H */
