import Testing
@testable import Transcripts

@Suite struct JSONTests {
    // Identical to Python's json.dumps(..., ensure_ascii=False) of the same dict.
    static let basicJSON =
        #"{"language": "en", "language_probability": 0.984375, "duration": 3725.5, "text": " Hello, world. Second --> line\twith tab \n  Über café 日本語", "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 2.5, "text": " Hello, world.", "tokens": [50364, 1000], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.015625}, {"id": 1, "seek": 0, "start": 2.5, "end": 5.123456, "text": " Second --> line\twith tab \n", "tokens": [50364, 1001], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.015625}, {"id": 2, "seek": 0, "start": 3599.9996, "end": 3725.5, "text": "  Über café 日本語", "tokens": [50364, 1002], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.015625}]}"#

    static let wordsJSON =
        #"{"language": "en", "language_probability": 0.984375, "duration": 10.0, "text": " One two three. Four --> five. nothing", "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 3.0, "text": " One two three.", "tokens": [50364, 1000], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.015625, "words": [{"start": 0.1, "end": 0.5, "word": " One", "probability": 0.9}, {"start": 0.6, "end": 1.0, "word": " two", "probability": 0.9}, {"start": 1.2, "end": 2.9, "word": " three.", "probability": 0.9}]}, {"id": 1, "seek": 0, "start": 3.0, "end": 9.0, "text": " Four --> five.", "tokens": [50364, 1001], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.015625, "words": [{"start": 3.5, "end": 4.0, "word": " Four", "probability": 0.9}, {"start": 4.0, "end": 4.5, "word": " -->", "probability": 0.9}, {"start": 8.0, "end": 8.75, "word": " five.", "probability": 0.9}]}, {"id": 2, "seek": 0, "start": 9.0, "end": 10.0, "text": " nothing", "tokens": [50364, 1002], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.015625, "words": []}]}"#

    @Test func basicDocument() {
        #expect(writeJSON(basic) == Self.basicJSON)
    }

    @Test func wordsDocument() {
        #expect(writeJSON(withWords) == Self.wordsJSON)
    }

    /// The bytes depend on the values alone: a transcript built another way (a copy, or
    /// read back from the document) gives the reference document again, byte for byte.
    @Test func equalTranscriptsGiveTheReferenceBytes() throws {
        let copy = Transcript(
            language: basic.language, languageProbability: basic.languageProbability,
            duration: basic.duration, segments: Array(basic.segments.reversed().reversed()))
        #expect(Array(writeJSON(copy).utf8) == Array(Self.basicJSON.utf8))
        #expect(Array(writeJSON(try decodeTranscriptJSON(Self.basicJSON)).utf8) == Array(Self.basicJSON.utf8))
        #expect(Array(writeJSON(try decodeTranscriptJSON(Self.wordsJSON)).utf8) == Array(Self.wordsJSON.utf8))
    }

    @Test(arguments: [basic, withWords, withPause, empty])
    func roundTrips(_ t: Transcript) throws {
        let json = writeJSON(t)
        let back = try decodeTranscriptJSON(json)
        #expect(back == t)
        #expect(writeJSON(back) == json)
        #expect(try decodeTranscriptJSON(Array(json.utf8)) == t)
    }

    @Test func awkwardNumbersRoundTripExactly() throws {
        let values: [Double] = [
            1.0 / 3.0, 0.1 + 0.2, 1e-7, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 1e16, 123456.789e3, -0.0,
            2.220446049250313e-16, 59.9995,
        ]
        let t = Transcript(
            language: "en", languageProbability: values[0], duration: values[4],
            segments: values.enumerated().map { i, v in
                Transcript.Segment(
                    id: i, seek: i * 3000, start: v, end: -v, text: " x", tokens: [Int.max, Int.min, 0],
                    temperature: v, avgLogprob: -v, compressionRatio: v, noSpeechProb: v,
                    words: [Transcript.Word(start: v, end: v, word: "x", probability: v)])
            })
        let back = try decodeTranscriptJSON(writeJSON(t))
        #expect(back == t)
        // -0.0 == 0.0, so check its sign survived too.
        #expect(back.segments[7].start.sign == .minus)
    }

