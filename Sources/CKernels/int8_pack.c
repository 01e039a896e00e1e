/* int8 weight packing, per-row activation quantisation and the portable product. */
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

/* Each rounding step is CTranslate2's: no multiply-add may be fused. */
#pragma STDC FP_CONTRACT OFF

static int round_up(int v, int m) { return (v + m - 1) / m * m; }

size_t ds_i8_packed_bytes(int n, int k) { return (size_t)round_up(n, 16) * (size_t)round_up(k, 4); }

void ds_i8_pack(const int8_t *w, int n, int k, int8_t *packed, int32_t *sums) {
    int kp = round_up(k, 4), np = round_up(n, 16);
    memset(packed, 0, (size_t)np * (size_t)kp);
    for (int o = 0; o < np; o++) {
        int32_t sum = 0;
        if (o < n) {
            int8_t *block = packed + (size_t)(o / 16) * (size_t)kp * 16 + (o % 16) * 4;
            const int8_t *row = w + (size_t)o * (size_t)k;
            for (int i = 0; i < k; i++) {
                block[(size_t)(i / 4) * 64 + (i % 4)] = row[i];
                sum += row[i];
            }
        }
        sums[o] = sum;
    }
}

/* Rounds |v| ≤ 2^22 to the nearest integer, halves to even, in the default rounding
   mode and without SSE4.1 (so the portable loop vectorises). */
static inline float round_even(float v) {
    const float magic = 12582912.0f; /* 1.5 · 2^23 */
    return (v + magic) - magic;
}

/* CTranslate2's quantize_s8 (cpu/kernels.cc): s = 127/max|a| (1 for a zero row); a weight
   is round(a·s); an activation round(a·s + 128), the shift added in float before rounding
   (its u8·s8 GEMM's input), minus 128 unless stored unsigned. Halves to even. |a·s| ≤ 127
   (up to float rounding), so nothing is clamped, as in CTranslate2. */
static void quantize_row_portable(const float *a, int k, int8_t *q, int kp, float *scale, int form) {
    float largest = 0;
    for (int i = 0; i < k; i++) {
        float v = a[i] < 0 ? -a[i] : a[i];
        largest = v > largest ? v : largest;
    }
    const float s = largest > 0 ? 127.0f / largest : 1.0f;
    const float add = form == DS_I8_WEIGHTS ? 0.0f : 128.0f;
    const int back = form == DS_I8_SIGNED ? 128 : 0, pad = form == DS_I8_UNSIGNED ? 128 : 0;
    for (int i = 0; i < k; i++) {
        float v = a[i] * s;
        v = v + add;
        q[i] = (int8_t)(uint8_t)((int)round_even(v) - back);
    }
    for (int i = k; i < kp; i++) q[i] = (int8_t)(uint8_t)pad;
    *scale = s;
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void quantize_row_avx512(const float *a, int k, int8_t *q, int kp, float *scale, int form) {
    __m512 largest = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= k; i += 16) largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_loadu_ps(a + i)));
    float top = _mm512_reduce_max_ps(largest);
    for (; i < k; i++) { float v = a[i] < 0 ? -a[i] : a[i]; top = v > top ? v : top; }
    const float s = top > 0 ? 127.0f / top : 1.0f;
    const float add = form == DS_I8_WEIGHTS ? 0.0f : 128.0f;
    const int back = form == DS_I8_SIGNED ? 128 : 0, pad = form == DS_I8_UNSIGNED ? 128 : 0;
    const __m512 sv = _mm512_set1_ps(s), addv = _mm512_set1_ps(add);
    const __m512i backv = _mm512_set1_epi32(back);
    for (i = 0; i + 16 <= k; i += 16) {
        __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(a + i), sv), addv);
        v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(q + i), _mm512_cvtepi32_epi8(_mm512_sub_epi32(_mm512_cvtps_epi32(v), backv)));
    }
    for (; i < k; i++) {
        float v = a[i] * s;
        v = v + add;
        q[i] = (int8_t)(uint8_t)((int)round_even(v) - back);
    }
    for (; i < kp; i++) q[i] = (int8_t)(uint8_t)pad;
    *scale = s;
}

void ds_i8_quantize_rows(int level, const float *a, int m, int k, int lda, int8_t *q, int kp, float *scales, int form) {
    for (int r = 0; r < m; r++) {
        if (level >= DS_LEVEL_AVX512)
            quantize_row_avx512(a + (size_t)r * lda, k, q + (size_t)r * kp, kp, scales + r, form);
        else
            quantize_row_portable(a + (size_t)r * lda, k, q + (size_t)r * kp, kp, scales + r, form);
    }
}

int ds_i8_wants_shift(int level) { return level >= DS_LEVEL_AVX512_VNNI; }

void ds_i8_gemm_avx2(const int8_t *q, int m, int kp, const float *ascale, const int8_t *packed, const float *wscale,
                     int n, int block0, int block1, float *c, int ldc, int accumulate);
void ds_i8_gemm_vnni(const uint8_t *q, int m, int kp, const float *ascale, const int8_t *packed, const int32_t *sums,
                     const float *wscale, int n, int block0, int block1, float *c, int ldc, int accumulate);

static void gemm_portable(const int8_t *q, int m, int kp, const float *ascale, const int8_t *packed,
                          const float *wscale, int n, int block0, int block1, float *c, int ldc, int accumulate) {
    for (int r = 0; r < m; r++) {
        const int8_t *a = q + (size_t)r * kp;
        for (int b = block0; b < block1; b++) {
            const int8_t *p = packed + (size_t)b * (size_t)kp * 16;
            int32_t acc[16] = {0};
            for (int i = 0; i < kp; i += 4)
                for (int j = 0; j < 16; j++)
                    for (int t = 0; t < 4; t++) acc[j] += (int32_t)a[i + t] * (int32_t)p[(size_t)i * 16 + j * 4 + t];
            for (int j = 0; j < 16 && b * 16 + j < n; j++) {
                int o = b * 16 + j;
                /* CTranslate2's order (dequantize_gemm_output): acc · (1/s_a) / s_w. */
                float v = (float)acc[j] * (1.0f / ascale[r]);
                v = v / wscale[o];
                float *dst = c + (size_t)r * ldc + o;
                *dst = accumulate ? *dst + v : v;
            }
        }
    }
}

void ds_i8_gemm(int level, const int8_t *q, int m, int kp, const float *ascale,
                const int8_t *packed, const int32_t *sums, const float *wscale, int n, int block0, int block1,
                float *c, int ldc, int accumulate) {
    if (level >= DS_LEVEL_AVX512_VNNI)
        ds_i8_gemm_vnni((const uint8_t *)q, m, kp, ascale, packed, sums, wscale, n, block0, block1, c, ldc, accumulate);
    else if (level >= DS_LEVEL_AVX2)
        ds_i8_gemm_avx2(q, m, kp, ascale, packed, wscale, n, block0, block1, c, ldc, accumulate);
    else
        gemm_portable(q, m, kp, ascale, packed, wscale, n, block0, block1, c, ldc, accumulate);
}
