import Foundation
import WhisperKernels

/// The audio encoder's output for one window: (1500 × D) rows, final LN applied.
///
/// Exists as a distinct type so the decoder's cross-attention K/V can be
/// derived from it exactly once.
public struct EncoderOutput: Sendable {
    public var states: Matrix
}

extension Matrix {
    /// Columns [c0, c0+n) of every row as a new matrix.
    func columns(_ c0: Int, _ n: Int) -> Matrix {
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for c in 0..<n { out[r * n + c] = storage[r * cols + c0 + c] }
        }
        return Matrix(rows: rows, cols: n, storage: out)
    }
}

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

extension WhisperModel {
    /// Runs the encoder on one window of features (≤ 3000 frames; padded with 0.0 to 3000).
    public func encode(_ window: MelWindow) -> EncoderOutput {
        BLAS.run { encodeLocked(window) }
    }

    private func encodeLocked(_ window: MelWindow) -> EncoderOutput {
        let dims = dimensions
        let nMels = dims.nMels, d = dims.dModel
        let frames = 2 * dims.audioContext  // 3000
        precondition(window.nMels == nMels, "window has \(window.nMels) mels, model needs \(nMels)")
        let used = min(window.frameCount, frames)
        // im2col for conv1: row t, col i*3+k = in[i, t+k−1]
        var col1 = [Float](repeating: 0, count: frames * nMels * 3)
        window.features.storage.withUnsafeBufferPointer { f in
            col1.withUnsafeMutableBufferPointer { c in
                let fc = window.frameCount
                for i in 0..<nMels {
                    for t in 0..<frames {
                        for k in 0..<3 {
                            let src = t + k - 1
                            if src >= 0 && src < used { c[t * nMels * 3 + i * 3 + k] = f[i * fc + src] }
                        }
                    }
                }
            }
        }
        var h1 = linear(Matrix(rows: frames, cols: nMels * 3, storage: col1), encoder.conv1.w, encoder.conv1.b)
        geluInPlace(&h1.storage)
        let ctx = dims.audioContext
        var col2 = [Float](repeating: 0, count: ctx * d * 3)
        h1.storage.withUnsafeBufferPointer { hp in
            col2.withUnsafeMutableBufferPointer { c in
                for t in 0..<ctx {
                    for k in 0..<3 {
                        let src = 2 * t + k - 1
                        if src < 0 || src >= frames { continue }
                        for i in 0..<d { c[t * d * 3 + i * 3 + k] = hp[src * d + i] }
                    }
                }
            }
        }
        var x = linear(Matrix(rows: ctx, cols: d * 3, storage: col2), encoder.conv2.w, encoder.conv2.b)
        geluInPlace(&x.storage)
        addInPlace(&x.storage, encoder.positions.storage)
        let heads = dims.encoderHeads, dh = d / heads
        for layer in encoder.layers {
            let n1 = layerNorm(x, gamma: layer.attn.norm.gamma, beta: layer.attn.norm.beta)
            let qkv = linear(n1, layer.attn.qkv.w, layer.attn.qkv.b)
            var att = [Float](repeating: 0, count: ctx * d)
            qkv.storage.withUnsafeBufferPointer { p in
                att.withUnsafeMutableBufferPointer { o in
                    let base = p.baseAddress!
                    AttentionKernel.attend(q: base, ldq: 3 * d, qRows: ctx, k: base + d, v: base + 2 * d, ldkv: 3 * d,
                                           kvRows: ctx, heads: heads, headDim: dh, causalOffset: nil,
                                           out: o.baseAddress!, ldo: d)
                }
            }
            let proj = linear(Matrix(rows: ctx, cols: d, storage: att), layer.attn.out.w, layer.attn.out.b)
            addInPlace(&x.storage, proj.storage)
            x = x.plus(ffn(layer.ffn, x))
        }
        return EncoderOutput(states: layerNorm(x, gamma: encoder.norm.gamma, beta: encoder.norm.beta))
    }

    func ffn(_ w: FFNWeights, _ x: Matrix) -> Matrix {
        let n = layerNorm(x, gamma: w.norm.gamma, beta: w.norm.beta)
        var up = linear(n, w.up)
        geluInPlace(&up.storage)
        return linear(up, w.down)
    }
}

extension Matrix {
    func plus(_ o: Matrix) -> Matrix {
        var s = storage
        addInPlace(&s, o.storage)
        return Matrix(rows: rows, cols: cols, storage: s)
    }
}
