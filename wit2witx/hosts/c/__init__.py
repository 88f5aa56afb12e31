"""The C reference host (POSIX) and the native runners of `wit2witx run` (wasm3, WAMR).

The C sources in this folder ship in the wheel for embedders (see `sources.txt` and
`CMakeLists.txt`); `build` compiles them, WAMR and wasm3 for `wit2witx run` and the tests.
"""
