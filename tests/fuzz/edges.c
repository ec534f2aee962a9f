/* Edge lists of `words poincare` and `words poincare-eval` ("child parent"
 * lines): read, then checked for the reader's promises (edges sorted and
 * unique, no self-loop, offsets and counts consistent), split for link
 * prediction, ranked with fixed vectors, and, when small, trained for one
 * epoch. A broken promise aborts, so libFuzzer reports it. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void check(const sl_words_edges *e)
{
    uint64_t ends = 0;
    for (size_t i = 0; i < e->nedges; i++) {
        if (e->child[i] >= e->nnodes || e->parent[i] >= e->nnodes || e->child[i] == e->parent[i]) abort();
        if (i > 0 && (e->child[i] < e->child[i - 1] ||
                      (e->child[i] == e->child[i - 1] && e->parent[i] <= e->parent[i - 1])))
            abort();
        if (i < e->first[e->child[i]] || i >= e->first[e->child[i] + 1]) abort();
    }
    for (size_t i = 0; i < e->nnodes; i++) ends += e->count[i];
    if (ends != 2 * (uint64_t)e->nedges || e->first[e->nnodes] != e->nedges) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *path = fz_file("edges.tsv", data, size);
    sl_words_edges *e = NULL, *tr = NULL, *te = NULL;
    if (sl_words_edges_read(path, &e) != SL_OK) return 0;
    check(e);
    sl_wordvecs *w = NULL;
    if (sl_wordvecs_create(e->nnodes, 2, &w) == SL_OK) {
        for (size_t i = 0; i < e->nnodes; i++) {
            w->words[i] = malloc(strlen(e->name[i]) + 1); /* fz_init's allocator frees with free() */
            if (!w->words[i]) abort();
            strcpy(w->words[i], e->name[i]);
            w->vecs[2 * i] = (float)((i * 7) % 19) / 20.0f - 0.45f;
            w->vecs[2 * i + 1] = (float)((i * 3) % 11) / 12.0f - 0.45f;
        }
        sl_words_poincare_eval ev;
        (void)sl_words_poincare_evaluate(w, NULL, e, &ev);
        if (sl_words_edges_split(e, 0.25, 1, &tr, &te) == SL_OK) {
            check(tr);
            check(te);
            if (tr->nedges + te->nedges != e->nedges) abort();
            for (size_t i = 0; i < e->nnodes; i++)
                if (tr->count[i] == 0 && e->count[i] > 0) abort();
            if (te->nedges) (void)sl_words_poincare_evaluate(w, tr, te, &ev);
        }
    }
    if (e->nedges <= 200) {
        sl_words_poincare_config c;
        sl_words_poincare_config_default(&c);
        c.dim = 3;
        c.negative = 2;
        c.epochs = 1;
        c.burn_in = 0;
        sl_wordvecs *out = NULL;
        if (sl_words_poincare_train(e, &c, &out, NULL) == SL_OK && out->n != e->nnodes) abort();
        sl_wordvecs_destroy(out);
    }
    sl_wordvecs_destroy(w);
    sl_words_edges_destroy(tr);
    sl_words_edges_destroy(te);
    sl_words_edges_destroy(e);
    return 0;
}
