import Dispatch
import Foundation
import Synchronization
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
    /// Windows run through the encoder together (bounded so memory stays flat): samples are
    /// held until this many windows are complete, so the products are large enough to pay
    /// (the decoder hands out a second, 31 windows, at a time).
    static let batchWindows = 1024
    /// The engine's AVX2 + FMA kernels for the LSTM cell, when the CPU (and `DROPSCRIBE_CPU`) allow.
    static let vectorKernels = ((try? KernelLevel.fromEnvironment()) ?? .detected) >= .avx2

    private let weights: SileroWeights
    private var h = [Float](repeating: 0, count: SileroWeights.hidden)
    private var c = [Float](repeating: 0, count: SileroWeights.hidden)
    /// The 64 samples of context, then the samples not run yet: window i's model input (576
    /// samples) is `buffer[512·i ..< 512·i + 576]` as it stands, so nothing is copied for it.
    private var buffer = [Float](repeating: 0, count: contextSamples)
    private var finished = false
    /// The threads the encoder's blocks are spread over (nil: the engine's, `BLAS.threads`);
    /// tests set it to check that the probabilities do not depend on it.
    var threads: Int?

    /// The recurrent weights transposed (128 × 512), for the AVX2 product (empty without it).
    private let recurrentTransposed: [Float]
    /// The LSTM's gates of one batch, kept from batch to batch.
    private var gates: [Float] = []

    public init(weights: SileroWeights) {
        self.weights = weights
        let hd = SileroWeights.hidden, g4 = 4 * hd
        recurrentTransposed = Self.vectorKernels
            ? (0..<(g4 * hd)).map { weights.lstmRecurrent[($0 % g4) * hd + $0 / g4] } : []
    }

    /// The windows whose 512 samples are all in the buffer.
    private var complete: Int { (buffer.count - Self.contextSamples) / Self.windowSamples }

    /// The probabilities of the windows that are ready: every complete window once
    /// `batchWindows` are complete, none before (`finish` returns the rest).
    public mutating func append(_ samples: [Float]) -> [Float] {
        precondition(!finished, "append after finish")
        buffer += samples
        guard complete >= Self.batchWindows else { return [] }
        return flush(complete)
    }

    /// Runs the `complete` whole windows of the buffer and drops their samples (but the last
    /// 64, the next window's context).
    private mutating func flush(_ complete: Int) -> [Float] {
        guard complete > 0 else { return [] }
        var out: [Float] = []
        out.reserveCapacity(complete)
        var start = 0
        while start < complete {
            let count = min(Self.batchWindows, complete - start)
            out += run(windowsFrom: start, count: count)
            start += count
        }
        buffer.removeFirst(complete * Self.windowSamples)
        return out
    }

    /// The probabilities of the windows still held, then of the last window: the 0...511
    /// samples left, padded with zeros, and its final 64 samples zeroed.
    public mutating func finish() -> [Float] {
        precondition(!finished, "finish twice")
        var out = flush(complete)
        finished = true
        let width = SileroEncoder.windowInput
        buffer += [Float](repeating: 0, count: width - buffer.count)
        for j in (width - Self.contextSamples)..<width { buffer[j] = 0 }
        out += run(windowsFrom: 0, count: 1)
        return out
    }

    /// Every window's probability for a whole signal (the function faster-whisper calls).
    public static func probabilities(_ samples: [Float], weights: SileroWeights) -> [Float] {
        var d = VoiceActivityDetector(weights: weights)
        return d.append(samples) + d.finish()
    }

    /// Windows whose intermediate results (spectrum, convolution outputs: about 0.5 MB)
    /// stay in L2 while the encoder's stages pass over them: the unit of work of a batch.
    static let blockWindows = 64

    /// The probabilities of the `n` windows from window `first` of the buffer. The encoder and
    /// the LSTM's input projection go block by block, the blocks taken in turn by the threads;
    /// the first thread also runs the LSTM over each block in order as soon as it is encoded,
    /// so the sequential recurrence overlaps the other threads' encoding. A block's rows come
    /// out the same whichever thread computes it, so the result does not depend on the threads.
    private mutating func run(windowsFrom first: Int, count n: Int) -> [Float] {
        let g4 = 4 * SileroWeights.hidden, blocks = (n + Self.blockWindows - 1) / Self.blockWindows
        if gates.count < n * g4 { gates = [Float](repeating: 0, count: max(n, Self.batchWindows) * g4) }
        var out = [Float](repeating: 0, count: n)
        let schedule = BlockSchedule(blocks: blocks)
        // OpenBLAS pinned to one thread, as the engine runs it: its thread pool's spinning
        // costs more than it gains on these small products.
        BLAS.run {
            let parts = max(1, min(threads ?? BLAS.threads, blocks))
            buffer.withUnsafeBufferPointer { bp in
                gates.withUnsafeMutableBufferPointer { gp in
                    let input = Shared(bp.baseAddress! + first * Self.windowSamples), gatesOut = Shared(gp.baseAddress!)
                    let lstm = LSTMState(weights: weights, recurrentTransposed: recurrentTransposed, h: h, c: c)
                    // Each thread's encoder (its scratch and FFT context) is made here, on one thread:
                    // av_tx_init is not documented as safe to call concurrently.
                    let encoders = Encoders((0..<parts).map { _ in
                        Encoding(weights: weights, input: input.pointer, gates: gatesOut.pointer, windows: n)
                    })
                    out.withUnsafeMutableBufferPointer { op in
                        let probabilities = Shared(op.baseAddress!)
                        DispatchQueue.concurrentPerform(iterations: parts) { p in
                            let encoder = encoders.list[p]
                            var recurred = 0
                            while !(p == 0 && recurred == blocks) {
                                if p == 0, schedule.isEncoded(recurred) {
                                    let lo = recurred * Self.blockWindows, count = min(Self.blockWindows, n - lo)
                                    lstm.recur(gatesOut.pointer + lo * g4, windows: count, into: probabilities.pointer + lo)
                                    recurred += 1
                                } else if let block = schedule.claim() {
                                    encoder.encode(block: block)
                                    schedule.markEncoded(block)
                                } else if p == 0 {
                                    sched_yield()  // the next block is being encoded by another thread
                                } else {
                                    break
                                }
                            }
                        }
                    }
                    h = lstm.h
                    c = lstm.c
                }
            }
        }
        return out
    }
}

