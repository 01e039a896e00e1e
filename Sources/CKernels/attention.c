/* Attention for many queries over one head of 64 dimensions (the encoder's
   self-attention, a decoder prompt, a decoding step's cross-attention): scores Q·Kᵀ·scale
   in tiles of 6 query rows × 64 keys against keys transposed once per head into panels
   of 64 keys (each 64 × 64 floats, contiguous, so a panel streams), a softmax per
   row (the exp of WhisperKernels, lane for lane), and P·V in tiles of 6 rows × 64
   outputs, each row scaled by its softmax's 1/Σ at the end.

   Every score is one sequential sum over the 64 dimensions and every output one
   sequential sum over the keys, whatever the tiling, block or thread: results depend
   only on the row's own inputs. */
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define AVX2 __attribute__((target("avx2,fma")))
#define DH DS_ATTN_HEAD_DIM
#define MR_MAX 6

int ds_attn_keys_padded(int keys) { return (keys + 63) / 64 * 64; }

size_t ds_attn_packed_keys_floats(int keys) { return (size_t)ds_attn_keys_padded(keys) * DH; }

size_t ds_attn_scores_floats(int rows, int keys) {
    return (size_t)rows * (size_t)ds_attn_keys_padded(keys) + (size_t)rows;
}

/* Key j, dimension d at kt[(j / 64)·64·64 + d·64 + j % 64]. */
void ds_attn_pack_keys(const float *k, int ldk, int keys, float *kt) {
    int kp = ds_attn_keys_padded(keys);
    for (int j0 = 0; j0 < kp; j0 += 64) {
        float *panel = kt + (size_t)j0 * DH;
        for (int jj = 0; jj < 64; jj++) {
            if (j0 + jj < keys) {
                const float *row = k + (size_t)(j0 + jj) * ldk;
                for (int d = 0; d < DH; d++) panel[d * 64 + jj] = row[d];
            } else {
                for (int d = 0; d < DH; d++) panel[d * 64 + jj] = 0;
            }
        }
    }
}

void ds_attn_unpack_keys(const float *kt, int keys, float *k, int ldk) {
    for (int j = 0; j < keys; j++)
        for (int d = 0; d < DH; d++) k[(size_t)j * ldk + d] = kt[(size_t)(j / 64) * 64 * DH + d * 64 + j % 64];
}

/* The last key query row r may see: all keys, or causal + r + 1 of them. */
static int row_limit(int keys, int causal, int r) {
    if (causal < 0) return keys;
    return causal + r + 1 < keys ? causal + r + 1 : keys;
}

/* e^x as VectorKernelsAVX2.exp computes it (Cody–Waite by ln 2, Cephes' polynomial),
   op for op, so each value is the same, before lanes below −87.3 are set to 0; one text
   for 256- and 512-bit vectors (W). */
#define DEFINE_EXP_UNMASKED(W, ATTR, VF, VI)                                                            \
    ATTR INLINE VF exp_unmasked##W(VF x) {                                                              \
        const VF lo = _mm##W##_set1_ps(-87.3f), hi = _mm##W##_set1_ps(88.3f);                           \
        const VF magic = _mm##W##_set1_ps(12582912.0f);                                                 \
        VF c = _mm##W##_min_ps(_mm##W##_max_ps(x, lo), hi);                                             \
        VF shifted = _mm##W##_fmadd_ps(c, _mm##W##_set1_ps(1.4426950408889634f), magic);                \
        VF n = _mm##W##_sub_ps(shifted, magic);                                                         \
        VF r = _mm##W##_fmadd_ps(n, _mm##W##_set1_ps(-0.693359375f), c);                                \
        r = _mm##W##_fmadd_ps(n, _mm##W##_set1_ps(2.1219444e-4f), r);                                   \
        VF p = _mm##W##_set1_ps(1.9875691500e-4f);                                                      \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(1.3981999507e-3f));                                \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(8.3334519073e-3f));                                \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(4.1665795894e-2f));                                \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(1.6666665459e-1f));                                \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(5.0000001201e-1f));                                \
        p = _mm##W##_fmadd_ps(p, _mm##W##_mul_ps(r, r), _mm##W##_add_ps(r, _mm##W##_set1_ps(1)));       \
        VI bits = _mm##W##_add_epi32(_mm##W##_sub_epi32(_mm##W##_castps_si##W(shifted),                 \
                                                        _mm##W##_set1_epi32(0x4B400000)),               \
                                     _mm##W##_set1_epi32(127));                                         \
        return _mm##W##_mul_ps(p, _mm##W##_castsi##W##_ps(_mm##W##_slli_epi32(bits, 23)));             \
    }

