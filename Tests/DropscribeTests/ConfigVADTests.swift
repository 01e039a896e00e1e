import DropscribeCore
import Foundation
import Testing
import VoiceActivity

/// `vad_filter` and `[vad]`: read, defaulted like faster-whisper's VadOptions, checked.
@Suite struct ConfigVADTests {
    @Test func vadKeysAreReadAndDefaultToFasterWhispers() throws {
        let defaults = Configuration().vad
        #expect(!defaults.filter)
        #expect(defaults.options == VADOptions())
        #expect(defaults.options.threshold == 0.5 && defaults.options.negThreshold == nil && defaults.options.minSpeechDurationMs == 0)
        #expect(defaults.options.maxSpeechDurationS == .infinity && defaults.options.minSilenceDurationMs == 2000 && defaults.options.speechPadMs == 400)
        let c = try Configuration.parse("""
            vad_filter = true
            [vad]
            model = "/opt/silero.onnx"
            threshold = 0.6
            neg_threshold = 0.2
            min_speech_duration_ms = 250
            max_speech_duration_s = 30
            min_silence_duration_ms = 500
            speech_pad_ms = 100
            """)
        #expect(c.vad.filter && c.vad.model == "/opt/silero.onnx")
        var o = VADOptions()
        o.threshold = 0.6; o.negThreshold = 0.2; o.minSpeechDurationMs = 250; o.maxSpeechDurationS = 30
        o.minSilenceDurationMs = 500; o.speechPadMs = 100
        #expect(c.vad.options == o)
    }

    @Test(arguments: [
        ("vad_filter = \"yes\"", "vad_filter = \"yes\": must be true or false"),
        ("[vad]\nthreshold = 1.5", "vad.threshold = 1.5: must be between"),
        ("[vad]\nspeech_pad_ms = -1", "vad.speech_pad_ms = -1: must be between"),
        ("[vad]\nmax_speech_duration_s = 0", "vad.max_speech_duration_s = 0: must be between"),
        ("[vad]\nmin_silence_ms = 5", "vad.min_silence_ms = 5: unknown key"),
        ("batch_size = 0", "batch_size = 0: must be between"),
        ("batch_size = 8.5", "batch_size = 8.5"),
    ])
    func badVADValuesAreRefusedNamingTheKey(text: String, message: String) {
        do {
            _ = try Configuration.parse(text, file: "c.toml")
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    /// batch_size turns on the batched pipeline, which always runs the VAD, with max_speech_duration_s
    /// = 30 and min_silence_duration_ms = 160 unless that key is set (BatchedInferencePipeline's defaults).
    @Test func batchSizeRunsTheVADWithTheBatchedDefaults() throws {
        #expect(Configuration().vad.batchSize == 1 && !Configuration().vad.runs)
        let plain = try Configuration.parse("batch_size = 8")
        #expect(plain.vad.batchSize == 8 && plain.vad.runs && !plain.vad.filter)
        var expected = VADOptions()
        expected.maxSpeechDurationS = 30
        expected.minSilenceDurationMs = 160
        #expect(plain.vad.batchedOptions == expected)
        let other = try Configuration.parse("batch_size = 4\n[vad]\nspeech_pad_ms = 200\nmax_speech_duration_s = 10")
        expected.speechPadMs = 200
        #expect(other.vad.batchedOptions == expected, "other options apply; a piece still holds up to 30 s")
        let silence = try Configuration.parse("batch_size = 4\n[vad]\nmin_silence_duration_ms = 2000")
        #expect(silence.vad.batchedOptions.minSilenceDurationMs == 2000)
    }
}
