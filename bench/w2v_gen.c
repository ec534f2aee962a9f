/* Writes a word2vec text file of N words x DIM values in word2vec's own
 * "%f" style (six decimals), with a fixed pseudo-random sequence, for the
 * word-vector reading benchmark. Usage: w2v_gen N DIM OUT */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s N DIM OUT\n", argv[0]);
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), d = strtoull(argv[2], NULL, 10);
    FILE *f = fopen(argv[3], "w");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    fprintf(f, "%zu %zu\n", n, d);
    unsigned long long s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "w%zu", i);
        for (size_t k = 0; k < d; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            fprintf(f, " %f", ((double)(s >> 11) * 0x1.0p-53 - 0.5) * 0.8);
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : 1;
}
