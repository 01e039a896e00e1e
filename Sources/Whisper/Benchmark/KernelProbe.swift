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
        /// The encoder's process CPU time per window (all threads; median).
        public var encoderCPUSeconds: Double
        /// One window's encoder self-attention (every layer, Q·Kᵀ, softmax and P·V) at the
        /// model's kernel level and on the portable level's sgemm path, the two timed
        /// alternately: process CPU seconds (medians) and GFLOP per CPU second, so that
        /// other load on the machine does not count.
        public var attentionCPUSeconds: Double
        public var attentionGFLOPS: Double
        public var attentionSgemmCPUSeconds: Double
        public var attentionSgemmGFLOPS: Double
        /// One decoding step's cross-attention (5 hypotheses, every decoder layer), CPU
        /// milliseconds: over the projection's rows (the layout before the per-head cache)
        /// and over the `CrossAttentionCache` layout, timed alternately.
        public var crossStepRowsCPUMilliseconds: Double
        public var crossStepCacheCPUMilliseconds: Double
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
                best = min(best, wallSeconds { _ = packed.apply(x, bias: nil, threads: BLAS.threads) })
            }
            ops += 2 * Double(m * n * k)
            seconds += best
        }
        return ops / seconds / 1e9
    }

    /// The middle of `times` after dropping the first (a warm-up run): the lower median
    /// when the count left is even.
    static func medianAfterWarmUp(_ times: [Double]) -> Double {
        let kept = times.dropFirst().sorted()
        return kept.isEmpty ? .nan : kept[(kept.count - 1) / 2]
    }

    /// Wall seconds `body` takes.
    static func wallSeconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// The process's CPU time (every thread), in seconds: what the benchmarks report beside
    /// wall time, so that other load on a shared machine does not count.
    public static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// One window's encoder attention (all layers) on random Q, K and V laid out as the
    /// encoder's fused projection leaves them, at each of `levels` in turn, `repeats`
    /// rounds: the median CPU seconds per level.
    static func attentionCPUSeconds(_ d: ModelDimensions, levels: [KernelLevel], repeats: Int) -> [Double] {
        let ctx = d.audioContext, dm = d.dModel, heads = d.encoderHeads
        var rng = SystemRandomNumberGenerator()
        let qkv = (0..<(ctx * 3 * dm)).map { _ in Float.random(in: -1...1, using: &rng) }
        var out = [Float](repeating: 0, count: ctx * dm)
        var times = [[Double]](repeating: [], count: levels.count)
        BLAS.run {
            qkv.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    for _ in 0..<(repeats + 1) {
                        for (i, level) in levels.enumerated() {
                            let t0 = cpuSeconds()
                            for _ in 0..<d.encoderLayers {
                                AttentionKernel.attend(q: p.baseAddress!, ldq: 3 * dm, qRows: ctx, k: p.baseAddress! + dm,
                                                       v: p.baseAddress! + 2 * dm, ldkv: 3 * dm, kvRows: ctx, heads: heads,
                                                       headDim: dm / heads, causalOffset: nil, level: level,
                                                       out: o.baseAddress!, ldo: dm)
                            }
                            times[i].append(cpuSeconds() - t0)
                        }
                    }
                }
            }
        }
        return times.map(medianAfterWarmUp)
    }

    /// Median CPU seconds of 20 decoding steps' cross-attention for 5 hypotheses over all
    /// decoder layers: (projection rows through `attend`, the cache through `attendCross`).
    static func crossStepCPUSeconds(_ d: ModelDimensions, level: KernelLevel, repeats: Int) -> (rows: Double, cache: Double) {
        let frames = d.audioContext, dm = d.dModel, heads = d.decoderHeads, hyps = 5, steps = 20
        var rng = SystemRandomNumberGenerator()
        let layout = CrossAttentionCache.Layout(frames: frames, heads: heads, headDim: dm / heads)
        let projections = (0..<d.decoderLayers).map { _ in
            Matrix(rows: frames, cols: 2 * dm, storage: (0..<(frames * 2 * dm)).map { _ in Float.random(in: -1...1, using: &rng) })
        }
        let arranged = projections.map { layout.arrange($0) }
        let q = (0..<(hyps * dm)).map { _ in Float.random(in: -1...1, using: &rng) }
        var out = [Float](repeating: 0, count: hyps * dm)
        var rows: [Double] = [], cache: [Double] = []
        BLAS.run {
            for _ in 0..<(repeats + 1) {
                var t0 = cpuSeconds()
                for _ in 0..<steps {
                    for m in projections {
                        m.storage.withUnsafeBufferPointer { kv in
                            AttentionKernel.attend(q: q, ldq: dm, qRows: hyps, k: kv.baseAddress!, v: kv.baseAddress! + dm,
                                                   ldkv: 2 * dm, kvRows: frames, heads: heads, headDim: dm / heads,
                                                   causalOffset: nil, level: level, out: &out, ldo: dm)
                        }
                    }
                }
                rows.append(cpuSeconds() - t0)
                t0 = cpuSeconds()
                for _ in 0..<steps {
                    for a in arranged {
                        a.withUnsafeBufferPointer { c in
                            AttentionKernel.attendCross(q: q, ldq: dm, qRows: hyps, cache: c.baseAddress!, layout: layout,
                                                        level: level, out: &out, ldo: dm)
                        }
                    }
                }
                cache.append(cpuSeconds() - t0)
            }
        }
        return (medianAfterWarmUp(rows) / Double(steps), medianAfterWarmUp(cache) / Double(steps))
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
                    times.append(Self.wallSeconds {
                        a.withUnsafeBufferPointer { ap in
                            b.withUnsafeBufferPointer { bp in
                                c.withUnsafeMutableBufferPointer { cp in
                                    sgemm(false, true, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k,
                                          c: cp.baseAddress!, ldc: n)
                                }
                            }
                        }
                    })
                }
            }
            let rate = 2 * Double(m) * Double(n) * Double(k) / times.dropFirst().min()! / 1e9
            if rate > best { best = rate; bestShape = "\(m)×\(n)×\(k)" }
        }
        var rng = SystemRandomNumberGenerator()
        let features = Matrix(rows: d.nMels, cols: 2 * d.audioContext,
                              storage: (0..<(d.nMels * 2 * d.audioContext)).map { _ in Float.random(in: -1...1, using: &rng) })
        let window = MelWindow(startFrame: 0, features: features)
        var times: [Double] = [], cpu: [Double] = []
        for _ in 0..<(repeats + 1) {
            let c0 = Self.cpuSeconds()
            times.append(Self.wallSeconds { _ = model.encode(window) })
            cpu.append(Self.cpuSeconds() - c0)
        }
        let median = Self.medianAfterWarmUp(times), encoderCPU = Self.medianAfterWarmUp(cpu)
        let flops = Self.encoderFLOPs(d)
        let level = model.kernelLevel
        let int8 = Self.layerRate(d, level: level, int8: true, repeats: repeats)
        let bf16 = level >= .avx512BF16 ? Self.layerRate(d, level: level, int8: false, repeats: repeats) : 0
        let attentionTimes = Self.attentionCPUSeconds(d, levels: [level, .portable], repeats: repeats)
        let (attention, attentionSgemm) = (attentionTimes[0], attentionTimes[1])
        let cross = Self.crossStepCPUSeconds(d, level: level, repeats: repeats)
        let attentionFLOP = Double(d.encoderLayers) * 2 * 2 * Double(d.audioContext * d.audioContext * d.dModel)
        let peak = model.computeType == .int8 ? int8 : model.computeType == .bfloat16 ? bf16 : best
        return Report(threads: threads, computeType: model.computeType.rawValue, kernelLevel: "\(level)",
                      int8LayerGOPS: int8, bf16LayerGFLOPS: bf16, kernelPeak: peak,
                      sgemmPeakGFLOPS: best, sgemmShape: bestShape, encoderSeconds: median,
                      encoderGFLOP: flops / 1e9, encoderGFLOPS: flops / median / 1e9,
                      percentOfPeak: 100 * flops / median / 1e9 / peak,
                      encoderCPUSeconds: encoderCPU,
                      attentionCPUSeconds: attention, attentionGFLOPS: attentionFLOP / attention / 1e9,
                      attentionSgemmCPUSeconds: attentionSgemm, attentionSgemmGFLOPS: attentionFLOP / attentionSgemm / 1e9,
                      crossStepRowsCPUMilliseconds: 1000 * cross.rows, crossStepCacheCPUMilliseconds: 1000 * cross.cache)
    }
}
