/* Fault injection in the C reference host, for tests: the next N OS calls of a chosen
 * kind fail with a chosen errno (or, for writes, send fewer bytes than asked).
 *
 * Set W2W_FAULTS in the host's environment before the first OS call, a comma-separated
 * list of rules `KIND=WHAT[*COUNT][@SKIP]`:
 *   KIND   socket | connect | accept | recv | send (TCP sockets and streams) | poll (the
 *          wait behind wasi:io/poll's poll and pollable.block)
 *   WHAT   an errno name (ECONNRESET, EAGAIN, EINTR, ENOMEM, EPIPE, ECONNREFUSED,
 *          ECONNABORTED, ETIMEDOUT, ENOBUFS, EMFILE, ENETUNREACH, EHOSTUNREACH) or
 *          `short` (send only: one byte goes out instead of the whole buffer)
 *   COUNT  how many calls fail (default 1); SKIP: how many calls of KIND succeed first
 *          (default 0)
 * e.g. W2W_FAULTS="recv=ECONNRESET@3,send=short*100,socket=ENOMEM". With W2W_FAULTS set,
 * the process prints "w2w-fault: injected=N" on stderr at exit, so a test can tell its
 * faults really happened. An unparsable rule is reported on stderr and ignored.
 *
 * What a guest sees is what it would see had the OS failed that way (docs/abi.md,
 * "Faults"): EINTR is retried, EAGAIN is would-block (or a wait, for blocking calls),
 * other errors become the wasi:sockets error-code / stream-error the errno maps to.
 * Without W2W_FAULTS the hooks cost one predictable branch per OS call. */
#ifndef W2W_POSIX_FAULT_H
#define W2W_POSIX_FAULT_H

#include <stddef.h>

typedef enum w2w_fault_kind {
    W2W_FAULT_SOCKET, W2W_FAULT_CONNECT, W2W_FAULT_ACCEPT, W2W_FAULT_RECV, W2W_FAULT_SEND, W2W_FAULT_POLL,
    W2W_FAULT_KINDS
} w2w_fault_kind;

/* The errno the next `kind` call must fail with, or 0 to make the call. */
int w2w_fault_take(w2w_fault_kind kind);

/* For a send of `n` bytes: how many to pass to the OS (n unless a `short` rule applies). */
size_t w2w_fault_send_len(size_t n);

/* How many faults were injected so far. */
unsigned w2w_fault_injected(void);

#endif /* W2W_POSIX_FAULT_H */
