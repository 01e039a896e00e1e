import Foundation

/// Log-mel features of consecutive frames: a (nMels × frames) matrix, already
/// clamped with the file-wide maximum and scaled by (l+4)/4.
///
/// Exists so the caller can hand one 30 s window (or less) to the encoder
/// without ever holding the whole file's spectrogram.
public struct MelWindow: Sendable, Equatable {
    /// Index of the first frame in the file (the window's seek).
    public var startFrame: Int
    /// nMels × frameCount.
    public var features: Matrix
    public var frameCount: Int { features.cols }
    public var nMels: Int { features.rows }

    public init(startFrame: Int, features: Matrix) {
        self.startFrame = startFrame
        self.features = features
    }
}

/// The Whisper front end (docs/engine.md §4): 400-point periodic Hann STFT,
/// hop 160, reflect padding, Slaney mel filterbank, log10 with a file-wide clamp.
///
/// Exists as one immutable value (precomputed DFT and filterbank tables) shared
/// by the G pass and the per-window feature computation.
public struct LogMelSpectrogram: Sendable {
    public static let sampleRate = 16000
    public static let nFFT = 400
    public static let hop = 160
    public static let nBins = nFFT / 2 + 1
    /// Samples of reflection padding before the first frame (the STFT is centred): nFFT/2.
    public static let centerPadding = nFFT / 2
    /// Frames per second of audio (100: one per 10 ms).
    public static let framesPerSecond = sampleRate / hop
    /// Seconds per frame, as a Double exactly equal to 0.01.
    public static let secondsPerFrame = 1 / Double(framesPerSecond)
    public let nMels: Int
    /// nMels × nBins filterbank.
    public let filters: Matrix
    /// nFFT × (2·nBins): window-weighted cos (cols 0..<nBins) and −sin (cols nBins..<2·nBins).
    let dft: [Float]

