import CBLAS
import Foundation

/// How well the encoder uses the machine: its achieved GFLOP/s against
/// OpenBLAS sgemm's best on the same machine, in the same process.
///
/// Exists for the benchmark (`dropscribe bench-kernels`, run by `make bench`):
/// the encoder is GEMM-bound, so the fraction of sgemm's peak it reaches says
/// how much is left to gain in it.
public struct KernelProbe: Sendable {
    /// Results in GFLOP/s and seconds.
    public struct Report: Sendable, Codable {
        public var threads: Int
        public var sgemmPeakGFLOPS: Double
        public var sgemmShape: String
        public var encoderSeconds: Double
        public var encoderGFLOP: Double
        public var encoderGFLOPS: Double
        public var percentOfPeak: Double
    }

    public init() {}

    /// Multiply-adds ×2 of one 30-second window through the encoder (convolutions,
    /// projections, attention scores and mixing, feed-forward).
    public static func encoderFLOPs(_ d: ModelDimensions) -> Double {
        let frames = Double(2 * d.audioContext), ctx = Double(d.audioContext), dm = Double(d.dModel)
        let conv = 2 * frames * Double(d.nMels) * 3 * dm + 2 * ctx * dm * 3 * dm
        let perLayer = 2 * ctx * dm * 3 * dm            // q, k, v
            + 2 * 2 * ctx * ctx * dm                     // Q·Kᵀ and P·V over all heads
            + 2 * ctx * dm * dm                          // output projection
            + 2 * 2 * ctx * dm * Double(d.ffn)           // feed-forward, both layers
        return conv + Double(d.encoderLayers) * perLayer
    }

    /// Best sgemm rate over a few shapes (the encoder's own and a large square),
    /// then the encoder's median time over `repeats` windows of noise.
    public func run(model: WhisperModel, repeats: Int = 5) -> Report {
        let threads = BLAS.threads
        var best = 0.0, bestShape = ""
        let d = model.dimensions
        for (m, n, k) in [(d.audioContext, d.ffn, d.dModel), (d.audioContext, 3 * d.dModel, d.dModel), (2048, 2048, 2048)] {
            let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
            var c = [Float](repeating: 0, count: m * n)
            var times: [Double] = []
            BLAS.run(openBLASThreads: threads) {
                for _ in 0..<(repeats + 1) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            c.withUnsafeMutableBufferPointer { cp in
                                sgemm(false, true, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k,
                                      c: cp.baseAddress!, ldc: n)
                            }
                        }
                    }
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
            }
            let rate = 2 * Double(m) * Double(n) * Double(k) / times.dropFirst().min()! / 1e9
            if rate > best { best = rate; bestShape = "\(m)×\(n)×\(k)" }
        }
        var rng = SystemRandomNumberGenerator()
        let features = Matrix(rows: d.nMels, cols: 2 * d.audioContext,
                              storage: (0..<(d.nMels * 2 * d.audioContext)).map { _ in Float.random(in: -1...1, using: &rng) })
        let window = MelWindow(startFrame: 0, features: features)
        _ = model.encode(window)
        var times: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = model.encode(window)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let flops = Self.encoderFLOPs(d)
        return Report(threads: threads, sgemmPeakGFLOPS: best, sgemmShape: bestShape, encoderSeconds: median,
                      encoderGFLOP: flops / 1e9, encoderGFLOPS: flops / median / 1e9,
                      percentOfPeak: 100 * flops / median / 1e9 / best)
    }
}
