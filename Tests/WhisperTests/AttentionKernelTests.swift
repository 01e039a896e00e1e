import Foundation
import Testing
@testable import Whisper

/// The many-query attention (`AttentionKernel.attend` with more than eight queries: the
/// fused CKernels kernel from AVX2 up, sgemm on the portable level) at each kernel level
/// this CPU has, asked for explicitly as `DROPSCRIBE_CPU` would, against a Double
/// reference, on the models' shapes (1500 × 1500 per head, Q/K/V interleaved as the
/// encoder's fused projection leaves them) and ragged ones (keys and rows not multiples
/// of the tiles, causal masks of a decoder prompt, a batch's cross-attention).
@Suite struct AttentionKernelTests {
    /// One level per distinct path: sgemm, the AVX2 kernel, the AVX-512 kernel.
    static var levels: [KernelLevel] { [.portable, .avx2, .avx512].filter { $0 <= KernelLevel.detected } }

    struct Shape: CustomStringConvertible, Sendable {
        var rows: Int, keys: Int, heads: Int, causal: Int?, interleaved: Bool
        var description: String { "\(rows)q×\(keys)k×\(heads)h causal \(causal.map(String.init) ?? "-")" }
    }

    /// Q (rows × ldq), K and V (keys × ldkv) as the callers lay them out: the encoder's
    /// [Q | K | V] rows (ldq = ldkv = 3d), or a query matrix beside a [K | V] cache.
    struct Inputs {
        var q: [Float], kv: [Float], ldq: Int, ldkv: Int, kOffset: Int, vOffset: Int
        init(_ s: Shape, seed: UInt64) {
            let d = s.heads * 64
            if s.interleaved {
                precondition(s.rows == s.keys)
                q = KernelTests.random(s.rows * 3 * d, seed: seed, scale: 2)
                kv = q
                (ldq, ldkv, kOffset, vOffset) = (3 * d, 3 * d, d, 2 * d)
            } else {
                q = KernelTests.random(s.rows * d, seed: seed, scale: 2)
                kv = KernelTests.random(s.keys * 2 * d, seed: seed + 1)
                (ldq, ldkv, kOffset, vOffset) = (d, 2 * d, 0, d)
            }
        }
    }

    static func run(_ s: Shape, _ x: Inputs, level: KernelLevel, rows: Range<Int>? = nil) -> [Float] {
        let d = s.heads * 64, part = rows ?? 0..<s.rows
        var out = [Float](repeating: 0, count: part.count * d)
        x.q.withUnsafeBufferPointer { qp in
            x.kv.withUnsafeBufferPointer { kp in
                out.withUnsafeMutableBufferPointer { o in
                    AttentionKernel.attend(q: qp.baseAddress! + part.lowerBound * x.ldq, ldq: x.ldq, qRows: part.count,
                                           k: kp.baseAddress! + x.kOffset, v: kp.baseAddress! + x.vOffset, ldkv: x.ldkv,
                                           kvRows: s.keys, heads: s.heads, headDim: 64,
                                           causalOffset: s.causal.map { $0 + part.lowerBound }, level: level,
                                           out: o.baseAddress!, ldo: d)
                }
            }
        }
        return out
    }

    /// softmax(Q_h K_hᵀ/8 + mask)·V_h in Double.
    static func reference(_ s: Shape, _ x: Inputs) -> [Double] {
        let d = s.heads * 64
        var out = [Double](repeating: 0, count: s.rows * d)
        var p = [Double](repeating: 0, count: s.keys)
        for h in 0..<s.heads {
            for r in 0..<s.rows {
                let n = s.causal.map { min(s.keys, $0 + r + 1) } ?? s.keys
                for j in 0..<n {
                    var dot = 0.0
                    for i in 0..<64 {
                        dot += Double(x.q[r * x.ldq + h * 64 + i]) * Double(x.kv[j * x.ldkv + x.kOffset + h * 64 + i])
                    }
                    p[j] = dot / 8
                }
                let top = p[0..<n].max()!
                var total = 0.0
                for j in 0..<n { p[j] = exp(p[j] - top); total += p[j] }
                for i in 0..<64 {
                    var acc = 0.0
                    for j in 0..<n { acc += p[j] * Double(x.kv[j * x.ldkv + x.vOffset + h * 64 + i]) }
                    out[r * d + h * 64 + i] = acc / total
                }
            }
        }
        return out
    }

