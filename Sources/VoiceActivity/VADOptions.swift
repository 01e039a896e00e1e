/// faster-whisper's `VadOptions`, with its defaults: how speech probabilities become
/// speech chunks.
///
/// Exists as one value so the config's `[vad]` section, the `transcribe` flags and the
/// timestamp function agree on names, defaults and valid ranges.
public struct VADOptions: Sendable, Equatable, Codable {
    /// Probabilities at or above this are speech.
    public var threshold: Double = 0.5
    /// Below this a speech chunk may end; nil = max(threshold − 0.15, 0.01).
    public var negThreshold: Double? = nil
    /// Final chunks this short or shorter are dropped.
    public var minSpeechDurationMs: Int = 0
    /// Chunks longer than this are split (at a silence of over 98 ms if there was one).
    public var maxSpeechDurationS: Double = .infinity
    /// Silence this long ends a chunk.
    public var minSilenceDurationMs: Int = 2000
    /// Each chunk is padded by this much on each side.
    public var speechPadMs: Int = 400

    public init() {}

    /// Why the options cannot be used, or nil (each key as spelled in the config).
    public var problem: String? {
        if !(threshold > 0 && threshold < 1) { return "vad.threshold must be between 0 and 1 (exclusive), not \(threshold)" }
        if let n = negThreshold, !(n >= 0 && n < 1) { return "vad.neg_threshold must be between 0 and 1, not \(n)" }
        if minSpeechDurationMs < 0 || minSpeechDurationMs > 3_600_000 { return "vad.min_speech_duration_ms must be 0...3600000, not \(minSpeechDurationMs)" }
        if !(maxSpeechDurationS > 0) { return "vad.max_speech_duration_s must be positive, not \(maxSpeechDurationS)" }
        if minSilenceDurationMs < 0 || minSilenceDurationMs > 3_600_000 { return "vad.min_silence_duration_ms must be 0...3600000, not \(minSilenceDurationMs)" }
        if speechPadMs < 0 || speechPadMs > 60_000 { return "vad.speech_pad_ms must be 0...60000, not \(speechPadMs)" }
        return nil
    }
}

/// A stretch of speech in samples of the 16 kHz signal, [start, end).
public struct SpeechChunk: Sendable, Equatable, Codable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}
