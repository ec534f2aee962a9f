/* Shard manifests (sl_shards_open, then sl_shards_load), next to two fixed
 * valid shards s0.hnsw and s1.hnsw that the first input writes. The input is
 * the manifest without its last line, "checksum <16 hex digits>", which the
 * target appends (the FNV-1a of the bytes) so that mutations reach the
 * parser behind it. With
 * SIMLEARN_FUZZ_SEED set, the first input also copies a valid manifest of
 * those shards to that path (how tests/fuzz/make_seeds.sh makes the seed). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_shard(const char *name, uint64_t seed)
{
    sl_hnsw_config c;
    sl_hnsw_config_default(&c);
    c.dim = 4;
    c.M = 4;
    c.ef_construction = 8;
    c.seed = seed;
    float x[8 * 4];
    for (int i = 0; i < 8 * 4; i++) x[i] = (float)((i * 7 + (int)seed) % 11) - 5.0f;
    sl_hnsw *h = NULL;
    if (sl_hnsw_create(&c, &h) != SL_OK || sl_hnsw_add(h, x, 8, NULL, NULL, NULL, NULL) != SL_OK ||
        sl_hnsw_save(h, fz_path(name)) != SL_OK) {
        fprintf(stderr, "shards: cannot write %s: %s\n", name, sl_error_message());
        abort();
    }
    sl_hnsw_destroy(h);
}

static void setup(void)
{
    static int done;
    if (done) return;
    done = 1;
    fz_init();
    write_shard("s0.hnsw", 1);
    write_shard("s1.hnsw", 2);
    const char *seed = getenv("SIMLEARN_FUZZ_SEED");
    if (!seed) return;
    const char *files[2] = {"s0.hnsw", "s1.hnsw"};
    const char *m = fz_path("seed.manifest");
    FILE *in = NULL, *out = NULL;
    if (sl_shards_write(m, files, 2) != SL_OK || !(in = fopen(m, "rb")) || !(out = fopen(seed, "wb"))) {
        fprintf(stderr, "shards: cannot write the seed %s: %s\n", seed, sl_error_message());
        abort();
    }
    int ch;
    while ((ch = getc(in)) != EOF) putc(ch, out);
    fclose(in);
    if (fclose(out) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char line[32];
    snprintf(line, sizeof line, "checksum %016llx\n", (unsigned long long)fz_fnv1a(data, size));
    const char *path = fz_file_tail("x.manifest", data, size, line, strlen(line));
    sl_shards *s = NULL;
    sl_status st = sl_shards_open(path, &s);
    if (st == SL_OK) sl_shards_destroy(s);
    else if (getenv("SIMLEARN_FUZZ_VERBOSE")) fprintf(stderr, "%s\n", sl_error_message());
    s = NULL;
    if (sl_shards_load(path, &s) == SL_OK) sl_shards_destroy(s);
    return 0;
}