/// Which of a batch's blocks have been handed out to be encoded, and which are done.
private final class BlockSchedule: Sendable {
    private let state: Mutex<(next: Int, encoded: [Bool])>

    init(blocks: Int) { state = Mutex((0, [Bool](repeating: false, count: blocks))) }

    /// The next block nobody has taken, if any.
    func claim() -> Int? {
        state.withLock { s in
            guard s.next < s.encoded.count else { return nil }
            s.next += 1
            return s.next - 1
        }
    }

    func markEncoded(_ block: Int) { state.withLock { $0.encoded[block] = true } }
    func isEncoded(_ block: Int) -> Bool { state.withLock { $0.encoded[block] } }
}

/// The threads' encoders of one batch, each used by one thread only.
private struct Encoders: @unchecked Sendable {
    let list: [Encoding]
    init(_ list: [Encoding]) { self.list = list }
}

/// One thread's encoder for a batch: its own scratch (and FFT), and the block's features.
private final class Encoding {
    let weights: SileroWeights, encoder: SileroEncoder, scratch: SileroEncoder.Scratch
    let input: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>, windows: Int
    var features: [Float]

    init(weights: SileroWeights, input: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>, windows: Int) {
        self.weights = weights
        encoder = SileroEncoder(weights: weights)
        let rows = min(VoiceActivityDetector.blockWindows, windows)
        scratch = SileroEncoder.Scratch(windows: rows, fft: weights.window != nil)
        features = [Float](repeating: 0, count: rows * SileroWeights.hidden)
        (self.input, self.gates, self.windows) = (UnsafePointer(input), gates, windows)
    }

    /// The encoder's features of the block's windows through the LSTM's input projection, plus its biases.
    func encode(block: Int) {
        let hd = SileroWeights.hidden, g4 = 4 * hd, lo = block * VoiceActivityDetector.blockWindows
        let count = min(VoiceActivityDetector.blockWindows, windows - lo), target = gates + lo * g4
        features.withUnsafeMutableBufferPointer { fp in
            encoder.features(input + lo * SileroEncoder.hop, windows: count, scratch: scratch, into: fp.baseAddress!)
            weights.lstmBias.withUnsafeBufferPointer { bias in
                for r in 0..<count { (target + r * g4).update(from: bias.baseAddress!, count: g4) }
            }
            gemm(fp.baseAddress!, rows: count, k: hd, weight: weights.lstmInput, outputs: g4, into: target, accumulate: true)
        }
    }
}

/// A pointer handed to the threads of one split (each writes its own rows; the buffer outlives them).
struct Shared<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
    init(_ p: UnsafePointer<T>) { pointer = UnsafeMutablePointer(mutating: p) }
}

