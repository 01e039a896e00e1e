import Foundation
import Testing
@testable import Whisper

/// The int8 and bfloat16 products (CKernels) at every kernel level this CPU has, each
/// level asked for explicitly (the parameter `DROPSCRIBE_CPU` drives), against a Double
/// reference with a bound derived from the quantisation. Shapes: the models' own (tiny.en's
/// QKV and feed-forward down, a decoding step's few rows) and ragged ones where m, n and
/// k are not multiples of the kernels' 4 rows, 16 outputs and 4- or 2-value steps.
@Suite struct PackedKernelTests {
    /// (rows, outputs, k): tiny.en's QKV split over two threads by rows; a beam-5 step
    /// through tiny.en's feed-forward down, split by output blocks; ragged on every side.
    static let shapes = [(33, 1152, 384), (5, 384, 1536), (3, 37, 13), (9, 530, 1282)]

    static var levels: [KernelLevel] { KernelLevel.allCases.filter { $0 <= KernelLevel.detected } }

    struct Case {
        let m: Int, n: Int, k: Int
        let x: [Float], w: [Float], bias: [Float]
        /// Each output's exact value (bias included) and Σ|a·w|, in Double, computed once.
        let exact: [Double], magnitude: [Double]

        init(_ shape: (Int, Int, Int), seed: UInt64) {
            (m, n, k) = shape
            x = KernelTests.random(m * k, seed: seed)
            w = KernelTests.random(n * k, seed: seed + 1, scale: 0.1)
            bias = KernelTests.random(n, seed: seed + 2)
            (exact, magnitude) = Self.reference(x, w, m: m, n: n, k: k)
        }

