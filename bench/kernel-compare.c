/* One encoder layer's products (1500 rows: QKV, output, FFN up, FFN down) on one
   thread: oneDNN's int8 (u8·s8→s32, per-output scales) and bf16 matmuls against
   dropscribe's own kernels (Sources/CKernels), in GOP/s. The measurement behind
   the kernel choice in BENCHMARKS.md; built and run by `make kernel-compare`
   (needs libdnnl-dev). Usage: kernel-compare [d_model ...]

   Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time: on a
   machine shared with other work a descheduled thread then costs nothing, so the
   ratios hold under load (oneDNN runs on the calling thread with OMP_NUM_THREADS=1;
   Debian's libdnnl 2.6 is built with OpenMP, libgomp). The last line is one core's
   register-only vpdpbusd rate, the ceiling of every int8 figure above it. */
#include <dnnl.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../Sources/CKernels/include/CKernels.h"

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s: %d\n", #x, s_); exit(1); } } while (0)

static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { dnnl_primitive_t prim; dnnl_memory_t src, wei, dst; dnnl_stream_t stream; } Onednn;

static Onednn onednn_make(dnnl_engine_t eng, int m, int n, int k, dnnl_data_type_t src_t, dnnl_data_type_t wei_t) {
    Onednn o;
    dnnl_memory_desc_t src, wei_any, wei_plain, dst;
    dnnl_dims_t sd = {m, k}, wd = {k, n}, dd = {m, n};
    CHECK(dnnl_memory_desc_init_by_tag(&src, 2, sd, src_t, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&wei_any, 2, wd, wei_t, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&wei_plain, 2, wd, wei_t, dnnl_ba));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t md;
    CHECK(dnnl_matmul_desc_init(&md, &src, &wei_any, NULL, &dst));
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_primitive_attr_create(&attr));
    if (src_t == dnnl_u8) {
        float *scales = malloc(sizeof(float) * n);
        for (int i = 0; i < n; i++) scales[i] = 0.001f;
        CHECK(dnnl_primitive_attr_set_output_scales(attr, n, 1 << 1, scales));
        free(scales);
    }
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    CHECK(dnnl_primitive_create(&o.prim, pd));
    CHECK(dnnl_memory_create(&o.src, &src, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&o.wei, wmd, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&o.dst, &dst, eng, DNNL_MEMORY_ALLOCATE));
    (void)wei_plain;
    void *p;
    CHECK(dnnl_memory_get_data_handle(o.src, &p)); memset(p, 3, dnnl_memory_desc_get_size(&src));
    CHECK(dnnl_memory_get_data_handle(o.wei, &p)); memset(p, 1, dnnl_memory_desc_get_size(wmd));
    CHECK(dnnl_stream_create(&o.stream, eng, dnnl_stream_default_flags));
    return o;
}

static double onednn_run(Onednn *o) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, o->src}, {DNNL_ARG_WEIGHTS, o->wei}, {DNNL_ARG_DST, o->dst}};
    double t0 = now();
    CHECK(dnnl_primitive_execute(o->prim, o->stream, 3, args));
    CHECK(dnnl_stream_wait(o->stream));
    return now() - t0;
}

