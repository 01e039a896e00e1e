import CBLAS
import Foundation
import WhisperKernels

/// The state of Silero's LSTM (h and c) and its recurrence over windows whose input gates
/// are already computed, then the ReLU, the 1×1 head and the sigmoid.
///
/// Exists as a reference the detector lends for one batch to the one thread that runs the
/// recurrence while the others encode (it is touched by no other thread: hence unchecked).
final class LSTMState: @unchecked Sendable {
    private let weights: SileroWeights
    /// The recurrent weights transposed (128 × 512) for the vector kernel, empty without it.
    private let recurrentTransposed: [Float]
    private(set) var h: [Float], c: [Float]

    init(weights: SileroWeights, recurrentTransposed: [Float], h: [Float], c: [Float]) {
        (self.weights, self.recurrentTransposed, self.h, self.c) = (weights, recurrentTransposed, h, c)
    }

    /// The `n` windows' probabilities into `out`, in order, from their input gates (`n` × 512
    /// at `gates`, to which the recurrent product is added in place).
    func recur(_ gates: UnsafeMutablePointer<Float>, windows n: Int, into out: UnsafeMutablePointer<Float>) {
        let hd = SileroWeights.hidden, g4 = 4 * hd
        if VoiceActivityDetector.vectorKernels {
            recurrentTransposed.withUnsafeBufferPointer { wt in
                weights.head.withUnsafeBufferPointer { head in
                    h.withUnsafeMutableBufferPointer { hp in
                        c.withUnsafeMutableBufferPointer { cp in
                            for r in 0..<n {
                                let g = gates + r * g4
                                VectorKernelsAVX2.matvecTransposed(wt: wt.baseAddress!, x: hp.baseAddress!, k: hd, n: g4, y: g)
                                let sum = VectorKernelsAVX2.lstmCell(gates: g, c: cp.baseAddress!, h: hp.baseAddress!,
                                                                     head: head.baseAddress!, hidden: hd)
                                out[r] = sigmoid(weights.headBias + sum)
                            }
                        }
                    }
                }
            }
            return
        }
        for r in 0..<n {
            let g = gates + r * g4
            weights.lstmRecurrent.withUnsafeBufferPointer { rp in
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(g4), Int32(hd), 1, rp.baseAddress!, Int32(hd), h, 1, 1, g, 1)
            }
            var logit = weights.headBias
            for j in 0..<hd {
                let i = sigmoid(g[j]), o = sigmoid(g[hd + j])
                let f = sigmoid(g[2 * hd + j]), cell = tanhf(g[3 * hd + j])
                c[j] = f * c[j] + i * cell
                h[j] = o * tanhf(c[j])
                logit += max(h[j], 0) * weights.head[j]
            }
            out[r] = sigmoid(logit)
        }
    }
}

@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
