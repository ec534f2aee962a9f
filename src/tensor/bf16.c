/* bfloat16 products for screening: C = A B^T with A and B in bf16 and C in
 * float32, through oneDNN's matmul (Debian's libdnnl2), which runs them on
 * the AVX-512 BF16 instructions at about three times OpenBLAS's float32
 * speed here. The library is opened at the first use rather than linked, so
 * a process that never screens does not load it, and a machine without it
 * (or a CPU without the instructions, as oneDNN reports them) gets "not
 * available" and the caller stays in float32. */
#include "internal.h"
#include "testing.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BF16_FN(X)                           \
    X(dnnl_engine_create)                    \
    X(dnnl_stream_create)                    \
    X(dnnl_stream_destroy)                   \
    X(dnnl_stream_wait)                      \
    X(dnnl_memory_desc_init_by_strides)      \
    X(dnnl_matmul_desc_init)                 \
    X(dnnl_primitive_desc_create)            \
    X(dnnl_primitive_desc_destroy)           \
    X(dnnl_primitive_create)                 \
    X(dnnl_primitive_destroy)                \
    X(dnnl_primitive_execute)                \
    X(dnnl_memory_create)                    \
    X(dnnl_memory_destroy)                   \
    X(dnnl_get_effective_cpu_isa)

static struct {
#define BF16_PTR(f) __typeof__(f) *f;
    BF16_FN(BF16_PTR)
#undef BF16_PTR
    dnnl_engine_t engine;
    bool ready;
} lib;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* Builds with AddressSanitizer never open oneDNN: LeakSanitizer's tracer
 * crashed on it ("Tracer caught signal 11"), so there exact search runs its
 * float32 screen, and the bf16 screen's logic is checked with the naive
 * product below (sl__bf16_use_ref). */
#if defined(__SANITIZE_ADDRESS__)
#define BF16_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BF16_SANITIZED 1
#endif
#endif

static _Atomic bool use_ref;

void sl__bf16_use_ref(bool on) { use_ref = on; }

static void lib_open(void) {
#if defined(BF16_SANITIZED)
    return;
#endif
    const char *off = getenv("SIMLEARN_NO_BF16");
    if (off && *off && strcmp(off, "0") != 0) return;
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    void *sym;
    /* (POSIX's function pointer from dlsym, copied as ISO C allows) */
#define BF16_SYM(f)                            \
    if (!(sym = dlsym(h, #f))) return;         \
    memcpy(&lib.f, &sym, sizeof sym);
    BF16_FN(BF16_SYM)
#undef BF16_SYM
    /* The instructions themselves, not oneDNN's emulation of them on plain
     * AVX-512 (which is slower than float32). */
    dnnl_cpu_isa_t isa = lib.dnnl_get_effective_cpu_isa();
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) != (unsigned)dnnl_cpu_isa_avx512_core_bf16) return;
    if (lib.dnnl_engine_create(&lib.engine, dnnl_cpu, 0) != dnnl_success) return;
    lib.ready = true;
}

bool sl__bf16_available(void) {
    if (use_ref) return true;
    pthread_once(&lib_once, lib_open);
    return lib.ready;
}

void sl__bf16_round(const float *x, size_t n, uint16_t *out) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        /* Round to nearest, ties to even; the inputs are finite, and a value
         * that rounds past the largest bf16 becomes infinite, which the
         * caller's bounds then turn into "keep". */
        u += 0x7fffu + ((u >> 16) & 1u);
        out[i] = (uint16_t)(u >> 16);
    }
}

/* One memory descriptor of a rows x cols matrix with row stride ld, in the
 * (K x N) orientation oneDNN's matmul wants for B when transposed. */
static bool desc(dnnl_memory_desc_t *md, size_t rows, size_t cols, size_t rs, size_t cs, dnnl_data_type_t t) {
    dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)cols}, strides = {(dnnl_dim_t)rs, (dnnl_dim_t)cs};
    return lib.dnnl_memory_desc_init_by_strides(md, 2, dims, t, strides) == dnnl_success;
}

void sl__gemm_bf16_nt_ref(size_t M, size_t N, size_t K, const uint16_t *A, size_t lda, const uint16_t *B, size_t ldb,
                          float *C, size_t ldc) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float s = 0;
            for (size_t t = 0; t < K; t++) s += sl__bf16_value(A[i * lda + t]) * sl__bf16_value(B[j * ldb + t]);
            C[i * ldc + j] = s;
        }
}

sl_status sl__gemm_bf16_nt(size_t M, size_t N, size_t K, const uint16_t *A, size_t lda, const uint16_t *B,
                           size_t ldb, float *C, size_t ldc) {
    if (use_ref) {
        sl__gemm_bf16_nt_ref(M, N, K, A, lda, B, ldb, C, ldc);
        return SL_OK;
    }
    if (!sl__bf16_available()) return sl__fail(SL_ERR_STATE, "bf16 product: oneDNN with AVX-512 BF16 is not available");
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_matmul_desc_t mm;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL;
    bool ok = desc(&ad, M, K, lda, 1, dnnl_bf16) && desc(&bd, K, N, 1, ldb, dnnl_bf16) &&
              desc(&cd, M, N, ldc, 1, dnnl_f32) && lib.dnnl_matmul_desc_init(&mm, &ad, &bd, NULL, &cd) == dnnl_success &&
              lib.dnnl_primitive_desc_create(&pd, &mm, NULL, lib.engine, NULL) == dnnl_success &&
              lib.dnnl_primitive_create(&prim, pd) == dnnl_success &&
              lib.dnnl_stream_create(&stream, lib.engine, dnnl_stream_default_flags) == dnnl_success &&
              lib.dnnl_memory_create(&am, &ad, lib.engine, (void *)A) == dnnl_success &&
              lib.dnnl_memory_create(&bm, &bd, lib.engine, (void *)B) == dnnl_success &&
              lib.dnnl_memory_create(&cm, &cd, lib.engine, C) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
        ok = lib.dnnl_primitive_execute(prim, stream, 3, args) == dnnl_success &&
             lib.dnnl_stream_wait(stream) == dnnl_success;
    }
    if (am) lib.dnnl_memory_destroy(am);
    if (bm) lib.dnnl_memory_destroy(bm);
    if (cm) lib.dnnl_memory_destroy(cm);
    if (stream) lib.dnnl_stream_destroy(stream);
    if (prim) lib.dnnl_primitive_destroy(prim);
    if (pd) lib.dnnl_primitive_desc_destroy(pd);
    if (!ok) return sl__fail(SL_ERR_NOMEM, "bf16 product: oneDNN failed on a %zu x %zu x %zu product", M, N, K);
    return SL_OK;
}
