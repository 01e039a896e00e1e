import Foundation
import Testing
@testable import Whisper

/// Random-weight models in the shapes of large-v3, large-v3-turbo, distil-large-v3,
/// small/medium and small.en/medium.en (RandomModels.swift), written as CTranslate2
/// writes them: every one loads, its float16 and int8 versions compute the float32
/// version's logits, language detection covers every language of the model, and the
/// output projection is the untied one when the file has it.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en") && Fixtures.hasModel("base"), "needs the tiny.en and base vocabularies"))
struct ModelFamilyTests {
    static let storages: [RandomModelStorage] = [.float32, .float16, .int8Float32, .int8Float16]

    @Test(arguments: RandomModelShape.all)
    func everyStorageLoads(shape: RandomModelShape) throws {
        for storage in Self.storages {
            try withRandomModel(RandomModelWriter(shape: shape, storage: storage)) { dir, _ in
                let m = try WhisperModel.load(directory: dir, threads: 1)
                let vocab = [RandomModelShape.Vocabulary.english: 51864, .multilingual: 51865, .v3: 51866][shape.vocabulary]
                #expect(m.dimensions == ModelDimensions(nMels: shape.nMels, dModel: 64, encoderHeads: 2, decoderHeads: 2,
                                                        encoderLayers: 2, decoderLayers: shape.decoderLayers, ffn: 256,
                                                        vocabSize: vocab ?? 0, audioContext: 1500, textContext: 448),
                        "\(shape) \(storage)")
                #expect(m.spectrogram.nMels == shape.nMels)
                #expect(m.tokenizer.multilingual == (shape.vocabulary != .english))
                #expect(!m.decoder.untied, "tied: the projection is an alias of the embedding")
            }
        }
    }

    /// The v3 layout: one more language, every later special token one id higher.
    @Test func v3TokenLayout() throws {
        try withRandomModel(RandomModelWriter(shape: .largeV3Turbo)) { dir, _ in
            let t = try WhisperModel.load(directory: dir, threads: 1).tokenizer
            #expect(t.languageTokens.count == 100)
            #expect(t.languageTokens["yue"] == 50358)
            #expect(Array<Int>([t.eot, t.sot, t.translate, t.transcribe, t.sotLM, t.sotPrev, t.noSpeech, t.noTimestamps, t.timestampBegin])
                    == [50257, 50258, 50359, 50360, 50361, 50362, 50363, 50364, 50365])
            #expect(t.sotSequence(language: "yue") == [50258, 50358, 50360])
        }
    }

    /// Features of the first 30 s of a corpus clip with the model's mel bins.
    static func features(_ m: WhisperModel) throws -> MelWindow {
        let x = try WAV.read(Fixtures.corpusDir + "/clips/clip-21.wav").samples
        let full = m.spectrogram.full(samples: x).features
        return MelWindow(startFrame: 0, features: full.features.columns(0, min(3000, full.frameCount)))
    }

    /// Logits (one row per position) of `tokens` fed at once.
    static func logits(_ m: WhisperModel, _ cross: CrossAttentionCache, _ tokens: [Int]) -> [[Float]] {
        let all = BLAS.run { () -> Matrix in
            var cache = m.makeCache(batch: 1)
            return m.logits(m.decoderForward(tokens: tokens, count: tokens.count, cache: &cache, cross: cross))
        }
        return (0..<all.rows).map { r in Array(all.storage[r * all.cols ..< (r + 1) * all.cols]) }
    }

    /// Greedy steps with the float32 model; the float16, int8_float32 and int8_float16
    /// models, fed the same tokens, give logits within 1% (float16) and 5% (int8) of the
    /// largest logit.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Fixtures.corpusDir + "/clips/clip-21.wav")),
          arguments: RandomModelShape.all)
    func reducedPrecisionDecodesLikeFloat32(shape: RandomModelShape) throws {
        var reference: [[Float]] = [], tokens: [Int] = []
        try withRandomModel(RandomModelWriter(shape: shape, storage: .float32)) { dir, _ in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            let cross = m.crossAttentionCache(m.encode(try Self.features(m)))
            tokens = m.tokenizer.sotSequence(language: "en")
            for _ in 0..<4 {
                let last = Self.logits(m, cross, tokens).last!
                tokens.append(last.indices.max { last[$0] < last[$1] }!)
            }
            reference = Self.logits(m, cross, tokens)
        }
        let scale = reference.joined().map(abs).max()!
        #expect(scale > 0.1, "random logits too small to compare")
        for (storage, tolerance) in [(RandomModelStorage.float16, Float(0.01)), (.int8Float32, 0.05), (.int8Float16, 0.05)] {
            try withRandomModel(RandomModelWriter(shape: shape, storage: storage)) { dir, _ in
                let m = try WhisperModel.load(directory: dir, threads: 1)
                let got = Self.logits(m, m.crossAttentionCache(m.encode(try Self.features(m))), tokens)
                let diff = zip(got.joined(), reference.joined()).map { abs($0 - $1) }.max()!
                #expect(diff <= tolerance * scale, "\(shape) \(storage): logits differ by \(diff), largest \(scale)")
                #expect(diff > 0, "\(shape) \(storage): identical to float32, so not read as stored")
            }
        }
    }

    /// A model rigged so the decoder's output is the same vector `b` for any input
    /// (final layer norm: gamma 0, beta b): its logits are W·b for the output weights W.
    static func rigged(_ shape: RandomModelShape, untied: Bool, storage: RandomModelStorage = .float32,
                       boost: String? = nil) throws -> (RandomModelWriter, [Float]) {
        var rng = XorShift64Star(seed: 99)
        let b = (0..<shape.dModel).map { _ in rng.uniform() }
        var w = RandomModelWriter(shape: shape, storage: storage, untiedProjection: untied)
        w.overrides["decoder/layer_norm/gamma"] = [Float](repeating: 0, count: shape.dModel)
        w.overrides["decoder/layer_norm/beta"] = b
        if let boost {
            // The boosted token's output row is 3·b: its logit 3|b|² beats every other row's.
            let vocab = try RandomModelVocabularies.tokens(shape.vocabulary)
            let id = try #require(vocab.firstIndex(of: boost))
            var p = w.values(vocabSize: vocab.count)[untied ? "decoder/projection/weight" : "decoder/embeddings/weight"]!.values
            for i in 0..<shape.dModel { p[id * shape.dModel + i] = 3 * b[i] }
            w.overrides[untied ? "decoder/projection/weight" : "decoder/embeddings/weight"] = p
        }
        return (w, b)
    }

    @Test(arguments: [false, true])
    func outputProjectionIsTheFilesOwn(untied: Bool) throws {
        let shape = RandomModelShape.largeV3Turbo
        let (writer, b) = try Self.rigged(shape, untied: untied)
        try withRandomModel(writer) { dir, values in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            #expect(m.decoder.untied == untied)
            let cross = m.crossAttentionCache(m.encode(MelWindow(startFrame: 0, features: Matrix(zeros: shape.nMels, 3000))))
            let got = Self.logits(m, cross, [m.tokenizer.sot])[0]
            let e = values["decoder/embeddings/weight"]!.values, d = shape.dModel
            let w = untied ? values["decoder/projection/weight"]!.values : e
            func dot(_ m: [Float], _ row: Int) -> Float { (0..<d).reduce(0) { $0 + m[row * d + $1] * b[$1] } }
            let diff = got.indices.map { abs(got[$0] - dot(w, $0)) }.max()!
            #expect(diff < 1e-3, "logits are not h·Wᵀ of the file's output weights (off by \(diff))")
            if untied {
                let fromEmbedding = got.indices.map { abs(got[$0] - dot(e, $0)) }.max()!
                #expect(fromEmbedding > 0.1, "the untied projection was ignored")
            }
            // compute_type int8 quantises the same output weights.
            let q = try WhisperModel.load(directory: dir, threads: 1, computeType: .int8)
            let gotInt8 = Self.logits(q, cross, [q.tokenizer.sot])[0]
            let scale = got.map(abs).max()!
            #expect(zip(gotInt8, got).map { abs($0 - $1) }.max()! < 0.05 * scale)
        }
    }

    @Test(arguments: [RandomModelShape.largeV3, .largeV3Turbo, .distilLargeV3])
    func languageDetectionCanAnswerCantonese(shape: RandomModelShape) throws {
        let (writer, _) = try Self.rigged(shape, untied: true, boost: "<|yue|>")
        try withRandomModel(writer) { dir, _ in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            let det = m.detectLanguage(features: MelWindow(startFrame: 0, features: Matrix(zeros: shape.nMels, 3000)))
            #expect(det.count == 100)
            #expect(Set(det.map(\.code)) == Set(Tokenizer.allLanguageCodes))
            #expect(abs(det.map(\.probability).reduce(0, +) - 1) < 1e-4)
            #expect(det.first?.code == "yue")
        }
    }

    @Test func multilingualDetectionHas99Languages() throws {
        try withRandomModel(RandomModelWriter(shape: .multilingual)) { dir, _ in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            let det = m.detectLanguage(features: MelWindow(startFrame: 0, features: Matrix(zeros: 80, 3000)))
            #expect(det.count == 99 && !det.contains { $0.code == "yue" })
        }
    }

    @Test func unknownLanguageIsAnErrorNamingIt() throws {
        try withRandomModel(RandomModelWriter(shape: .multilingual)) { dir, _ in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            #expect(throws: Never.self) { try m.checkLanguage("de") }
            let error = #expect(throws: WhisperError.self) { try m.checkLanguage("yue") }
            #expect(error == .unknownLanguage("yue", available: Tokenizer.languageCodes.sorted()))
            #expect(error?.description.contains("\"yue\"") == true)
            var o = DecodingOptions()
            o.language = "xx"
            #expect(throws: WhisperError.unknownLanguage("xx", available: m.tokenizer.languageTokens.keys.sorted())) {
                try m.transcribeShort(samples: [Float](repeating: 0, count: 16000), options: o)
            }
        }
        try withRandomModel(RandomModelWriter(shape: .largeV3)) { dir, _ in
            #expect(throws: Never.self) { try WhisperModel.load(directory: dir, threads: 1).checkLanguage("yue") }
        }
        try withRandomModel(RandomModelWriter(shape: .english)) { dir, _ in
            let m = try WhisperModel.load(directory: dir, threads: 1)
            #expect(throws: Never.self) { try m.checkLanguage("fr") }  // decoded as English, as faster-whisper does
            #expect(throws: WhisperError.self) { try m.checkLanguage("klingon") }
        }
    }
}

