/// The decoded samples the remaining windows of a long-form transcription need, fed
/// chunk by chunk as a decoder produces them.
///
/// Exists so a caller that streams audio (the daemon's decoder) holds about one window of
/// samples whatever the file's length, and never does the window arithmetic (hop, FFT
/// padding) itself: it feeds chunks while `LongFormTranscriber.nextStep` asks for
/// samples, and gets each window's features once they are all there.
public struct WindowStream: Sendable {
    /// File index of the first sample held.
    public private(set) var bufferStart: Int
    var buffer: [Float] = []

    init(bufferStart: Int) {
        self.bufferStart = bufferStart
    }

    /// File index of the next sample to feed (where a resumed job's decoder starts).
    public var nextSample: Int { bufferStart + buffer.count }

    /// Appends the next decoded samples (16 kHz mono, s16 / 32768).
    public mutating func feed(_ chunk: [Float]) {
        buffer += chunk
    }

    /// Forgets the samples before `sample` (windows only move forward).
    mutating func drop(before sample: Int) {
        guard sample > bufferStart else { return }
        let count = min(buffer.count, sample - bufferStart)
        buffer.removeFirst(count)
        bufferStart += count
    }
}

/// What the window loop does next, as `LongFormTranscriber.nextStep` says.
public enum WindowStep: Sendable {
    /// Feed the stream more samples (from `WindowStream.nextSample` on).
    case needsSamples
    /// The next window's features: decode them with `advance`.
    case window(MelWindow)
    /// Every window was decoded.
    case finished
}

extension LongFormTranscriber {
    /// An empty stream for the windows from `state` on; feed it from `nextSample`.
    public func windowStream(resuming state: TranscriptionState) -> WindowStream {
        WindowStream(bufferStart: LogMelSpectrogram.firstSample(ofFrame: state.seek))
    }

    /// The next window's features once `stream` holds every sample they need; first
    /// drops the samples no window from `state` on needs.
    public func nextStep(_ state: TranscriptionState, stream: inout WindowStream) -> WindowStep {
        guard let next = nextWindow(state) else { return .finished }
        stream.drop(before: next.samples.lowerBound)
        if stream.nextSample < next.samples.upperBound { return .needsSamples }
        guard let window = features(state, buffer: stream.buffer[...], bufferStart: stream.bufferStart) else { return .finished }
        return .window(window)
    }

    /// How many of a file's first samples `firstWindowFeatures` needs (with a margin):
    /// what the first pass keeps for language detection.
    public var firstWindowSampleCount: Int { LogMelSpectrogram.hop * windowFrames + LogMelSpectrogram.nFFT }

    /// The first window's features (docs/engine.md §6.9: the first window sliced from all N // hop + 1
    /// frames), from `samples`, the file's first `firstWindowSampleCount` samples or all of them.
    public func firstWindowFeatures(samples: ArraySlice<Float>, totalSamples: Int, globalMax: Float) -> MelWindow {
        let frames = min(windowFrames, LogMelSpectrogram.frameCount(samples: totalSamples))
        return model.spectrogram.window(buffer: samples, bufferStart: 0, totalSamples: totalSamples,
                                        startFrame: 0, frameCount: frames, globalMax: globalMax)
    }
}
