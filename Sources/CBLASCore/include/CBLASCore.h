#ifndef DROPSCRIBE_CBLASCORE_H
#define DROPSCRIBE_CBLASCORE_H

/// OpenBLAS picks its kernels once, when the library loads, from the CPU model number. OpenBLAS 0.3.21
/// (Debian 12) does not know recent Xeons (Sapphire/Emerald Rapids, model 143/207) and falls back to
/// its SSE3 "Prescott" kernels, a third slower than its AVX-512 ones for the engine's matrix products.
/// The dropscribe binary corrects that before anything runs (see blas_core.c); these report what happened.

/// The core OpenBLAS would use on this CPU with features it can use, or NULL to keep `current`:
/// "SkylakeX" (AVX-512 F/BW/VL usable) or "Haswell" (AVX2 and FMA usable), and only when
/// `current` is one of OpenBLAS's cores without AVX2. Pure, for tests.
const char *dropscribe_blas_core_upgrade(const char *current, int has_avx2_fma, int has_avx512);

/// The core OpenBLAS is using now (its own name, e.g. "SkylakeX").
const char *dropscribe_blas_core_name(void);

/// The core OpenBLAS had chosen by itself when dropscribe replaced it, or NULL when it did not.
const char *dropscribe_blas_core_replaced(void);

#endif
