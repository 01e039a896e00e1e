import Foundation

/// The audio encoder's output for one window: (1500 × D) rows, final LN applied.
///
/// Exists as a distinct type so the decoder's cross-attention K/V can be
/// derived from it exactly once.
public struct EncoderOutput: Sendable {
    public var states: Matrix
}

extension WhisperModel {
    /// Runs the encoder on one window of features (≤ 3000 frames; padded with 0.0 to 3000).
    public func encode(_ window: MelWindow) -> EncoderOutput {
        BLAS.run { encodeLocked(window) }
    }

    private func encodeLocked(_ window: MelWindow) -> EncoderOutput {
        let dims = dimensions
        let nMels = dims.nMels, d = dims.dModel
        let frames = 2 * dims.audioContext  // 3000
        precondition(window.nMels == nMels, "window has \(window.nMels) mels, model needs \(nMels)")
        let used = min(window.frameCount, frames)
        // im2col for conv1: row t, col i*3+k = in[i, t+k−1]
        var col1 = [Float](repeating: 0, count: frames * nMels * 3)
        window.features.storage.withUnsafeBufferPointer { f in
            col1.withUnsafeMutableBufferPointer { c in
                let fc = window.frameCount
                for i in 0..<nMels {
                    for t in 0..<frames {
                        for k in 0..<3 {
                            let src = t + k - 1
                            if src >= 0 && src < used { c[t * nMels * 3 + i * 3 + k] = f[i * fc + src] }
                        }
                    }
                }
            }
        }
        var h1 = linear(Matrix(rows: frames, cols: nMels * 3, storage: col1), encoder.conv1.w, encoder.conv1.b)
        geluInPlace(&h1.storage)
        let ctx = dims.audioContext
        var col2 = [Float](repeating: 0, count: ctx * d * 3)
        h1.storage.withUnsafeBufferPointer { hp in
            col2.withUnsafeMutableBufferPointer { c in
                for t in 0..<ctx {
                    for k in 0..<3 {
                        let src = 2 * t + k - 1
                        if src < 0 || src >= frames { continue }
                        for i in 0..<d { c[t * d * 3 + i * 3 + k] = hp[src * d + i] }
                    }
                }
            }
        }
        var x = linear(Matrix(rows: ctx, cols: d * 3, storage: col2), encoder.conv2.w, encoder.conv2.b)
        geluInPlace(&x.storage)
        addInPlace(&x.storage, encoder.positions.storage)
        let heads = dims.encoderHeads, dh = d / heads
        for layer in encoder.layers {
            let n1 = layerNorm(x, gamma: layer.attn.norm.gamma, beta: layer.attn.norm.beta)
            let qkv = linear(n1, layer.attn.qkv)
            var att = [Float](repeating: 0, count: ctx * d)
            qkv.storage.withUnsafeBufferPointer { p in
                att.withUnsafeMutableBufferPointer { o in
                    let base = p.baseAddress!
                    AttentionKernel.attend(q: base, ldq: 3 * d, qRows: ctx, k: base + d, v: base + 2 * d, ldkv: 3 * d,
                                           kvRows: ctx, heads: heads, headDim: dh, causalOffset: nil, level: kernelLevel,
                                           out: o.baseAddress!, ldo: d)
                }
            }
            let proj = linear(Matrix(rows: ctx, cols: d, storage: att), layer.attn.out)
            addInPlace(&x.storage, proj.storage)
            x = x.plus(ffn(layer.ffn, x))
        }
        return EncoderOutput(states: layerNorm(x, gamma: encoder.norm.gamma, beta: encoder.norm.beta))
    }

    func ffn(_ w: FFNWeights, _ x: Matrix) -> Matrix {
        let n = layerNorm(x, gamma: w.norm.gamma, beta: w.norm.beta)
        var up = linear(n, w.up)
        geluInPlace(&up.storage)
        return linear(up, w.down)
    }
}

extension Matrix {
    func plus(_ o: Matrix) -> Matrix {
        var s = storage
        addInPlace(&s, o.storage)
        return Matrix(rows: rows, cols: cols, storage: s)
    }
}
