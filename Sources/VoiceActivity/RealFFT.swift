import CFFmpeg

/// A forward real-to-complex DFT of one fixed even length: FFmpeg's `av_tx` RDFT, with
/// its own aligned input and output buffers.
///
/// Exists so Silero's STFT (a windowed DFT of 256 samples, which the model stores as a
/// 258 × 256 matrix) costs an FFT per frame instead of a matrix product: the VAD's
/// largest share of arithmetic. A context's transform writes into the context's own
/// temporaries, so an instance must not be used by two threads at once: each thread's
/// encoder scratch owns one.
final class RealFFT {
    let length: Int
    /// The `length` real samples to transform (64-byte aligned, as the SIMD transforms want).
    let input: UnsafeMutablePointer<Float>
    /// `length / 2 + 1` complex values after `transform()`, real and imaginary interleaved:
    /// X[k] = Σₙ x[n]·e^(−2πikn/length), unscaled.
    let output: UnsafeMutablePointer<Float>
    private var context: OpaquePointer?
    private let function: av_tx_fn

    /// nil when FFmpeg cannot make the transform (out of memory, or an odd length).
    init?(length: Int) {
        guard length >= 4, length % 2 == 0, length <= 1 << 20 else { return nil }
        var context: OpaquePointer?, function: av_tx_fn?
        var scale: Float = 1
        guard av_tx_init(&context, &function, AV_TX_FLOAT_RDFT, 0, Int32(length), &scale, 0) == 0,
              let context, let function else { return nil }
        let input = av_malloc(length * MemoryLayout<Float>.size), output = av_malloc((length + 2) * MemoryLayout<Float>.size)
        guard let input, let output else {
            var c: OpaquePointer? = context
            av_tx_uninit(&c)
            av_free(input)
            av_free(output)
            return nil
        }
        self.length = length
        self.context = context
        self.function = function
        self.input = input.bindMemory(to: Float.self, capacity: length)
        self.output = output.bindMemory(to: Float.self, capacity: length + 2)
        self.output.initialize(repeating: 0, count: length + 2)
        self.input.initialize(repeating: 0, count: length)
    }

    /// `output` ← the DFT of `input`.
    @inline(__always)
    func transform() {
        function(context, output, input, MemoryLayout<Float>.stride)
    }

    deinit {
        av_tx_uninit(&context)
        av_free(input)
        av_free(output)
    }
}
