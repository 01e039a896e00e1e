import ArgumentParser
import DropscribeCore
import Foundation
import VoiceActivity

/// `transcribe`'s VAD flags: `--vad-filter` and one flag per key of `[vad]`.
///
/// Exists as an option group so the command's own file stays about transcribing, and so a
/// flag's value is checked by the same ranges as the config file's key.
struct VADFlags: ParsableArguments {
    @Flag(name: .customLong("vad-filter"), help: "Transcribe only the speech Silero VAD finds (faster-whisper's vad_filter).")
    var filter = false

    @Option(name: .customLong("batch-size"),
            help: "Above 1: faster-whisper's batched pipeline, speech pieces of up to 30 s, this many decoded together (always with the VAD).")
    var batchSize: Int?

    @Option(name: .customLong("vad-model"), help: ArgumentHelp("silero_vad_v6.onnx (default: [vad] model).", valueName: "file"))
    var model: String?

    @Option(name: .customLong("vad-threshold"), help: "Speech probability threshold (0.5).")
    var threshold: Double?

    @Option(name: .customLong("vad-neg-threshold"), help: "Probability below which speech ends (threshold − 0.15).")
    var negThreshold: Double?

    @Option(name: .customLong("vad-min-speech-duration-ms"), help: "Shorter speech chunks are dropped (0).")
    var minSpeechDurationMs: Int?

    @Option(name: .customLong("vad-max-speech-duration-s"), help: "Longer speech chunks are split (no limit).")
    var maxSpeechDurationS: Double?

    @Option(name: .customLong("vad-min-silence-duration-ms"), help: "Silence that ends a speech chunk (2000).")
    var minSilenceDurationMs: Int?

    @Option(name: .customLong("vad-speech-pad-ms"), help: "Padding on each side of a speech chunk (400).")
    var speechPadMs: Int?

    /// Applies the flags given; a bad value is refused with the config key's own message.
    func apply(to config: inout Configuration, cwd: String) throws {
        if filter { config.vad.filter = true }
        if let batchSize {
            guard (1...64).contains(batchSize) else { throw CommandFailure.usage("--batch-size must be between 1 and 64") }
            config.vad.batchSize = batchSize
        }
        if minSilenceDurationMs != nil { config.vad.minSilenceGiven = true }
        if let model { config.vad.model = cwd.appendingPath(model) }
        var o = config.vad.options
        if let threshold { o.threshold = threshold }
        if let negThreshold { o.negThreshold = negThreshold }
        if let minSpeechDurationMs { o.minSpeechDurationMs = minSpeechDurationMs }
        if let maxSpeechDurationS { o.maxSpeechDurationS = maxSpeechDurationS }
        if let minSilenceDurationMs { o.minSilenceDurationMs = minSilenceDurationMs }
        if let speechPadMs { o.speechPadMs = speechPadMs }
        if let problem = o.problem {
            // "vad.min_speech_duration_ms must …" → "--vad-min-speech-duration-ms must …"
            let parts = problem.split(separator: " ", maxSplits: 1)
            let flag = "--" + parts[0].replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-")
            throw CommandFailure.usage(([flag] + parts.dropFirst().map(String.init)).joined(separator: " "))
        }
        config.vad.options = o
    }
}