    static let shapes: [Shape] = [
        Shape(rows: 1500, keys: 1500, heads: 2, causal: nil, interleaved: true),  // an encoder layer
        Shape(rows: 37, keys: 77, heads: 3, causal: nil, interleaved: false),     // ragged rows and keys
        Shape(rows: 40, keys: 1500, heads: 2, causal: nil, interleaved: false),   // batch-8 cross-attention
        Shape(rows: 9, keys: 1, heads: 1, causal: nil, interleaved: false),       // one key
        Shape(rows: 20, keys: 30, heads: 2, causal: 10, interleaved: false),      // a prompt after 10 cached tokens
        Shape(rows: 100, keys: 100, heads: 1, causal: 0, interleaved: false),     // a prompt from the start
    ]

    /// The outputs are weighted means of V (|v| ≤ 1): float32 rounds each 64-term score
    /// (scores up to ±32 here) and each keys-long sum, so |Δ| stays below
    /// (keys + 64·32)·2⁻²⁴; a wrong or missing key moves an output by far more.
    @Test(arguments: shapes)
    func matchesDoubleReferenceAtEveryLevel(shape: Shape) {
        let x = Inputs(shape, seed: UInt64(shape.rows * 7 + shape.keys))
        let exact = Self.reference(shape, x)
        let allowed = Double(shape.keys + 64 * 32) * 0x1p-24
        for level in Self.levels {
            let y = Self.run(shape, x, level: level)
            let worst = zip(y, exact).map { abs(Double($0) - $1) }.max()!
            #expect(worst <= allowed, "\(level), \(shape): |Δ| \(worst) > \(allowed)")
        }
    }

    /// Each output is one sequential sum of its own row: computing the rows in other
    /// pieces, or with another thread count, gives the same bits.
    @Test func resultsDoNotDependOnBlocksOrThreads() {
        for shape in [Self.shapes[0], Self.shapes[5]] {
            let x = Inputs(shape, seed: 5)
            for level in Self.levels where level > .portable {
                let whole = Self.run(shape, x, level: level)
                let split = Self.run(shape, x, level: level, rows: 0..<45) + Self.run(shape, x, level: level, rows: 45..<shape.rows)
                #expect(whole == split, "\(level), \(shape): rows in two pieces differ")
                let saved = BLAS.threads
                let (one, three) = BLAS.run { () -> ([Float], [Float]) in
                    BLAS.setThreads(1)
                    let one = Self.run(shape, x, level: level)
                    BLAS.setThreads(3)
                    let three = Self.run(shape, x, level: level)
                    BLAS.setThreads(saved)
                    return (one, three)
                }
                #expect(one == whole && three == whole, "\(level), \(shape): thread count changes the result")
            }
        }
    }

