/// Decoding options with faster-whisper's defaults (docs/engine.md §6.1).
///
/// Exists so callers set only what they change; it is Codable so a job's
/// options can be journaled with its checkpoints.
public struct DecodingOptions: Sendable, Codable, Equatable {
    public var beamSize = 5
    public var bestOf = 5
    public var patience: Float = 1
    public var lengthPenalty: Float = 1
    public var temperatures: [Float] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    public var compressionRatioThreshold: Float? = 2.4
    public var logProbThreshold: Float? = -1.0
    public var noSpeechThreshold: Float? = 0.6
    public var conditionOnPreviousText = true
    public var promptResetOnTemperature: Float = 0.5
    public var suppressBlank = true
    /// nil = the model's config suppress_ids (faster-whisper's [-1]); [] = none.
    public var suppressTokens: [Int]? = nil
    public var withoutTimestamps = false
    public var maxInitialTimestamp: Float? = 1.0
    /// Language code for multilingual models; nil = detect.
    public var language: String? = nil
    public var task: Tokenizer.Task = .transcribe
    public var initialPrompt: String? = nil
    public var maxNewTokens: Int? = nil
    /// Words of the domain to bias recognition towards; sent as a previous-text
    /// prompt (after sot_prev) in every window, as faster-whisper's `hotwords`.
    public var hotwords: String? = nil
    /// Word-level timestamps from the alignment heads (docs/engine.md §8).
    public var wordTimestamps = false
    /// With word timestamps: marks joined to the following word.
    public var prependPunctuations = "\"'“¿([{-"
    /// With word timestamps: marks joined to the preceding word.
    public var appendPunctuations = "\"'.。,，!！?？:：”)]}、"

    public init() {}
}

/// The result of decoding one window (one temperature, or the fallback's pick).
///
/// Exists as the unit the long-form loop consumes: tokens (without eot) plus
/// the quality figures faster-whisper uses for fallback and no-speech skipping.
public struct WindowResult: Sendable, Codable, Equatable {
    public var tokens: [Int]
    /// Cumulative log-probability including eot.
    public var logprobSum: Float
    /// logprobSum / len^length_penalty (CT2's ranking score).
    public var score: Float
    public var avgLogprob: Float
    public var noSpeechProb: Float
    public var temperature: Float
    public var compressionRatio: Float
}
