/* The tiling shared by the AVX-512 int8 and bf16 products: tiles of up to 4 rows ×
   4 weight blocks (64 outputs), 16 accumulators. */
#ifndef DROPSCRIBE_CKERNELS_TILES_H
#define DROPSCRIBE_CKERNELS_TILES_H

/* Rows of activations kept in L1 while the weight panels stream past them from L2
   (192 rows ran at a third of the speed on 1500 × 1152 × 384: the outputs and
   activations of a bigger chunk pushed the panels out of L2). */
#define DS_ROW_CHUNK 16

/* The cases of `switch ((mr - 1) * 4 + nb - 1)`, one per tile shape, so each tile
   function is inlined with constant loop bounds (its accumulators stay in registers). */
#define DS_TILE_CASES(CASE)                                             \
    CASE(1, 1) CASE(1, 2) CASE(1, 3) CASE(1, 4) CASE(2, 1) CASE(2, 2)   \
    CASE(2, 3) CASE(2, 4) CASE(3, 1) CASE(3, 2) CASE(3, 3) CASE(3, 4)   \
    CASE(4, 1) CASE(4, 2) CASE(4, 3) CASE(4, 4)

/* Runs BODY for each tile of rows [0, m) × blocks [block0, block1), with r (first
   row), mr (rows), blk (first block) and nb (blocks) in scope. */
#define DS_FOR_EACH_TILE(m, block0, block1, BODY)                                   \
    for (int r0_ = 0; r0_ < (m); r0_ += DS_ROW_CHUNK) {                             \
        int r1_ = r0_ + DS_ROW_CHUNK < (m) ? r0_ + DS_ROW_CHUNK : (m);              \
        for (int blk = (block0); blk < (block1); blk += 4) {                        \
            int nb = (block1) - blk < 4 ? (block1) - blk : 4;                       \
            for (int r = r0_; r < r1_; r += 4) {                                    \
                int mr = r1_ - r < 4 ? r1_ - r : 4;                                 \
                BODY                                                                \
            }                                                                       \
        }                                                                           \
    }

#endif