/* C rows [0, rows) × 64 columns by tiles of up to 6 rows × GROUP columns (tile##W). */
#define DEFINE_TILES(W, ATTR, GROUP)                                                                    \
    ATTR static void tiles##W(int rows, const float *a, size_t lda, const float *b, size_t ldb, int kdim, \
                              float *c, size_t ldc, const float *rowscale) {                            \
        for (int r = 0; r < rows; r += MR_MAX) {                                                        \
            int mr = rows - r < MR_MAX ? rows - r : MR_MAX;                                             \
            const float *ar = a + (size_t)r * lda, *sr = rowscale + r;                                  \
            for (int g = 0; g < 64; g += GROUP) {                                                       \
                const float *bg = b + g;                                                                \
                float *cr = c + (size_t)r * ldc + g;                                                    \
                switch (mr) {                                                                           \
                case 1: tile##W(1, ar, lda, bg, ldb, kdim, cr, ldc, sr); break;                         \
                case 2: tile##W(2, ar, lda, bg, ldb, kdim, cr, ldc, sr); break;                         \
                case 3: tile##W(3, ar, lda, bg, ldb, kdim, cr, ldc, sr); break;                         \
                case 4: tile##W(4, ar, lda, bg, ldb, kdim, cr, ldc, sr); break;                         \
                case 5: tile##W(5, ar, lda, bg, ldb, kdim, cr, ldc, sr); break;                         \
                default: tile##W(6, ar, lda, bg, ldb, kdim, cr, ldc, sr); break;                        \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }

/* One block of query rows: scores panel by panel (64 keys), the softmax numerators and
   their sums row by row, then P·V with each row scaled by 1/Σ. */
#define DEFINE_ROWS(W, ATTR)                                                                            \
    ATTR static void rows##W(const float *q, int ldq, int rows, const float *kt, int keys,              \
                             const float *v, int ldv, float scale, int causal, float *out, int ldo,      \
                             float *scores) {                                                           \
        size_t kp = (size_t)ds_attn_keys_padded(keys);                                                  \
        float *s = scores, *inv = s + (size_t)rows * kp;                                                \
        int most = row_limit(keys, causal, rows - 1), panels = (most + 63) / 64;                        \
        for (int r = 0; r < rows; r++) inv[r] = scale;                                                  \
        for (int p = 0; p < panels; p++)                                                                \
            tiles##W(rows, q, (size_t)ldq, kt + (size_t)p * 64 * DH, 64, DH, s + 64 * p, kp, inv);      \
        for (int r = 0; r < rows; r++)                                                                  \
            inv[r] = 1 / softmax_row##W(s + (size_t)r * kp, row_limit(keys, causal, r), most);          \
        tiles##W(rows, s, kp, v, (size_t)ldv, most, out, (size_t)ldo, inv);                             \
    }

DEFINE_EXP_UNMASKED(512, AVX512, __m512, __m512i)
DEFINE_EXP_UNMASKED(256, AVX2, __m256, __m256i)

AVX512 INLINE __m512 exp512(__m512 x) {
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
    return _mm512_maskz_mov_ps((__mmask16)~under, exp_unmasked512(x));
}

AVX2 INLINE __m256 exp256(__m256 x) {
    return _mm256_and_ps(exp_unmasked256(x), _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_NLT_UQ));
}

/* ---- AVX-512 ---- */

/* c[r][0..64) = (Σ_i<kdim a[r·lda + i] · b[i·ldb + 0..64)) · rowscale[r] for r < MR. */
AVX512 INLINE void tile512(const int MR, const float *a, size_t lda, const float *b, size_t ldb, int kdim,
                           float *c, size_t ldc, const float *rowscale) {
    __m512 acc[MR_MAX][4];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps();
    for (int i = 0; i < kdim; i++) {
        const float *bi = b + (size_t)i * ldb;
        __m512 b0 = _mm512_loadu_ps(bi), b1 = _mm512_loadu_ps(bi + 16);
        __m512 b2 = _mm512_loadu_ps(bi + 32), b3 = _mm512_loadu_ps(bi + 48);
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[(size_t)r * lda + i]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
        }
    }
    for (int r = 0; r < MR; r++) {
        __m512 s = _mm512_set1_ps(rowscale[r]);
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(c + (size_t)r * ldc + 16 * j, _mm512_mul_ps(acc[r][j], s));
    }
}

/* Softmax numerators of row[0..n) in place, zeros in [n, zero_to); returns their sum. */
AVX512 static float softmax_row512(float *row, int n, int zero_to) {
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    int i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + i));
    __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    if (n > i) m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, row + i));
    __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(m));
    __m512 acc = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(row + i), shift));
        _mm512_storeu_ps(row + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (n > i) {
        __m512 e = _mm512_maskz_mov_ps(tail, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + i), shift)));
        _mm512_storeu_ps(row + i, e); /* zeros past n: within the padded row */
        acc = _mm512_add_ps(acc, e);
        i += 16;
    }
    for (; i < zero_to; i++) row[i] = 0;
    return _mm512_reduce_add_ps(acc);
}

