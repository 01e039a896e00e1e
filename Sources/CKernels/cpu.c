/* Which kernel level the CPU and the OS support. */
#include "CKernels.h"
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

int ds_cpu_level(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return DS_LEVEL_PORTABLE;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx || !fma || !f16c) return DS_LEVEL_PORTABLE;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return DS_LEVEL_PORTABLE;          /* SSE and AVX state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return DS_LEVEL_PORTABLE;
    if (!((b >> 5) & 1)) return DS_LEVEL_PORTABLE;               /* AVX2 */
    int avx512 = ((b >> 16) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1); /* F, BW, VL */
    if (!avx512 || (xcr0 & 0xe0) != 0xe0) return DS_LEVEL_AVX2;  /* opmask and ZMM state */
    if (!((c >> 11) & 1)) return DS_LEVEL_AVX512;                /* AVX512-VNNI */
    unsigned int a1, b1, c1, d1;
    if (!__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) || !((a1 >> 5) & 1)) return DS_LEVEL_AVX512_VNNI;
    return DS_LEVEL_AVX512_BF16;
}

int ds_cpu_has_amx(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1, int8 = (d >> 25) & 1;
    if (!(tile && bf16 && int8)) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0;
    return (xgetbv0() & 0x60000) == 0x60000;                      /* XTILECFG and XTILEDATA */
}
