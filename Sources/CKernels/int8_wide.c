/* The output projection's product: int8 weights (packed as for ds_i8_gemm) against
   activations quantised per row to 16 bits. Every level computes the same exact integer
   sum and rounds it to float once, so every level gives the same floats. AVX512-VNNI
   splits each 16-bit value into two unsigned bytes and takes two vpdpbusd passes; AVX2
   widens the weights to 16 bits for vpmaddwd; the portable loop sums in int64. */
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#define INLINE static inline __attribute__((always_inline))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define AVX2 __attribute__((target("avx2,fma")))

/* Rounds |v| ≤ 2^22 to the nearest integer, halves to even (as int8_pack.c does). */
static inline float round_even_wide(float v) {
    const float magic = 12582912.0f;
    return (v + magic) - magic;
}

void ds_i16_quantize_rows(const float *a, int m, int k, int lda, int16_t *v, uint8_t *hi, uint8_t *lo, int kp,
                          float *scales) {
    for (int r = 0; r < m; r++) {
        const float *row = a + (size_t)r * lda;
        float largest = 0;
        for (int i = 0; i < k; i++) {
            float x = row[i] < 0 ? -row[i] : row[i];
            largest = x > largest ? x : largest;
        }
        /* A row with an infinity or NaN quantises to zeros rather than to undefined integers. */
        const float s = largest > 0 && largest <= 3.4e38f ? 32767.0f / largest : 1.0f;
        int16_t *vr = v + (size_t)r * kp;
        for (int i = 0; i < kp; i++) {
            float x = i < k ? row[i] * s : 0.0f;
            x = x < -32767.0f ? -32767.0f : x;
            x = x > 32767.0f ? 32767.0f : x;
            if (x != x) x = 0;
            int q = (int)round_even_wide(x);
            unsigned u = (unsigned)(q + 32768);
            vr[i] = (int16_t)q;
            hi[(size_t)r * kp + i] = (uint8_t)(u >> 8);
            lo[(size_t)r * kp + i] = (uint8_t)(u & 255u);
        }
        scales[r] = s;
    }
}

/* The one rounding every level shares: the exact sum to float, then CTranslate2's order. */
static inline float dequantize(int64_t total, float ascale, float wscale) {
    float t = (float)total;
    t = t * (1.0f / ascale);
    return t / wscale;
}

static void wide_portable(const int16_t *v, int m, int kp, const float *ascale, const int8_t *packed,
                          const float *wscale, int n, int block0, int block1, float *c, int ldc, int accumulate) {
    for (int r = 0; r < m; r++) {
        const int16_t *a = v + (size_t)r * kp;
        for (int b = block0; b < block1; b++) {
            const int8_t *p = packed + (size_t)b * (size_t)kp * 16;
            int64_t acc[16] = {0};
            for (int i = 0; i < kp; i += 4)
                for (int j = 0; j < 16; j++)
                    for (int t = 0; t < 4; t++) acc[j] += (int64_t)a[i + t] * (int64_t)p[(size_t)i * 16 + j * 4 + t];
            for (int j = 0; j < 16 && b * 16 + j < n; j++) {
                float y = dequantize(acc[j], ascale[r], wscale[b * 16 + j]);
                float *dst = c + (size_t)r * ldc + b * 16 + j;
                *dst = accumulate ? *dst + y : y;
            }
        }
    }
}

/* Groups of 4 k values whose vpmaddwd pair sums (each at most 2·32767·127) an int32 lane
   can add before it could overflow. */
#define WIDE_FLUSH_GROUPS 256

/* Up to 8 rows against 4 outputs (a quarter of a block): each lane of acc[r] holds the
   sum over one pair of k values of one output; pairs are added in int64 at the end. */