/* ---- AVX2 (the same, 6 rows × 16 outputs a tile, four tiles across the head) ---- */

AVX2 INLINE void tile256(const int MR, const float *a, size_t lda, const float *b, size_t ldb, int kdim,
                         float *c, size_t ldc, const float *rowscale) {
    __m256 acc[MR_MAX][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int i = 0; i < kdim; i++) {
        const float *bi = b + (size_t)i * ldb;
        __m256 b0 = _mm256_loadu_ps(bi), b1 = _mm256_loadu_ps(bi + 8);
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + i);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        __m256 s = _mm256_set1_ps(rowscale[r]);
        _mm256_storeu_ps(c + (size_t)r * ldc, _mm256_mul_ps(acc[r][0], s));
        _mm256_storeu_ps(c + (size_t)r * ldc + 8, _mm256_mul_ps(acc[r][1], s));
    }
}

AVX2 static float softmax_row256(float *row, int n, int zero_to) {
    float m = -__builtin_inff();
    __m256 mv = _mm256_set1_ps(m);
    int i = 0;
    for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(row + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, mv);
    for (int j = 0; j < 8; j++) m = lanes[j] > m ? lanes[j] : m;
    for (int j = i; j < n; j++) m = row[j] > m ? row[j] : m;
    __m256 shift = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift));
        _mm256_storeu_ps(row + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    if (n > i) {
        float tail[8];
        for (int j = 0; j < 8; j++) tail[j] = i + j < n ? row[i + j] : -__builtin_inff();
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(tail), shift));
        _mm256_storeu_ps(tail, e);
        for (int j = 0; i + j < n; j++) row[i + j] = tail[j];
        acc = _mm256_add_ps(acc, e);
        i = n;
    }
    for (; i < zero_to; i++) row[i] = 0;
    _mm256_storeu_ps(lanes, acc);
    float sum = 0;
    for (int j = 0; j < 8; j++) sum += lanes[j];
    return sum;
}

DEFINE_TILES(512, AVX512, 64)
DEFINE_TILES(256, AVX2, 16)
DEFINE_ROWS(512, AVX512)
DEFINE_ROWS(256, AVX2)

int ds_attn_supported(int level) { return level >= DS_LEVEL_AVX2; }

void ds_attn_rows(int level, const float *q, int ldq, int rows, const float *kt, int keys, const float *v, int ldv,
                  float scale, int causal, float *out, int ldo, float *scores) {
    if (rows <= 0 || keys <= 0) return;
    if (level >= DS_LEVEL_AVX512)
        rows512(q, ldq, rows, kt, keys, v, ldv, scale, causal, out, ldo, scores);
    else if (level >= DS_LEVEL_AVX2)
        rows256(q, ldq, rows, kt, keys, v, ldv, scale, causal, out, ldo, scores);
}
