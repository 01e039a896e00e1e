import CKernels
import WhisperKernels

/// Multi-head scaled dot-product attention over row-major Q, K and V, for the encoder
/// (many queries: the fused CKernels attention, or blocked GEMMs on the portable level) and
/// the decoder's steps (a few queries: AVX2 kernels).
///
/// Exists as one type so the encoder, the decoder and word alignment share a single
/// attention with a single softmax and masking rule.
struct AttentionKernel {
    /// Query rows per block in the many-query path: a block's scores (rows × keys)
    /// stay in L2 between the two products and the softmax.
    static let queryBlock = 64

    /// out[:, h*dh..] = softmax(scale · Q_h K_hᵀ + mask) · V_h for every head.
    /// q: rows × (ldq) with head h at column qOff + h·dh; same for k/v (kvRows rows).
    /// `causalOffset`: if non-nil, query row r may only see keys ≤ causalOffset + r.
    /// `observeScores`, if given, sees each head's scaled scores (qRows × kvRows,
    /// row-major) before the softmax: word alignment reads them (docs/engine.md §8.2).
    /// `level` picks the many-query path: the fused kernel from AVX2 up, sgemm below.
    /// `kvHeadStride`: floats from head h's K (and V) to head h+1's; nil = headDim (the
    /// heads side by side in each row).
    static func attend(q: UnsafePointer<Float>, ldq: Int, qRows: Int,
                       k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int, kvRows: Int, kvHeadStride: Int? = nil,
                       heads: Int, headDim: Int, causalOffset: Int?, level: KernelLevel,
                       out: UnsafeMutablePointer<Float>, ldo: Int,
                       observeScores: ((_ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void)? = nil) {
        let scale = 1 / Float(headDim).squareRoot()
        let kvStride = kvHeadStride ?? headDim
        if let observeScores {
            attendObserved(q: q, ldq: ldq, qRows: qRows, k: k, v: v, ldkv: ldkv, kvRows: kvRows, kvStride: kvStride, heads: heads,
                           headDim: headDim, scale: scale, causalOffset: causalOffset, out: out, ldo: ldo,
                           observeScores: observeScores)
            return
        }
        let (qs, ks, vs, os) = (SharedPointer(q), SharedPointer(k), SharedPointer(v), SharedPointer(out))
        if qRows <= SmallRowsLinear.maxRows && level >= .avx2 && headDim % 8 == 0 {
            // The decoder's step: a few queries, so no GEMM (it would repack all keys
            // per call); heads split over threads when the keys are many (cross-attention).
            let parts = kvRows * qRows * heads >= 4096 ? min(BLAS.threads, heads) : 1
            Parallel.split(parts) { p in
                var scratch = [Float](repeating: 0, count: qRows * kvRows)
                scratch.withUnsafeMutableBufferPointer { sp in
                    for h in Parallel.range(p, of: parts, count: heads) {
                        let off = h * headDim, kvOff = h * kvStride
                        VectorKernelsAVX2.attendFewRows(
                            q: qs.raw + off, ldq: ldq, rows: qRows, k: ks.raw + kvOff, v: vs.raw + kvOff, ldkv: ldkv,
                            keys: kvRows, headDim: headDim, scale: scale, causalLimit: causalOffset ?? -1,
                            out: os.raw + off, ldo: ldo, scratch: sp.baseAddress!)
                    }
                }
            }
            return
        }
        if headDim == Int(DS_ATTN_HEAD_DIM) && ds_attn_supported(level.cValue) != 0 {
            attendFused(q: qs, ldq: ldq, qRows: qRows, k: ks, v: vs, ldkv: ldkv, kvRows: kvRows, kvStride: kvStride, heads: heads,
                        scale: scale, causalOffset: causalOffset, level: level, out: os, ldo: ldo)
            return
        }
        // Many queries on the portable level: blocks of (head, query rows) over the threads, sgemm.
        let block = queryBlock
        let blocksPerHead = (qRows + block - 1) / block
        let parts = min(BLAS.threads, heads * blocksPerHead)
        Parallel.split(parts) { p in
            var scores = [Float](repeating: 0, count: block * kvRows)
            scores.withUnsafeMutableBufferPointer { sp in
                let s = sp.baseAddress!
                for item in Parallel.range(p, of: parts, count: heads * blocksPerHead) {
                    let h = item / blocksPerHead, r0 = (item % blocksPerHead) * block
                    let rows = min(block, qRows - r0), off = h * headDim, kvOff = h * kvStride
                    sgemm(false, true, m: rows, n: kvRows, k: headDim, alpha: scale,
                          a: qs.raw + r0 * ldq + off, lda: ldq, b: ks.raw + kvOff, ldb: ldkv, c: s, ldc: kvRows)
                    softmaxRows(s, rows: rows, kvRows: kvRows, firstRow: r0, causalOffset: causalOffset)
                    sgemm(false, false, m: rows, n: headDim, k: kvRows, a: s, lda: kvRows,
                          b: vs.raw + kvOff, ldb: ldkv, c: os.raw + r0 * ldo + off, ldc: ldo)
                }
            }
        }
    }

    /// The decoder's self-attention for a step's hypotheses together: hypothesis b's
    /// `qRows` query rows (at q + b·qRows·ldq) attend to its own history (keys and values at
    /// `histories[b]` floats past k and v, head h `kvHeadStride` floats further), writing
    /// out + b·qRows·ldo. From AVX2 up, with a few rows each, the (hypothesis, head) pairs
    /// are split over the threads in one hand-off (one per hypothesis cost a wake-up per
    /// beam and layer at every step); each pair's result is the one `attend` gives.
    static func attendEach(q: UnsafePointer<Float>, ldq: Int, qRows: Int, k: UnsafePointer<Float>,
                           v: UnsafePointer<Float>, histories: [Int], ldkv: Int, kvRows: Int, kvHeadStride: Int,
                           heads: Int, headDim: Int, causalOffset: Int, level: KernelLevel,
                           out: UnsafeMutablePointer<Float>, ldo: Int) {
        guard qRows <= SmallRowsLinear.maxRows && level >= .avx2 && headDim % 8 == 0 else {
            for (b, at) in histories.enumerated() {
                attend(q: q + b * qRows * ldq, ldq: ldq, qRows: qRows, k: k + at, v: v + at, ldkv: ldkv, kvRows: kvRows,
                       kvHeadStride: kvHeadStride, heads: heads, headDim: headDim, causalOffset: causalOffset,
                       level: level, out: out + b * qRows * ldo, ldo: ldo)
            }
            return
        }
        let scale = 1 / Float(headDim).squareRoot(), items = histories.count * heads
        let parts = kvRows * qRows * items >= 4096 ? min(BLAS.threads, items) : 1
        let (qs, ks, vs, os) = (SharedPointer(q), SharedPointer(k), SharedPointer(v), SharedPointer(out))
        Parallel.split(parts) { p in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: qRows * kvRows)
            defer { scratch.deallocate() }
            for item in Parallel.range(p, of: parts, count: items) {
                let (b, h) = item.quotientAndRemainder(dividingBy: heads)
                let kvOff = histories[b] + h * kvHeadStride
                VectorKernelsAVX2.attendFewRows(
                    q: qs.raw + b * qRows * ldq + h * headDim, ldq: ldq, rows: qRows, k: ks.raw + kvOff,
                    v: vs.raw + kvOff, ldkv: ldkv, keys: kvRows, headDim: headDim, scale: scale,
                    causalLimit: causalOffset, out: os.raw + b * qRows * ldo + h * headDim, ldo: ldo, scratch: scratch)
            }
        }
    }

