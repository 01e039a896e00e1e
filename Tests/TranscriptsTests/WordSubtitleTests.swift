import Testing
@testable import Transcripts

/// Word-timestamp mode of openai-whisper's SubtitlesWriter; expected strings
/// are openai-whisper's output for the same data and options.
@Suite struct WordSubtitleTests {
    @Test func defaultOneCuePerSegmentFromWordTimes() {
        #expect(
            writeSRT(withWords)
                == "1\n00:00:00,100 --> 00:00:02,900\nOne two three.\n\n"
                + "2\n00:00:03,500 --> 00:00:08,750\nFour --> five.\n\n")
        #expect(
            writeVTT(withWords)
                == "WEBVTT\n\n00:00.100 --> 00:02.900\nOne two three.\n\n00:03.500 --> 00:08.750\nFour --> five.\n\n")
    }

    @Test func txtAndTsvIgnoreWords() {
        #expect(writeTXT(withWords) == "One two three.\nFour --> five.\nnothing\n")
        #expect(
            writeTSV(withWords)
                == "start\tend\ttext\n0\t3000\tOne two three.\n3000\t9000\tFour --> five.\n9000\t10000\tnothing\n")
    }

    @Test func highlightWords() {
        let opts = SubtitleOptions(highlightWords: true)
        #expect(
            writeSRT(withWords, options: opts)
                == "1\n00:00:00,100 --> 00:00:00,500\n<u>One</u> two three.\n\n"
                + "2\n00:00:00,500 --> 00:00:00,600\nOne two three.\n\n"
                + "3\n00:00:00,600 --> 00:00:01,000\nOne <u>two</u> three.\n\n"
                + "4\n00:00:01,000 --> 00:00:01,200\nOne two three.\n\n"
                + "5\n00:00:01,200 --> 00:00:02,900\nOne two <u>three.</u>\n\n"
                + "6\n00:00:03,500 --> 00:00:04,000\n<u>Four</u> --> five.\n\n"
                + "7\n00:00:04,000 --> 00:00:04,500\nFour <u>--></u> five.\n\n"
                + "8\n00:00:04,500 --> 00:00:08,000\nFour --> five.\n\n"
                + "9\n00:00:08,000 --> 00:00:08,750\nFour --> <u>five.</u>\n\n")
        #expect(
            writeVTT(withWords, options: opts)
                == "WEBVTT\n\n00:00.100 --> 00:00.500\n<u>One</u> two three.\n\n"
                + "00:00.500 --> 00:00.600\nOne two three.\n\n"
                + "00:00.600 --> 00:01.000\nOne <u>two</u> three.\n\n"
                + "00:01.000 --> 00:01.200\nOne two three.\n\n"
                + "00:01.200 --> 00:02.900\nOne two <u>three.</u>\n\n"
                + "00:03.500 --> 00:04.000\n<u>Four</u> --> five.\n\n"
                + "00:04.000 --> 00:04.500\nFour <u>--></u> five.\n\n"
                + "00:04.500 --> 00:08.000\nFour --> five.\n\n"
                + "00:08.000 --> 00:08.750\nFour --> <u>five.</u>\n\n")
    }

    @Test func maxWordsPerLine() {
        #expect(
            writeSRT(withWords, options: .init(maxWordsPerLine: 2))
                == "1\n00:00:00,100 --> 00:00:01,000\nOne two\n\n"
                + "2\n00:00:01,200 --> 00:00:02,900\nthree.\n\n"
                + "3\n00:00:03,500 --> 00:00:04,500\nFour -->\n\n"
                + "4\n00:00:08,000 --> 00:00:08,750\nfive.\n\n")
    }

    @Test func lineWidthAndCount() {
        #expect(
            writeVTT(withWords, options: .init(maxLineWidth: 10, maxLineCount: 2))
                == "WEBVTT\n\n00:00.100 --> 00:02.900\nOne two\nthree.\n\n"
                + "00:03.500 --> 00:04.500\nFour -->\n\n"
                + "00:08.000 --> 00:08.750\nfive.\n\n")
    }

    @Test func lineWidthOnlyKeepsSegments() {
        #expect(
            writeSRT(withWords, options: .init(maxLineWidth: 8))
                == "1\n00:00:00,100 --> 00:00:02,900\nOne two\nthree.\n\n"
                + "2\n00:00:03,500 --> 00:00:08,750\nFour -->\nfive.\n\n")
    }

    @Test func lineWidthWithHighlight() {
        #expect(
            writeSRT(withWords, options: .init(maxLineWidth: 8, highlightWords: true))
                == "1\n00:00:00,100 --> 00:00:00,500\n<u>One</u> two\nthree.\n\n"
                + "2\n00:00:00,500 --> 00:00:00,600\nOne two\nthree.\n\n"
                + "3\n00:00:00,600 --> 00:00:01,000\nOne <u>two</u>\nthree.\n\n"
                + "4\n00:00:01,000 --> 00:00:01,200\nOne two\nthree.\n\n"
                + "5\n00:00:01,200 --> 00:00:02,900\nOne two\n<u>three.</u>\n\n"
                + "6\n00:00:03,500 --> 00:00:04,000\n<u>Four</u> -->\nfive.\n\n"
                + "7\n00:00:04,000 --> 00:00:04,500\nFour <u>--></u>\nfive.\n\n"
                + "8\n00:00:04,500 --> 00:00:08,000\nFour -->\nfive.\n\n"
                + "9\n00:00:08,000 --> 00:00:08,750\nFour -->\n<u>five.</u>\n\n")
    }

    @Test func longPauseBreaksWhenNotPreservingSegments() {
        let expected =
            "1\n00:00:00,000 --> 00:00:02,000\na b\n\n"
            + "2\n00:00:06,000 --> 00:00:07,000\nc\n\n"
            + "3\n00:00:20,000 --> 00:00:22,000\nd e\n\n"
        #expect(writeSRT(withPause, options: .init(maxLineWidth: 42, maxLineCount: 1)) == expected)
        #expect(writeSRT(withPause, options: .init(maxLineWidth: 3, maxLineCount: 2)) == expected)
        // Preserving segments: no pause break.
        #expect(
            writeSRT(withPause)
                == "1\n00:00:00,000 --> 00:00:07,000\na b c\n\n2\n00:00:20,000 --> 00:00:22,000\nd e\n\n")
    }

    @Test func nonPositiveOptionsMeanUnset() {
        let zero = SubtitleOptions(maxLineWidth: 0, maxLineCount: -1, maxWordsPerLine: 0)
        #expect(writeSRT(withWords, options: zero) == writeSRT(withWords))
    }

    @Test func wordModeDependsOnFirstSegment() {
        // First segment without words: segment mode, even if later ones have words.
        let t1 = Transcript(
            language: "en", languageProbability: 1, duration: 5,
            segments: [segment(0, 0, 1, " a-->b"), segment(1, 1, 5, " c", words: [word(2, 3, " c")])])
        #expect(writeVTT(t1) == "WEBVTT\n\n00:00.000 --> 00:01.000\na->b\n\n00:01.000 --> 00:05.000\nc\n\n")
        // First segment with words: later nil words count as none.
        let t2 = Transcript(
            language: "en", languageProbability: 1, duration: 5,
            segments: [segment(0, 0, 1, " a", words: [word(0.5, 0.75, " a")]), segment(1, 1, 5, " c")])
        #expect(writeVTT(t2) == "WEBVTT\n\n00:00.500 --> 00:00.750\na\n\n")
        // All word lists empty: no cues at all.
        let t3 = Transcript(
            language: "en", languageProbability: 1, duration: 5, segments: [segment(0, 0, 1, " a", words: [])])
        #expect(writeSRT(t3) == "")
        #expect(writeVTT(t3) == "WEBVTT\n\n")
    }

    @Test func underlineMatchesPythonRegex() {
        // re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", word)
        let cases: [(String, String)] = [
            (" abc", " <u>abc</u>"), ("abc", "<u>abc</u>"), ("\nabc", "\n<u>abc</u>"),
            ("  ", "  <u></u>"), (" a\nb", " a\nb"), (" ab\n", " <u>ab</u>\n"), ("", "<u></u>"),
            ("\t x y ", "\t <u>x y </u>"),
        ]
        for (input, expected) in cases {
            #expect(underlined(input) == expected, "\(input.debugDescription)")
        }
    }
}
