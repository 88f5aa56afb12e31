/* What the two runners of `wit2witx run` (wasm3, WAMR) share: the command line, reading
 * the guest, and the descriptor report the tests use to find leaked sockets.
 *
 *   runner [--allow-network] [--env NAME=VALUE]... GUEST.wasm [ARGS...]
 *
 * Exit status: the guest's (proc_exit, or 0 when _start returns); 134 when it traps;
 * 1 when GUEST.wasm cannot be loaded or linked; 2 for bad usage. With W2W_RUNNER_REPORT
 * set in the runner's environment, the runner prints one line on stderr at the end:
 * "w2w-runner: fds-before=N fds-after=M sockets-opened=X sockets-closed=Y live=Z"
 * (open descriptors before the guest ran and after the host closed what it left).
 */
#ifndef W2W_RUNNER_H
#define W2W_RUNNER_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "w2w_posix.h"

#define W2W_EXIT_TRAP 134

typedef struct w2w_runner {
    bool allow_network;
    char **env;          /* NAME=VALUE strings for the guest */
    int envc;
    const char *guest;
    char **args;         /* the guest's argv: args[0] is the guest's path */
    int argc;
    int fds_before;
} w2w_runner;

static int w2w_count_fds(void)
{
    int n = 0;
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* 0, or the exit status for bad usage */
static int w2w_runner_parse(w2w_runner *r, int argc, char **argv)
{
    int i = 1;
    memset(r, 0, sizeof *r);
    r->env = calloc((size_t)argc + 1u, sizeof *r->env);
    if (r->env == NULL)
        return 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--allow-network") == 0) {
            r->allow_network = true;
        } else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc && strchr(argv[i + 1], '=') != NULL) {
            r->env[r->envc++] = argv[++i];
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "error: unknown option `%s`\n", argv[i]);
            return 2;
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [--allow-network] [--env NAME=VALUE]... GUEST.wasm [ARGS...]\n", argv[0]);
        return 2;
    }
    r->guest = argv[i];
    r->args = argv + i;
    r->argc = argc - i;
    r->fds_before = w2w_count_fds();
    return 0;
}

static unsigned char *w2w_read_guest(const char *path, size_t *len)
{
    unsigned char *data = NULL;
    long size;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && size < (1L << 30) && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size);
        if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            data = NULL;
        }
        *len = (size_t)size;
    }
    fclose(f);
    return data;
}

/* After the guest: close what it left open, report if asked. */
static void w2w_runner_finish(const w2w_runner *r, w2w_posix *host)
{
    uint32_t live = w2w_posix_live_objects(host);
    fflush(stdout);
    w2w_posix_close(host);
    if (getenv("W2W_RUNNER_REPORT") != NULL)
        fprintf(stderr, "w2w-runner: fds-before=%d fds-after=%d sockets-opened=%u sockets-closed=%u live=%u\n",
                r->fds_before, w2w_count_fds(), (unsigned)host->sockets_opened, (unsigned)host->sockets_closed,
                (unsigned)live);
}

#endif
