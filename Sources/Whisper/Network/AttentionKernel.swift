import WhisperKernels

/// Multi-head scaled dot-product attention over row-major Q, K and V, for the encoder
/// (many queries: blocked GEMMs) and the decoder's steps (a few queries: AVX2 kernels).
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
    static func attend(q: UnsafePointer<Float>, ldq: Int, qRows: Int,
                       k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int, kvRows: Int,
                       heads: Int, headDim: Int, causalOffset: Int?,
                       out: UnsafeMutablePointer<Float>, ldo: Int,
                       observeScores: ((_ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void)? = nil) {
        let scale = 1 / Float(headDim).squareRoot()
        if let observeScores {
            attendObserved(q: q, ldq: ldq, qRows: qRows, k: k, v: v, ldkv: ldkv, kvRows: kvRows, heads: heads,
                           headDim: headDim, scale: scale, causalOffset: causalOffset, out: out, ldo: ldo,
                           observeScores: observeScores)
            return
        }
        let (qs, ks, vs, os) = (SharedPointer(q), SharedPointer(k), SharedPointer(v), SharedPointer(out))
        if qRows <= SmallRowsLinear.maxRows && CPUFeatures.avx2FMA && headDim % 8 == 0 {
            // The decoder's step: a few queries, so no GEMM (it would repack all keys
            // per call); heads split over threads when the keys are many (cross-attention).
            let parts = kvRows * qRows * heads >= 4096 ? min(BLAS.threads, heads) : 1
            Parallel.split(parts) { p in
                var scratch = [Float](repeating: 0, count: qRows * kvRows)
                scratch.withUnsafeMutableBufferPointer { sp in
                    for h in Parallel.range(p, of: parts, count: heads) {
                        let off = h * headDim
                        VectorKernelsAVX2.attendFewRows(
                            q: qs.raw + off, ldq: ldq, rows: qRows, k: ks.raw + off, v: vs.raw + off, ldkv: ldkv,
                            keys: kvRows, headDim: headDim, scale: scale, causalLimit: causalOffset ?? -1,
                            out: os.raw + off, ldo: ldo, scratch: sp.baseAddress!)
                    }
                }
            }
            return
        }
        // Many queries (the encoder): blocks of (head, query rows) over the threads.
        let block = queryBlock
        let blocksPerHead = (qRows + block - 1) / block
        let parts = min(BLAS.threads, heads * blocksPerHead)
        Parallel.split(parts) { p in
            var scores = [Float](repeating: 0, count: block * kvRows)
            scores.withUnsafeMutableBufferPointer { sp in
                let s = sp.baseAddress!
                for item in Parallel.range(p, of: parts, count: heads * blocksPerHead) {
                    let h = item / blocksPerHead, r0 = (item % blocksPerHead) * block
                    let rows = min(block, qRows - r0), off = h * headDim
                    sgemm(false, true, m: rows, n: kvRows, k: headDim, alpha: scale,
                          a: qs.raw + r0 * ldq + off, lda: ldq, b: ks.raw + off, ldb: ldkv, c: s, ldc: kvRows)
                    softmaxRows(s, rows: rows, kvRows: kvRows, firstRow: r0, causalOffset: causalOffset)
                    sgemm(false, false, m: rows, n: headDim, k: kvRows, a: s, lda: kvRows,
                          b: vs.raw + off, ldb: ldkv, c: os.raw + r0 * ldo + off, ldc: ldo)
                }
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
                                       k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int, kvRows: Int,
                                       heads: Int, headDim: Int, scale: Float, causalOffset: Int?,
                                       out: UnsafeMutablePointer<Float>, ldo: Int,
                                       observeScores: (_ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void) {
        var scores = [Float](repeating: 0, count: qRows * kvRows)
        scores.withUnsafeMutableBufferPointer { sp in
            let s = sp.baseAddress!
            for h in 0..<heads {
                let off = h * headDim
                sgemm(false, true, m: qRows, n: kvRows, k: headDim, alpha: scale,
                      a: q + off, lda: ldq, b: k + off, ldb: ldkv, c: s, ldc: kvRows)
                observeScores(h, UnsafeBufferPointer(start: s, count: qRows * kvRows))
                softmaxRows(s, rows: qRows, kvRows: kvRows, firstRow: 0, causalOffset: causalOffset)
                sgemm(false, false, m: qRows, n: headDim, k: kvRows, a: s, lda: kvRows,
                      b: v + off, ldb: ldkv, c: out + off, ldc: ldo)
            }
        }
    }
}