    public init(nMels: Int = 80) {
        self.nMels = nMels
        self.filters = LogMelSpectrogram.melFilters(nMels: nMels)
        let nFFT = Self.nFFT, nBins = Self.nBins
        var t = [Float](repeating: 0, count: nFFT * 2 * nBins)
        for n in 0..<nFFT {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(nFFT))
            for k in 0..<nBins {
                let a = 2 * Double.pi * Double((n * k) % nFFT) / Double(nFFT)
                t[n * 2 * nBins + k] = Float(w * cos(a))
                t[n * 2 * nBins + nBins + k] = Float(-w * sin(a))
            }
        }
        self.dft = t
    }

    /// librosa Slaney mel filterbank with Slaney norm, computed in Double then cast.
    public static func melFilters(nMels: Int, sampleRate: Int = LogMelSpectrogram.sampleRate, nFFT: Int = LogMelSpectrogram.nFFT) -> Matrix {
        let nBins = nFFT / 2 + 1
        func hzToMel(_ f: Double) -> Double {
            let minLogHz = 1000.0, minLogMel = 15.0, logstep = log(6.4) / 27
            return f >= minLogHz ? minLogMel + log(f / minLogHz) / logstep : 3 * f / 200
        }
        func melToHz(_ m: Double) -> Double {
            let minLogMel = 15.0, logstep = log(6.4) / 27
            return m >= minLogMel ? 1000 * exp(logstep * (m - minLogMel)) : 200 * m / 3
        }
        let maxMel = hzToMel(Double(sampleRate) / 2)
        let count = nMels + 2
        var h = [Double](repeating: 0, count: count)
        for j in 0..<count {
            // numpy linspace: start + j*step, with the last point exact.
            let m = j == count - 1 ? maxMel : Double(j) * (maxMel / Double(count - 1))
            h[j] = melToHz(m)
        }
        var out = [Float](repeating: 0, count: nMels * nBins)
        for i in 0..<nMels {
            let enorm = 2 / (h[i + 2] - h[i])
            for k in 0..<nBins {
                let f = Double(k) * (Double(sampleRate) / Double(nFFT))
                let lower = (f - h[i]) / (h[i + 1] - h[i])
                let upper = (h[i + 2] - f) / (h[i + 2] - h[i + 1])
                out[i * nBins + k] = Float(max(0, min(lower, upper)) * enorm)
            }
        }
        return Matrix(rows: nMels, cols: nBins, storage: out)
    }

    /// The first sample frame `t` reads: hop·t − centerPadding, or 0 (reflection reads
    /// mirror positions inside the frames' own range).
    public static func firstSample(ofFrame t: Int) -> Int { max(0, hop * t - centerPadding) }

    /// Number of frames for N samples: N//160 + 1 (the last is only used for G).
    public static func frameCount(samples n: Int) -> Int { n / hop + 1 }
    /// Frames a window may use: N//160.
    public static func contentFrames(samples n: Int) -> Int { n / hop }

    /// Raw log10 mel values (before the clamp) of frames `frames`, as nMels × count.
    ///
    /// `buffer` holds samples [bufferStart, bufferStart + buffer.count) of a file
    /// of `totalSamples` samples; it must cover every sample the frames need:
    /// [160·first − 200, 160·last + 200) clipped to the file (reflection reads
    /// mirror positions, which lie in the same range).
    func rawLog(buffer: ArraySlice<Float>, bufferStart: Int, totalSamples n: Int, frames: Range<Int>) -> [Float] {
        BLAS.run { rawLogLocked(buffer: buffer, bufferStart: bufferStart, totalSamples: n, frames: frames) }
    }

    private func rawLogLocked(buffer: ArraySlice<Float>, bufferStart: Int, totalSamples n: Int, frames: Range<Int>) -> [Float] {
        let count = frames.count
        if count == 0 { return [] }
        // BLAS results can depend on the call's shape, so frames are always computed in
        // blocks of `block` frames aligned to absolute frame indices, each product in calls
        // of a fixed row count: a frame's value is then identical whichever window (or the
        // G pass) computes it, with any thread count.
        let block = LogMelSpectrogram.block
        var out = [Float](repeating: 0, count: nMels * count)
        var b0 = (frames.lowerBound / block) * block
        while b0 < frames.upperBound {
            let raw = rawLogBlock(buffer: buffer, bufferStart: bufferStart, totalSamples: n, first: b0)
            let lo = max(b0, frames.lowerBound), hi = min(b0 + block, frames.upperBound)
            for m in 0..<nMels {
                for t in lo..<hi { out[m * count + (t - frames.lowerBound)] = raw[m * block + (t - b0)] }
            }
            b0 += block
        }
        return out
    }

    static let block = 32

    /// Raw log10 mel of frames [first, first+block), nMels × block.
    private func rawLogBlock(buffer: ArraySlice<Float>, bufferStart: Int, totalSamples n: Int, first: Int) -> [Float] {
        let count = LogMelSpectrogram.block
        let nFFT = Self.nFFT, nBins = Self.nBins, hop = Self.hop
        // faster-whisper appends one hop of zeros to the audio before the STFT.
        let l = n + hop
        var fr = [Float](repeating: 0, count: count * nFFT)
        let base = buffer.startIndex
        for row in 0..<count {
            let t = first + row
            for j in 0..<nFFT {
                var y = hop * t + j - Self.centerPadding
                // reflect (periodic, as numpy for tiny inputs)
                if l > 1 {
                    let period = 2 * (l - 1)
                    y = ((y % period) + period) % period
                    if y >= l { y = period - y }
                } else { y = 0 }
                var v: Float = 0
                if y < n {
                    let idx = y - bufferStart
                    if idx >= 0 && idx < buffer.count { v = buffer[base + idx] }
                }
                fr[row * nFFT + j] = v
            }
        }
        var spec = [Float](repeating: 0, count: count * 2 * nBins)
        fr.withUnsafeBufferPointer { fp in
            dft.withUnsafeBufferPointer { tp in
                spec.withUnsafeMutableBufferPointer { sp in
                    fixedRowsSgemm(rowsPerCall: 16, m: count, n: 2 * nBins, k: nFFT, a: fp.baseAddress!, lda: nFFT,
                                   b: tp.baseAddress!, ldb: 2 * nBins, c: sp.baseAddress!, ldc: 2 * nBins)
                }
            }
        }
        var power = [Float](repeating: 0, count: count * nBins)
        for r in 0..<count {
            for k in 0..<nBins {
                let re = spec[r * 2 * nBins + k], im = spec[r * 2 * nBins + nBins + k]
                power[r * nBins + k] = re * re + im * im
            }
        }
        var mel = [Float](repeating: 0, count: nMels * count)
        filters.storage.withUnsafeBufferPointer { fp in
            power.withUnsafeBufferPointer { pp in
                mel.withUnsafeMutableBufferPointer { mp in
                    sgemm(false, true, m: nMels, n: count, k: nBins, a: fp.baseAddress!, lda: nBins,
                          b: pp.baseAddress!, ldb: nBins, c: mp.baseAddress!, ldc: count)
                }
            }
        }
        for i in mel.indices { mel[i] = log10f(max(mel[i], 1e-10)) }
        return mel
    }

    /// Features of frames [start, start+count) for a window, clamped with G.
    ///
    /// `buffer` must cover samples [160·start − 200, 160·(start+count) + 200)
    /// clipped to [0, totalSamples); `bufferStart` is the file index of buffer[0].
    public func window(buffer: ArraySlice<Float>, bufferStart: Int, totalSamples: Int,
                       startFrame: Int, frameCount: Int, globalMax g: Float) -> MelWindow {
        let raw = rawLog(buffer: buffer, bufferStart: bufferStart, totalSamples: totalSamples,
                         frames: startFrame ..< startFrame + frameCount)
        let floor = g - 8
        let out = raw.map { (max($0, floor) + 4) / 4 }
        return MelWindow(startFrame: startFrame, features: Matrix(rows: nMels, cols: frameCount, storage: out))
    }

    /// Convenience for a whole in-memory buffer: all N//160+1 frames and G.
    public func full(samples: [Float]) -> (features: MelWindow, globalMax: Float) {
        let n = samples.count
        let frames = LogMelSpectrogram.frameCount(samples: n)
        var raw = [Float]()
        raw.reserveCapacity(nMels * frames)
        // Chunk the frames to bound scratch memory, then reassemble (nMels × frames).
        var out = [Float](repeating: 0, count: nMels * frames)
        var g = -Float.greatestFiniteMagnitude
        let chunk = 1024
        var t0 = 0
        while t0 < frames {
            let c = min(chunk, frames - t0)
            let r = rawLog(buffer: samples[...], bufferStart: 0, totalSamples: n, frames: t0 ..< t0 + c)
            for m in 0..<nMels {
                for j in 0..<c {
                    let v = r[m * c + j]
                    out[m * frames + t0 + j] = v
                    if v > g { g = v }
                }
            }
            t0 += c
        }
        let floor = g - 8
        for i in out.indices { out[i] = (max(out[i], floor) + 4) / 4 }
        return (MelWindow(startFrame: 0, features: Matrix(rows: nMels, cols: frames, storage: out)), g)
    }
}

