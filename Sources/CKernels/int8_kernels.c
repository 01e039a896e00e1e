/* The int8 products: AVX2 (signed by the sign trick, exact in 16 bits) and
   AVX512-VNNI (unsigned activations, shifted by 128, with the weights' row sums
   taking the shift back out), each built for its own target so the library runs
   on any x86-64. Tiles of 4 rows × up to 4 blocks of 16 outputs. Outputs are
   dequantised in CTranslate2's order, acc · (1/s_a) / s_w (+ c), with s = 127/max|·|. */
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>
#include "tiles.h"

#pragma STDC FP_CONTRACT OFF

#define INLINE static inline __attribute__((always_inline))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define AVX2 __attribute__((target("avx2,fma")))

static inline int32_t load4(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

VNNI INLINE void vnni_tile(const int MR, const int NB, const uint8_t *a, int kp, const int8_t *b,
                           const float *ascale, const int32_t *sums, const float *wscale, int o0, int n,
                           float *c, int ldc, int accumulate) {
    __m512i acc[4][4];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NB; j++) acc[r][j] = _mm512_setzero_si512();
    const size_t stride = (size_t)kp * 16;
    for (int i = 0; i < kp; i += 4) {
        __m512i bv[4];
        for (int j = 0; j < NB; j++) bv[j] = _mm512_loadu_si512((const void *)(b + j * stride + (size_t)i * 16));
        for (int r = 0; r < MR; r++) {
            __m512i av = _mm512_set1_epi32(load4(a + (size_t)r * kp + i));
            for (int j = 0; j < NB; j++) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, bv[j]);
        }
    }
    for (int j = 0; j < NB; j++) {
        int o = o0 + 16 * j, valid = n - o < 16 ? n - o : 16;
        __mmask16 mask = (__mmask16)((1u << valid) - 1);
        __m512i shift = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(sums + o)), 7);
        __m512 ws = _mm512_loadu_ps(wscale + o);
        for (int r = 0; r < MR; r++) {
            __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], shift));
            v = _mm512_div_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.0f / ascale[r])), ws);
            float *dst = c + (size_t)r * ldc + o;
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, dst));
            _mm512_mask_storeu_ps(dst, mask, v);
        }
    }
}

#define VNNI_CASE(MR, NB) \
    case (MR - 1) * 4 + NB - 1: vnni_tile(MR, NB, a, kp, b, ascale, sums, wscale, o0, n, c, ldc, accumulate); break;

VNNI static void vnni_dispatch(int mr, int nb, const uint8_t *a, int kp, const int8_t *b, const float *ascale,
                               const int32_t *sums, const float *wscale, int o0, int n, float *c, int ldc,
                               int accumulate) {
    switch ((mr - 1) * 4 + nb - 1) { DS_TILE_CASES(VNNI_CASE) }
}

VNNI void ds_i8_gemm_vnni(const uint8_t *q, int m, int kp, const float *ascale, const int8_t *packed,
                          const int32_t *sums, const float *wscale, int n, int block0, int block1,
                          float *c, int ldc, int accumulate) {
    DS_FOR_EACH_TILE(m, block0, block1,
        vnni_dispatch(mr, nb, q + (size_t)r * kp, kp, packed + (size_t)blk * (size_t)kp * 16, ascale + r, sums, wscale,
                      blk * 16, n, c + (size_t)r * ldc, ldc, accumulate);)
}

AVX2 INLINE void avx2_tile(const int MR, const int8_t *a, int kp, const int8_t *b, const float *ascale,
                           const float *wscale, int o0, int n, float *c, int ldc, int accumulate) {
    __m256i acc[4][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int i = 0; i < kp; i += 4) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + (size_t)i * 16));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + (size_t)i * 16 + 32));
        for (int r = 0; r < MR; r++) {
            __m256i av = _mm256_set1_epi32(load4(a + (size_t)r * kp + i));
            __m256i mag = _mm256_abs_epi8(av);
            /* |a|·(b·sign a) = a·b, and with |a|, |b| ≤ 127 a pair's sum fits in 16 bits. */
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(mag, _mm256_sign_epi8(b0, av)), ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(mag, _mm256_sign_epi8(b1, av)), ones));
        }
    }
    int valid = n - o0 < 16 ? n - o0 : 16;
    __m256 ws0 = _mm256_loadu_ps(wscale + o0), ws1 = _mm256_loadu_ps(wscale + o0 + 8);
    for (int r = 0; r < MR; r++) {
        float out[16];
        __m256 ra = _mm256_set1_ps(1.0f / ascale[r]);
        _mm256_storeu_ps(out, _mm256_div_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), ra), ws0));
        _mm256_storeu_ps(out + 8, _mm256_div_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), ra), ws1));
        float *dst = c + (size_t)r * ldc + o0;
        for (int j = 0; j < valid; j++) dst[j] = accumulate ? dst[j] + out[j] : out[j];
    }
}

AVX2 void ds_i8_gemm_avx2(const int8_t *q, int m, int kp, const float *ascale, const int8_t *packed,
                          const float *wscale, int n, int block0, int block1, float *c, int ldc, int accumulate) {
    for (int r0 = 0; r0 < m; r0 += DS_ROW_CHUNK) {
        int r1 = r0 + DS_ROW_CHUNK < m ? r0 + DS_ROW_CHUNK : m;
        for (int blk = block0; blk < block1; blk++) {
            const int8_t *b = packed + (size_t)blk * (size_t)kp * 16;
            for (int r = r0; r < r1; r += 4) {
                const int8_t *a = q + (size_t)r * kp;
                float *dst = c + (size_t)r * ldc;
                switch (r1 - r < 4 ? r1 - r : 4) {
                case 1: avx2_tile(1, a, kp, b, ascale + r, wscale, blk * 16, n, dst, ldc, accumulate); break;
                case 2: avx2_tile(2, a, kp, b, ascale + r, wscale, blk * 16, n, dst, ldc, accumulate); break;
                case 3: avx2_tile(3, a, kp, b, ascale + r, wscale, blk * 16, n, dst, ldc, accumulate); break;
                default: avx2_tile(4, a, kp, b, ascale + r, wscale, blk * 16, n, dst, ldc, accumulate); break;
                }
            }
        }
    }
}
