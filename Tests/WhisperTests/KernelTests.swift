import Foundation
import Testing
import WhisperKernels
@testable import Whisper

/// The hand-written kernels against plain scalar arithmetic (Double where it matters),
/// on shapes that hit every remainder: rows 1–8 (blocks of five or four plus leftovers), an
/// odd number of outputs (a weight row without a partner), and k not a multiple of 8.
@Suite struct KernelTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    static func random(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var g = Seeded(state: seed)
        return (0..<n).map { _ in Float.random(in: -scale...scale, using: &g) }
    }

    /// Σ x·wᵀ in Double.
    static func reference(_ x: [Float], rows: Int, _ w: [Float], outs: Int, k: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outs)
        for r in 0..<rows {
            for o in 0..<outs {
                var s = 0.0
                for i in 0..<k { s += Double(x[r * k + i]) * Double(w[o * k + i]) }
                y[r * outs + o] = s
            }
        }
        return y
    }

    /// Rows above 8 are a batched decoding step's (groups of five or eight, weight blocks of 128).
    @Test(arguments: [(1, 37, 13), (3, 64, 8), (4, 384, 5), (5, 384, 1001), (6, 72, 9), (8, 100, 33), (7, 1536, 384),
                      (13, 100, 300), (40, 384, 1001), (64, 72, 129)])
    func smallRowsLinearMatchesScalarArithmetic(rows: Int, k: Int, outs: Int) {
        let x = Self.random(rows * k, seed: 1), w = Self.random(outs * k, seed: 2), bias = Self.random(outs, seed: 3)
        let y = linear(Matrix(rows: rows, cols: k, storage: x), Matrix(rows: outs, cols: k, storage: w), bias)
        let expected = Self.reference(x, rows: rows, w, outs: outs, k: k)
        var worst = 0.0
        for r in 0..<rows {
            for o in 0..<outs { worst = max(worst, abs(Double(y[r, o]) - (expected[r * outs + o] + Double(bias[o])))) }
        }
        #expect(worst <= 1e-5 * Double(k).squareRoot(), "worst |Δ| \(worst)")
    }

    @Test(arguments: [(1, 37, 13), (5, 384, 1001), (8, 100, 33), (40, 384, 257), (6, 1282, 35)])
    func int8RowsAreWithinHalfAStepOfTheWeights(rows: Int, k: Int, outs: Int) {
        let x = Self.random(rows * k, seed: 4), w = Self.random(outs * k, seed: 5, scale: 0.2)
        let q = Int8RowMatrix(Matrix(rows: outs, cols: k, storage: w))
        for o in 0..<outs {
            let largest = (0..<k).map { abs(w[o * k + $0]) }.max()!
            #expect(q.scales[o] == 127 / largest)
            for i in 0..<k {
                #expect(abs(Float(q.values[o * k + i]) / q.scales[o] - w[o * k + i]) <= 1 / q.scales[o] / 2 * 1.0001)
            }
        }
        // Every other product (a decoding step's few rows included) quantises its activations:
        // within half an activation step (max|x|/254 per value) of the exact product of the
        // dequantised weights, at every kernel level.
        let dequantised = (0..<(outs * k)).map { Float(q.values[$0]) / q.scales[$0 / k] }
        let expected = Self.reference(x, rows: rows, dequantised, outs: outs, k: k)
        // The output projection quantises its activations to 16 bits: within half a step
        // (max|x|/65534 per value) of the same exact product, and the same floats at every
        // level (each level's integer sum is exact and rounded to float once).
        var first: [Float]? = nil
        for level in KernelLevel.allCases where level <= KernelLevel.detected {
            var layer = LinearWeights(w: Matrix(rows: 0, cols: k, storage: []), b: nil)
            layer.packed = PackedMatrix(int8: q, level: level)
            layer.wideActivations = true
            let projection = linear(Matrix(rows: rows, cols: k, storage: x), layer)
            for r in 0..<rows {
                let step = Double((0..<k).map { abs(x[r * k + $0]) }.max()!) / 65534
                for o in 0..<outs {
                    let weights = (0..<k).reduce(0.0) { $0 + abs(Double(dequantised[o * k + $1])) }
                    let bound = weights * step * 1.0001 + 1e-6 * weights * step * 65534
                    #expect(abs(Double(projection[r, o]) - expected[r * outs + o]) <= bound, "projection \(level) row \(r) out \(o)")
                }
            }
            if let first { #expect(projection.storage == first, "\(level) differs from the portable level") }
            first = first ?? projection.storage
        }
        for level in KernelLevel.allCases where level <= KernelLevel.detected {
            let layer = LinearWeights(w: Matrix(rows: outs, cols: k, storage: w), b: nil).int8(level: level)
            let y = linear(Matrix(rows: rows, cols: k, storage: x), layer)
            for r in 0..<rows {
                let step = Double((0..<k).map { abs(x[r * k + $0]) }.max()!) / 254
                for o in 0..<outs {
                    let bound = (0..<k).reduce(0.0) { $0 + abs(Double(dequantised[o * k + $1])) } * step * 1.0001 + 1e-5
                    #expect(abs(Double(y[r, o]) - expected[r * outs + o]) <= bound, "\(level) row \(r) out \(o)")
                }
            }
        }
    }

    /// A batched step's product gives each row what that row's own group gives alone, whatever
    /// the thread count: the rows of one window do not depend on the other windows' rows.
    @Test(arguments: [1, 2]) func blockedRowsEqualTheirGroupRunAlone(threads: Int) {
        let (rows, k, outs) = (40, 384, 1001)
        let x = Self.random(rows * k, seed: 6), w = Self.random(outs * k, seed: 7)
        var blocked = [Float](repeating: 0, count: rows * outs), alone = blocked
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                blocked.withUnsafeMutableBufferPointer { yp in
                    SmallRowsLinear.applyBlocked(x: xp.baseAddress!, rows: rows, k: k, weights: .float32(wp.baseAddress!), outs: outs,
                                                 y: yp.baseAddress!, accumulate: false, threads: threads)
                }
                alone.withUnsafeMutableBufferPointer { yp in
                    for r in stride(from: 0, to: rows, by: 5) {
                        SmallRowsLinear.apply(x: xp.baseAddress! + r * k, rows: 5, k: k, weights: .float32(wp.baseAddress!), outs: outs,
                                              y: yp.baseAddress! + r * outs, accumulate: false, threads: 1)
                    }
                }
            }
        }
        #expect(blocked == alone)
    }

    @Test func softmaxAndGELUMatchLibm() {
        for count in [1, 7, 8, 9, 1500] {
            var row = Self.random(count, seed: UInt64(count), scale: 30)
            if count > 1 { row[0] = -Float.infinity }  // a masked key weighs 0
            let m = row.max()!
            let e = row.map { Double(expf($0 - m)) }, total = e.reduce(0, +)
            row.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, count: count) }
            for i in 0..<count { #expect(abs(Double(row[i]) - e[i] / total) <= 2e-7, "softmax[\(i)] of \(count)") }
        }
        var x = Self.random(4099, seed: 9, scale: 12) + [0, -0.0, 1e-20, -40, 40]
        let exact = x.map { 0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot())) }
        geluInPlace(&x)
        for i in x.indices {
            #expect(abs(Double(x[i]) - exact[i]) <= 1e-6 * max(1, abs(exact[i])), "gelu at \(exact[i])")
        }
    }

    @Test(arguments: [(1, 448, -1), (5, 1500, -1), (3, 20, 10), (7, 100, -1), (8, 48, 40)])
    func fewRowAttentionMatchesTheGEMMPath(rows: Int, keys: Int, causal: Int) {
        let heads = 2, dh = 64, d = heads * dh
        let q = Self.random(rows * d, seed: 11), kv = Self.random(keys * 2 * d, seed: 12)
        var fast = [Float](repeating: 0, count: rows * d), slow = fast
        q.withUnsafeBufferPointer { qp in
            kv.withUnsafeBufferPointer { kp in
                fast.withUnsafeMutableBufferPointer { o in
                    AttentionKernel.attend(q: qp.baseAddress!, ldq: d, qRows: rows, k: kp.baseAddress!, v: kp.baseAddress! + d,
                                           ldkv: 2 * d, kvRows: keys, heads: heads, headDim: dh,
                                           causalOffset: causal >= 0 ? causal : nil, level: .detected,
                                           out: o.baseAddress!, ldo: d)
                }
                // Observing the scores forces the plain sgemm path.
                slow.withUnsafeMutableBufferPointer { o in
                    AttentionKernel.attend(q: qp.baseAddress!, ldq: d, qRows: rows, k: kp.baseAddress!, v: kp.baseAddress! + d,
                                           ldkv: 2 * d, kvRows: keys, heads: heads, headDim: dh,
                                           causalOffset: causal >= 0 ? causal : nil, level: .detected,
                                           out: o.baseAddress!, ldo: d, observeScores: { _, _ in })
                }
            }
        }
        let worst = zip(fast, slow).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5, "worst |Δ| \(worst)")
    }
}
