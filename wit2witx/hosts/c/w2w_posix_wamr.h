/* The C reference host in WAMR: register every module's natives (WAMR's own libc-wasi
 * provides WASI Preview 1). `natives` must outlive the runtime. */
#ifndef W2W_POSIX_WAMR_H
#define W2W_POSIX_WAMR_H

#include "w2w_posix.h"
#include "wasi_clocks_wall_clock_wamr.h"
#include "wasi_random_random_wamr.h"
#include "wasi_random_insecure_wamr.h"
#include "wasi_random_insecure_seed_wamr.h"
#include "wasi_cli_environment_wamr.h"
#include "wasi_cli_exit_wamr.h"
#include "wasi_cli_stdin_wamr.h"
#include "wasi_cli_stdout_wamr.h"
#include "wasi_cli_stderr_wamr.h"
#include "wasi_cli_terminal_input_wamr.h"
#include "wasi_cli_terminal_output_wamr.h"
#include "wasi_cli_terminal_stdin_wamr.h"
#include "wasi_cli_terminal_stdout_wamr.h"
#include "wasi_cli_terminal_stderr_wamr.h"
#include "wasi_clocks_monotonic_clock_wamr.h"
#include "wasi_io_error_wamr.h"
#include "wasi_io_poll_wamr.h"
#include "wasi_io_streams_wamr.h"
#include "wasi_sockets_instance_network_wamr.h"
#include "wasi_sockets_ip_name_lookup_wamr.h"
#include "wasi_sockets_network_wamr.h"
#include "wasi_sockets_tcp_create_socket_wamr.h"
#include "wasi_sockets_tcp_wamr.h"
#include "wasi_sockets_udp_create_socket_wamr.h"
#include "wasi_sockets_udp_wamr.h"

typedef struct w2w_posix_wamr_natives {
    wasi_clocks_monotonic_clock_wamr_natives monotonic_clock;
    wasi_io_error_wamr_natives error;
    wasi_io_poll_wamr_natives poll;
    wasi_io_streams_wamr_natives streams;
    wasi_sockets_network_wamr_natives network;
    wasi_sockets_instance_network_wamr_natives instance_network;
    wasi_sockets_tcp_wamr_natives tcp;
    wasi_sockets_tcp_create_socket_wamr_natives tcp_create_socket;
    wasi_sockets_udp_wamr_natives udp;
    wasi_sockets_udp_create_socket_wamr_natives udp_create_socket;
    wasi_sockets_ip_name_lookup_wamr_natives ip_name_lookup;
    wasi_clocks_wall_clock_wamr_natives wall_clock;
    wasi_random_random_wamr_natives random;
    wasi_random_insecure_wamr_natives insecure;
    wasi_random_insecure_seed_wamr_natives insecure_seed;
    wasi_cli_environment_wamr_natives environment;
    wasi_cli_exit_wamr_natives exit;
    wasi_cli_stdin_wamr_natives stdin_;
    wasi_cli_stdout_wamr_natives stdout_;
    wasi_cli_stderr_wamr_natives stderr_;
    wasi_cli_terminal_input_wamr_natives terminal_input;
    wasi_cli_terminal_output_wamr_natives terminal_output;
    wasi_cli_terminal_stdin_wamr_natives terminal_stdin;
    wasi_cli_terminal_stdout_wamr_natives terminal_stdout;
    wasi_cli_terminal_stderr_wamr_natives terminal_stderr;
} w2w_posix_wamr_natives;

bool w2w_posix_wamr_register(w2w_posix_wamr_natives *natives, w2w_posix *host);

#endif
