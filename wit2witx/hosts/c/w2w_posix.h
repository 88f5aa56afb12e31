/* The C reference host of wit2witx: backported wasi:sockets 0.2.12 (tcp, udp, network,
 * instance-network, tcp/udp-create-socket, ip-name-lookup), wasi:io (error, poll,
 * streams), wasi:clocks (monotonic-clock, wall-clock), wasi:random (random, insecure,
 * insecure-seed) and wasi:cli (environment, exit, stdin, stdout, stderr; terminal-*
 * answer "not a terminal"), over POSIX.
 *
 * It implements the `<module>_impl_*` functions that the generated embedder interface
 * (`<module>_host.h`, from `wit2witx --emit host-c`) declares; the generated core and a
 * binding (`--emit host-wasm3` or `host-wamr`) turn guest calls into calls of these.
 *
 * An embedder keeps one `w2w_posix` per guest instance:
 *
 *     static w2w_handles handles;
 *     static w2w_posix host;
 *     w2w_handles_init(&handles);
 *     w2w_posix_init(&host, &handles, allow_network);   // every module's host_init
 *     ... register the bindings with host.tcp, host.streams, ... as host contexts ...
 *     ... run the guest ...
 *     w2w_posix_close(&host);   // closes every OS socket still open, frees every object
 *
 * Everything is non-blocking underneath (O_NONBLOCK sockets); the blocking WASI calls
 * (`blocking-read`, `pollable.block`, `poll`, `blocking-flush`) wait in poll(2).
 * Network policy, as the Python reference host (wit2witx.hosts.sockets): without
 * `allow_network` only loopback addresses may be bound (or the unspecified address),
 * connected to or sent to, datagrams from other sources are dropped, and only
 * `localhost` is looked up (`access-denied` otherwise: asking a DNS server is itself
 * network access). Name lookups run getaddrinfo(3) inside `resolve-addresses` (this
 * host has no threads), so `resolve-next-address` never answers `would-block`.
 *
 * Where WASI says "trap", this host returns a status instead: a `write` beyond
 * `check-write` gives `last-operation-failed`, a `send` beyond `check-send` `bad_value`.
 * Not thread-safe: one guest instance, one thread.
 */
#ifndef W2W_POSIX_H
#define W2W_POSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "wasi_cli_environment_host.h"
#include "wasi_cli_exit_host.h"
#include "wasi_cli_stderr_host.h"
#include "wasi_cli_stdin_host.h"
#include "wasi_cli_stdout_host.h"
#include "wasi_cli_terminal_input_host.h"
#include "wasi_cli_terminal_output_host.h"
#include "wasi_cli_terminal_stderr_host.h"
#include "wasi_cli_terminal_stdin_host.h"
#include "wasi_cli_terminal_stdout_host.h"
#include "wasi_clocks_monotonic_clock_host.h"
#include "wasi_clocks_wall_clock_host.h"
#include "wasi_random_insecure_host.h"
#include "wasi_random_insecure_seed_host.h"
#include "wasi_random_random_host.h"
#include "wasi_io_error_host.h"
#include "wasi_io_poll_host.h"
#include "wasi_io_streams_host.h"
#include "wasi_sockets_instance_network_host.h"
#include "wasi_sockets_ip_name_lookup_host.h"
#include "wasi_sockets_network_host.h"
#include "wasi_sockets_tcp_create_socket_host.h"
#include "wasi_sockets_tcp_host.h"
#include "wasi_sockets_udp_create_socket_host.h"
#include "wasi_sockets_udp_host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct w2w_obj w2w_obj;

/* One guest instance's host: the context of every module (each with `user` = this). */
typedef struct w2w_posix {
    wasi_clocks_monotonic_clock_host_ctx_t monotonic_clock;
    wasi_io_error_host_ctx_t error;
    wasi_io_poll_host_ctx_t poll;
    wasi_io_streams_host_ctx_t streams;
    wasi_sockets_network_host_ctx_t network;
    wasi_sockets_instance_network_host_ctx_t instance_network;
    wasi_sockets_tcp_host_ctx_t tcp;
    wasi_sockets_tcp_create_socket_host_ctx_t tcp_create_socket;
    wasi_sockets_udp_host_ctx_t udp;
    wasi_sockets_udp_create_socket_host_ctx_t udp_create_socket;
    wasi_sockets_ip_name_lookup_host_ctx_t ip_name_lookup;
    wasi_clocks_wall_clock_host_ctx_t wall_clock;
    wasi_random_random_host_ctx_t random;
    wasi_random_insecure_host_ctx_t insecure;
    wasi_random_insecure_seed_host_ctx_t insecure_seed;
    wasi_cli_environment_host_ctx_t environment;
    wasi_cli_exit_host_ctx_t exit;
    wasi_cli_stdin_host_ctx_t stdin_;
    wasi_cli_stdout_host_ctx_t stdout_;
    wasi_cli_stderr_host_ctx_t stderr_;
    wasi_cli_terminal_input_host_ctx_t terminal_input;
    wasi_cli_terminal_output_host_ctx_t terminal_output;
    wasi_cli_terminal_stdin_host_ctx_t terminal_stdin;
    wasi_cli_terminal_stdout_host_ctx_t terminal_stdout;
    wasi_cli_terminal_stderr_host_ctx_t terminal_stderr;
    /* wasi:cli: the guest's arguments and environment (NAME=VALUE), and what
     * `exit` does (the embedder ends the guest; it must not return) */
    int argc;
    char **argv;
    int envc;
    char **envp;
    void (*on_exit)(void *user, uint32_t code);
    void *exit_user;
    uint64_t insecure_seed_value[2];
    bool seeded;
    bool allow_network;
    w2w_obj *objects;   /* every live object (a doubly linked list), for w2w_posix_close */
    uint32_t sockets_opened, sockets_closed;
    bool closing;       /* inside w2w_posix_close */
    uint32_t backlog;   /* outputs that may hold bytes their socket has not taken yet */
} w2w_posix;

/* Initialize every module's host context on `handles` (initialized by the caller);
 * false when the handle table has no room for the owners. */
bool w2w_posix_init(w2w_posix *host, w2w_handles *handles, bool allow_network);

/* Close every OS socket the guest left open and free every object (call after the
 * guest ended, or trapped; the handle table must not be used afterwards). */
void w2w_posix_close(w2w_posix *host);

/* Number of objects still alive (sockets, streams, pollables, ...). */
uint32_t w2w_posix_live_objects(const w2w_posix *host);

#ifdef __cplusplus
}
#endif

#endif /* W2W_POSIX_H */
