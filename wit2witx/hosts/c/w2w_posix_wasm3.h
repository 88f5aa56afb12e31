/* The C reference host in wasm3: link every module of the host (and, for runners,
 * WASI Preview 1) into a loaded wasm3 module. Imports the guest does not have are skipped. */
#ifndef W2W_POSIX_WASM3_H
#define W2W_POSIX_WASM3_H

#include "wasm3.h"
#include "w2w_posix.h"
#include "w2w_preview1.h"

M3Result w2w_posix_wasm3_link(IM3Module module, w2w_posix *host);
M3Result w2w_preview1_wasm3_link(IM3Module module, w2w_preview1 *p1);

#endif