        static func reference(_ x: [Float], _ w: [Float], m: Int, n: Int, k: Int) -> ([Double], [Double]) {
            var sums = [Double](repeating: 0, count: m * n), sizes = sums
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    for r in 0..<m {
                        for o in 0..<n {
                            var sum = 0.0, size = 0.0
                            for i in 0..<k {
                                let p = Double(xp[r * k + i]) * Double(wp[o * k + i])
                                sum += p
                                size += abs(p)
                            }
                            sums[r * n + o] = sum
                            sizes[r * n + o] = size
                        }
                    }
                }
            }
            return (sums, sizes)
        }

        /// The output whose error most exceeds its bound `bound(r, o, Σ|a·w|)`: (error, bound).
        func check(_ y: Matrix, bound: (Int, Int, Double) -> Double) -> (worst: Double, allowed: Double) {
            var worstExcess = -Double.infinity, worst = 0.0, allowed = 0.0
            for r in 0..<m {
                for o in 0..<n {
                    let error = abs(Double(y.storage[r * n + o]) - exact[r * n + o] - Double(bias[o]))
                    let limit = bound(r, o, magnitude[r * n + o])
                    if error - limit > worstExcess { worstExcess = error - limit; worst = error; allowed = limit }
                }
            }
            return (worst, allowed)
        }
    }

    @Test(arguments: shapes)
    func int8ProductIsWithinTheQuantisationBoundAtEveryLevel(shape: (Int, Int, Int)) {
        let c = Case(shape, seed: 40)
        let q = Int8RowMatrix(Matrix(rows: c.n, cols: c.k, storage: c.w))
        // Row r of x and row o of W are each within half a step of their int8 values, so
        // |Σ a·w − Σ â·ŵ| ≤ δw·Σ|a| + δa·Σ|w| + k·δa·δw, plus float32 rounding of the sums.
        let xAbs = (0..<c.m).map { r in (0..<c.k).reduce(0.0) { $0 + Double(abs(c.x[r * c.k + $1])) } }
        let xMax = (0..<c.m).map { r in (0..<c.k).reduce(Float(0)) { max($0, abs(c.x[r * c.k + $1])) } }
        let wAbs = (0..<c.n).map { o in (0..<c.k).reduce(0.0) { $0 + Double(abs(c.w[o * c.k + $1])) } }
        for level in Self.levels {
            let y = PackedMatrix(int8: q, level: level)
                .apply(Matrix(rows: c.m, cols: c.k, storage: c.x), bias: c.bias, threads: 2)
            let (worst, allowed) = c.check(y) { r, o, magnitude in
                let da = Double(xMax[r]) / 127 / 2, dw = 1 / Double(q.scales[o]) / 2
                return dw * xAbs[r] + da * wAbs[o] + Double(c.k) * da * dw + 1e-5 * (magnitude + 1)
            }
            #expect(worst <= allowed, "int8 at \(level), \(shape): |Δ| \(worst) > \(allowed)")
        }
    }

    @Test(arguments: shapes)
    func bfloat16ProductIsWithinTheRoundingBoundAtEveryLevel(shape: (Int, Int, Int)) {
        let c = Case(shape, seed: 50)
        let w = Matrix(rows: c.n, cols: c.k, storage: c.w)
        // Each factor is rounded to 8 significant bits (relative error ≤ 2⁻⁸ each), and
        // float32 sums of k terms add at most k·2⁻²⁴ of Σ|a·w|.
        let u = 1.0 / 256
        for level in Self.levels {
            let y = PackedMatrix(bf16: w, level: level)
                .apply(Matrix(rows: c.m, cols: c.k, storage: c.x), bias: c.bias, threads: 2)
            let (worst, allowed) = c.check(y) { _, _, magnitude in
                magnitude * (2 * u + u * u + Double(c.k + 2) * 0x1p-24) + 1e-6
            }
            #expect(worst <= allowed, "bfloat16 at \(level), \(shape): |Δ| \(worst) > \(allowed)")
        }
    }

    /// The int8 levels differ only in instructions: the same quantised inputs give the
    /// same integer sums, so every level's output equals the portable one to float rounding.
    @Test func int8LevelsAgreeWithThePortableLoop() {
        let c = Case((21, 530, 390), seed: 60)
        let q = Int8RowMatrix(Matrix(rows: c.n, cols: c.k, storage: c.w))
        let x = Matrix(rows: c.m, cols: c.k, storage: c.x)
        let portable = PackedMatrix(int8: q, level: .portable).apply(x, bias: nil, threads: 1)
        for level in Self.levels {
            let y = PackedMatrix(int8: q, level: level).apply(x, bias: nil, threads: 2)
            let worst = zip(y.storage, portable.storage).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= 1e-6, "\(level) differs from portable by \(worst)")
        }
    }

    /// The output projection's 16-bit product sums exactly at every level, at the extremes
    /// too: every activation at ±32767 and every weight at ±127 over k = 4101 (past the
    /// AVX2 kernel's int32 flush, whose 256 groups of 4 would overflow at 257), ragged rows
    /// and outputs, split over two threads, a bias added: each output is the exact integer sum
    /// rounded once, plus the bias.
    @Test func wideProductSumsExactlyAtTheExtremes() {
        let (m, n, k) = (7, 37, 4101)
        let x = (0..<(m * k)).map { i -> Float in (i / k) % 2 == 0 || i % 3 != 0 ? 2.5 : -2.5 }
        let w = (0..<(n * k)).map { i -> Float in (i % 5 == 0) == ((i / k) % 2 == 0) ? -0.5 : 0.5 }
        let q = Int8RowMatrix(Matrix(rows: n, cols: k, storage: w))
        let bias = (0..<n).map { Float($0) * 0.25 - 3 }
        for level in Self.levels {
            let y = PackedMatrix(int8: q, level: level).applyWide(Matrix(rows: m, cols: k, storage: x), bias: bias, threads: 2)
            for r in 0..<m {
                for o in 0..<n {
                    var total: Int64 = 0
                    for i in 0..<k { total += Int64(x[r * k + i] > 0 ? 32767 : -32767) * Int64(q.values[o * k + i]) }
                    let expected = Float(total) * (1 / (32767 / Float(2.5))) / q.scales[o]
                    #expect(y[r, o] == bias[o] + expected, "\(level) row \(r) out \(o)")
                }
            }
        }
    }

    @Test func cpuOverrideNamesALevelAndCannotRaiseIt() throws {
        #expect(try KernelLevel.resolve(detected: .avx512BF16, override: nil) == .avx512BF16)
        #expect(try KernelLevel.resolve(detected: .avx512BF16, override: " ") == .avx512BF16)
        #expect(try KernelLevel.resolve(detected: .avx512BF16, override: "portable") == .portable)
        #expect(try KernelLevel.resolve(detected: .avx512BF16, override: "AVX512-VNNI") == .avx512VNNI)
        #expect(try KernelLevel.resolve(detected: .avx2, override: "avx512-bf16") == .avx2)
        #expect(throws: WhisperError.self) { try KernelLevel.resolve(detected: .avx2, override: "sse9") }
        for level in KernelLevel.allCases {
            #expect(try KernelLevel.resolve(detected: .avx512BF16, override: level.description) == level)
        }
    }

    @Test func bfloat16FallsBackToFloat32BelowAVX512BF16() {
        #expect(effectiveComputeType(.bfloat16, level: .avx512BF16) == .bfloat16)
        #expect(effectiveComputeType(.bfloat16, level: .avx512VNNI) == .float32)
        #expect(effectiveComputeType(.int8, level: .portable) == .int8)
        #expect(effectiveComputeType(.float32, level: .avx512BF16) == .float32)
    }
}