AVX2 INLINE void avx2_quarter(const int MR, const int16_t *a, int kp, const int8_t *b, int64_t totals[8][4]) {
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < 4; j++) totals[r][j] = 0;
    const int groups = kp / 4;
    for (int g0 = 0; g0 < groups; g0 += WIDE_FLUSH_GROUPS) {
        int g1 = g0 + WIDE_FLUSH_GROUPS < groups ? g0 + WIDE_FLUSH_GROUPS : groups;
        __m256i acc[8];
        for (int r = 0; r < MR; r++) acc[r] = _mm256_setzero_si256();
        for (int g = g0; g < g1; g++) {
            __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + (size_t)g * 64)));
            for (int r = 0; r < MR; r++) {
                int64_t four;
                memcpy(&four, a + (size_t)r * kp + (size_t)g * 4, 8);
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(w, _mm256_set1_epi64x(four)));
            }
        }
        for (int r = 0; r < MR; r++) {
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, acc[r]);
            for (int j = 0; j < 4; j++) totals[r][j] += (int64_t)lanes[2 * j] + (int64_t)lanes[2 * j + 1];
        }
    }
}

AVX2 static void wide_avx2(const int16_t *v, int m, int kp, const float *ascale, const int8_t *packed,
                           const float *wscale, int n, int block0, int block1, float *c, int ldc, int accumulate) {
    for (int blk = block0; blk < block1; blk++) {
        for (int quarter = 0; quarter < 4; quarter++) {
            const int8_t *b = packed + (size_t)blk * (size_t)kp * 16 + quarter * 16;
            int o0 = blk * 16 + quarter * 4;
            for (int r0 = 0; r0 < m; r0 += 8) {
                int mr = m - r0 < 8 ? m - r0 : 8;
                int64_t totals[8][4];
                const int16_t *a = v + (size_t)r0 * kp;
                switch (mr) {
                case 1: avx2_quarter(1, a, kp, b, totals); break;
                case 2: avx2_quarter(2, a, kp, b, totals); break;
                case 3: avx2_quarter(3, a, kp, b, totals); break;
                case 4: avx2_quarter(4, a, kp, b, totals); break;
                case 5: avx2_quarter(5, a, kp, b, totals); break;
                case 6: avx2_quarter(6, a, kp, b, totals); break;
                case 7: avx2_quarter(7, a, kp, b, totals); break;
                default: avx2_quarter(8, a, kp, b, totals); break;
                }
                for (int r = 0; r < mr; r++)
                    for (int j = 0; j < 4 && o0 + j < n; j++) {
                        float y = dequantize(totals[r][j], ascale[r0 + r], wscale[o0 + j]);
                        float *dst = c + (size_t)(r0 + r) * ldc + o0 + j;
                        *dst = accumulate ? *dst + y : y;
                    }
            }
        }
    }
}

static inline int32_t load4_wide(const void *p) { int32_t x; memcpy(&x, p, 4); return x; }

/* Up to 6 rows × up to 2 blocks: for each, Σ hi·w and Σ lo·w in int32 (each at most
   255·127·kp), then 256·Σhi·w + Σlo·w − 32768·Σw exactly in double. */
