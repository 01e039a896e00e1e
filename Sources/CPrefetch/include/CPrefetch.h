#ifndef DROPSCRIBE_CPREFETCH_H
#define DROPSCRIBE_CPREFETCH_H

/* A software prefetch for the decoder's kernels (WhisperKernels), which Swift
   cannot spell itself. On this class of machine the hardware prefetcher alone
   left the per-step weight stream at about half the memory bandwidth. */
static inline void dropscribe_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
