import CBLAS
import Dispatch
import Foundation
import Whisper
import WhisperKernels

/// Silero VAD v6 run over a stream of 16 kHz samples, one speech probability per
/// 512-sample window, exactly as faster-whisper's `SileroVADModel` feeds the model.
///
/// Exists so the VAD pass can stream a file of any length in flat memory: samples go
/// in as they are decoded, probabilities come out per complete window, and the LSTM's
/// state and the 64 samples of context carry over. faster-whisper's quirks are kept:
/// the audio is padded with zeros to a whole number of windows plus one whenever its
/// length is already a multiple of 512 (so there are always ⌊n/512⌋ + 1 windows), the
/// first window's context is zeros, and the last window's final 64 samples are zeroed
/// (its context slice is cleared in place before being rolled).
public struct VoiceActivityDetector: Sendable {
    public static let windowSamples = 512
    public static let contextSamples = 64
    /// Windows run through the encoder together (bounded so memory stays flat): samples are
    /// held until this many windows are complete, so the products are large enough to pay
    /// (the decoder hands out a second, 31 windows, at a time).
    static let batchWindows = 1024
    /// The engine's AVX2 + FMA kernels for the LSTM cell, when the CPU (and `DROPSCRIBE_CPU`) allow.
    static let vectorKernels = ((try? KernelLevel.fromEnvironment()) ?? .detected) >= .avx2

    private let weights: SileroWeights
    private var h = [Float](repeating: 0, count: SileroWeights.hidden)
    private var c = [Float](repeating: 0, count: SileroWeights.hidden)
    private var context = [Float](repeating: 0, count: contextSamples)
    private var pending: [Float] = []
    private var finished = false

    /// The recurrent weights transposed (128 × 512), for the AVX2 product (empty without it).
    private let recurrentTransposed: [Float]
    /// The encoder's input rows and the LSTM's gates of one batch, kept from batch to batch.
    private var input: [Float] = [], gates: [Float] = []

    public init(weights: SileroWeights) {
        self.weights = weights
        let hd = SileroWeights.hidden, g4 = 4 * hd
        recurrentTransposed = Self.vectorKernels
            ? (0..<(g4 * hd)).map { weights.lstmRecurrent[($0 % g4) * hd + $0 / g4] } : []
    }

    /// The probabilities of the windows that are ready: every complete window once
    /// `batchWindows` are complete, none before (`finish` returns the rest).
    public mutating func append(_ samples: [Float]) -> [Float] {
        precondition(!finished, "append after finish")
        pending += samples
        let complete = pending.count / Self.windowSamples
        guard complete >= Self.batchWindows else { return [] }
        return flush(complete)
    }

    /// Runs the `complete` whole windows of `pending` and drops their samples.
    private mutating func flush(_ complete: Int) -> [Float] {
        guard complete > 0 else { return [] }
        var out: [Float] = []
        out.reserveCapacity(complete)
        var start = 0
        while start < complete {
            let count = min(Self.batchWindows, complete - start)
            out += run(windowsFrom: start * Self.windowSamples, count: count, last: false)
            start += count
        }
        pending.removeFirst(complete * Self.windowSamples)
        return out
    }

    /// The probabilities of the windows still held, then of the last window: the 0...511
    /// samples left, padded with zeros.
    public mutating func finish() -> [Float] {
        precondition(!finished, "finish twice")
        var out = flush(pending.count / Self.windowSamples)
        finished = true
        pending += [Float](repeating: 0, count: Self.windowSamples - pending.count)
        out += run(windowsFrom: 0, count: 1, last: true)
        return out
    }

    /// Every window's probability for a whole signal (the function faster-whisper calls).
    public static func probabilities(_ samples: [Float], weights: SileroWeights) -> [Float] {
        var d = VoiceActivityDetector(weights: weights)
        return d.append(samples) + d.finish()
    }

