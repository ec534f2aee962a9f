/* The loss workspace: a bump allocator for a call's scratch (similarity and
 * gradient matrices). Kept across calls it stops the per-step allocation of
 * fresh pages, which otherwise costs about a third of a small loss call. */
#include "loss_impl.h"

#include <string.h>

#define WS_ALIGN 64
#define WS_MIN_BLOCK ((size_t)1 << 16)

sl_status sl_loss_workspace_create(sl_loss_workspace **out) {
    if (!out) return sl__fail(SL_ERR_ARG, "loss workspace: NULL out pointer");
    sl_loss_workspace *ws = sl__calloc(1, sizeof *ws);
    if (!ws) return sl__fail(SL_ERR_NOMEM, "loss workspace: cannot allocate %zu bytes", sizeof *ws);
    *out = ws;
    return SL_OK;
}

void sl__ws_release(sl_loss_workspace *ws) {
    for (size_t k = 0; k < ws->nblocks; k++) sl__free(ws->blocks[k]);
    memset(ws, 0, sizeof *ws);
}

void sl_loss_workspace_destroy(sl_loss_workspace *ws) {
    if (!ws) return;
    sl__ws_release(ws);
    sl__free(ws);
}

size_t sl_loss_workspace_bytes(const sl_loss_workspace *ws) {
    size_t s = 0;
    for (size_t k = 0; ws && k < ws->nblocks; k++) s += ws->sizes[k];
    return s;
}

void sl__ws_begin(sl_loss_workspace *ws) {
    /* A call that needed several blocks leaves one block of the combined
     * size behind, so the next call of the same shape allocates nothing. */
    if (ws->nblocks > 1) {
        size_t peak = ws->peak;
        for (size_t k = 0; k < ws->nblocks; k++) sl__free(ws->blocks[k]);
        ws->nblocks = 0;
        char *b = sl__malloc(peak);
        if (b) {
            ws->blocks[0] = b;
            ws->sizes[0] = peak;
            ws->nblocks = 1;
        }
    }
    ws->used = 0;
    ws->total = 0;
}

void *sl__ws_alloc(sl_loss_workspace *ws, size_t n, size_t size, const char *what) {
    size_t sz;
    if (!sl_size_mul(n, size, &sz) || sz > SIZE_MAX - WS_ALIGN) {
        sl__fail(SL_ERR_NOMEM, "%s: %zu x %zu bytes overflows", what, n, size);
        return NULL;
    }
    sz = (sz + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;
    if (sz == 0) sz = WS_ALIGN;
    size_t last = ws->nblocks ? ws->nblocks - 1 : 0;
    if (!ws->nblocks || ws->used + sz > ws->sizes[last]) {
        if (ws->nblocks == SL__WS_MAX_BLOCKS) {
            sl__fail(SL_ERR_NOMEM, "%s: loss workspace has too many blocks", what);
            return NULL;
        }
        size_t bs = ws->nblocks ? ws->sizes[last] * 2 : WS_MIN_BLOCK;
        if (bs < sz) bs = sz;
        char *b = sl__malloc(bs);
        if (!b) {
            sl__fail(SL_ERR_NOMEM, "%s: cannot allocate %zu bytes of loss scratch", what, bs);
            return NULL;
        }
        ws->blocks[ws->nblocks] = b;
        ws->sizes[ws->nblocks] = bs;
        ws->nblocks++;
        ws->used = 0;
    }
    void *p = ws->blocks[ws->nblocks - 1] + ws->used;
    ws->used += sz;
    ws->total += sz;
    if (ws->total > ws->peak) ws->peak = ws->total;
    return p;
}

void *sl__ws_calloc(sl_loss_workspace *ws, size_t n, size_t size, const char *what) {
    void *p = sl__ws_alloc(ws, n, size, what);
    if (p) memset(p, 0, n * size);
    return p;
}

sl__ws_mark sl__ws_get_mark(const sl_loss_workspace *ws) {
    sl__ws_mark m = {ws->nblocks, ws->used, ws->total};
    return m;
}

void sl__ws_pop(sl_loss_workspace *ws, sl__ws_mark m) {
    /* Only space in the same block can be handed back; anything in a newer
     * block stays until the next sl__ws_begin folds the blocks together. */
    if (ws->nblocks == m.nblocks) {
        ws->used = m.used;
        ws->total = m.total;
    }
}
