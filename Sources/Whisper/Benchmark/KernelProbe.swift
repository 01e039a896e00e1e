import CBLAS
import Foundation

/// How well the encoder uses the machine: its achieved rate against the best of the
/// kernel its compute type runs on (OpenBLAS sgemm for float32, the CKernels int8 or
/// bfloat16 product), on the same machine, in the same process.
///
/// Exists for the benchmark (`dropscribe bench-kernels`, run by `make bench`):
/// the encoder is GEMM-bound, so the fraction of the kernel's peak it reaches says
/// how much is left to gain in it.
public struct KernelProbe: Sendable {
    /// Results in GFLOP/s (GOP/s for int8) and seconds.
    public struct Report: Sendable, Codable {
        public var threads: Int
        public var computeType: String
        public var kernelLevel: String
        /// The int8 and bfloat16 products on one encoder layer's shapes (0 when the level lacks bf16).
        public var int8LayerGOPS: Double
        public var bf16LayerGFLOPS: Double
        /// The peak the encoder is compared with: sgemm's, or the compute type's product's.
        public var kernelPeak: Double
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

    /// One encoder layer's four products (QKV, output, FFN up and down) over 1500 rows
    /// through the packed int8 or bfloat16 kernels: operations per second, best of `repeats`.
    static func layerRate(_ d: ModelDimensions, level: KernelLevel, int8: Bool, repeats: Int) -> Double {
        let m = d.audioContext, dm = d.dModel
        var rng = SystemRandomNumberGenerator()
        var ops = 0.0, seconds = 0.0
        for (n, k) in [(3 * dm, dm), (dm, dm), (d.ffn, dm), (dm, d.ffn)] {
            let w = Matrix(rows: n, cols: k, storage: (0..<(n * k)).map { _ in Float.random(in: -0.1...0.1, using: &rng) })
            let x = Matrix(rows: m, cols: k, storage: (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) })
            let packed = int8 ? PackedMatrix(int8: Int8RowMatrix(w), level: level) : PackedMatrix(bf16: w, level: level)
            var best = Double.infinity
            for _ in 0..<(repeats + 1) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = packed.apply(x, bias: nil, threads: BLAS.threads)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            ops += 2 * Double(m * n * k)
            seconds += best
        }
        return ops / seconds / 1e9
    }

    /// Best sgemm rate over a few shapes (the encoder's own and a large square), the
    /// int8 and bfloat16 products on one layer, then the encoder's median time over
    /// `repeats` windows of noise.
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
        let level = model.kernelLevel
        let int8 = Self.layerRate(d, level: level, int8: true, repeats: repeats)
        let bf16 = level >= .avx512BF16 ? Self.layerRate(d, level: level, int8: false, repeats: repeats) : 0
        let peak = model.computeType == .int8 ? int8 : model.computeType == .bfloat16 ? bf16 : best
        return Report(threads: threads, computeType: model.computeType.rawValue, kernelLevel: "\(level)",
                      int8LayerGOPS: int8, bf16LayerGFLOPS: bf16, kernelPeak: peak,
                      sgemmPeakGFLOPS: best, sgemmShape: bestShape, encoderSeconds: median,
                      encoderGFLOP: flops / 1e9, encoderGFLOPS: flops / median / 1e9,
                      percentOfPeak: 100 * flops / median / 1e9 / peak)
    }
}
