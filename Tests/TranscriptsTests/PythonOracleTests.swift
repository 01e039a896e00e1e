#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
import Transcripts

/// Differential check against openai-whisper itself: 60 random transcripts
/// (awkward whitespace, `-->`, tabs, control characters, combining marks,
/// emoji; times near rounding ties and past 100 h; random subtitle options),
/// rendered by openai-whisper's whisper/utils.py (commit c0d2f62) writers and
/// by Python's `json.dumps(ensure_ascii=False)` with our key order. Every
/// format must match byte for byte, and the JSON document must decode to a
/// transcript that renders it again unchanged.
@Suite struct PythonOracleTests {
    struct Case: Decodable {
        struct Options: Decodable {
            var highlight_words: Bool?
            var max_line_width: Int?
            var max_line_count: Int?
            var max_words_per_line: Int?
        }
        var doc: String
        var opts: Options
        var out: [String: String]
    }

    /// The cases written by Oracle/make-python-oracle.py (random.seed(11)); ASCII-only JSON.
    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Oracle/python-oracle-cases.json")
        return try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }

    @Test func thereAreCases() throws {
        #expect(try Self.cases().count == 60)
    }

    @Test(arguments: 0..<60)
    func matchesOpenAIWhisper(_ index: Int) throws {
        let c = try Self.cases()[index]
        let transcript = try decodeTranscriptJSON(c.doc)
        let options = SubtitleOptions(
            maxLineWidth: c.opts.max_line_width, maxLineCount: c.opts.max_line_count,
            highlightWords: c.opts.highlight_words ?? false, maxWordsPerLine: c.opts.max_words_per_line)
        for format in OutputFormat.allCases {
            #expect(format.render(transcript, subtitleOptions: options) == c.out[format.rawValue], "\(format)")
        }
    }
}