VNNI INLINE void vnni_wide_tile(const int MR, const int NB, const uint8_t *hi, const uint8_t *lo, int kp,
                                const int8_t *b, const float *ascale, const int32_t *sums, const float *wscale,
                                int o0, int n, float *c, int ldc, int accumulate) {
    __m512i accHi[6][2], accLo[6][2];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NB; j++) accHi[r][j] = accLo[r][j] = _mm512_setzero_si512();
    const size_t stride = (size_t)kp * 16;
    for (int i = 0; i < kp; i += 4) {
        __m512i bv[2];
        for (int j = 0; j < NB; j++) bv[j] = _mm512_loadu_si512((const void *)(b + j * stride + (size_t)i * 16));
        for (int r = 0; r < MR; r++) {
            __m512i h = _mm512_set1_epi32(load4_wide(hi + (size_t)r * kp + i));
            __m512i l = _mm512_set1_epi32(load4_wide(lo + (size_t)r * kp + i));
            for (int j = 0; j < NB; j++) {
                accHi[r][j] = _mm512_dpbusd_epi32(accHi[r][j], h, bv[j]);
                accLo[r][j] = _mm512_dpbusd_epi32(accLo[r][j], l, bv[j]);
            }
        }
    }
    for (int j = 0; j < NB; j++) {
        int o = o0 + 16 * j, valid = n - o < 16 ? n - o : 16;
        __mmask16 mask = (__mmask16)((1u << valid) - 1);
        __m512i s = _mm512_loadu_si512((const void *)(sums + o));
        for (int r = 0; r < MR; r++) {
            float out[16];
            for (int half = 0; half < 2; half++) {
                __m512d h = _mm512_cvtepi32_pd(half ? _mm512_extracti64x4_epi64(accHi[r][j], 1) : _mm512_castsi512_si256(accHi[r][j]));
                __m512d l = _mm512_cvtepi32_pd(half ? _mm512_extracti64x4_epi64(accLo[r][j], 1) : _mm512_castsi512_si256(accLo[r][j]));
                __m512d w = _mm512_cvtepi32_pd(half ? _mm512_extracti64x4_epi64(s, 1) : _mm512_castsi512_si256(s));
                __m512d total = _mm512_sub_pd(_mm512_add_pd(_mm512_mul_pd(h, _mm512_set1_pd(256.0)), l),
                                              _mm512_mul_pd(w, _mm512_set1_pd(32768.0)));
                _mm256_storeu_ps(out + 8 * half, _mm512_cvtpd_ps(total));
            }
            __m512 y = _mm512_mul_ps(_mm512_loadu_ps(out), _mm512_set1_ps(1.0f / ascale[r]));
            y = _mm512_div_ps(y, _mm512_loadu_ps(wscale + o));
            float *dst = c + (size_t)r * ldc + o;
            if (accumulate) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, dst));
            _mm512_mask_storeu_ps(dst, mask, y);
        }
    }
}

#define WIDE_CASE(MR, NB)                                                                                      \
    case (MR - 1) * 2 + NB - 1:                                                                                \
        vnni_wide_tile(MR, NB, hi, lo, kp, b, ascale, sums, wscale, o0, n, c, ldc, accumulate);               \
        break;

VNNI static void vnni_wide_dispatch(int mr, int nb, const uint8_t *hi, const uint8_t *lo, int kp, const int8_t *b,
                                    const float *ascale, const int32_t *sums, const float *wscale, int o0, int n,
                                    float *c, int ldc, int accumulate) {
    switch ((mr - 1) * 2 + nb - 1) {
        WIDE_CASE(1, 1) WIDE_CASE(1, 2) WIDE_CASE(2, 1) WIDE_CASE(2, 2) WIDE_CASE(3, 1) WIDE_CASE(3, 2)
        WIDE_CASE(4, 1) WIDE_CASE(4, 2) WIDE_CASE(5, 1) WIDE_CASE(5, 2) WIDE_CASE(6, 1) WIDE_CASE(6, 2)
    }
}

VNNI static void wide_vnni(const uint8_t *hi, const uint8_t *lo, int m, int kp, const float *ascale,
                           const int8_t *packed, const int32_t *sums, const float *wscale, int n, int block0,
                           int block1, float *c, int ldc, int accumulate) {
    for (int blk = block0; blk < block1; blk += 2) {
        int nb = block1 - blk < 2 ? block1 - blk : 2;
        for (int r = 0; r < m; r += 6) {
            int mr = m - r < 6 ? m - r : 6;
            vnni_wide_dispatch(mr, nb, hi + (size_t)r * kp, lo + (size_t)r * kp, kp,
                               packed + (size_t)blk * (size_t)kp * 16, ascale + r, sums, wscale, blk * 16, n,
                               c + (size_t)r * ldc, ldc, accumulate);
        }
    }
}

void ds_i8_gemm_wide(int level, const int16_t *v, const uint8_t *hi, const uint8_t *lo, int m, int kp,
                     const float *ascale, const int8_t *packed, const int32_t *sums, const float *wscale, int n,
                     int block0, int block1, float *c, int ldc, int accumulate) {
    if (level >= DS_LEVEL_AVX512_VNNI)
        wide_vnni(hi, lo, m, kp, ascale, packed, sums, wscale, n, block0, block1, c, ldc, accumulate);
    else if (level >= DS_LEVEL_AVX2)
        wide_avx2(v, m, kp, ascale, packed, wscale, n, block0, block1, c, ldc, accumulate);
    else
        wide_portable(v, m, kp, ascale, packed, wscale, n, block0, block1, c, ldc, accumulate);
}
