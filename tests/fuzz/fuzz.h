/* Shared by the libFuzzer targets in tests/fuzz/ (see docs/robustness.md).
 * Each target defines LLVMFuzzerTestOneInput and feeds the bytes through the
 * library code path the CLI uses. */
#ifndef SIMLEARN_FUZZ_H
#define SIMLEARN_FUZZ_H

#include "simlearn.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once per process: install an allocator that refuses any single request
 * above FZ_ALLOC_CAP bytes (so a header that claims a huge size gets the
 * library's out-of-memory error instead of tripping the fuzzer's malloc
 * limit) and create this process's scratch folder. */
#define FZ_ALLOC_CAP ((size_t)64 << 20)
void fz_init(void);
/* Write the bytes to NAME in this process's scratch folder
 * (/dev/shm/simlearn-fuzz-PID/, or under /tmp without /dev/shm;
 * removed at exit) and return its path (a static
 * buffer per NAME slot: valid until the next call with the same NAME). */
const char *fz_file(const char *name, const uint8_t *data, size_t size);
/* The path NAME would have in the scratch folder (one rotating buffer of 4). */
const char *fz_path(const char *name);
/* FNV-1a 64 of the bytes: the checksum of HNSW files and shard manifests,
 * which the targets append to their input so that mutations get past it. */
uint64_t fz_fnv1a(const uint8_t *data, size_t size);
/* Write the bytes followed by tail to NAME, as fz_file. */
const char *fz_file_tail(const char *name, const uint8_t *data, size_t size, const void *tail, size_t tail_size);
/* A NUL-terminated copy of the bytes (malloc'd; free with free()). */
char *fz_cstr(const uint8_t *data, size_t size);

#endif
