import Foundation
import Testing
@testable import Whisper

/// Every way a model folder can be unusable yields an error naming the file at fault.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en") && Fixtures.hasModel("base"), "needs the tiny.en and base vocabularies"))
struct LoaderErrorTests {
    static func load(_ dir: String) throws(WhisperError) { _ = try WhisperModel.load(directory: dir, threads: 1) }

    /// The error loading `dir` throws, nil when it loads.
    static func loadError(_ dir: String) -> WhisperError? {
        do throws(WhisperError) { try load(dir); return nil } catch { return error }
    }

    static func write(_ text: String, _ path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func noVocabulary() throws {
        try withRandomModel(RandomModelWriter(shape: .distilLargeV3)) { dir, _ in
            try FileManager.default.removeItem(atPath: dir + "/vocabulary.json")
            #expect(throws: WhisperError.notAModelDirectory(path: dir, missing: ["vocabulary.txt"])) { try Self.load(dir) }
            #expect(WhisperError.notAModelDirectory(path: dir, missing: ["vocabulary.txt"]).description
                .contains("missing vocabulary.json or vocabulary.txt"))
        }
    }

    @Test func vocabularyTxtStillLoads() throws {
        try withRandomModel(RandomModelWriter(shape: .english)) { dir, _ in
            try FileManager.default.removeItem(atPath: dir + "/vocabulary.json")
            try FileManager.default.copyItem(atPath: Fixtures.modelPath("tiny.en") + "/vocabulary.txt", toPath: dir + "/vocabulary.txt")
            #expect(try WhisperModel.load(directory: dir, threads: 1).tokenizer.vocabulary.count == 51864)
        }
    }

    @Test func badVocabularyJSON() throws {
        try withRandomModel(RandomModelWriter(shape: .distilLargeV3)) { dir, _ in
            let path = dir + "/vocabulary.json"
            for text in ["[\"a\", ", "{\"a\": 1}", "[1, 2]"] {
                try Self.write(text, path)
                guard case .badConfig(path, _)? = Self.loadError(dir) else {
                    Issue.record("\(text): \(String(describing: Self.loadError(dir)))"); continue
                }
            }
            try Self.write("[\"a\", \"b\"]", path)
            #expect(throws: WhisperError.badConfig(path: path, reason: "2 tokens, model has 51866")) { try Self.load(dir) }
        }
    }

    @Test func badPreprocessorConfig() throws {
        try withRandomModel(RandomModelWriter(shape: .largeV3)) { dir, _ in
            let path = dir + "/preprocessor_config.json"
            for text in ["{", "{\"feature_size\": \"many\"}", "{}", "{\"feature_size\": 96}",
                         "{\"feature_size\": 128, \"hop_length\": 320}"] {
                try Self.write(text, path)
                guard case .badConfig(path, _)? = Self.loadError(dir) else {
                    Issue.record("\(text): \(String(describing: Self.loadError(dir)))"); continue
                }
            }
            try Self.write("{\"feature_size\": 80}", path)
            #expect(throws: WhisperError.badConfig(path: path, reason: "feature_size 80, but model.bin's encoder takes 128 mel bins")) {
                try Self.load(dir)
            }
            try FileManager.default.removeItem(atPath: path)
            #expect(throws: Never.self) { try Self.load(dir) }
        }
    }

    @Test func unsupportedWeightType() throws {
        try withRandomModel(RandomModelWriter(shape: .english, storage: .bfloat16)) { dir, _ in
            let error = Self.loadError(dir)
            guard case .unsupportedWeightType(dir + "/model.bin", _, "bfloat16")? = error else {
                Issue.record("\(String(describing: error))"); return
            }
            #expect(error?.description.contains("bfloat16") == true)
        }
    }

    @Test func int8WithoutItsScale() throws {
        let path = Fixtures.modelPath("tiny.en") + "/model.bin"
        var bin = try ModelBinary.parse(MappedFile(path: path), path: path)
        let name = "decoder/layer_1/ffn/linear_0/weight"
        bin.variables[name]?.dtype = .i8
        #expect(throws: WhisperError.unsupportedWeightType(path: path, name: name, dtype: "int8 without \(name)_scale")) {
            try WeightBuilder(bin: bin, path: path).build()
        }
    }

    @Test func modelOfAnotherSpec() throws {
        var writer = RandomModelWriter(shape: .english)
        writer.specName = "TransformerSpec"
        _ = try withRandomModel(writer) { dir, _ in
            #expect(throws: WhisperError.notWhisperModel(path: dir + "/model.bin", spec: "TransformerSpec")) { try Self.load(dir) }
        }
    }
}
