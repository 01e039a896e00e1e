import CBLAS
import Foundation
import Whisper

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
    /// Windows run through the encoder together (bounded so memory stays flat).
    static let batchWindows = 1024

    private let weights: SileroWeights
    private var h = [Float](repeating: 0, count: SileroWeights.hidden)
    private var c = [Float](repeating: 0, count: SileroWeights.hidden)
    private var context = [Float](repeating: 0, count: contextSamples)
    private var pending: [Float] = []
    private var finished = false

    public init(weights: SileroWeights) {
        self.weights = weights
    }

    /// The probabilities of all the complete windows `samples` completes.
    public mutating func append(_ samples: [Float]) -> [Float] {
        precondition(!finished, "append after finish")
        pending += samples
        let complete = pending.count / Self.windowSamples
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

    /// The last window's probability: the 0...511 samples left, padded with zeros.
    public mutating func finish() -> Float {
        precondition(!finished, "finish twice")
        finished = true
        pending += [Float](repeating: 0, count: Self.windowSamples - pending.count)
        return run(windowsFrom: 0, count: 1, last: true)[0]
    }

    /// Every window's probability for a whole signal (the function faster-whisper calls).
    public static func probabilities(_ samples: [Float], weights: SileroWeights) -> [Float] {
        var d = VoiceActivityDetector(weights: weights)
        var p = d.append(samples)
        p.append(d.finish())
        return p
    }

    private mutating func run(windowsFrom offset: Int, count n: Int, last: Bool) -> [Float] {
        let w = Self.windowSamples, ctx = Self.contextSamples, width = SileroEncoder.windowInput
        var input = [Float](repeating: 0, count: n * width)
        for i in 0..<n {
            let window = offset + i * w
            let row = i * width
            for j in 0..<ctx { input[row + j] = context[j] }
            for j in 0..<w { input[row + ctx + j] = pending[window + j] }
            for j in 0..<ctx { context[j] = pending[window + w - ctx + j] }
        }
        if last { for j in (width - ctx)..<width { input[j] = 0 } }
        // OpenBLAS pinned to one thread, as the engine runs it: its thread pool's spinning
        // costs more than it gains on these small products.
        return BLAS.run {
            let features = input.withUnsafeBufferPointer { SileroEncoder(weights: weights).features($0, windows: n) }
            return recur(features, windows: n)
        }
    }

    /// The LSTM over the windows in order, then ReLU, the 1×1 convolution and the sigmoid.
    private mutating func recur(_ features: [Float], windows n: Int) -> [Float] {
        let hd = SileroWeights.hidden, g4 = 4 * hd
        var gates = [Float](repeating: 0, count: n * g4)
        for r in 0..<n { for j in 0..<g4 { gates[r * g4 + j] = weights.lstmBias[j] } }
        gemm(features, rows: n, k: hd, weight: weights.lstmInput, outputs: g4, into: &gates, accumulate: true)
        var out = [Float](repeating: 0, count: n)
        for r in 0..<n {
            gates.withUnsafeMutableBufferPointer { gp in
                weights.lstmRecurrent.withUnsafeBufferPointer { rp in
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(g4), Int32(hd), 1, rp.baseAddress!, Int32(hd),
                                h, 1, 1, gp.baseAddress! + r * g4, 1)
                }
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

@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
