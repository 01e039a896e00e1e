import DropscribeCore
import Foundation
import HotFolder
import Testing
import Transcripts

/// Folder rules as pure functions: glob matching, first-match precedence, what a rule
/// overrides, and the errors a bad rule gives at load.
@Suite struct RuleConfigTests {
    @Test(arguments: [
        ("de/**", "de/a.mp3", true),
        ("de/**", "de/x/y/a.mp3", true),
        ("de/**", "dex/a.mp3", false),
        ("de/**", "a.mp3", false),
        ("**/*.mp4", "a.mp4", true),
        ("**/*.mp4", "v/w/a.mp4", true),
        ("**/*.mp4", "v/a.mp4.wav", false),
        ("*.mp4", "a.mp4", true),
        ("*.mp4", "v/a.mp4", false),            // * never crosses a folder
        ("talks/**/raw/*.wav", "talks/raw/a.wav", true),
        ("talks/**/raw/*.wav", "talks/2024/05/raw/a.wav", true),
        ("talks/**/raw/*.wav", "talks/2024/raw/x/a.wav", false),
        ("en/[ab]?.m4a", "en/b1.m4a", true),
        ("en/[ab]?.m4a", "en/c1.m4a", false),
        ("**", "any/thing.mp3", true),
        ("a/**/b/**/c", "a/b/c", true),
        ("a/**/b/**/c", "a/x/b/y/z/c", true),
        ("a/**/b/**/c", "a/x/c", false),
    ])
    func globsMatchInboxRelativePaths(_ pattern: String, _ path: String, _ expected: Bool) {
        #expect(PathGlob.problem(pattern) == nil)
        #expect(PathGlob.matches(pattern, path) == expected, "\(pattern) ~ \(path)")
    }

    static let threeRules = """
        formats = ["txt", "json"]
        [model]
        path = "models/tiny.en"
        language = "en"
        [[rule]]
        match = "de/**"
        model = "models/base"
        language = "de"
        [[rule]]
        match = ["video/**", "**/*.mp4"]
        formats = ["srt"]
        word_timestamps = true
        [[rule]]
        match = "de/**/*.mp4"
        formats = ["vtt"]
        """

    @Test func theFirstMatchingRuleWinsAndOverridesOnlyItsKeys() throws {
        let c = try Configuration.parse(Self.threeRules, file: "c.toml")
        #expect(c.rules.map(\.index) == [1, 2, 3])
        // de/ film.mp4 matches rules 1 and 3 (and 2 through **/*.mp4): rule 1 is first.
        #expect(c.rule(for: "de/sub/film.mp4")?.index == 1)
        let de = c.forJob("de/sub/film.mp4")
        #expect(de.model.path == "models/base" && de.model.language == "de")
        #expect(de.formats == [.txt, .json], "rule 1 sets no formats: the global ones stay")
        let video = c.forJob("en/clip.mp4")
        #expect(c.rule(for: "en/clip.mp4")?.applied == AppliedRule(index: 2, match: ["video/**", "**/*.mp4"]))
        #expect(video.formats == [.srt] && video.model.wordTimestamps && video.model.path == "models/tiny.en")
        let plain = c.forJob("en/memo.wav")
        #expect(c.rule(for: "en/memo.wav") == nil)
        #expect(plain == c, "no rule: the global settings unchanged")
    }

    @Test func aRuleChoosingWhatBecomesOfTheSourceReplacesTheGlobalChoice() throws {
        let c = try Configuration.parse("""
            delete_source = true
            on_done = ["/bin/true"]
            [[rule]]
            match = "keep/**"
            archive_dir = "archive"
            on_done = []
            [[rule]]
            match = "gone/**"
            delete_source = true
            """, file: "c.toml")
        let keep = c.forJob("keep/a.wav")
        #expect(!keep.jobs.deleteSource && keep.archiveDir == "archive" && keep.jobs.onDone.isEmpty)
        let other = c.forJob("x.wav")
        #expect(other.jobs.deleteSource && other.jobs.onDone == ["/bin/true"])
    }

