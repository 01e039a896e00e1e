import Foundation
import Testing
@testable import Whisper

/// dropscribe's engine against CTranslate2 on the random-weight models of every shape and storage:
/// the goldens (Golden/random-models-ct2.json) are what CTranslate2 computed for the same model.bin
/// (the writer's bytes are checked against the converter's in ModelFamilyTests) on the same window.
@Suite struct RandomModelParityTests {
    struct Golden: Decodable {
        struct Model: Decodable {
            struct Encoder: Decodable { var rows: [Int]; var values: [Float]; var max_abs: Float }
            struct Greedy: Decodable { var tokens: [Int]; var score: Float; var no_speech_prob: Float; var logits: [[[Double]]] }
            struct Beam: Decodable { var tokens: [Int]; var score: Float }
            struct Alignment: Decodable { var frames: Int; var text_tokens: [Int]; var text_token_probs: [Float]; var pairs: [[Int]] }
            var shape: String
            var storage: String
            var encoder: Encoder
            var language: [[LanguageEntry]]?
            var prompt: [Int]
            var greedy: Greedy
            var beam5: Beam
            var alignment: Alignment
        }
        var max_length: Int
        var models: [Model]
    }

    /// `["en", 0.25]` in the JSON: a language code and its probability.
    enum LanguageEntry: Decodable {
        case code(String), probability(Float)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .code(s) } else { self = .probability(try c.decode(Float.self)) }
        }
    }

    static let golden: Golden? = {
        let path = Fixtures.repoRoot + "/Tests/WhisperTests/Golden/random-models-ct2.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(Golden.self, from: data)
    }()

    static var goldens: [Golden.Model] { golden?.models ?? [] }
    static var cases: [String] { goldens.map { "\($0.shape) \($0.storage)" } }

    @Test func everyShapeAndStorageHasAGolden() {
        #expect(Self.goldens.count == RandomModelShape.all.count * 4)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: Fixtures.corpusDir + "/clips/clip-21.wav")),
          arguments: cases)
    func matchesCTranslate2(_ name: String) throws {
        let golden = try #require(Self.goldens.first { "\($0.shape) \($0.storage)" == name })
        let shape = try #require(RandomModelShape.all.first { $0.description == golden.shape })
        let storage = try #require(RandomModelStorage(rawValue: golden.storage))
        try withRandomModel(RandomModelWriter(shape: shape, storage: storage)) { dir, _ in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            let features = try ModelFamilyTests.features(m)
            let encoded = m.encode(features)
            let scale = golden.encoder.max_abs
            var encoderDiff: Float = 0
            for (k, row) in golden.encoder.rows.enumerated() {
                for c in 0..<shape.dModel {
                    let got = encoded.states.storage[row * encoded.states.cols + c]
                    encoderDiff = max(encoderDiff, abs(got - golden.encoder.values[k * shape.dModel + c]))
                }
            }
            #expect(encoderDiff <= 1e-4 * scale, "\(name): encoder rows differ by \(encoderDiff) (largest value \(scale))")

            if let languages = golden.language {
                let ours = Dictionary(uniqueKeysWithValues: m.detectLanguage(features: features).map { ($0.code, $0.probability) })
                #expect(ours.count == languages.count, "\(name): \(ours.count) languages, CTranslate2 has \(languages.count)")
                for entry in languages {
                    guard case .code(let code) = entry[0], case .probability(let p) = entry[1] else { continue }
                    #expect(abs((ours[code] ?? -1) - p) <= 1e-4, "\(name): P(\(code)) \(ours[code] ?? -1) against \(p)")
                }
            }

            let cross = m.crossAttentionCache(encoded)
            var options = DecodingOptions()
            options.suppressTokens = [-1]
            // CTranslate2's rule for generate's max_length (src/models/whisper.cc).
            let maxLength = Self.golden?.max_length ?? 448
            options.maxNewTokens = min(maxLength / 2, maxLength - (golden.prompt.count - 1))
            for (beam, tokens, score) in [(1, golden.greedy.tokens, golden.greedy.score), (5, golden.beam5.tokens, golden.beam5.score)] {
                options.beamSize = beam
                var rng = WhisperRNG(seed: 0)
                let result = m.generate(cross: cross, prompt: golden.prompt, temperature: 0, options: options, rng: &rng)
                #expect(result.tokens == tokens, "\(name) beam \(beam): tokens differ from CTranslate2's")
                #expect(abs(result.score - score) <= 1e-3 * max(1, abs(score)), "\(name) beam \(beam): score \(result.score) against \(score)")
                if beam == 1 {
                    #expect(abs(result.noSpeechProb - golden.greedy.no_speech_prob) <= 1e-4 + 1e-3 * golden.greedy.no_speech_prob)
                }
            }

            // The first steps' logits after the filters (suppression, timestamp rules), top 16.
            let fed = golden.prompt + golden.greedy.tokens.prefix(golden.greedy.logits.count - 1)
            let raw = ModelFamilyTests.logits(m, cross, fed)
            options.beamSize = 1
            for (step, top) in golden.greedy.logits.enumerated() {
                var row = raw[golden.prompt.count - 1 + step]
                m.processLogits(&row, step: step, generated: Array(golden.greedy.tokens.prefix(step)), timestamps: true,
                                options: options, suppress: m.suppressList(options))
                for pair in top {
                    let (id, value) = (Int(pair[0]), Float(pair[1]))
                    #expect(abs(row[id] - value) <= 1e-4 * max(1, abs(value)), "\(name) step \(step): logit[\(id)] \(row[id]) against \(value)")
                }
                let ours = row.indices.filter { row[$0] > -1e30 }.count
                #expect(ours >= top.count, "\(name) step \(step): only \(ours) tokens left after the filters")
            }

            let a = m.align(cross: cross, sotSequence: golden.prompt, textTokens: golden.alignment.text_tokens,
                            frames: golden.alignment.frames)
            #expect(zip(a.textIndices, a.timeIndices).map { [$0, $1] } == golden.alignment.pairs, "\(name): DTW path differs")
            #expect(a.textTokenProbabilities.count == golden.alignment.text_token_probs.count)
            for (ours, theirs) in zip(a.textTokenProbabilities, golden.alignment.text_token_probs) {
                #expect(abs(ours - theirs) <= 1e-4 + 1e-3 * theirs, "\(name): token probability \(ours) against \(theirs)")
            }
        }
    }
}
