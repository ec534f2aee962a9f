/* The HNSW index's key map: non-negative int64 keys to int64 values in one
 * open-addressing table (linear probing, splitmix64's finaliser as the hash),
 * grown to twice its size whenever an insertion would fill more than half of
 * it. Keys are never removed; a key's value can be replaced. */
#include "index_internal.h"

#include <string.h>

#define KEYMAP_EMPTY (-1)

static inline uint64_t keymap_hash(int64_t key) {
    uint64_t z = (uint64_t)key + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t keymap_slot(const sl__keymap *m, int64_t key) {
    size_t mask = m->cap - 1, i = (size_t)keymap_hash(key) & mask;
    while (m->slots[i].key != KEYMAP_EMPTY && m->slots[i].key != key) i = (i + 1) & mask;
    return i;
}

sl_status sl__keymap_reserve(sl__keymap *m, size_t n) {
    if (n <= m->cap / 2) return SL_OK;
    size_t cap = m->cap ? m->cap : 16;
    while (cap / 2 < n) {
        if (cap > SIZE_MAX / 2 / sizeof *m->slots) return sl__fail(SL_ERR_RANGE, "key map: %zu keys are too many", n);
        cap *= 2;
    }
    sl__keyslot *s = sl__malloc_array(cap, sizeof *s, "key map");
    if (!s) return SL_ERR_NOMEM;
    for (size_t i = 0; i < cap; i++) s[i].key = KEYMAP_EMPTY, s[i].val = 0;
    sl__keymap old = *m;
    m->slots = s, m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key != KEYMAP_EMPTY) m->slots[keymap_slot(m, old.slots[i].key)] = old.slots[i];
    sl__free(old.slots);
    return SL_OK;
}

sl_status sl__keymap_put(sl__keymap *m, int64_t key, int64_t val) {
    if (key < 0) return sl__fail(SL_ERR_ARG, "key map: key %lld is negative", (long long)key);
    if (m->cap) {
        size_t i = keymap_slot(m, key);
        if (m->slots[i].key == key) {
            m->slots[i].val = val;
            return SL_OK;
        }
    }
    SL__TRY(sl__keymap_reserve(m, m->n + 1));
    size_t i = keymap_slot(m, key);
    m->slots[i].key = key, m->slots[i].val = val;
    m->n++;
    return SL_OK;
}

int64_t sl__keymap_get(const sl__keymap *m, int64_t key) {
    if (!m->cap || key < 0) return -1;
    const sl__keyslot *s = &m->slots[keymap_slot(m, key)];
    return s->key == key ? s->val : -1;
}

void sl__keymap_free(sl__keymap *m) {
    sl__free(m->slots);
    memset(m, 0, sizeof *m);
}
