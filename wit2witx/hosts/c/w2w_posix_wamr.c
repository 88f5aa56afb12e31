/* The C reference host in WAMR (see w2w_posix_wamr.h). */
#include "w2w_posix_wamr.h"

bool w2w_posix_wamr_register(w2w_posix_wamr_natives *n, w2w_posix *host)
{
    return wasi_clocks_monotonic_clock_wamr_register(&n->monotonic_clock, &host->monotonic_clock)
        && wasi_io_error_wamr_register(&n->error, &host->error)
        && wasi_io_poll_wamr_register(&n->poll, &host->poll)
        && wasi_io_streams_wamr_register(&n->streams, &host->streams)
        && wasi_sockets_network_wamr_register(&n->network, &host->network)
        && wasi_sockets_instance_network_wamr_register(&n->instance_network, &host->instance_network)
        && wasi_sockets_tcp_wamr_register(&n->tcp, &host->tcp)
        && wasi_sockets_tcp_create_socket_wamr_register(&n->tcp_create_socket, &host->tcp_create_socket)
        && wasi_sockets_udp_wamr_register(&n->udp, &host->udp)
        && wasi_sockets_udp_create_socket_wamr_register(&n->udp_create_socket, &host->udp_create_socket)
        && wasi_sockets_ip_name_lookup_wamr_register(&n->ip_name_lookup, &host->ip_name_lookup);
}
