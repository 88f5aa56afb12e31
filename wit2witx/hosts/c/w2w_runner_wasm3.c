/* `wit2witx run --runtime wasm3`: wasm3 with WASI Preview 1 (w2w_preview1.c, through
 * generated glue) and the C reference host. See w2w_runner.h for the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm3.h"
#include "w2w_posix_wasm3.h"
#include "w2w_runner.h"

#define STACK_SIZE (1024u * 1024u)

static w2w_handles handles;
static w2w_posix host;
static w2w_preview1 p1;
static w2w_runner runner;

/* proc_exit: the guest is done; the process ends with its status */
static void guest_exit(void *user, uint32_t code)
{
    (void)user;
    w2w_runner_finish(&runner, &host);
    exit((int)code);
}

int main(int argc, char **argv)
{
    IM3Environment env;
    IM3Runtime rt;
    IM3Module module;
    IM3Function start;
    M3Result res;
    unsigned char *wasm;
    size_t len = 0;
    int status = w2w_runner_parse(&runner, argc, argv);
    if (status != 0)
        return status;
    if ((wasm = w2w_read_guest(runner.guest, &len)) == NULL) {
        fprintf(stderr, "error: cannot read `%s`\n", runner.guest);
        return 1;
    }
    w2w_handles_init(&handles);
    if (!w2w_posix_init(&host, &handles, runner.allow_network)
        || !w2w_preview1_init(&p1, &handles, runner.argc, runner.args, runner.envc, runner.env)) {
        fprintf(stderr, "error: initializing the host failed\n");
        return 1;
    }
    p1.on_exit = guest_exit;
    host.argc = runner.argc;
    host.argv = runner.args;
    host.envc = runner.envc;
    host.envp = runner.env;
    host.on_exit = guest_exit;
    env = m3_NewEnvironment();
    rt = env ? m3_NewRuntime(env, STACK_SIZE, NULL) : NULL;
    if (rt == NULL) {
        fprintf(stderr, "error: wasm3 failed to start\n");
        return 1;
    }
    res = m3_ParseModule(env, &module, wasm, (uint32_t)len);
    if (res == m3Err_none)
        res = m3_LoadModule(rt, module);
    if (res == m3Err_none)
        res = w2w_preview1_wasm3_link(module, &p1);
    if (res == m3Err_none)
        res = w2w_posix_wasm3_link(module, &host);
    if (res == m3Err_none)
        res = m3_FindFunction(&start, rt, "_start");
    if (res != m3Err_none) {
        fprintf(stderr, "error: cannot load `%s`: %s\n", runner.guest, res);
        return 1;
    }
    res = m3_CallV(start);
    if (res != m3Err_none) {
        M3ErrorInfo info;
        m3_GetErrorInfo(rt, &info);
        fflush(stdout);
        fprintf(stderr, "error: the guest trapped: %s%s%s\n", res, info.message ? ": " : "",
                info.message ? info.message : "");
        status = W2W_EXIT_TRAP;
    }
    w2w_runner_finish(&runner, &host);
    m3_FreeRuntime(rt);
    m3_FreeEnvironment(env);
    free(wasm);
    free(runner.env);
    return status;
}
