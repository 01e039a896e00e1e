/* bfloat16 products: weights and activations rounded to bf16 (nearest, ties to even),
   float32 accumulation by AVX512-BF16's dot products; a portable loop computes the
   same sums for CPUs without it (and for the tests). */
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>
#include "tiles.h"

#define INLINE static inline __attribute__((always_inline))
#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

static int round_up(int v, int m) { return (v + m - 1) / m * m; }

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

size_t ds_bf16_packed_count(int n, int k) { return (size_t)round_up(n, 16) * (size_t)round_up(k, 2); }

void ds_bf16_pack(const float *w, int n, int k, uint16_t *packed) {
    int kp = round_up(k, 2), np = round_up(n, 16);
    memset(packed, 0, (size_t)np * (size_t)kp * 2);
    for (int o = 0; o < n; o++) {
        uint16_t *block = packed + (size_t)(o / 16) * (size_t)kp * 16 + (o % 16) * 2;
        for (int i = 0; i < k; i++) block[(size_t)(i / 2) * 32 + (i % 2)] = to_bf16(w[(size_t)o * k + i]);
    }
}

void ds_bf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out, int kp) {
    for (int r = 0; r < m; r++) {
        for (int i = 0; i < k; i++) out[(size_t)r * kp + i] = to_bf16(a[(size_t)r * lda + i]);
        for (int i = k; i < kp; i++) out[(size_t)r * kp + i] = 0;
    }
}

BF16 INLINE void bf16_tile(const int MR, const int NB, const uint16_t *a, int kp, const uint16_t *b, int o0, int n,
                           float *c, int ldc, int accumulate) {
    __m512 acc[8][4];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NB; j++) acc[r][j] = _mm512_setzero_ps();
    const size_t stride = (size_t)kp * 16;
    for (int i = 0; i < kp; i += 2) {
        __m512bh bv[4];
        for (int j = 0; j < NB; j++) bv[j] = (__m512bh)_mm512_loadu_si512((const void *)(b + j * stride + (size_t)i * 16));
        for (int r = 0; r < MR; r++) {
            int32_t pair;
            memcpy(&pair, a + (size_t)r * kp + i, 4);
            __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
            for (int j = 0; j < NB; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], av, bv[j]);
        }
    }
    for (int j = 0; j < NB; j++) {
        int o = o0 + 16 * j, valid = n - o < 16 ? n - o : 16;
        __mmask16 mask = (__mmask16)((1u << valid) - 1);
        for (int r = 0; r < MR; r++) {
            float *dst = c + (size_t)r * ldc + o;
            __m512 v = acc[r][j];
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, dst));
            _mm512_mask_storeu_ps(dst, mask, v);
        }
    }
}

#define BF16_CASE(MR, NB) case (MR - 1) * 4 + NB - 1: bf16_tile(MR, NB, a, kp, b, o0, n, c, ldc, accumulate); break;

/* A decoding step's few rows (5 for beam 5) in one tile of up to 8 rows × 2 blocks, so
   each weight is read once per step: the output projection does not fit in L2. */
#define BF16_FEW(MR) \
    case MR: if (nb == 2) bf16_tile(MR, 2, a, kp, b, o0, n, c, ldc, accumulate); \
             else bf16_tile(MR, 1, a, kp, b, o0, n, c, ldc, accumulate); break;

BF16 static void bf16_few_rows(int m, int nb, const uint16_t *a, int kp, const uint16_t *b, int o0, int n,
                               float *c, int ldc, int accumulate) {
    switch (m) { BF16_FEW(1) BF16_FEW(2) BF16_FEW(3) BF16_FEW(4) BF16_FEW(5) BF16_FEW(6) BF16_FEW(7) BF16_FEW(8) }
}

BF16 static void bf16_dispatch(int mr, int nb, const uint16_t *a, int kp, const uint16_t *b, int o0, int n,
                               float *c, int ldc, int accumulate) {
    switch ((mr - 1) * 4 + nb - 1) { DS_TILE_CASES(BF16_CASE) }
}

BF16 static void gemm_bf16(const uint16_t *a, int m, int kp, const uint16_t *packed, int n, int block0, int block1,
                           float *c, int ldc, int accumulate) {
    if (m <= 8) {
        for (int blk = block0; blk < block1; blk += 2)
            bf16_few_rows(m, block1 - blk < 2 ? 1 : 2, a, kp, packed + (size_t)blk * (size_t)kp * 16, blk * 16, n, c, ldc,
                          accumulate);
        return;
    }
    DS_FOR_EACH_TILE(m, block0, block1,
        bf16_dispatch(mr, nb, a + (size_t)r * kp, kp, packed + (size_t)blk * (size_t)kp * 16, blk * 16, n,
                      c + (size_t)r * ldc, ldc, accumulate);)
}

static void gemm_portable(const uint16_t *a, int m, int kp, const uint16_t *packed, int n, int block0, int block1,
                          float *c, int ldc, int accumulate) {
    for (int r = 0; r < m; r++) {
        for (int b = block0; b < block1; b++) {
            const uint16_t *p = packed + (size_t)b * (size_t)kp * 16;
            float acc[16] = {0};
            for (int i = 0; i < kp; i += 2)
                for (int j = 0; j < 16; j++)
                    acc[j] += from_bf16(a[(size_t)r * kp + i]) * from_bf16(p[(size_t)i * 16 + j * 2])
                            + from_bf16(a[(size_t)r * kp + i + 1]) * from_bf16(p[(size_t)i * 16 + j * 2 + 1]);
            for (int j = 0; j < 16 && b * 16 + j < n; j++) {
                float *dst = c + (size_t)r * ldc + b * 16 + j;
                *dst = accumulate ? *dst + acc[j] : acc[j];
            }
        }
    }
}

void ds_bf16_gemm(int level, const uint16_t *a, int m, int kp, const uint16_t *packed, int n, int block0, int block1,
                  float *c, int ldc, int accumulate) {
    if (level >= DS_LEVEL_AVX512_BF16)
        gemm_bf16(a, m, kp, packed, n, block0, block1, c, ldc, accumulate);
    else
        gemm_portable(a, m, kp, packed, n, block0, block1, c, ldc, accumulate);
}
