// The text writers: pure functions from a Transcript to the file's contents,
// reproducing openai-whisper's `whisper/utils.py` writers (WriteTXT, WriteSRT,
// WriteVTT, WriteTSV) byte for byte, with "\n" line endings and no BOM.

/// openai-whisper's `WriteTXT`: each segment's text, stripped, on its own line.
/// No segments → empty string.
public func writeTXT(_ transcript: Transcript) -> String {
    var out = ""
    for segment in transcript.segments {
        out += pythonStrip(segment.text) + "\n"
    }
    return out
}

/// openai-whisper's `WriteSRT`: cues numbered from 1,
/// `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the text, a blank line.
/// Cue layout follows `SubtitleOptions` (see there). No cues → empty string.
public func writeSRT(_ transcript: Transcript, options: SubtitleOptions = .init()) -> String {
    var out = ""
    for (i, cue) in subtitleCues(transcript, options: options, alwaysIncludeHours: true, decimalMarker: ",")
        .enumerated()
    {
        out += "\(i + 1)\n\(cue.start) --> \(cue.end)\n\(cue.text)\n\n"
    }
    return out
}

/// openai-whisper's `WriteVTT`: `WEBVTT` and a blank line, then per cue
/// `[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm` (hours only from one hour on), the
/// text, a blank line. No cues → `"WEBVTT\n\n"`.
public func writeVTT(_ transcript: Transcript, options: SubtitleOptions = .init()) -> String {
    var out = "WEBVTT\n\n"
    for cue in subtitleCues(transcript, options: options, alwaysIncludeHours: false, decimalMarker: ".") {
        out += "\(cue.start) --> \(cue.end)\n\(cue.text)\n\n"
    }
    return out
}

/// openai-whisper's `WriteTSV`: a `start\tend\ttext` header, then per segment
/// start and end in integer milliseconds (`round(1000 * t)`) and the stripped
/// text with tabs replaced by spaces. No segments → just the header line.
///
/// Unlike openai-whisper (which prints negative numbers here), negative and
/// NaN times clamp to 0, as in the subtitle timestamps.
public func writeTSV(_ transcript: Transcript) -> String {
    var out = "start\tend\ttext\n"
    for segment in transcript.segments {
        out += String(timestampMilliseconds(segment.start)) + "\t"
        out += String(timestampMilliseconds(segment.end)) + "\t"
        out += pythonReplace(pythonStrip(segment.text), "\t", " ") + "\n"
    }
    return out
}

/// The knobs of openai-whisper's subtitle writers (`--max_line_width`,
/// `--max_line_count`, `--highlight_words`, `--max_words_per_line`).
///
/// They only matter in word-timestamp mode, i.e. when the first segment has
/// `words` (openai-whisper's `"words" in result["segments"][0]`); then cues are
/// built from the words: by default one cue per segment, from its first
/// word's start to its last word's end, text = the words joined with the
/// first stripped (and, as in openai-whisper, without the `-->` → `->`
/// replacement). Segments with no words produce no cue; a later segment whose
/// `words` is `nil` counts as having none (openai-whisper would crash).
///
/// Without words, each segment is one cue: its start, end, and stripped text
/// with `-->` replaced by `->`.
///
/// As in openai-whisper, `nil` (and here also any value below 1, which
/// openai-whisper treats as unset for 0 and loops on for negatives) means
/// unset; segments are kept as cue boundaries unless both `maxLineWidth` and
/// `maxLineCount` are set.
public struct SubtitleOptions: Sendable, Equatable, Hashable {
    public var maxLineWidth: Int?
    public var maxLineCount: Int?
    public var highlightWords: Bool
    public var maxWordsPerLine: Int?

    public init(
        maxLineWidth: Int? = nil, maxLineCount: Int? = nil, highlightWords: Bool = false,
        maxWordsPerLine: Int? = nil
    ) {
        self.maxLineWidth = maxLineWidth
        self.maxLineCount = maxLineCount
        self.highlightWords = highlightWords
        self.maxWordsPerLine = maxWordsPerLine
    }
}

struct Cue: Equatable {
    var start: String
    var end: String
    var text: String
}

private struct Timing {
    var start: Double
    var end: Double
    var word: String
}

private func positive(_ n: Int?) -> Int? {
    guard let n, n >= 1 else { return nil }
    return n
}

