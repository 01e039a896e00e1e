import Testing
@testable import Transcripts

@Suite struct SegmentWriterTests {
    @Test func txt() {
        #expect(writeTXT(basic) == "Hello, world.\nSecond --> line\twith tab\nÜber café 日本語\n")
    }

    @Test func srt() {
        #expect(
            writeSRT(basic)
                == "1\n00:00:00,000 --> 00:00:02,500\nHello, world.\n\n"
                + "2\n00:00:02,500 --> 00:00:05,123\nSecond -> line\twith tab\n\n"
                + "3\n01:00:00,000 --> 01:02:05,500\nÜber café 日本語\n\n")
    }

    @Test func vtt() {
        #expect(
            writeVTT(basic)
                == "WEBVTT\n\n"
                + "00:00.000 --> 00:02.500\nHello, world.\n\n"
                + "00:02.500 --> 00:05.123\nSecond -> line\twith tab\n\n"
                + "01:00:00.000 --> 01:02:05.500\nÜber café 日本語\n\n")
    }

    @Test func tsv() {
        #expect(
            writeTSV(basic)
                == "start\tend\ttext\n0\t2500\tHello, world.\n2500\t5123\tSecond --> line with tab\n"
                + "3600000\t3725500\tÜber café 日本語\n")
    }

    @Test func emptyTranscript() {
        #expect(writeTXT(empty) == "")
        #expect(writeSRT(empty) == "")
        #expect(writeVTT(empty) == "WEBVTT\n\n")
        #expect(writeTSV(empty) == "start\tend\ttext\n")
        #expect(
            writeJSON(empty)
                == #"{"language": "de", "language_probability": 1.0, "duration": 0.0, "text": "", "segments": []}"#)
    }

    @Test func emptyAndBlankSegmentText() {
        let t = Transcript(
            language: "en", languageProbability: 1, duration: 2,
            segments: [segment(0, 0, 1, ""), segment(1, 1, 2, " \t\n ")])
        #expect(writeTXT(t) == "\n\n")
        #expect(writeSRT(t) == "1\n00:00:00,000 --> 00:00:01,000\n\n\n2\n00:00:01,000 --> 00:00:02,000\n\n\n")
        #expect(writeVTT(t) == "WEBVTT\n\n00:00.000 --> 00:01.000\n\n\n00:01.000 --> 00:02.000\n\n\n")
        #expect(writeTSV(t) == "start\tend\ttext\n0\t1000\t\n1000\t2000\t\n")
    }

    @Test func arrowReplacementIsPythonStrReplace() {
        // "--->" → "-->" (non-overlapping, left to right); TXT and TSV keep arrows.
        let t = Transcript(
            language: "en", languageProbability: 1, duration: 1,
            segments: [segment(0, 0, 1, " a--->b-->c")])
        #expect(writeSRT(t) == "1\n00:00:00,000 --> 00:00:01,000\na-->b->c\n\n")
        #expect(writeVTT(t) == "WEBVTT\n\n00:00.000 --> 00:01.000\na-->b->c\n\n")
        #expect(writeTXT(t) == "a--->b-->c\n")
        #expect(writeTSV(t) == "start\tend\ttext\n0\t1000\ta--->b-->c\n")
    }

    @Test func innerNewlinesAreKept() {
        // openai-whisper writes them as is (only strip and the replacements apply).
        let t = Transcript(
            language: "en", languageProbability: 1, duration: 1,
            segments: [segment(0, 0, 1, " two\nlines\t")])
        #expect(writeTXT(t) == "two\nlines\n")
        #expect(writeTSV(t) == "start\tend\ttext\n0\t1000\ttwo\nlines\n")
    }

    @Test func negativeTimesClampInEveryFormat() {
        let t = Transcript(
            language: "en", languageProbability: 1, duration: 1,
            segments: [segment(0, -0.5, 0.25, " x")])
        #expect(writeSRT(t) == "1\n00:00:00,000 --> 00:00:00,250\nx\n\n")
        #expect(writeVTT(t) == "WEBVTT\n\n00:00.000 --> 00:00.250\nx\n\n")
        #expect(writeTSV(t) == "start\tend\ttext\n0\t250\tx\n")
    }

    @Test func renderDispatchesToEachWriter() {
        #expect(OutputFormat.txt.render(basic) == writeTXT(basic))
        #expect(OutputFormat.srt.render(basic) == writeSRT(basic))
        #expect(OutputFormat.vtt.render(basic) == writeVTT(basic))
        #expect(OutputFormat.tsv.render(basic) == writeTSV(basic))
        #expect(OutputFormat.json.render(basic) == writeJSON(basic))
        let opts = SubtitleOptions(highlightWords: true)
        #expect(OutputFormat.srt.render(withWords, subtitleOptions: opts) == writeSRT(withWords, options: opts))
        #expect(OutputFormat.vtt.renderBytes(basic) == Array(writeVTT(basic).utf8))
    }
}