static double own_int8(int level, int m, int n, int k, int repeats) {
    int kp = (k + 3) / 4 * 4, np = (n + 15) / 16 * 16;
    float *a = malloc(sizeof(float) * m * k), *c = malloc(sizeof(float) * m * n), *as = malloc(sizeof(float) * m);
    float *ws = malloc(sizeof(float) * np);
    int8_t *w = malloc((size_t)n * k), *q = malloc((size_t)m * kp), *packed = malloc(ds_i8_packed_bytes(n, k));
    int32_t *sums = malloc(sizeof(int32_t) * np);
    for (long i = 0; i < (long)m * k; i++) a[i] = (float)((i * 7919) % 255 - 127) / 127.0f;
    for (long i = 0; i < (long)n * k; i++) w[i] = (int8_t)((i * 31) % 255 - 127);
    for (int i = 0; i < np; i++) ws[i] = 0.001f;
    ds_i8_pack(w, n, k, packed, sums);
    double best = 1e9;
    for (int rep = 0; rep < repeats; rep++) {
        double t0 = now();
        ds_i8_quantize_rows(level, a, m, k, k, q, kp, as, ds_i8_wants_shift(level));
        ds_i8_gemm(level, q, m, kp, as, packed, sums, ws, n, 0, np / 16, c, n, 0);
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(a); free(c); free(as); free(ws); free(w); free(q); free(packed); free(sums);
    return best;
}

static double own_bf16(int level, int m, int n, int k, int repeats) {
    int kp = (k + 1) / 2 * 2, np = (n + 15) / 16 * 16;
    float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *c = malloc(sizeof(float) * m * n);
    uint16_t *ab = malloc(2 * (size_t)m * kp), *packed = malloc(2 * ds_bf16_packed_count(n, k));
    for (long i = 0; i < (long)m * k; i++) a[i] = (float)(i % 17) * 0.1f;
    for (long i = 0; i < (long)n * k; i++) w[i] = (float)(i % 13) * 0.1f;
    ds_bf16_pack(w, n, k, packed);
    double best = 1e9;
    for (int rep = 0; rep < repeats; rep++) {
        double t0 = now();
        ds_bf16_convert_rows(a, m, k, k, ab, kp);
        ds_bf16_gemm(level, ab, m, kp, packed, n, 0, np / 16, c, n, 0);
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(a); free(w); free(c); free(ab); free(packed);
    return best;
}

/* One core's vpdpbusd rate with 16 independent accumulators and no memory traffic. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni_peak(void) {
    __m512i acc[16], a = _mm512_set1_epi32(3), b = _mm512_set1_epi32(5);
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_epi32(i);
    const long iterations = 20000000;
    double t0 = now();
    for (long n = 0; n < iterations; n++) {
        for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
        __asm__ volatile("" : "+v"(a));
    }
    double t = now() - t0;
    volatile int sink = 0;
    for (int i = 0; i < 16; i++) sink += _mm512_reduce_add_epi32(acc[i]);
    (void)sink;
    return iterations * 16.0 * 128 / t / 1e9;
}

int main(int argc, char **argv) {
    dnnl_engine_t eng;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    int level = ds_cpu_level(), repeats = 5;
    printf("cpu level %d, amx %d, one thread, 1500 rows, best of %d\n", level, ds_cpu_has_amx(), repeats);
    printf("%-6s %-22s %10s %10s %10s %10s %10s\n", "d", "layer", "dnnl-i8", "own-vnni", "own-avx2", "dnnl-bf16", "own-bf16");
    int ds[] = {384, 512, 1280}, count = argc > 1 ? argc - 1 : 3;
    for (int di = 0; di < count; di++) {
        int d = argc > 1 ? atoi(argv[di + 1]) : ds[di], m = 1500;
        int shapes[4][2] = {{3 * d, d}, {d, d}, {4 * d, d}, {d, 4 * d}};
        double tot[5] = {0}, ops = 0;
        for (int s = 0; s < 4; s++) {
            int n = shapes[s][0], k = shapes[s][1];
            Onednn oi = onednn_make(eng, m, n, k, dnnl_u8, dnnl_s8), ob = onednn_make(eng, m, n, k, dnnl_bf16, dnnl_bf16);
            double ti = 1e9, tb = 1e9;
            for (int r = 0; r < repeats + 1; r++) { double t = onednn_run(&oi); if (r && t < ti) ti = t; }
            for (int r = 0; r < repeats + 1; r++) { double t = onednn_run(&ob); if (r && t < tb) tb = t; }
            double t[5] = {ti, own_int8(DS_LEVEL_AVX512_VNNI, m, n, k, repeats), own_int8(DS_LEVEL_AVX2, m, n, k, repeats),
                           tb, level >= DS_LEVEL_AVX512_BF16 ? own_bf16(level, m, n, k, repeats) : 1e9};
            double o = 2.0 * m * n * k;
            ops += o;
            char name[32];
            snprintf(name, sizeof name, "%dx%dx%d", m, n, k);
            printf("%-6d %-22s", d, name);
            for (int i = 0; i < 5; i++) { tot[i] += t[i]; printf(" %10.1f", o / t[i] / 1e9); }
            printf("\n");
        }
        printf("%-6d %-22s", d, "one layer (GOP/s)");
        for (int i = 0; i < 5; i++) printf(" %10.1f", ops / tot[i] / 1e9);
        printf("\n");
    }
    if (level >= DS_LEVEL_AVX512_VNNI) printf("vpdpbusd peak, one core, registers only: %.1f GOP/s\n", vnni_peak());
    return 0;
}
