import TOMLKit
import VoiceActivity

extension Configuration {
    /// `vad_filter` and `[vad]`: whether silence is cut out before transcribing (faster-whisper's
    /// `vad_filter`), with Silero VAD v6 and faster-whisper's `VadOptions`.
    ///
    /// Exists as its own section so the VAD's keys, defaults and checks live in one place,
    /// shared by the daemon's config file and `transcribe`'s flags.
    public struct VADSection: Sendable, Equatable {
        /// The top-level `vad_filter` key.
        public var filter = false
        /// silero_vad_v6.onnx (`packaging/setup-models.sh vad` fetches it).
        public var model = "./models/silero_vad_v6.onnx"
        public var options = VADOptions()
        /// Whether `min_silence_duration_ms` was set (batched mode's default is 160, not 2000).
        public var minSilenceGiven = false
        /// The top-level `batch_size`: above 1, faster-whisper's `BatchedInferencePipeline`
        /// (BatchedTranscription.swift); it always runs the VAD, whatever `vad_filter` says.
        public var batchSize = 1

        public init() {}

        /// The VAD options of batched mode: `max_speech_duration_s` is 30 s (a piece's most) and,
        /// unless set, `min_silence_duration_ms` is 160, as `BatchedInferencePipeline.transcribe`
        /// chooses them when given no options.
        public var batchedOptions: VADOptions {
            var o = options
            if !minSilenceGiven { o.minSilenceDurationMs = 160 }
            o.maxSpeechDurationS = 30
            return o
        }

        /// Whether jobs run through the VAD: `vad_filter`, or batched mode.
        public var runs: Bool { filter || batchSize > 1 }

        mutating func readTopLevel(_ key: String, _ value: any TOMLValueConvertible, _ r: Reader) throws(ConfigError) {
            if key == "batch_size" { batchSize = try r.int(key, value, in: 1...64) } else { filter = try r.bool(key, value) }
        }

        mutating func read(_ key: String, _ value: any TOMLValueConvertible, _ r: Reader) throws(ConfigError) {
            if key == "vad.min_silence_duration_ms" { minSilenceGiven = true }
            switch key {
            case "vad.model": model = try r.string(key, value, nonEmpty: true)
            case "vad.threshold": options.threshold = try r.double(key, value, in: 0.001...0.999)
            case "vad.neg_threshold": options.negThreshold = try r.double(key, value, in: 0...0.999)
            case "vad.min_speech_duration_ms": options.minSpeechDurationMs = try r.int(key, value, in: 0...3_600_000)
            case "vad.max_speech_duration_s": options.maxSpeechDurationS = try r.double(key, value, in: 1...Double.infinity)
            case "vad.min_silence_duration_ms": options.minSilenceDurationMs = try r.int(key, value, in: 0...3_600_000)
            case "vad.speech_pad_ms": options.speechPadMs = try r.int(key, value, in: 0...60_000)
            default: throw r.unknown(key, value)
            }
        }
    }
}