    /// Cross-attention over one decoder layer of a `CrossAttentionCache` (its layout in
    /// `cache`). From AVX2 up, with 64-dimension heads and no observer, each head runs
    /// through the fused kernel straight from the cache's packed keys and contiguous
    /// values (a decoding step reads the cache once, in order); otherwise the keys are
    /// unpacked into rows for `attend`.
    static func attendCross(q: UnsafePointer<Float>, ldq: Int, qRows: Int, cache: UnsafePointer<Float>,
                            layout: CrossAttentionCache.Layout, level: KernelLevel,
                            out: UnsafeMutablePointer<Float>, ldo: Int,
                            observeScores: ((_ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void)? = nil) {
        let keys = layout.frames, heads = layout.heads, dh = layout.headDim
        let values = cache + layout.valuesOffset
        guard layout.keysPacked else {
            attend(q: q, ldq: ldq, qRows: qRows, k: cache, v: values, ldkv: dh, kvRows: keys, kvHeadStride: keys * dh,
                   heads: heads, headDim: dh, causalOffset: nil, level: level, out: out, ldo: ldo, observeScores: observeScores)
            return
        }
        if observeScores == nil && ds_attn_supported(level.cValue) != 0 {
            let (qs, cs, os) = (SharedPointer(q), SharedPointer(cache), SharedPointer(out))
            let parts = keys * qRows * heads >= 4096 ? min(BLAS.threads, heads) : 1
            let scoreFloats = ds_attn_scores_floats(Int32(qRows), Int32(keys)), scale = 1 / Float(dh).squareRoot()
            Parallel.split(parts) { p in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: scoreFloats)
                defer { scores.deallocate() }
                for h in Parallel.range(p, of: parts, count: heads) {
                    ds_attn_rows(level.cValue, qs.raw + h * dh, Int32(ldq), Int32(qRows), cs.raw + h * layout.keyFloats,
                                 Int32(keys), cs.raw + layout.valuesOffset + h * keys * dh, Int32(dh), scale, -1,
                                 os.raw + h * dh, Int32(ldo), scores)
                }
            }
            return
        }
        var rows = [Float](repeating: 0, count: heads * keys * dh)
        rows.withUnsafeMutableBufferPointer { r in
            for h in 0..<heads {
                ds_attn_unpack_keys(cache + h * layout.keyFloats, Int32(keys), r.baseAddress! + h * keys * dh, Int32(dh))
            }
            attend(q: q, ldq: ldq, qRows: qRows, k: r.baseAddress!, v: values, ldkv: dh, kvRows: keys,
                   kvHeadStride: keys * dh, heads: heads, headDim: dh, causalOffset: nil, level: level, out: out, ldo: ldo,
                   observeScores: observeScores)
        }
    }

