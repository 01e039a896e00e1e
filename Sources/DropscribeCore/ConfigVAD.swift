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

        public init() {}

        mutating func read(_ key: String, _ value: any TOMLValueConvertible, _ r: Reader) throws(ConfigError) {
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