/// openai-whisper's `SubtitlesWriter.iterate_result`.
func subtitleCues(
    _ transcript: Transcript, options: SubtitleOptions, alwaysIncludeHours: Bool, decimalMarker: String
) -> [Cue] {
    let segments = transcript.segments
    func fmt(_ t: Double) -> String {
        formatTimestamp(t, alwaysIncludeHours: alwaysIncludeHours, decimalMarker: decimalMarker)
    }
    guard let first = segments.first, first.words != nil else {
        return segments.map { segment in
            Cue(
                start: fmt(segment.start), end: fmt(segment.end),
                text: pythonReplace(pythonStrip(segment.text), "-->", "->"))
        }
    }
    var cues: [Cue] = []
    for subtitle in wordSubtitles(segments, options: options) {
        let subtitleStart = fmt(subtitle[0].start)
        let subtitleEnd = fmt(subtitle[subtitle.count - 1].end)
        let subtitleText = subtitle.map(\.word).joined()
        guard options.highlightWords else {
            cues.append(Cue(start: subtitleStart, end: subtitleEnd, text: subtitleText))
            continue
        }
        var last = subtitleStart
        for (i, word) in subtitle.enumerated() {
            let start = fmt(word.start)
            let end = fmt(word.end)
            if last != start {
                cues.append(Cue(start: last, end: start, text: subtitleText))
            }
            var text = ""
            for (j, other) in subtitle.enumerated() {
                text += j == i ? underlined(other.word) : other.word
            }
            cues.append(Cue(start: start, end: end, text: text))
            last = end
        }
    }
    return cues
}

/// `re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", word)`: `.` stops at a newline and
/// `$` also matches before a final newline, so a word with a newline after
/// its first non-space character is left alone unless that newline is last.
func underlined(_ word: String) -> String {
    let scalars = Array(word.unicodeScalars)
    var lead = 0
    while lead < scalars.count, isPythonSpace(scalars[lead]) { lead += 1 }
    let rest = scalars[lead...]
    let head = String(String.UnicodeScalarView(scalars[..<lead]))
    let newlines = rest.indices.filter { rest[$0] == "\n" }
    if newlines.isEmpty {
        return head + "<u>" + String(String.UnicodeScalarView(rest)) + "</u>"
    }
    if newlines.count == 1, newlines[0] == scalars.count - 1 {
        let body = String(String.UnicodeScalarView(rest.dropLast()))
        return head + "<u>" + body + "</u>\n"
    }
    return word
}

/// `iterate_subtitles` inside openai-whisper's `iterate_result`: groups word
/// timings into subtitles, inserting "\n" line breaks.
private func wordSubtitles(_ segments: [Transcript.Segment], options: SubtitleOptions) -> [[Timing]] {
    let maxLineCount = positive(options.maxLineCount)
    let preserveSegments = maxLineCount == nil || positive(options.maxLineWidth) == nil
    let maxLineWidth = positive(options.maxLineWidth) ?? 1000
    let maxWordsPerLine = positive(options.maxWordsPerLine) ?? 1000

    var lineLen = 0
    var lineCount = 1
    var subtitle: [Timing] = []
    var result: [[Timing]] = []
    // get_start(segments) or 0.0
    var last = segments.lazy.compactMap { $0.words?.first?.start }.first ?? segments.first?.start ?? 0
    for segment in segments {
        let words = segment.words ?? []
        var chunkIndex = 0
        var wordsCount = maxWordsPerLine
        while chunkIndex < words.count {
            let remaining = words.count - chunkIndex
            if maxWordsPerLine > remaining { wordsCount = remaining }
            let chunk = words[chunkIndex..<min(words.count, chunkIndex + wordsCount)]
            for (i, original) in chunk.enumerated() {
                var timing = Timing(start: original.start, end: original.end, word: original.word)
                let longPause = !preserveSegments && timing.start - last > 3.0
                let hasRoom = lineLen + pythonLength(timing.word) <= maxLineWidth
                let segBreak = i == 0 && !subtitle.isEmpty && preserveSegments
                if lineLen > 0 && hasRoom && !longPause && !segBreak {
                    lineLen += pythonLength(timing.word)
                } else {
                    timing.word = pythonStrip(timing.word)
                    let countBreak = maxLineCount.map { longPause || lineCount >= $0 } ?? false
                    if (!subtitle.isEmpty && countBreak) || segBreak {
                        result.append(subtitle)
                        subtitle = []
                        lineCount = 1
                    } else if lineLen > 0 {
                        lineCount += 1
                        timing.word = "\n" + timing.word
                    }
                    lineLen = pythonLength(pythonStrip(timing.word))
                }
                subtitle.append(timing)
                last = timing.start
            }
            chunkIndex += maxWordsPerLine
        }
    }
    if !subtitle.isEmpty { result.append(subtitle) }
    return result
}