    /// The cross-attention cache's per-head layout (packed keys for 64-dimension heads,
    /// rows otherwise) gives the attention of the projection's own rows: a decoding step
    /// (5 rows), a batch's step (40 rows) and the observed path word timing takes.
    /// A decoding step's self-attention for all hypotheses at once (`attendEach`: one split
    /// over (hypothesis, head) pairs) gives each hypothesis the bits `attend` gives it alone,
    /// at every level and thread count: five hypotheses of one and of two query rows over
    /// head-major histories of 37 positions in rows of capacity 64, causal from position 36.
    @Test(arguments: [1, 2])
    func stepAttentionForAllHypothesesEqualsEachAlone(queryRows: Int) {
        let (hypotheses, heads, dh, capacity, keys) = (5, 3, 64, 64, 37)
        let d = heads * dh, rowStride = capacity * d, headStride = capacity * dh
        let q = KernelTests.random(hypotheses * queryRows * 3 * d, seed: 11, scale: 2)
        let k = KernelTests.random(7 * rowStride, seed: 12), v = KernelTests.random(7 * rowStride, seed: 13)
        let histories = [6, 0, 3, 2, 5].map { $0 * rowStride }
        for level in [KernelLevel.portable, .avx2, .avx512].filter({ $0 <= KernelLevel.detected }) {
            var alone = [Float](repeating: 0, count: hypotheses * queryRows * d)
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    v.withUnsafeBufferPointer { vp in
                        alone.withUnsafeMutableBufferPointer { op in
                            for (b, at) in histories.enumerated() {
                                AttentionKernel.attend(q: qp.baseAddress! + b * queryRows * 3 * d, ldq: 3 * d, qRows: queryRows,
                                                       k: kp.baseAddress! + at, v: vp.baseAddress! + at, ldkv: dh, kvRows: keys,
                                                       kvHeadStride: headStride, heads: heads, headDim: dh,
                                                       causalOffset: keys - queryRows, level: level,
                                                       out: op.baseAddress! + b * queryRows * d, ldo: d)
                            }
                        }
                    }
                }
            }
            for threads in [1, 2, 3] {
                let together = BLAS.run { () -> [Float] in
                    let saved = BLAS.threads
                    BLAS.setThreads(threads)
                    defer { BLAS.setThreads(saved) }
                    var out = [Float](repeating: 0, count: hypotheses * queryRows * d)
                    q.withUnsafeBufferPointer { qp in
                        k.withUnsafeBufferPointer { kp in
                            v.withUnsafeBufferPointer { vp in
                                out.withUnsafeMutableBufferPointer { op in
                                    AttentionKernel.attendEach(q: qp.baseAddress!, ldq: 3 * d, qRows: queryRows, k: kp.baseAddress!,
                                                               v: vp.baseAddress!, histories: histories, ldkv: dh, kvRows: keys,
                                                               kvHeadStride: headStride, heads: heads, headDim: dh,
                                                               causalOffset: keys - queryRows, level: level,
                                                               out: op.baseAddress!, ldo: d)
                                }
                            }
                        }
                    }
                    return out
                }
                let differing = zip(together, alone).filter { $0.0 != $0.1 }.count
                #expect(together.count == alone.count && differing == 0, "\(level), \(threads) threads: \(differing) outputs differ")
            }
        }
    }

    @Test(arguments: [64, 32])
    func crossCacheLayoutGivesTheSameAttention(headDim: Int) {
        let heads = 3, d = heads * headDim, frames = 100
        let projection = Matrix(rows: frames, cols: 2 * d, storage: KernelTests.random(frames * 2 * d, seed: 21))
        let layout = CrossAttentionCache.Layout(frames: frames, heads: heads, headDim: headDim)
        let arranged = layout.arrange(projection)
        for rows in [5, 40] {
            let q = KernelTests.random(rows * d, seed: UInt64(rows), scale: 2)
            for level in Self.levels {
                var direct = [Float](repeating: 0, count: rows * d), cached = direct, observed = direct
                var seen = 0
                q.withUnsafeBufferPointer { qp in
                    projection.storage.withUnsafeBufferPointer { kv in
                        direct.withUnsafeMutableBufferPointer { o in
                            AttentionKernel.attend(q: qp.baseAddress!, ldq: d, qRows: rows, k: kv.baseAddress!,
                                                   v: kv.baseAddress! + d, ldkv: 2 * d, kvRows: frames, heads: heads,
                                                   headDim: headDim, causalOffset: nil, level: level, out: o.baseAddress!, ldo: d)
                        }
                    }
                    arranged.withUnsafeBufferPointer { c in
                        cached.withUnsafeMutableBufferPointer { o in
                            AttentionKernel.attendCross(q: qp.baseAddress!, ldq: d, qRows: rows, cache: c.baseAddress!,
                                                        layout: layout, level: level, out: o.baseAddress!, ldo: d)
                        }
                        observed.withUnsafeMutableBufferPointer { o in
                            AttentionKernel.attendCross(q: qp.baseAddress!, ldq: d, qRows: rows, cache: c.baseAddress!,
                                                        layout: layout, level: level, out: o.baseAddress!, ldo: d,
                                                        observeScores: { _, s in seen += s.count })
                        }
                    }
                }
                #expect(seen == heads * rows * frames)
                for (name, y) in [("cached", cached), ("observed", observed)] {
                    let worst = zip(y, direct).map { abs($0 - $1) }.max()!
                    #expect(worst <= 1e-5, "\(name), \(level), \(rows) rows, head \(headDim): |Δ| \(worst)")
                }
            }
        }
    }
}