    @Test func nonFiniteNumbersBecomeNullAndReadBackAsNaN() throws {
        let s = Transcript.Segment(
            id: 0, seek: 0, start: 0, end: 1, text: " x", tokens: [], temperature: .infinity,
            avgLogprob: -.infinity, compressionRatio: .nan, noSpeechProb: 0)
        let t = Transcript(language: "en", languageProbability: .nan, duration: 1, segments: [s])
        let json = writeJSON(t)
        #expect(
            json
                == #"{"language": "en", "language_probability": null, "duration": 1.0, "text": " x", "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.0, "text": " x", "tokens": [], "temperature": null, "avg_logprob": null, "compression_ratio": null, "no_speech_prob": 0.0}]}"#
        )
        let back = try decodeTranscriptJSON(json)
        #expect(back.languageProbability.isNaN)
        #expect(back.segments[0].temperature.isNaN)
        #expect(back.segments[0].avgLogprob.isNaN)
        #expect(back.segments[0].compressionRatio.isNaN)
        #expect(back.segments[0].noSpeechProb == 0)
    }

    @Test func stringEscaping() {
        var out = ""
        appendJSONString("q\"b\\s\n\r\t\u{08}\u{0C}\u{00}\u{1F}\u{7F} é 😀 \u{2028}/", to: &out)
        // Python json.dumps(ensure_ascii=False): DEL, U+2028, '/' and non-ASCII pass through.
        #expect(out == "\"q\\\"b\\\\s\\n\\r\\t\\b\\f\\u0000\\u001f\u{7F} é 😀 \u{2028}/\"")
        var all = ""
        appendJSONString(String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) })), to: &all)
        #expect(
            all
                == #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        )
    }

    @Test func escapedStringsRoundTrip() throws {
        let nasty = "\"\\\n\r\t\u{08}\u{0C}\u{00}\u{1B}\u{7F} é 😀 \u{2028} e\u{301} \r\n"
        let t = Transcript(
            language: "x\"y", languageProbability: 1, duration: 1,
            segments: [
                Transcript.Segment(
                    id: 0, seek: 0, start: 0, end: 1, text: nasty, tokens: [1], temperature: 0,
                    avgLogprob: 0, compressionRatio: 0, noSpeechProb: 0,
                    words: [Transcript.Word(start: 0, end: 1, word: nasty, probability: 1)])
            ])
        let back = try decodeTranscriptJSON(writeJSON(t))
        #expect(back == t)
        #expect(Array(back.segments[0].text.unicodeScalars) == Array(nasty.unicodeScalars))
    }

    @Test func readsWhisperStyleDocuments() throws {
        // Key order, whitespace, missing words and an extra key do not matter.
        let json = #"""
            {
              "segments": [{"words": [{"probability": 0.5, "word": " hi", "end": 1, "start": 0}],
                            "no_speech_prob": 0.1, "compression_ratio": 1, "avg_logprob": -1,
                            "temperature": 0.2, "tokens": [1, 2], "text": " hi", "end": 1.5,
                            "start": 0, "seek": 0, "id": 0, "extra": true},
                           {"id": 1, "seek": 3000, "start": 1.5, "end": 2, "text": " there",
                            "tokens": [], "temperature": 0, "avg_logprob": 0,
                            "compression_ratio": 0, "no_speech_prob": 0}],
              "language": "fr", "language_probability": 0.75, "duration": 2.0, "text": "ignored"
            }
            """#
        let t = try decodeTranscriptJSON(json)
        #expect(t.language == "fr")
        #expect(t.languageProbability == 0.75)
        #expect(t.segments.count == 2)
        #expect(t.segments[0].words == [Transcript.Word(start: 0, end: 1, word: " hi", probability: 0.5)])
        #expect(t.segments[1].words == nil)
        #expect(t.segments[1].seek == 3000)
        #expect(t.text == " hi there")
    }

    @Test func rejectsBadDocuments() {
        #expect(throws: (any Error).self) { try decodeTranscriptJSON("") }
        #expect(throws: (any Error).self) { try decodeTranscriptJSON("[]") }
        #expect(throws: (any Error).self) { try decodeTranscriptJSON(#"{"language": "en"}"#) }
        #expect(throws: (any Error).self) {
            try decodeTranscriptJSON(#"{"language": "en", "language_probability": 1, "segments": []}"#)
        }
    }

    @Test func textIsConcatenation() {
        #expect(basic.text == " Hello, world. Second --> line\twith tab \n  Über café 日本語")
        #expect(empty.text == "")
    }
}
