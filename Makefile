# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CACHE  := .cache
PYWASM3_SDIST := $(CACHE)/pywasm3-0.5.0.tar.gz
EXAMPLE := fixtures/example
WASI ?= ../shared/corpus/wasi-p2

.PHONY: run test bench wasi clean wamr arm-toolchain footprint fuzz fuzz-toolchain

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# wasm3's C source ships in the pywasm3 sdist; the tests build it with gcc.
$(PYWASM3_SDIST):
	mkdir -p $(CACHE)
	$(PY) -m pip download -q --no-binary :all: --no-deps pywasm3==0.5.0 -d $(CACHE)

run: $(VENV)/.installed
	$(VENV)/bin/wit2witx $(EXAMPLE) -o out/
	@echo "wrote out/"; ls out/

# WAMR's vmlib (libiwasm.a) from ../shared/vendor's tarball (or $$WAMR_SRC), built with CMake
# in both configurations the tests run (default, WAMR_DISABLE_HW_BOUND_CHECK), cached in .cache/.
wamr: $(VENV)/.installed-test
	$(PY) tests/support/wamr.py

# The Cortex-M tests (tests/test_cortexm.py) need Debian's bare-metal Arm toolchain, newlib
# and QEMU: installed when missing (CI runs as root), else a no-op.
ARM_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
arm-toolchain:
	@if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
	    && echo '#include <newlib.h>' | arm-none-eabi-gcc -E -x c - -o /dev/null 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(ARM_PACKAGES); \
	else \
	    echo "error: the Cortex-M tests need $(ARM_PACKAGES); install them as root:" >&2; \
	    echo "  apt-get update && apt-get install -y $(ARM_PACKAGES)" >&2; exit 1; \
	fi

# The fuzz tests (tests/test_fuzz_c.py) need clang with libFuzzer and the sanitizers:
# Debian's clang and libclang-rt-dev, installed when missing (as root), else a no-op.
FUZZ_PACKAGES := clang libclang-rt-dev
fuzz-toolchain:
	@if echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
	    | clang -fsanitize=fuzzer,address,undefined -x c - -o /dev/null 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(FUZZ_PACKAGES); \
	else \
	    echo "error: the fuzz tests need $(FUZZ_PACKAGES); install them as root:" >&2; \
	    echo "  apt-get update && apt-get install -y $(FUZZ_PACKAGES)" >&2; exit 1; \
	fi

# A long libFuzzer campaign over every trampoline of the C glue (WASI 0.2.12 + example):
# figures on stdout, crashing inputs in .cache/fuzz-c/findings/.
FUZZ_SECONDS ?= 3600
fuzz: $(VENV)/.installed-test fuzz-toolchain
	$(PY) tests/fuzz/build_c.py --time $(FUZZ_SECONDS)

test: $(VENV)/.installed-test $(PYWASM3_SDIST) wamr arm-toolchain fuzz-toolchain
	$(PY) -m pytest -n 2 -q

bench: $(VENV)/.installed-test footprint
	$(PY) bench/bench.py

# Flash, RAM and stack of the generated glue on Cortex-M4 (the README's "Footprint" table).
footprint: $(VENV)/.installed-test $(PYWASM3_SDIST) arm-toolchain
	$(PY) bench/footprint.py

# Backport every standard WASI 0.2 interface (wasi-p2-interfaces/wit2witx.toml) into build/.
wasi: $(VENV)/.installed
	WASI="$(abspath $(WASI))" $(VENV)/bin/wit2witx --config wasi-p2-interfaces/wit2witx.toml

clean:
	rm -rf $(VENV) $(CACHE) out build
