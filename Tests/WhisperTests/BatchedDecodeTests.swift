import Foundation
import Testing
@testable import Whisper

/// `decodeBatch`: several windows through one decoder pass give each window exactly what
/// decoding it alone gives (beam 5 and greedy, with and without timestamps), however early
/// each window's search ends; and the packing helpers behave as faster-whisper's.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en") && FileManager.default.fileExists(atPath: Fixtures.corpusDir + "/clips/clip-01.wav")))
struct BatchedDecodeTests {
    /// Windows of different lengths and contents (one nearly silent), so the searches end at different steps.
    func windows(_ model: WhisperModel) throws -> [MelWindow] {
        let batched = BatchedTranscriber(model: model, options: DecodingOptions())
        var out: [MelWindow] = []
        for clip in [1, 4, 7] {
            let audio = try WAV.read(String(format: "%@/clips/clip-%02d.wav", Fixtures.corpusDir, clip))
            out.append(batched.features(audio.samples))
        }
        out.append(batched.features([Float](repeating: 0.0005, count: 16000)))
        return out
    }

    @Test func aBatchDecodesEachWindowAsDecodingItAloneDoes() throws {
        let model = try Fixtures.model("tiny.en")
        let crosses = try windows(model).map { model.crossAttentionCache(model.encode($0)) }
        for (beam, withoutTimestamps) in [(5, true), (1, true), (5, false)] {
            var options = BatchedTranscriber.batchedOptions(DecodingOptions())
            options.beamSize = beam
            options.withoutTimestamps = withoutTimestamps
            let prompt = model.prompt(previous: [], withoutTimestamps: withoutTimestamps)
            let together = model.decodeBatch(crosses, prompt: prompt, options: options)
            #expect(together.count == crosses.count)
            for (i, cross) in crosses.enumerated() {
                var rng = WhisperRNG(seed: 0)
                let alone = model.generate(cross: cross, prompt: prompt, temperature: 0, options: options, rng: &rng)
                #expect(together[i].tokens == alone.tokens,
                        "beam \(beam), window \(i): \(model.tokenizer.decode(together[i].tokens)) | \(model.tokenizer.decode(alone.tokens))")
                #expect(abs(together[i].logprobSum - alone.logprobSum) < 1e-3)
                #expect(abs(together[i].noSpeechProb - alone.noSpeechProb) < 1e-4)
            }
            #expect(together.map(\.tokens.count).min()! < together.map(\.tokens.count).max()!, "the searches end at different steps")
        }
    }

    @Test func pythonRoundingRoundsTheExactBinaryValueHalfToEven() {
        #expect(PythonRounding.round(0.0005, digits: 3) == 0.001)     // 0.0005 is a little above a tie in binary
        #expect(PythonRounding.round(2.675, digits: 2) == 2.67)       // and 2.675 a little below
        #expect(PythonRounding.round(0.125, digits: 2) == 0.12)       // an exact tie goes to even
        #expect(PythonRounding.round(33.1449999, digits: 3) == 33.145)
    }
}