    private mutating func run(windowsFrom offset: Int, count n: Int, last: Bool) -> [Float] {
        let w = Self.windowSamples, ctx = Self.contextSamples, width = SileroEncoder.windowInput, g4 = 4 * SileroWeights.hidden
        // The batch buffers, taken from the detector and put back (every row is written before it is read).
        var input: [Float] = [], gates: [Float] = []
        swap(&input, &self.input)
        swap(&gates, &self.gates)
        if input.count < n * width { input = [Float](repeating: 0, count: max(n, Self.batchWindows) * width) }
        if gates.count < n * g4 { gates = [Float](repeating: 0, count: max(n, Self.batchWindows) * g4) }
        defer {
            self.input = input
            self.gates = gates
        }
        for i in 0..<n {
            let window = offset + i * w
            let row = i * width
            for j in 0..<ctx { input[row + j] = context[j] }
            for j in 0..<w { input[row + ctx + j] = pending[window + j] }
            for j in 0..<ctx { context[j] = pending[window + w - ctx + j] }
        }
        if last { for j in (width - ctx)..<width { input[j] = 0 } }
        // OpenBLAS pinned to one thread, as the engine runs it: its thread pool's spinning
        // costs more than it gains on these small products. The windows are independent up to
        // the LSTM's input projection, so that part is split over the engine's threads.
        return BLAS.run {
            let parts = n >= 128 ? max(1, min(BLAS.threads, n / 64)) : 1
            input.withUnsafeBufferPointer { ip in
                gates.withUnsafeMutableBufferPointer { gp in
                    let (source, target, weights) = (Shared(ip.baseAddress!), Shared(gp.baseAddress!), weights)
                    let per = (n + parts - 1) / parts
                    DispatchQueue.concurrentPerform(iterations: parts) { p in
                        let lo = p * per, count = min(n, lo + per) - lo
                        guard count > 0 else { return }
                        Self.inputGates(source.pointer + lo * width, windows: count, weights: weights,
                                        into: target.pointer + lo * g4)
                    }
                }
            }
            return recur(&gates, windows: n)
        }
    }

    /// Windows whose intermediate results (frames, spectrum, convolution columns: about 1 MB)
    /// stay in L2 while the encoder's stages pass over them.
    static let blockWindows = 64

    /// The encoder's features of `n` windows through the LSTM's input projection, plus its
    /// biases, `blockWindows` windows at a time.
    private static func inputGates(_ input: UnsafePointer<Float>, windows n: Int, weights: SileroWeights,
                                   into gates: UnsafeMutablePointer<Float>) {
        let hd = SileroWeights.hidden, g4 = 4 * hd, width = SileroEncoder.windowInput
        let encoder = SileroEncoder(weights: weights)
        let scratch = SileroEncoder.Scratch(windows: min(blockWindows, n), fft: weights.window != nil)
        var features = [Float](repeating: 0, count: min(blockWindows, n) * hd)
        features.withUnsafeMutableBufferPointer { fp in
            weights.lstmBias.withUnsafeBufferPointer { bias in
                for lo in stride(from: 0, to: n, by: blockWindows) {
                    let count = min(blockWindows, n - lo), block = gates + lo * g4
                    encoder.features(input + lo * width, windows: count, scratch: scratch, into: fp.baseAddress!)
                    for r in 0..<count { (block + r * g4).update(from: bias.baseAddress!, count: g4) }
                    gemm(fp.baseAddress!, rows: count, k: hd, weight: weights.lstmInput, outputs: g4, into: block, accumulate: true)
                }
            }
        }
    }

    /// The LSTM over the windows in order (its input gates already computed), then ReLU, the
    /// 1×1 convolution and the sigmoid.
    private mutating func recur(_ gates: inout [Float], windows n: Int) -> [Float] {
        let hd = SileroWeights.hidden, g4 = 4 * hd
        var out = [Float](repeating: 0, count: n)
        for r in 0..<n {
            gates.withUnsafeMutableBufferPointer { gp in
                weights.lstmRecurrent.withUnsafeBufferPointer { rp in
                    if Self.vectorKernels {
                        recurrentTransposed.withUnsafeBufferPointer { wt in
                            VectorKernelsAVX2.matvecTransposed(wt: wt.baseAddress!, x: h, k: hd, n: g4, y: gp.baseAddress! + r * g4)
                        }
                    } else {
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(g4), Int32(hd), 1, rp.baseAddress!, Int32(hd),
                                    h, 1, 1, gp.baseAddress! + r * g4, 1)
                    }
                }
            }
            if Self.vectorKernels {
                let sum = gates.withUnsafeBufferPointer { gp in
                    weights.head.withUnsafeBufferPointer { head in
                        VectorKernelsAVX2.lstmCell(gates: gp.baseAddress! + r * g4, c: &c, h: &h, head: head.baseAddress!, hidden: hd)
                    }
                }
                out[r] = sigmoid(weights.headBias + sum)
                continue
            }
            var logit = weights.headBias
            for j in 0..<hd {
                let g = r * g4
                let i = sigmoid(gates[g + j]), o = sigmoid(gates[g + hd + j])
                let f = sigmoid(gates[g + 2 * hd + j]), cell = tanhf(gates[g + 3 * hd + j])
                c[j] = f * c[j] + i * cell
                h[j] = o * tanhf(c[j])
                logit += max(h[j], 0) * weights.head[j]
            }
            out[r] = sigmoid(logit)
        }
        return out
    }
}

/// A pointer handed to the threads of one split (each writes its own rows; the buffer outlives them).
private struct Shared<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
    init(_ p: UnsafePointer<T>) { pointer = UnsafeMutablePointer(mutating: p) }
}

@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
