import DropscribeCore
import Foundation
import Testing

/// Which model folder a configuration means, and the start-up check of every model a rule may load.
@Suite struct ModelLocationTests {
    func config(_ text: String) throws -> Configuration {
        var c = try Configuration.load(text: text, file: "test.toml")
        c.baseDirectory = Assets.models
        return c
    }

    @Test func aRuleMayNameAnInstalledModelAndEveryModelIsCheckedAtStart() throws {
        let good = try config("""
            [model]
            path = "tiny.en"
            models_dir = "."
            [[rule]]
            match = "de/**"
            model = "base"
            """)
        #expect(throws: Never.self) { try good.checkModels() }
        #expect(try good.forJob("de/talk.wav").modelFolder() == Assets.models + "/base")
        #expect(try good.forJob("en/talk.wav").modelFolder() == Assets.models + "/tiny.en")

        let typo = try config("""
            [model]
            path = "tiny.en"
            [[rule]]
            match = ["video/**", "**/*.mp4"]
            model = "./no-such-model"
            """)
        let error = #expect(throws: ConfigError.self) { try typo.checkModels() }
        #expect(error?.key == "[[rule]] 1 (match \"video/**\", \"**/*.mp4\").model")
        #expect(error?.description.contains("no-such-model") == true)
    }

    @Test func aNameThatIsNotInstalledSaysHowToFetchIt() throws {
        let missing = try config("""
            [model]
            name = "large-v3-turbo"
            models_dir = "."
            """)
        let error = #expect(throws: ConfigError.self) { try missing.checkModels() }
        #expect(error?.key == "model.name")
        #expect(error?.description.contains("dropscribe models fetch large-v3-turbo") == true)
        #expect(throws: ConfigError.self) { try config("[model]\nname = \"huge\"\n") }
    }
}
