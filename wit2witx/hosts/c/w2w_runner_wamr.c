/* `wit2witx run --runtime wamr`: WAMR (fast interpreter, its own libc-wasi for WASI
 * Preview 1) with the C reference host. See w2w_runner.h for the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_export.h"
#include "w2w_posix_wamr.h"
#include "w2w_runner.h"

#define STACK_SIZE (256u * 1024u)

static w2w_handles handles;
static w2w_posix host;
static w2w_posix_wamr_natives natives;
static w2w_runner runner;

/* wasi:cli/exit: the guest is done; the process ends with its status */
static void guest_exit(void *user, uint32_t code)
{
    (void)user;
    w2w_runner_finish(&runner, &host);
    exit((int)code);
}

int main(int argc, char **argv)
{
    RuntimeInitArgs init;
    wasm_module_t module;
    wasm_module_inst_t inst;
    wasm_exec_env_t env;
    wasm_function_inst_t start;
    char error[256];
    unsigned char *wasm;
    size_t len = 0;
    int status = w2w_runner_parse(&runner, argc, argv);
    if (status != 0)
        return status;
    if ((wasm = w2w_read_guest(runner.guest, &len)) == NULL) {
        fprintf(stderr, "error: cannot read `%s`\n", runner.guest);
        return 1;
    }
    memset(&init, 0, sizeof init);
    init.mem_alloc_type = Alloc_With_System_Allocator;
    if (!wasm_runtime_full_init(&init)) {
        fprintf(stderr, "error: WAMR failed to start\n");
        return 1;
    }
    w2w_handles_init(&handles);
    if (!w2w_posix_init(&host, &handles, runner.allow_network) || !w2w_posix_wamr_register(&natives, &host)) {
        fprintf(stderr, "error: registering the host failed\n");
        return 1;
    }
    host.argc = runner.argc;
    host.argv = runner.args;
    host.envc = runner.envc;
    host.envp = runner.env;
    host.on_exit = guest_exit;
    module = wasm_runtime_load(wasm, (uint32_t)len, error, sizeof error);
    if (module == NULL) {
        fprintf(stderr, "error: cannot load `%s`: %s\n", runner.guest, error);
        return 1;
    }
    wasm_runtime_set_wasi_args_ex(module, NULL, 0, NULL, 0, (const char **)runner.env, (uint32_t)runner.envc, runner.args, runner.argc,
                                  0, 1, 2);
    inst = wasm_runtime_instantiate(module, STACK_SIZE, 0, error, sizeof error);
    if (inst == NULL) {
        fprintf(stderr, "error: cannot instantiate `%s`: %s\n", runner.guest, error);
        return 1;
    }
    start = wasm_runtime_lookup_wasi_start_function(inst);
    env = wasm_runtime_create_exec_env(inst, STACK_SIZE);
    if (start == NULL || env == NULL) {
        fprintf(stderr, "error: `%s` exports no `_start` function\n", runner.guest);
        return 1;
    }
    if (wasm_runtime_call_wasm(env, start, 0, NULL)) {
        status = (int)wasm_runtime_get_wasi_exit_code(inst);
    } else {
        const char *exc = wasm_runtime_get_exception(inst);
        if (exc != NULL && strstr(exc, "wasi proc exit") != NULL) {
            status = (int)wasm_runtime_get_wasi_exit_code(inst);
        } else {
            fflush(stdout);
            fprintf(stderr, "error: the guest trapped: %s\n", exc ? exc : "?");
            status = W2W_EXIT_TRAP;
        }
    }
    w2w_runner_finish(&runner, &host);
    wasm_runtime_destroy_exec_env(env);
    wasm_runtime_deinstantiate(inst);
    wasm_runtime_unload(module);
    wasm_runtime_destroy();
    free(wasm);
    free(runner.env);
    return status;
}
