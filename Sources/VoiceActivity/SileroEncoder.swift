import CBLAS

/// The stateless half of Silero VAD v6: 576 samples (64 of context + a 512-sample
/// window) in, 128 features out, computed for a block of windows at once.
///
/// Exists so the per-window work is a handful of matrix products over the whole block
/// (OpenBLAS), leaving only the LSTM's recurrence to go window by window. The graph:
/// reflect padding by 128 on each side, an STFT as a strided convolution (256 taps,
/// hop 128, its first frame dropped), the magnitude, then four kernel-3 convolutions
/// with ReLU, whose lengths go 4 → 4 → 2 → 1 → 1. The STFT's basis is a windowed DFT in
/// Silero's file, so its magnitudes are taken by FFT of the windowed frames (a quarter of
/// the product's time); a basis of any other form is used as the product it is.
struct SileroEncoder {
    static let windowInput = 576
    /// Window w's input starts at `input + w · hop`: consecutive windows overlap by their 64
    /// samples of context, so the detector's sample buffer is the input as it stands.
    static let hop = 512
    let weights: SileroWeights

    /// The buffers `features` works in, for blocks of up to `windows` windows: allocated once
    /// and reused block after block (fresh arrays per block were mapped and unmapped by
    /// malloc, and their page faults took a tenth of the VAD's time).
    final class Scratch {
        let windows: Int
        /// Frames, then magnitudes and convolution outputs; `b`: the spectrum and outputs.
        var a: [Float], b: [Float]
        /// This scratch's own FFT (nil: the spectrum is taken by the product with the basis).
        let fft: RealFFT?

        /// `fft`: whether to make the FFT (for weights whose basis is a windowed DFT).
        init(windows: Int, fft: Bool) {
            self.windows = windows
            a = [Float](repeating: 0, count: windows * 4 * 258)
            b = a
            self.fft = fft ? RealFFT(length: 256) : nil
        }
    }

    /// Features (n × 128) of the `n` ≤ `scratch.windows` windows at `input` (each 576 samples,
    /// `hop` apart), written to `out`.
    func features(_ input: UnsafePointer<Float>, windows n: Int, scratch: Scratch, into out: UnsafeMutablePointer<Float>) {
        magnitudes(input, windows: n, scratch: scratch)
        scratch.a.withUnsafeMutableBufferPointer { ap in
            scratch.b.withUnsafeMutableBufferPointer { bp in
                var source = ap.baseAddress!, spare = bp.baseAddress!, length = 4
                for (index, conv) in weights.convs.enumerated() {
                    let target = index == weights.convs.count - 1 ? out : spare
                    length = convolve(source, windows: n, length: length, conv, into: target)
                    (source, spare) = (target, source)
                }
            }
        }
    }

    /// The STFT magnitudes (n·4 × 129: frames 1...4 of each window, frame 0 being dropped by
    /// the graph) into `scratch.a`: by FFT when the weights and the scratch allow, else by the product.
    func magnitudes(_ input: UnsafePointer<Float>, windows n: Int, scratch: Scratch) {
        precondition(n <= scratch.windows)
        if let window = weights.window, let fft = scratch.fft {
            window.withUnsafeBufferPointer { wp in
                scratch.a.withUnsafeMutableBufferPointer { ap in
                    for w in 0..<n {
                        for t in 0..<4 {
                            Self.frame(t, of: input + w * Self.hop, window: wp.baseAddress!, into: fft.input)
                            fft.transform()
                            let row = ap.baseAddress! + (w * 4 + t) * 129, spectrum = fft.output
                            for c in 0..<129 {
                                let re = spectrum[2 * c], im = spectrum[2 * c + 1]
                                row[c] = (re * re + im * im).squareRoot()
                            }
                        }
                    }
                }
            }
            return
        }
        scratch.a.withUnsafeMutableBufferPointer { ap in
            scratch.b.withUnsafeMutableBufferPointer { bp in
                let a = ap.baseAddress!, b = bp.baseAddress!
                for w in 0..<n {
                    for t in 0..<4 { Self.frame(t, of: input + w * Self.hop, window: nil, into: a + (w * 4 + t) * 256) }
                }
                gemm(a, rows: n * 4, k: 256, weight: weights.basis, outputs: 258, into: b)
                // The magnitudes of the 129 real/imaginary pairs, over the frames (no longer needed).
                for r in 0..<(n * 4) {
                    for c in 0..<129 {
                        let re = b[r * 258 + c], im = b[r * 258 + 129 + c]
                        a[r * 129 + c] = (re * re + im * im).squareRoot()
                    }
                }
            }
        }
    }

    /// Frame `t + 1` (0...3) of the reflect-padded window `x` (576 samples), times `window`
    /// when given: frames 1-3 are plain slices; frame 4 ends with the right-hand reflection
    /// of the last 64 samples.
    @inline(__always)
    private static func frame(_ t: Int, of x: UnsafePointer<Float>, window: UnsafePointer<Float>?, into f: UnsafeMutablePointer<Float>) {
        let start = t * 128, direct = t < 3 ? 256 : 192
        if let window {
            for i in 0..<direct { f[i] = x[start + i] * window[i] }
            for k in direct..<256 { f[k] = x[766 - k] * window[k] }
        } else {
            f.update(from: x + start, count: direct)
            for k in direct..<256 { f[k] = x[766 - k] }
        }
    }

    /// A kernel-3, padding-1 convolution with ReLU over (n × length × inputs) rows at `x`,
    /// into `y` (which must not overlap `x`); returns the output length. One product per output
    /// position t, over the windows: the input steps its taps cover are consecutive rows of `x`,
    /// so they are read in place (no im2col copy), and taps that fall on the padding are left
    /// out rather than multiplied by zeros (a fifth of the convolutions' multiply-adds).
    private func convolve(_ x: UnsafePointer<Float>, windows n: Int, length: Int, _ conv: SileroWeights.Conv,
                          into y: UnsafeMutablePointer<Float>) -> Int {
        let outLength = (length - 1) / conv.stride + 1
        let rows = n * outLength
        conv.bias.withUnsafeBufferPointer { bias in
            for r in 0..<rows { (y + r * conv.outputs).update(from: bias.baseAddress!, count: conv.outputs) }
        }
        conv.weight.withUnsafeBufferPointer { wp in
            for t in 0..<outLength {
                // Taps k with input step t·stride + k − 1 inside 0..<length.
                let first = max(0, 1 - t * conv.stride), last = min(2, length - t * conv.stride)
                let step = t * conv.stride + first - 1, k = (last - first + 1) * conv.inputs
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(conv.outputs), Int32(k), 1,
                            x + step * conv.inputs, Int32(length * conv.inputs),
                            wp.baseAddress! + first * conv.inputs, Int32(3 * conv.inputs),
                            1, y + t * conv.outputs, Int32(outLength * conv.outputs))
            }
        }
        for i in 0..<(rows * conv.outputs) where y[i] < 0 { y[i] = 0 }
        return outLength
    }
}

/// y (rows × outputs) (+)= x (rows × k) · weightᵀ, weight being (outputs × k).
func gemm(_ x: UnsafePointer<Float>, rows: Int, k: Int, weight: [Float], outputs: Int, into y: UnsafeMutablePointer<Float>,
          accumulate: Bool = false) {
    guard rows > 0 else { return }
    weight.withUnsafeBufferPointer { wp in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(k), 1,
                    x, Int32(k), wp.baseAddress!, Int32(k), accumulate ? 1 : 0, y, Int32(outputs))
    }
}
