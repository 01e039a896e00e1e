/* float16 → float32 widening for weights kept in model.bin's own precision: F16C's
   vcvtph2ps on CPUs with it (every AVX2 level requires it), an exact bit-level loop
   elsewhere. Both give the same floats: the conversion is exact. */
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, u;
    if (exp == 0) {
        float v = (float)mant * 5.9604644775390625e-08f; /* subnormal: mant · 2^-24, exact */
        return sign ? -v : v;
    }
    if (exp == 31) u = sign | 0x7f800000u | (mant << 13);
    else u = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void widen_portable(const unsigned char *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        dst[i] = half_to_float(h);
    }
}

__attribute__((target("avx,f16c")))
static void widen_f16c(const unsigned char *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + 2 * i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + 2 * i + 16));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
    }
    widen_portable(src + 2 * i, dst + i, n - i);
}

void ds_f16_to_f32(int level, const void *src, float *dst, size_t n) {
    if (level >= DS_LEVEL_AVX2) widen_f16c((const unsigned char *)src, dst, n);
    else widen_portable((const unsigned char *)src, dst, n);
}
