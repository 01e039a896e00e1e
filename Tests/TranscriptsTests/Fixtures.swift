@testable import Transcripts

// Hand-made transcripts. The expected outputs in the tests were produced by
// running openai-whisper's own whisper/utils.py writers (commit c0d2f62) on
// the same data, then pasted here.

func segment(
    _ id: Int, _ start: Double, _ end: Double, _ text: String, words: [Transcript.Word]? = nil
) -> Transcript.Segment {
    Transcript.Segment(
        id: id, seek: 0, start: start, end: end, text: text, tokens: [50364, 1000 + id],
        temperature: 0.0, avgLogprob: -0.25, compressionRatio: 1.5, noSpeechProb: 0.015625,
        words: words)
}

func word(_ start: Double, _ end: Double, _ text: String) -> Transcript.Word {
    Transcript.Word(start: start, end: end, word: text, probability: 0.9)
}

/// Three segments: a plain one, one with `-->`, a tab and trailing
/// whitespace, and one past the hour with non-ASCII text.
let basic = Transcript(
    language: "en", languageProbability: 0.984375, duration: 3725.5,
    segments: [
        segment(0, 0.0, 2.5, " Hello, world."),
        segment(1, 2.5, 5.123456, " Second --> line\twith tab \n"),
        segment(2, 3599.9996, 3725.5, "  Über café 日本語"),
    ])

/// Word timestamps; the last segment has an empty word list.
let withWords = Transcript(
    language: "en", languageProbability: 0.984375, duration: 10.0,
    segments: [
        segment(0, 0.0, 3.0, " One two three.", words: [word(0.1, 0.5, " One"), word(0.6, 1.0, " two"), word(1.2, 2.9, " three.")]),
        segment(1, 3.0, 9.0, " Four --> five.", words: [word(3.5, 4.0, " Four"), word(4.0, 4.5, " -->"), word(8.0, 8.75, " five.")]),
        segment(2, 9.0, 10.0, " nothing", words: []),
    ])

/// Word timestamps with a long pause inside the first segment.
let withPause = Transcript(
    language: "en", languageProbability: 0.5, duration: 30.0,
    segments: [
        segment(0, 0, 20, " a b c", words: [word(0, 1, " a"), word(1, 2, " b"), word(6, 7, " c")]),
        segment(1, 20, 30, " d e", words: [word(20, 21, " d"), word(21, 22, " e")]),
    ])

let empty = Transcript(language: "de", languageProbability: 1.0, duration: 0.0, segments: [])
