# SPDX-License-Identifier: MIT
# Entry points for people and CI. `make demo` and `make test` work on a
# fresh Debian 12 machine as root: they install what is missing (Debian
# packages, .venv), build, and run. Everything is incremental.
#
#   make            deps + UI bundle in build/web + .venv (package installed)
#                   + C build in build/
#   make test       all of the above, then every test suite, with a summary
#   make demo       build and run the demo (scripts/demo.sh)
#   make fuzz       libFuzzer run, FUZZ_SECONDS in total (FUZZ_MERGE=1 keeps
#                   new inputs in tests/fuzz/corpus)
#   make bench      the sampler benchmark (BENCH_REPS=11), bench/RESULTS.md
#   make bench-interval  achieved interval with 1-16 threads, same file
#   make bench-server  the server on an hour-long recording, same file
#   make bench-store   the central store under load (S3 + PostgreSQL), same file
#   make format     clang-format -i every C file; format-check only checks
#   make clean

SHELL := /bin/bash
.DEFAULT_GOAL := all

PYTHON ?= python3
VENV ?= .venv
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_FUZZ ?= build-fuzz
PY_VERSIONS ?= 3.9 3.10 3.11 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
FUZZ_SECONDS ?= 600
FUZZ_MERGE ?= 0
DEMO ?= scripts/demo.sh
ML_WERROR ?= ON
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
export PY_VERSIONS PYENV_ROOT VENV BUILD BUILD_ASAN BUILD_TSAN JOBS FUZZ_MERGE ML_WERROR

CMAKE_FLAGS = -G Ninja -DML_WERROR=$(ML_WERROR)
# Full path of the interpreter, so CMake finds the same Python as .venv.
PYTHON_EXE = $(shell $(PYTHON) -c 'import sys; print(sys.executable)' \
	2>/dev/null)

# What the installed package is built from: a change reinstalls it.
PKG_SOURCES := CMakeLists.txt pyproject.toml $(shell find src python cmake \
	-type f \( -name '*.[ch]' -o -name '*.py' -o -name '*.pyi' \
	-o -name '*.cmake' -o -name py.typed \) 2>/dev/null)
C_FILES = $(shell find src tests -type f -name '*.[ch]' 2>/dev/null)

# pyenv_python VERSION: newest CPython VERSION.* under pyenv.
pyenv_python = $(lastword $(sort \
	$(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python3)))

# The browser UI (web/, TypeScript): npm packages from the lockfile, then
# esbuild bundles build/web/{index.html,app.js,app.css}. Before venv, so the
# bundle exists when the package is built.
WEB_SOURCES := web/index.html web/build.mjs web/tsconfig.json \
	$(shell find web/src -type f 2>/dev/null)
WEB_DEPS := web/node_modules/.package-lock.json

.PHONY: all deps web venv build asan tsan test format format-check demo \
	fuzz bench bench-interval bench-server bench-store clean

all: deps web venv build

web: $(BUILD)/web/app.js

$(WEB_DEPS): web/package.json web/package-lock.json | deps
	cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

$(BUILD)/web/app.js: $(WEB_SOURCES) $(WEB_DEPS)
	cd web && OUT="$(abspath $(BUILD))/web" node build.mjs

deps:
	@PYTHON=$(PYTHON) scripts/install-deps.sh

venv: $(VENV)/.ml-installed

# The UI bundle goes into the package too (share/microlog/ui). Test-only
# Python packages (the store tests' S3 server) go into .venv alone.
VENV_REQUIREMENTS := tests/store/requirements.txt
$(VENV)/.ml-installed: $(PKG_SOURCES) $(BUILD)/web/app.js \
		$(VENV_REQUIREMENTS) | deps
	scripts/install-venv.sh "$(PYTHON_EXE)" $(VENV) $(VENV_REQUIREMENTS)
	@touch $@

# One venv per CPython version (make test); the interpreter comes from pyenv.
$(BUILD)/py/%/.ml-installed: $(PKG_SOURCES) $(BUILD)/web/app.js | deps
	@py="$(call pyenv_python,$*)"; \
	if [ -z "$$py" ]; then echo "no CPython $* under $(PYENV_ROOT)"; exit 1; fi; \
	scripts/install-venv.sh "$$py" $(BUILD)/py/$*
	@touch $@

# CMake re-runs by itself (from ninja) when a CMakeLists or folder changes.
build: | deps
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) \
		-DPython_EXECUTABLE="$(PYTHON_EXE)"
	cmake --build $(BUILD) -j $(JOBS)

asan: | deps
	@[ -f $(BUILD_ASAN)/build.ninja ] || cmake -S . -B $(BUILD_ASAN) \
		$(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DML_SANITIZE=ON \
		-DML_BUILD_EXT=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS)

tsan: | deps
	@[ -f $(BUILD_TSAN)/build.ninja ] || cmake -S . -B $(BUILD_TSAN) \
		$(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DML_TSAN=ON \
		-DML_BUILD_EXT=OFF
	cmake --build $(BUILD_TSAN) -j $(JOBS)

test: all
	@scripts/run-tests.sh

format-check:
	@bad=(); for f in $(C_FILES); do \
		clang-format --dry-run -Werror "$$f" >/dev/null 2>&1 || bad+=("$$f"); \
	done; \
	if [ $${#bad[@]} -ne 0 ]; then \
		clang-format --dry-run "$${bad[@]}" 2>&1 | head -40; \
		echo "clang-format: $${#bad[@]} file(s) not formatted (fix: make format):"; \
		printf '  %s\n' "$${bad[@]}"; exit 1; \
	fi; \
	echo "clang-format: $(words $(C_FILES)) C files formatted"

format:
	clang-format -i $(C_FILES)

demo: all
	@$(DEMO)

fuzz: | deps
	@[ -f $(BUILD_FUZZ)/build.ninja ] || CC=clang cmake -S . \
		-B $(BUILD_FUZZ) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DML_FUZZ=ON
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(BUILD_FUZZ)

# The sampler benchmark: a table on stdout and in bench/RESULTS.md.
BENCH_REPS ?= 11
bench: all
	$(VENV)/bin/python bench/bench.py --reps $(BENCH_REPS)

# The achieved interval with 1, 3, 8, 16 spinning threads; its section of
# bench/RESULTS.md. Not part of `make test`.
bench-interval: all
	$(VENV)/bin/python bench/interval.py --results bench/RESULTS.md

# `microlog serve` on a generated hour-long recording; its section of
# bench/RESULTS.md. Not part of `make test`.
bench-server: all
	$(VENV)/bin/python bench/server_bench.py

bench-store: all
	$(VENV)/bin/python bench/store_bench.py

# Side by side with other profilers (peers in build/compare-venv*),
# bench/COMPARISON.md. Not part of `make test`.
compare: all
	.venv/bin/python bench/compare/compare.py

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ) $(VENV)
