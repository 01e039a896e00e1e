#ifndef DROPSCRIBE_CKERNELS_H
#define DROPSCRIBE_CKERNELS_H

/* Matrix products for the int8 and bfloat16 compute types, with one version per
   instruction set chosen at run time (the library itself is built for baseline
   x86-64; each fast kernel carries its own target attribute, so the binary still
   runs on CPUs without them).

   Weights are packed once at load in blocks of 16 output rows:
     int8:  block b holds rows [16b, 16b+16) as [kp/4][16][4] int8, kp = k rounded up to 4;
     bf16:  block b holds rows [16b, 16b+16) as [kp/2][16][2] bf16, kp = k rounded up to 2;
   rows beyond n and columns beyond k are zero. */

#include <stddef.h>
#include <stdint.h>

/* Kernel levels, lowest first; each includes the ones below it. */
enum {
    DS_LEVEL_PORTABLE = 0,
    DS_LEVEL_AVX2 = 1,        /* AVX2 + FMA (+ F16C) */
    DS_LEVEL_AVX512 = 2,      /* AVX-512 F/BW/VL */
    DS_LEVEL_AVX512_VNNI = 3, /* + AVX512-VNNI */
    DS_LEVEL_AVX512_BF16 = 4, /* + AVX512-BF16 */
};

/* The highest level this CPU and OS support (cpuid and xgetbv). */
int ds_cpu_level(void);
/* 1 when the CPU reports AMX tiles with int8 and bf16 and the OS enables their state. */
int ds_cpu_has_amx(void);

/* int8 weights: packs w (n × k, row-major int8) into `packed` (ds_i8_packed_bytes) and
   writes each row's sum (for the unsigned-shift compensation) into colsum (n rounded up to 16). */
size_t ds_i8_packed_bytes(int n, int k);
void ds_i8_pack(const int8_t *w, int n, int k, int8_t *packed, int32_t *sums);

/* What ds_i8_quantize_rows writes: CTranslate2's weight form, or an activation row in
   the form its u8·s8 product takes (shift added before rounding), stored signed or unsigned. */
enum { DS_I8_WEIGHTS = 0, DS_I8_SIGNED = 1, DS_I8_UNSIGNED = 2 };

/* Quantises m rows of a (lda floats apart, k used) per row as CTranslate2 4.8 does:
   scale s = 127/max|a| (1 for a zero row) written to scales; weights q = round(a·s);
   activations u = round(a·s + 128), stored as u (DS_I8_UNSIGNED) or u − 128 (DS_I8_SIGNED);
   halves to even, zero-padded to kp (128 unsigned). `level` picks the instructions only:
   every level gives the same bytes. */
void ds_i8_quantize_rows(int level, const float *a, int m, int k, int lda, int8_t *q, int kp, float *scales, int form);

/* c[r·ldc + o] (+)= (Σᵢ q[r·kp + i]·w[o, i]) · (1/ascale[r]) / wscale[o] for r < m and o in
   [16·block0, min(n, 16·block1)), the scales ds_i8_quantize_rows wrote (CTranslate2's order). `q` must be shifted iff ds_i8_wants_shift(level);
   `sums` and `wscale` hold n rounded up to 16 entries. */
void ds_i8_gemm(int level, const int8_t *q, int m, int kp, const float *ascale,
                const int8_t *packed, const int32_t *sums, const float *wscale, int n, int block0, int block1,
                float *c, int ldc, int accumulate);
/* Whether ds_i8_gemm at `level` wants shifted (unsigned) activations. */
int ds_i8_wants_shift(int level);

/* The output projection's product (int8_wide.c): int8 weights packed as above against
   activations quantised per row to 16 bits, s = 32767/max|a| (1 for a zero or non-finite
   row), v = round(a·s) with halves to even, zero-padded to kp. ds_i16_quantize_rows writes
   v and, for VNNI, the bytes of u = v + 32768 (hi = u >> 8, lo = u & 255). ds_i8_gemm_wide:
   c[r·ldc + o] (+)= fl(fl(Σᵢ v[r, i]·w[o, i]) · (1/ascale[r])) / wscale[o], the sum exact
   at every level, so every level gives the same floats. */
void ds_i16_quantize_rows(const float *a, int m, int k, int lda, int16_t *v, uint8_t *hi, uint8_t *lo, int kp,
                          float *scales);
void ds_i8_gemm_wide(int level, const int16_t *v, const uint8_t *hi, const uint8_t *lo, int m, int kp,
                     const float *ascale, const int8_t *packed, const int32_t *sums, const float *wscale, int n,
                     int block0, int block1, float *c, int ldc, int accumulate);

/* bfloat16: round-to-nearest-even conversion and packing. */
size_t ds_bf16_packed_count(int n, int k);
void ds_bf16_pack(const float *w, int n, int k, uint16_t *packed);
void ds_bf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out, int kp);
/* c[r·ldc + o] (+)= Σᵢ a[r·kp + i]·w[o, i] in float32 for o in [16·block0, min(n, 16·block1)).
   Needs DS_LEVEL_AVX512_BF16; any lower level runs the portable reference loop. */
void ds_bf16_gemm(int level, const uint16_t *a, int m, int kp, const uint16_t *packed, int n, int block0, int block1,
                  float *c, int ldc, int accumulate);

/* dst[i] = the float16 value at src + 2·i (little-endian, any alignment), exactly;
   F16C's vcvtph2ps at DS_LEVEL_AVX2 and above, a bit-level loop below. */
void ds_f16_to_f32(int level, const void *src, float *dst, size_t n);

/* Attention for many queries over one head of DS_ATTN_HEAD_DIM dimensions (attention.c).
   A head's keys are packed once by ds_attn_pack_keys into panels of 64 keys
   (ds_attn_packed_keys_floats(keys) floats, zero-padded; key j, dimension d at
   (j/64)·64·64 + d·64 + j%64); ds_attn_unpack_keys writes them back as rows. Then
   ds_attn_rows computes, for query rows r < rows,
   out[r·ldo + 0..64) = softmax(scale · q_r · Kᵀ over keys j < limit(r)) · V, where
   limit(r) = min(keys, causal + r + 1) when causal ≥ 0, else keys; `scores` holds
   ds_attn_scores_floats(rows, keys) floats. Needs ds_attn_supported(level) (AVX2 and up).
   Each output is one sequential sum, so results do not depend on how rows are blocked
   or threaded. */
#define DS_ATTN_HEAD_DIM 64
int ds_attn_supported(int level);
int ds_attn_keys_padded(int keys);
size_t ds_attn_packed_keys_floats(int keys);
size_t ds_attn_scores_floats(int rows, int keys);
void ds_attn_pack_keys(const float *k, int ldk, int keys, float *kt);
void ds_attn_unpack_keys(const float *kt, int keys, float *k, int ldk);
void ds_attn_rows(int level, const float *q, int ldq, int rows, const float *kt, int keys, const float *v, int ldv,
                  float scale, int causal, float *out, int ldo, float *scores);

#endif