/// The Swift writer against CTranslate2's own: make-random-models.py writes the same
/// shapes, seed and generator with ctranslate2.specs and records each model.bin's sha256
/// in random-models.sha256; equal bytes mean the test models are what the converter writes.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en") && Fixtures.hasModel("base"), "needs the tiny.en and base vocabularies"))
struct RandomModelWriterTests {
    static func manifest() throws -> [String: String] {
        let text = try String(contentsOfFile: Fixtures.repoRoot + "/Tests/WhisperTests/random-models.sha256", encoding: .utf8)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 3 { out["\(parts[1]) \(parts[2])"] = String(parts[0]) }
        }
        return out
    }

    @Test(arguments: RandomModelShape.all)
    func bytesEqualCTranslate2s(shape: RandomModelShape) throws {
        let expected = try Self.manifest()
        for storage in ModelFamilyTests.storages {
            let want = try #require(expected["\(shape) \(storage.rawValue)"], "no sha256 for \(shape) \(storage.rawValue)")
            try withRandomModel(RandomModelWriter(shape: shape, storage: storage)) { dir, _ in
                let bytes = try WhisperModel.readBytes(dir + "/model.bin")
                #expect(CorpusDigest.sha256Hex(bytes) == want, "\(shape) \(storage.rawValue): model.bin differs from ctranslate2.specs'")
                // To compare by variable: DROPSCRIBE_KEEP_RANDOM_MODELS=<dir> keeps a copy.
                if let keep = ProcessInfo.processInfo.environment["DROPSCRIBE_KEEP_RANDOM_MODELS"] {
                    let to = keep + "/" + "\(shape)-\(storage.rawValue)".replacingOccurrences(of: "/", with: "-") + ".bin"
                    try? FileManager.default.removeItem(atPath: to)
                    try FileManager.default.copyItem(atPath: dir + "/model.bin", toPath: to)
                }
            }
        }
    }
}
