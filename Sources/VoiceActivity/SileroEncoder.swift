import CBLAS

/// The stateless half of Silero VAD v6: 576 samples (64 of context + a 512-sample
/// window) in, 128 features out, computed for a batch of windows at once.
///
/// Exists so the per-window work is a handful of matrix products over the whole batch
/// (OpenBLAS), leaving only the LSTM's recurrence to go window by window. The graph:
/// reflect padding by 128 on each side, an STFT as a strided convolution (256 taps,
/// hop 128, its first frame dropped), the magnitude, then four kernel-3 convolutions
/// with ReLU, whose lengths go 4 → 4 → 2 → 1 → 1.
struct SileroEncoder {
    static let windowInput = 576
    let weights: SileroWeights

    /// Features (n × 128) of `n` windows stored one after another in `input` (n × 576).
    func features(_ input: UnsafeBufferPointer<Float>, windows n: Int) -> [Float] {
        // Frames 1...4 of the padded window (frame 0 is dropped by the graph): frames 1-3
        // are plain slices; frame 4 ends with the right-hand reflection of the last 64 samples.
        var frames = [Float](repeating: 0, count: n * 4 * 256)
        frames.withUnsafeMutableBufferPointer { f in
            for w in 0..<n {
                let x = input.baseAddress! + w * Self.windowInput
                let out = f.baseAddress! + w * 4 * 256
                for t in 0..<3 { (out + t * 256).update(from: x + t * 128, count: 256) }
                (out + 3 * 256).update(from: x + 384, count: 192)
                for k in 0..<64 { out[3 * 256 + 192 + k] = x[574 - k] }
            }
        }
        var spectrum = [Float](repeating: 0, count: n * 4 * 258)
        gemm(frames, rows: n * 4, k: 256, weight: weights.basis, outputs: 258, into: &spectrum)
        var magnitude = [Float](repeating: 0, count: n * 4 * 129)
        for r in 0..<(n * 4) {
            for c in 0..<129 {
                let re = spectrum[r * 258 + c], im = spectrum[r * 258 + 129 + c]
                magnitude[r * 129 + c] = (re * re + im * im).squareRoot()
            }
        }
        var x = magnitude, length = 4
        for conv in weights.convs {
            (x, length) = convolve(x, windows: n, length: length, conv)
        }
        return x
    }

    /// A kernel-3, padding-1 convolution with ReLU over (n × length × inputs) rows.
    private func convolve(_ x: [Float], windows n: Int, length: Int, _ conv: SileroWeights.Conv) -> ([Float], Int) {
        let outLength = (length - 1) / conv.stride + 1
        let width = 3 * conv.inputs
        var columns = [Float](repeating: 0, count: n * outLength * width)
        x.withUnsafeBufferPointer { xp in
            columns.withUnsafeMutableBufferPointer { cp in
                for w in 0..<n {
                    for t in 0..<outLength {
                        let row = cp.baseAddress! + (w * outLength + t) * width
                        for k in 0..<3 {
                            let s = t * conv.stride + k - 1
                            guard s >= 0 && s < length else { continue }
                            (row + k * conv.inputs).update(from: xp.baseAddress! + (w * length + s) * conv.inputs, count: conv.inputs)
                        }
                    }
                }
            }
        }
        var y = [Float](repeating: 0, count: n * outLength * conv.outputs)
        for r in 0..<(n * outLength) {
            for o in 0..<conv.outputs { y[r * conv.outputs + o] = conv.bias[o] }
        }
        gemm(columns, rows: n * outLength, k: width, weight: conv.weight, outputs: conv.outputs, into: &y, accumulate: true)
        for i in y.indices where y[i] < 0 { y[i] = 0 }
        return (y, outLength)
    }
}

/// y (rows × outputs) (+)= x (rows × k) · weightᵀ, weight being (outputs × k).
func gemm(_ x: [Float], rows: Int, k: Int, weight: [Float], outputs: Int, into y: inout [Float], accumulate: Bool = false) {
    guard rows > 0 else { return }
    x.withUnsafeBufferPointer { xp in
        weight.withUnsafeBufferPointer { wp in
            y.withUnsafeMutableBufferPointer { yp in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(k), 1,
                            xp.baseAddress!, Int32(k), wp.baseAddress!, Int32(k), accumulate ? 1 : 0, yp.baseAddress!, Int32(outputs))
            }
        }
    }
}