/// Streaming pass computing G, the maximum raw log10-mel value over every frame
/// of a file, in constant memory.
///
/// Exists because G is the only global quantity of the front end (docs/engine.md §4.4–§4.5): the
/// daemon feeds decoded chunks once, journals G, then computes windows lazily.
public struct MelMaxAccumulator: Sendable {
    let mel: LogMelSpectrogram
    /// Samples from `bufferStart` on, not yet fully consumed.
    var buffer: [Float] = []
    var bufferStart = 0
    var received = 0
    var nextFrame = 0
    public private(set) var maximum = -Float.greatestFiniteMagnitude

    public init(spectrogram: LogMelSpectrogram) { self.mel = spectrogram }

    /// Number of samples fed so far.
    public var sampleCount: Int { received }

    /// Feeds the next chunk of samples (Float from s16 / 32768).
    public mutating func feed(_ chunk: [Float]) {
        buffer.append(contentsOf: chunk)
        received += chunk.count
        // Frame t can be computed without knowing N if hop·t + centerPadding ≤ received
        // (the start reflection only reads y[1...centerPadding]).
        let hop = LogMelSpectrogram.hop, padding = LogMelSpectrogram.centerPadding
        let ready = received >= padding ? (received - padding) / hop + 1 : 0
        if ready - nextFrame >= 256 { process(upTo: ready, total: Int.max / 4) }
    }

    mutating func process(upTo end: Int, total: Int) {
        guard end > nextFrame else { return }
        let r = mel.rawLog(buffer: buffer[...], bufferStart: bufferStart, totalSamples: total, frames: nextFrame ..< end)
        for v in r where v > maximum { maximum = v }
        nextFrame = end
        let keepFrom = LogMelSpectrogram.firstSample(ofFrame: nextFrame)
        if keepFrom > bufferStart {
            buffer.removeFirst(min(buffer.count, keepFrom - bufferStart))
            bufferStart = keepFrom
        }
    }

    /// Finishes the pass: computes the remaining frames (with the end reflection) and returns G.
    public mutating func finish() -> Float {
        let total = received
        let frames = LogMelSpectrogram.frameCount(samples: total)
        // Frames computed before finish used "total = huge": valid only if they never
        // read past the real end; the readiness rule guarantees that.
        process(upTo: frames, total: total)
        return maximum
    }
}