    @Test(arguments: [
        ("[[rule]]\nlanguage = \"de\"", "c.toml: [[rule]] 1: has no match key"),
        ("[[rule]]\nmatch = \"/abs/**\"", "[[rule]] 1.match = \"/abs/**\": \"/abs/**\" must be relative to the inbox"),
        ("[[rule]]\nmatch = \"de**\"", "** must be a whole path segment"),
        ("[[rule]]\nmatch = []", "must name at least one pattern"),
        ("[[rule]]\nmatch = \"a/**\"\n[[rule]]\nmatch = \"de/**\"\nlanguage = \"xx\"",
         "c.toml: [[rule]] 2 (match \"de/**\").language = \"xx\": is not a Whisper language code"),
        ("[[rule]]\nmatch = [\"de/**\", \"*.de.wav\"]\nbeam = 3",
         "[[rule]] 1 (match \"de/**\", \"*.de.wav\").beam = 3: unknown key in a rule"),
        ("[[rule]]\nmatch = \"v/**\"\nformats = [\"docx\"]", "[[rule]] 1 (match \"v/**\").formats = [ 'docx' ]: unknown format \"docx\""),
        ("[[rule]]\nmatch = \"v/**\"\nbeam_size = 0", "[[rule]] 1 (match \"v/**\").beam_size = 0: must be between 1 and 64"),
        ("[[rule]]\nmatch = \"v/**\"\non_done = \"curl x\"", "[[rule]] 1 (match \"v/**\").on_done = \"curl x\": must be an array of strings"),
        ("[[rule]]\nmatch = \"v/**\"\non_failed = [\"\", \"x\"]", "the program (the first element) must not be empty"),
        ("[[rule]]\nmatch = \"v/**\"\ndelete_source = true\narchive_dir = \"a\"", "cannot both archive the source"),
        ("delete_source = true\narchive_dir = \"a\"", "delete_source = true: cannot be set together with archive_dir"),
        ("rule = 3", "rule = 3: must be an array of tables"),
        ("hook_concurrency = 0", "hook_concurrency = 0: must be between 1 and 64"),
        ("hook_timeout_seconds = -1", "hook_timeout_seconds = -1: must be between 0.1 and 86400"),
    ])
    func badRulesAreRefusedNamingTheRule(_ toml: String, _ expected: String) {
        expectRefused(toml, expected)
    }

    @Test func explainNamesTheRuleAndTheResultingSettings() throws {
        var c = try Configuration.parse(Self.threeRules, file: "c.toml")
        c.baseDirectory = "/etc/dropscribe"
        let de = RuleExplanation(configuration: c, relativePath: "de/talk.mp3").render()
        #expect(de.contains("rule: rule 1 (match \"de/**\")"))
        #expect(de.contains("model: /etc/dropscribe/models/base"))
        #expect(de.contains("language: de"))
        #expect(de.contains("formats: txt, json"))
        let none = RuleExplanation(configuration: c, relativePath: "talk.mp3").render()
        #expect(none.contains("rule: none (the global settings)") && none.contains("model: /etc/dropscribe/models/tiny.en"))
        let output = RuleExplanation(configuration: c, relativePath: "de/talk.mp3.txt").render()
        #expect(output.contains("not a job (transcript output)"))
    }
}

/// `toml` (read as the file c.toml) is refused with an error naming the file and containing `expected`.
func expectRefused(_ toml: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try Configuration.parse(toml, file: "c.toml")
        Issue.record("\(toml) must be refused", sourceLocation: sourceLocation)
    } catch {
        #expect(error.description.hasPrefix("c.toml: "), sourceLocation: sourceLocation)
        #expect(error.description.contains(expected), "\(error.description)", sourceLocation: sourceLocation)
    }
}
