import Foundation
import Testing
@testable import Whisper

/// faster-whisper's suppress list (tokenizer symbols plus six special tokens) against
/// the lists CTranslate2's converter wrote into config.json.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en") && Fixtures.hasModel("base"), "needs the tiny.en and base models"))
struct SuppressTokensTests {
    @Test(arguments: ["tiny.en", "base"])
    func ruleEqualsConfigJSON(model: String) throws {
        let files = try ModelFiles(directory: Fixtures.modelPath(model))
        let fromConfig = try files.config().suppressIds
        let m = try Fixtures.model(model)
        #expect(SuppressTokens.fasterWhisper(m.tokenizer) == fromConfig)
        #expect(m.config.suppressIds == fromConfig)
    }

    /// The v3 layout moves the six special tokens up by one; the symbols stay.
    @Test func ruleForV3Layout() throws {
        let merges = try ModelFiles(directory: Fixtures.modelPath("base")).merges()
        let v3 = try RandomModelVocabularies.tokens(.v3)
        let tokenizer = try Tokenizer(vocabulary: v3, merges: merges)
        let rule = SuppressTokens.fasterWhisper(tokenizer)
        let base = try ModelFiles(directory: Fixtures.modelPath("base")).config().suppressIds
        #expect(rule == base.map { $0 > 50357 ? $0 + 1 : $0 })
        #expect(rule.suffix(6) == [50258, 50359, 50360, 50361, 50362, 50363])
    }

    /// With tokenizer.json the loader uses the rule; without, config.json's list.
    @Test func loaderUsesTheRuleWhenItCanEncode() throws {
        try withRandomModel(RandomModelWriter(shape: .largeV3)) { dir, _ in
            // config.json's list, without one symbol, shows which list the loader took.
            let configURL = URL(fileURLWithPath: dir + "/config.json")
            var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            let full = try #require(config["suppress_ids"] as? [Int])
            config["suppress_ids"] = Array(full.dropFirst())
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)
            #expect(try WhisperModel.load(directory: dir, threads: 1).config.suppressIds == Array(full.dropFirst()))
            try FileManager.default.copyItem(atPath: Fixtures.modelPath("base") + "/tokenizer.json", toPath: dir + "/tokenizer.json")
            #expect(try WhisperModel.load(directory: dir, threads: 1).config.suppressIds == full)
        }
    }
}
