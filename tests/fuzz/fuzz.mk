# libFuzzer targets for the parsers (tests/fuzz/<target>.c; docs/robustness.md).
#
# `make fuzz` installs the `fuzz` package group (clang with libFuzzer), builds
# the library with clang -fsanitize=fuzzer-no-link,address,undefined in
# $(FUZZ_BUILD) (without MPI) and each target with -fsanitize=fuzzer, then runs
# every target for FUZZ_SECONDS on a scratch copy of its corpus
# (tests/fuzz/corpus/<target>/, merged with what earlier runs found in
# $(FUZZ_BUILD)/corpus/<target>/). New inputs stay in $(FUZZ_BUILD)/corpus, out
# of the source tree: `make fuzz-merge` adds those that reach new coverage to
# tests/fuzz/corpus/ (libFuzzer -merge=1), by hand, so the committed corpus
# grows only when someone decides so. Crashes are written to
# $(FUZZ_BUILD)/crashes/<target>/.
#   make fuzz [FUZZ_TARGETS="npy hnsw"] [FUZZ_SECONDS=120] [FUZZ_JOBS=1] [FUZZ_RUNS=N]
#   (FUZZ_RUNS stops each run after N executions, whichever of the two comes first)
#   make fuzz-build           the binaries only: $(FUZZ_BUILD)/fuzz_<target>
#
# In `make test` (and `make asan`) every target is also linked, with the
# ordinary compiler, to tests/fuzz/replay.c, a main() that feeds it each file
# of its committed corpus: $(BUILD)/tests/fuzz_<target>, one test per target.

FUZZ_TARGETS ?= npy safetensors w2v idx hnsw ivfpq flat shards model augment jsonl wordeval wordsckpt image captions ckpt corpus edges subword
FUZZ_ALL     := $(basename $(notdir $(filter-out tests/fuzz/replay.c tests/fuzz/fuzz_util.c,$(wildcard tests/fuzz/*.c))))
FUZZ_SECONDS ?= 120
FUZZ_JOBS    ?= 1
FUZZ_RUNS    ?=
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -g -O1 -march=native -fopenmp -pthread $(FUZZ_SAN)
FUZZ_LDLIBS  := -lopenblas -lpng -ljpeg -lz -lm -fopenmp -pthread
FUZZ_OBJ     := $(SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
# -max_len per target (bytes); formats with bulk data get more.
FUZZ_MAXLEN  := npy=4096 safetensors=4096 w2v=4096 idx=4096 hnsw=8192 ivfpq=8192 flat=4096 shards=1024 model=512 \
                augment=256 jsonl=4096 wordeval=2048 wordsckpt=16384 image=16384 captions=2048 ckpt=8192 corpus=4096 edges=4096 subword=8192
fuzz_maxlen   = $(patsubst $(1)=%,%,$(filter $(1)=%,$(FUZZ_MAXLEN)))

.PHONY: fuzz fuzz-build fuzz-merge deps-fuzz
deps-fuzz:
	@scripts/deps.sh core fuzz

$(FUZZ_BUILD)/obj/%.o: %.c | deps-fuzz
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/libsimlearn.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_util.o $(FUZZ_BUILD)/libsimlearn.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS)
$(FUZZ_BUILD)/obj/tests/fuzz/%.o: CPPFLAGS += -Itests/fuzz

fuzz-build: deps-fuzz $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# One target's run: the committed seeds and what earlier runs kept, FUZZ_SECONDS.
fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crashes/$*
	cd $(FUZZ_BUILD) && OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 ./fuzz_$* -max_total_time=$(FUZZ_SECONDS) \
	  -max_len=$(call fuzz_maxlen,$*) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS)) \
	  $(if $(wildcard tests/fuzz/$*.dict),-dict=$(CURDIR)/tests/fuzz/$*.dict,) \
	  -artifact_prefix=crashes/$*/ corpus/$* $(CURDIR)/tests/fuzz/corpus/$* > fuzz-$*.log 2>&1; \
	  rc=$$?; grep -v 'NEW\|REDUCE\|pulse' fuzz-$*.log | tail -n 25; exit $$rc
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) $(FUZZ_TARGETS:%=fuzz-run-%)

# Add the inputs of $(FUZZ_BUILD)/corpus/<target> that reach new coverage to
# the committed corpus (review the size: the corpus stays under 2 MB).
fuzz-merge-%: $(FUZZ_BUILD)/fuzz_%
	$(FUZZ_BUILD)/fuzz_$* -merge=1 -max_len=$(call fuzz_maxlen,$*) tests/fuzz/corpus/$* $(FUZZ_BUILD)/corpus/$*
fuzz-merge: $(FUZZ_TARGETS:%=fuzz-merge-%)

# The replay binaries of `make test`.
FUZZBIN := $(FUZZ_ALL:%=$(BUILD)/tests/fuzz_%)
$(BUILD)/obj/tests/fuzz/%.o: CPPFLAGS += -Itests/fuzz
$(BUILD)/obj/tests/fuzz/replay_%.o: tests/fuzz/replay.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFZ_CORPUS='"$(CURDIR)/tests/fuzz/corpus/$*"' -c $< -o $@
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_%.o $(BUILD)/obj/tests/fuzz/fuzz_util.o $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

-include $(FUZZ_OBJ:.o=.d)
# The replay objects' header dependencies (a changed header rebuilds them);
# the empty rule keeps make from trying to build a .d by its implicit rules
# (replay_%.o would match "replay_X.d.o").
$(BUILD)/obj/tests/fuzz/%.d: ;
-include $(FUZZ_ALL:%=$(BUILD)/obj/tests/fuzz/%.d) $(FUZZ_ALL:%=$(BUILD)/obj/tests/fuzz/replay_%.d) \
  $(BUILD)/obj/tests/fuzz/fuzz_util.d
