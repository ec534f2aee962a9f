# simlearn build: library (static + shared), the CLI, tests, sanitizers, benchmarks.
# `make`, `make test` and `make demo` first run scripts/deps.sh, which installs
# missing Debian packages and returns at once when everything is present:
# `make` and `make demo` the `core` group, `make test` and `make asan` also the
# `test` group (what the interoperability tests check against).

CC      ?= cc
PREFIX  ?= /usr/local
ARCH    ?= -march=native
OPT     ?= -O3
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifdef CI
WARN    += -Werror
endif
CPPFLAGS := -Iinclude -Isrc -D_GNU_SOURCE
# `override` so that CFLAGS given on the command line (as `make asan` does)
# add to these flags instead of replacing them.
CFLAGS  ?=
override CFLAGS += -std=c11 $(OPT) $(ARCH) -g -fPIC -fopenmp -pthread $(WARN)
LDLIBS   = -lopenblas -lpng -ljpeg -lz -lm -fopenmp -pthread $(MPI_LIBS)

# Distributed runs (mpirun -np N simlearn ...) use Open MPI; `make MPI=0`
# builds without it (every run is then one process). The flags come from
# pkg-config when a recipe runs, after `deps` has installed MPI.
MPI     ?= 1
ifeq ($(MPI),1)
MPI_CPPFLAGS = -DSL_WITH_MPI $(shell pkg-config --cflags ompi-c)
MPI_LIBS     = $(shell pkg-config --libs ompi-c)
endif

