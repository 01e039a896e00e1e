import CKernels
import Testing
@testable import Whisper

/// The int8 compute type follows CTranslate2 4.8's CPU scheme to the bit (docs/engine.md
/// §9), so its windows can match faster-whisper int8's: weights and activations quantised
/// with its formulas and roundings, outputs dequantised in its order, at every kernel level
/// this CPU has (each asked for explicitly, as `DROPSCRIBE_CPU` would).
@Suite struct Int8SchemeTests {
    static var levels: [KernelLevel] { KernelLevel.allCases.filter { $0 <= KernelLevel.detected } }

    /// Row 0's maximum is 127, so its scale is 1 and a·s = a: halves, values either side of
    /// them, and ±0.50000006, which the activations' +128 (added in float before rounding,
    /// as CTranslate2 shifts to u8) turns into an exact half.
    static let edges: [Float] = [127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 0.49999997, -0.49999997,
                                 0.50000006, -0.50000006, 3.5000002, 0, -0.0, 64.5, -64.5, 7, -127]

    static func quantize(_ a: [Float], rows: Int, form: Int32, level: KernelLevel) -> (q: [Int8], scales: [Float]) {
        let k = a.count / rows
        var q = [Int8](repeating: 0, count: a.count), s = [Float](repeating: 0, count: rows)
        ds_i8_quantize_rows(level.cValue, a, Int32(rows), Int32(k), Int32(k), &q, Int32(k), &s, form)
        return (q, s)
    }

    @Test func weightsAndActivationsAreQuantisedWithCTranslate2sFormulas() {
        let k = Self.edges.count, rows = 5
        let a = Self.edges + KernelTests.random(3 * k, seed: 31, scale: 0.7) + [Float](repeating: 0, count: k)
        for level in Self.levels {
            let w = Self.quantize(a, rows: rows, form: Int32(DS_I8_WEIGHTS), level: level)
            let signed = Self.quantize(a, rows: rows, form: Int32(DS_I8_SIGNED), level: level)
            let unsigned = Self.quantize(a, rows: rows, form: Int32(DS_I8_UNSIGNED), level: level)
            for r in 0..<rows {
                let largest = a[(r * k)..<((r + 1) * k)].map { abs($0) }.max()!
                let s: Float = largest > 0 ? 127 / largest : 1
                #expect(w.scales[r] == s && signed.scales[r] == s && unsigned.scales[r] == s, "\(level) row \(r)")
                for i in r * k..<(r + 1) * k {
                    let scaled = a[i] * s
                    let shifted = Int((scaled + 128).rounded(.toNearestOrEven))
                    #expect(Int(w.q[i]) == Int(scaled.rounded(.toNearestOrEven)), "\(level) weight \(i)")
                    #expect(Int(signed.q[i]) == shifted - 128, "\(level) activation \(i)")
                    #expect(Int(UInt8(bitPattern: unsigned.q[i])) == shifted, "\(level) unsigned \(i)")
                }
            }
            // Halves go to even; 0.50000006 is 1 as a weight but 0 as an activation.
            #expect(Array(w.q[1...12]) == [0, 0, 2, -2, 2, -2, 126, -126, 0, 0, 1, -1], "\(level)")
            #expect(Array(signed.q[1...12]) == [0, 0, 2, -2, 2, -2, 126, -126, 0, 0, 0, 0], "\(level)")
            #expect(w.q[0] == 127 && w.q[19] == -127 && signed.q[19] == -127, "\(level)")
        }
    }

    /// (rows, outputs, k): ragged on every side; a beam-5 step split by weight blocks over
    /// two threads; rows split over two threads.
    @Test(arguments: [(7, 45, 70), (5, 1000, 384), (33, 70, 1282)])
    func outputsAreDequantisedInCTranslate2sOrderAtEveryLevel(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let x = KernelTests.random(m * k, seed: 32), w = KernelTests.random(n * k, seed: 33, scale: 0.1)
        let bias = KernelTests.random(n, seed: 34)
        let q = Int8RowMatrix(Matrix(rows: n, cols: k, storage: w))
        let a = Self.quantize(x, rows: m, form: Int32(DS_I8_SIGNED), level: .portable)
        // acc · (1/s_a) / s_w + b, each step rounded to float (dequantize_gemm_output).
        var expected = [Float](repeating: 0, count: m * n)
        for r in 0..<m {
            for o in 0..<n {
                var acc: Int32 = 0
                for i in 0..<k { acc += Int32(a.q[r * k + i]) * Int32(q.values[o * k + i]) }
                let scaled = Float(acc) * (1 / a.scales[r])
                expected[r * n + o] = scaled / q.scales[o] + bias[o]
            }
        }
        for level in Self.levels {
            let y = PackedMatrix(int8: q, level: level).apply(Matrix(rows: m, cols: k, storage: x), bias: bias, threads: 2)
            #expect(y.storage == expected, "\(level) \(shape)")
        }
    }
}
