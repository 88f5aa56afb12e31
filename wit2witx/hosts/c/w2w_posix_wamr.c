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
        && wasi_sockets_ip_name_lookup_wamr_register(&n->ip_name_lookup, &host->ip_name_lookup)
        && wasi_clocks_wall_clock_wamr_register(&n->wall_clock, &host->wall_clock)
        && wasi_random_random_wamr_register(&n->random, &host->random)
        && wasi_random_insecure_wamr_register(&n->insecure, &host->insecure)
        && wasi_random_insecure_seed_wamr_register(&n->insecure_seed, &host->insecure_seed)
        && wasi_cli_environment_wamr_register(&n->environment, &host->environment)
        && wasi_cli_exit_wamr_register(&n->exit, &host->exit)
        && wasi_cli_stdin_wamr_register(&n->stdin_, &host->stdin_)
        && wasi_cli_stdout_wamr_register(&n->stdout_, &host->stdout_)
        && wasi_cli_stderr_wamr_register(&n->stderr_, &host->stderr_)
        && wasi_cli_terminal_input_wamr_register(&n->terminal_input, &host->terminal_input)
        && wasi_cli_terminal_output_wamr_register(&n->terminal_output, &host->terminal_output)
        && wasi_cli_terminal_stdin_wamr_register(&n->terminal_stdin, &host->terminal_stdin)
        && wasi_cli_terminal_stdout_wamr_register(&n->terminal_stdout, &host->terminal_stdout)
        && wasi_cli_terminal_stderr_wamr_register(&n->terminal_stderr, &host->terminal_stderr);
}
