import Testing
import Transcripts

@Suite struct OutputFormatTests {
    @Test func casesAndExtensions() {
        #expect(OutputFormat.allCases == [.txt, .srt, .vtt, .tsv, .json])
        #expect(OutputFormat.allCases.map(\.fileExtension) == ["txt", "srt", "vtt", "tsv", "json"])
    }

    @Test func parsing() throws {
        #expect(try OutputFormat(parsing: "srt") == .srt)
        #expect(try OutputFormat(parsing: " VTT\n") == .vtt)
        #expect(try OutputFormat(parsing: ".Json") == .json)
        for f in OutputFormat.allCases {
            #expect(try OutputFormat(parsing: f.rawValue) == f)
        }
    }

    @Test(arguments: ["", "txtx", "sub", "all", "..srt", "s rt", "mp3"])
    func rejectsAndNamesTheValue(_ bad: String) {
        #expect(throws: OutputFormatError.unknown(bad)) { try OutputFormat(parsing: bad) }
        #expect(OutputFormatError.unknown(bad).description.contains("\"\(bad)\""))
    }

    @Test func parseList() throws {
        #expect(try OutputFormat.parseList(["srt", "txt", "SRT"]) == [.srt, .txt])
        #expect(try OutputFormat.parseList(["json", "all"]) == [.json, .txt, .srt, .vtt, .tsv])
        #expect(throws: OutputFormatError.empty) { try OutputFormat.parseList([]) }
        #expect(throws: OutputFormatError.unknown("docx")) { try OutputFormat.parseList(["txt", "docx", "nope"]) }
    }

    @Test func errorDescription() {
        #expect(
            OutputFormatError.unknown("docx").description
                == "unknown output format \"docx\"; expected one of txt, srt, vtt, tsv, json or all")
    }
}
