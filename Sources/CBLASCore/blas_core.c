// Re-selects OpenBLAS's kernels when it fell back to a core without AVX2 on a CPU that has AVX2 or
// AVX-512 (see CBLASCore.h). OpenBLAS reads OPENBLAS_CORETYPE in its own constructor, before any code
// of ours runs, so the only way to change its choice is to set the variable and execute the binary
// again; this runs once, in the dropscribe executable only (never in a test runner that links it), and
// not at all when the user has set OPENBLAS_CORETYPE themselves.
#define _GNU_SOURCE
#include "CBLASCore.h"
#include "CKernels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char *openblas_get_corename(void);
extern char *program_invocation_short_name;

static const char *const cores_without_avx2[] = {
    "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Core2", "Penryn", "Dunnington",
    "Nehalem", "Atom", "Sandybridge", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Bobcat",
    "Bulldozer", "Piledriver", "Steamroller", NULL,
};

const char *dropscribe_blas_core_upgrade(const char *current, int has_avx2_fma, int has_avx512) {
    if (current == NULL) return NULL;
    int old = 0;
    for (int i = 0; cores_without_avx2[i] != NULL; i++) {
        if (strcasecmp(current, cores_without_avx2[i]) == 0) old = 1;
    }
    if (!old) return NULL;
    if (has_avx512) return "SkylakeX";
    if (has_avx2_fma) return "Haswell";
    return NULL;
}

const char *dropscribe_blas_core_name(void) { return openblas_get_corename(); }

const char *dropscribe_blas_core_replaced(void) { return getenv("DROPSCRIBE_BLAS_CORE_REPLACED"); }

__attribute__((constructor)) static void dropscribe_choose_blas_core(int argc, char **argv, char **envp) {
    (void)argc;
    (void)envp;
    if (argv == NULL || getenv("OPENBLAS_CORETYPE") != NULL) return;
    if (program_invocation_short_name == NULL || strcmp(program_invocation_short_name, "dropscribe") != 0) return;
    // The engine's own kernel choice (cpuid and xgetbv) says what the CPU and the OS run.
    int level = ds_cpu_level();
    int avx2_fma = level >= DS_LEVEL_AVX2, avx512 = level >= DS_LEVEL_AVX512;
    const char *current = openblas_get_corename();
    const char *better = dropscribe_blas_core_upgrade(current, avx2_fma, avx512);
    if (better == NULL) return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    setenv("DROPSCRIBE_BLAS_CORE_REPLACED", current, 1);
    execv("/proc/self/exe", argv);
    // Could not execute again (no /proc): carry on with OpenBLAS's own choice, and say so honestly.
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("DROPSCRIBE_BLAS_CORE_REPLACED");
}