BUILD   ?= build
BIN     ?= simlearn
SRC     := $(sort $(wildcard src/*/*.c))
CLISRC  := $(sort $(wildcard cli/*.c))
TESTSRC := $(sort $(wildcard tests/test_*.c))
OBJ     := $(SRC:%.c=$(BUILD)/obj/%.o)
CLIOBJ  := $(CLISRC:%.c=$(BUILD)/obj/%.o)
TESTBIN := $(TESTSRC:tests/%.c=$(BUILD)/tests/%)
VERSION := $(shell sed -n 's/^#define SL_VERSION_STRING "\(.*\)"/\1/p' include/simlearn.h)

.PHONY: all deps deps-test deps-python test test-run asan demo bench install install-built clean tests-build tests-build-asan
.SECONDARY:
all: deps $(BUILD)/libsimlearn.a $(BUILD)/libsimlearn.so $(BIN)

deps:
	@scripts/deps.sh core
deps-test: deps
	@scripts/deps.sh test
deps-python: deps
	@scripts/deps.sh python

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(MPI_CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The command table is generated from the cli/cmd_*.c files present, so adding
# a command is adding a file.
$(BUILD)/gen/commands.inc: $(wildcard cli/cmd_*.c) Makefile
	@mkdir -p $(dir $@)
	@for f in $(sort $(wildcard cli/cmd_*.c)); do n=$${f#cli/cmd_}; echo "X($${n%.c})"; done > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/cli/main.o: $(BUILD)/gen/commands.inc
$(BUILD)/obj/cli/%.o: CPPFLAGS += -I$(BUILD)/gen -Icli

$(BUILD)/libsimlearn.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/libsimlearn.so: $(OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BIN): $(CLIOBJ) $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(CLIOBJ) $(BUILD)/libsimlearn.a $(LDLIBS)

$(BUILD)/obj/tests/%.o: CPPFLAGS += -Itests
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/tests/test_main.o $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/obj/tests/test_main.o $(BUILD)/libsimlearn.a $(LDLIBS)

# tests/test_main.c is the shared main(), not a test file of its own.
TESTBIN := $(filter-out $(BUILD)/tests/test_main,$(TESTBIN))
# The fuzz targets (`make fuzz`) and their corpus replays (FUZZBIN, in the tests).
include tests/fuzz/fuzz.mk
tests-build: deps $(TESTBIN) $(FUZZBIN) $(BIN)
# How the tests are run, in one place. `make test` first installs the test
# packages; `make test-run` skips that and reruns the suite, rebuilding only
# what is out of date (for passes under other settings, as .ci/run does).
# The scripts check the module order (tests/test_layers.sh) and the API's
# conventions (tests/test_names.sh) on the headers and the objects of $(BUILD);
# tests/test_faults.sh runs the CLI's writers into write errors and kills a
# training run while it checkpoints. tests/test_python.sh runs the Python package's tests (tests/python/) one
# pytest case at a time; the sanitized pass leaves it out (the interpreter is
# not built with the sanitizers).
TESTSCRIPTS := tests/test_layers.sh tests/test_names.sh tests/test_faults.sh $(if $(filter 1,$(MPI)),tests/test_dist.sh,)
RUN_TESTS = SIMLEARN=$(CURDIR)/$(BIN) SIMLEARN_BUILD=$(CURDIR)/$(BUILD) tests/run.sh $(TESTBIN) $(FUZZBIN) $(TESTSCRIPTS)
test: deps-test tests-build python
	@$(RUN_TESTS) tests/test_python.sh
test-run: tests-build python
	@$(RUN_TESTS) tests/test_python.sh

# The Python package: build/python/simlearn/ holds the pure-Python layer and
# the extension module, linked with the static library; use it with
# PYTHONPATH=build/python, or `make install` (which installs it to $(PYSITE)).
# PYTHON is Debian's interpreter (python3-dev gives its headers).
PYTHON  ?= /usr/bin/python3
PYDIR   := $(BUILD)/python/simlearn
PYEXT   = $(PYDIR)/_simlearn$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PYINC   = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PYSRC   := $(sort $(wildcard python/simlearn/*.py))
.PHONY: python
python: deps-python $(PYSRC:python/simlearn/%=$(PYDIR)/%)
	@$(MAKE) --no-print-directory $(PYEXT)
$(PYDIR)/%.py: python/simlearn/%.py
	@mkdir -p $(dir $@)
	cp $< $@
PYCSRC  := $(sort $(wildcard python/simlearn/*.c))
$(PYDIR)/_simlearn%.so: $(PYCSRC) python/simlearn/_simlearn.h $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(PYINC) $(CFLAGS) -shared -o $@ $(PYCSRC) $(BUILD)/libsimlearn.a $(LDLIBS)

# The sanitized build lives in build-asan/, its CLI in build-asan/simlearn,
# so the CLI tests also run under the sanitizers. A link to data/ beside that
# CLI lets it find the shipped evaluation sets as ./simlearn does.
asan:
	@mkdir -p build-asan && ln -sfn ../data build-asan/data
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/simlearn OPT=-O1 \
	  CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDLIBS="$(LDLIBS) -fsanitize=address,undefined" tests-build-asan
tests-build-asan: deps-test $(TESTBIN) $(FUZZBIN) $(BIN)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  SIMLEARN_SANITIZED=1 $(RUN_TESTS)

demo: all
	./$(BIN) demo

# `make install` builds a copy of its own in $(INSTALL_BUILD), compiled with
# $(INSTALL_ARCH) in place of ARCH: -march=native would tie the installed
# library and binary to the CPU of the machine that built them. On x86-64 the
# default is -march=x86-64-v2 (the x86-64 level with SSE4.2 and POPCNT);
# elsewhere, the compiler's own default. The local build in
# $(BUILD), which the tests and benchmarks use, keeps ARCH.
INSTALL_BUILD ?= build-install
INSTALL_ARCH  ?= $(if $(filter x86_64-%,$(shell $(CC) -dumpmachine)),-march=x86-64-v2,)
.PHONY: print-install-arch print-ldlibs
print-install-arch:
	@echo '$(INSTALL_ARCH)'
print-ldlibs: deps
	@echo '$(LDLIBS)'
install: deps deps-python
	@$(MAKE) --no-print-directory BUILD=$(INSTALL_BUILD) BIN=$(INSTALL_BUILD)/simlearn ARCH='$(INSTALL_ARCH)' \
	  install-built
# Installs what is built in $(BUILD); `make install` calls it with the
# portable build's settings.
# Only include/ is installed: the private headers under src/ (internal.h, the
# modules' own, and testing.h with the naive twins the tests use) never are.
# The Python package goes where Debian's python3 looks for local packages
# ($(PREFIX)/lib/python3.X/dist-packages; set PYSITE to choose another place).
PYSITE ?= $(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages
install-built: $(BUILD)/libsimlearn.a $(BUILD)/libsimlearn.so $(BIN) python
	install -d $(DESTDIR)$(PREFIX)/include/simlearn $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/simlearn.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/simlearn/*.h $(DESTDIR)$(PREFIX)/include/simlearn/
	install -m 644 $(BUILD)/libsimlearn.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libsimlearn.so $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/simlearn
	install -d $(DESTDIR)$(PREFIX)/share/simlearn
	install -m 644 data/questions-words.txt data/wordsim353.tsv data/simlex999.txt data/README.md $(DESTDIR)$(PREFIX)/share/simlearn/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(if $(MPI_LIBS),ompi-c,)|' \
	  scripts/simlearn.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/simlearn.pc
	install -d $(DESTDIR)$(PYSITE)/simlearn
	install -m 644 $(PYDIR)/*.py $(DESTDIR)$(PYSITE)/simlearn/
	install -m 755 $(PYEXT) $(DESTDIR)$(PYSITE)/simlearn/

clean:
	rm -rf build build-asan build-install build-fuzz simlearn

# Benchmarks live in bench/*.mk, one file per benchmark, each adding a
# bench-<name> target and appending it to BENCHES.
BENCHES :=
-include $(sort $(wildcard bench/*.mk))
bench: $(BENCHES)

-include $(OBJ:.o=.d) $(CLIOBJ:.o=.d) $(TESTSRC:%.c=$(BUILD)/obj/%.d)