    /// Query rows per block of the fused kernel: a block's scores (rows × keys, 295 KB for
    /// 1500 keys) stay in L2 beside the head's packed keys (48 rows ran about a tenth faster
    /// than 32 and as fast as 96, tiny.en on the AMD EPYC, one thread).
    static let fusedQueryBlock = 48

    /// The many-query path from AVX2 up: blocks of (head, query rows) split over the threads
    /// in contiguous runs, each thread transposing a head's keys once when its run enters it.
    private static func attendFused(q: SharedPointer<Float>, ldq: Int, qRows: Int, k: SharedPointer<Float>,
                                    v: SharedPointer<Float>, ldkv: Int, kvRows: Int, kvStride: Int, heads: Int, scale: Float,
                                    causalOffset: Int?, level: KernelLevel, out: SharedPointer<Float>, ldo: Int) {
        let block = fusedQueryBlock, dh = Int(DS_ATTN_HEAD_DIM)
        let blocksPerHead = (qRows + block - 1) / block
        let parts = min(BLAS.threads, heads * blocksPerHead)
        let keyFloats = ds_attn_packed_keys_floats(Int32(kvRows))
        let scoreFloats = ds_attn_scores_floats(Int32(block), Int32(kvRows))
        Parallel.split(parts) { p in
            let keys = UnsafeMutablePointer<Float>.allocate(capacity: keyFloats)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: scoreFloats)
            defer { keys.deallocate(); scores.deallocate() }
            var packedHead = -1
            for item in Parallel.range(p, of: parts, count: heads * blocksPerHead) {
                let h = item / blocksPerHead, r0 = (item % blocksPerHead) * block
                let rows = min(block, qRows - r0), off = h * dh, kvOff = h * kvStride
                if h != packedHead {
                    ds_attn_pack_keys(k.raw + kvOff, Int32(ldkv), Int32(kvRows), keys)
                    packedHead = h
                }
                ds_attn_rows(level.cValue, q.raw + r0 * ldq + off, Int32(ldq), Int32(rows), keys, Int32(kvRows),
                             v.raw + kvOff, Int32(ldkv), scale, Int32(causalOffset.map { $0 + r0 } ?? -1),
                             out.raw + r0 * ldo + off, Int32(ldo), scores)
            }
        }
    }

    /// Softmax of each row of a (rows × kvRows) score block whose first row is query `firstRow`.
    private static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, kvRows: Int, firstRow: Int,
                                    causalOffset: Int?) {
        for r in 0..<rows {
            let row = s + r * kvRows
            var n = kvRows
            if let c = causalOffset {
                n = min(kvRows, c + firstRow + r + 1)
                for j in n..<kvRows { row[j] = 0 }
            }
            softmaxInPlace(row, count: n)
        }
    }

    /// The plain path, head by head over all queries, for callers that read the scores.
    private static func attendObserved(q: UnsafePointer<Float>, ldq: Int, qRows: Int,
                                       k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int, kvRows: Int, kvStride: Int,
                                       heads: Int, headDim: Int, scale: Float, causalOffset: Int?,
                                       out: UnsafeMutablePointer<Float>, ldo: Int,
                                       observeScores: (_ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void) {
        var scores = [Float](repeating: 0, count: qRows * kvRows)
        scores.withUnsafeMutableBufferPointer { sp in
            let s = sp.baseAddress!
            for h in 0..<heads {
                let off = h * headDim, kvOff = h * kvStride
                sgemm(false, true, m: qRows, n: kvRows, k: headDim, alpha: scale,
                      a: q + off, lda: ldq, b: k + kvOff, ldb: ldkv, c: s, ldc: kvRows)
                observeScores(h, UnsafeBufferPointer(start: s, count: qRows * kvRows))
                softmaxRows(s, rows: qRows, kvRows: kvRows, firstRow: 0, causalOffset: causalOffset)
                sgemm(false, false, m: qRows, n: headDim, k: kvRows, a: s, lda: kvRows,
                      b: v + kvOff, ldb: ldkv, c: out + off, ldc: ldo)
            }
        }
    }
}
