/// The JSON output: one object, byte-for-byte deterministic for a given
/// `Transcript` (the daemon compares a resumed job's output with an
/// uninterrupted run's).
///
/// Layout, following openai-whisper's `json.dump(result)` where it can:
/// - key order fixed: `language`, `language_probability`, `duration`, `text`
///   (the segments' texts concatenated), `segments`; per segment `id`, `seek`,
///   `start`, `end`, `text`, `tokens`, `temperature`, `avg_logprob`,
///   `compression_ratio`, `no_speech_prob`, then `words` only when the
///   segment has them (`start`, `end`, `word`, `probability` each);
/// - separators `", "` and `": "`, no newlines, no trailing newline;
/// - numbers as Python's `repr(float)` prints them (shortest round-trip
///   digits: `0.0`, `1.5`, `1e-05`, `1e+16`), integers as integers, so the
///   document reads back to the identical `Transcript`;
/// - NaN and ±infinity, which JSON cannot hold, as `null` (read back as NaN);
/// - strings escaped as `json.dumps(ensure_ascii=False)` does: `\"`, `\\`,
///   `\n`, `\r`, `\t`, `\b`, `\f`, other controls below U+0020 as `\u00XX`;
///   everything else, including non-ASCII, passes through as UTF-8.
///   (openai-whisper's default `ensure_ascii=True` would escape non-ASCII.)
public func writeJSON(_ transcript: Transcript) -> String {
    var out = "{"
    out += "\"language\": "
    appendJSONString(transcript.language, to: &out)
    out += ", \"language_probability\": " + jsonNumber(transcript.languageProbability)
    out += ", \"duration\": " + jsonNumber(transcript.duration)
    out += ", \"text\": "
    appendJSONString(transcript.text, to: &out)
    out += ", \"segments\": ["
    for (i, s) in transcript.segments.enumerated() {
        if i > 0 { out += ", " }
        out += "{\"id\": " + String(s.id)
        out += ", \"seek\": " + String(s.seek)
        out += ", \"start\": " + jsonNumber(s.start)
        out += ", \"end\": " + jsonNumber(s.end)
        out += ", \"text\": "
        appendJSONString(s.text, to: &out)
        out += ", \"tokens\": [" + s.tokens.map { String($0) }.joined(separator: ", ") + "]"
        out += ", \"temperature\": " + jsonNumber(s.temperature)
        out += ", \"avg_logprob\": " + jsonNumber(s.avgLogprob)
        out += ", \"compression_ratio\": " + jsonNumber(s.compressionRatio)
        out += ", \"no_speech_prob\": " + jsonNumber(s.noSpeechProb)
        if let words = s.words {
            out += ", \"words\": ["
            for (j, w) in words.enumerated() {
                if j > 0 { out += ", " }
                out += "{\"start\": " + jsonNumber(w.start)
                out += ", \"end\": " + jsonNumber(w.end)
                out += ", \"word\": "
                appendJSONString(w.word, to: &out)
                out += ", \"probability\": " + jsonNumber(w.probability) + "}"
            }
            out += "]"
        }
        out += "}"
    }
    out += "]}"
    return out
}

func jsonNumber(_ value: Double) -> String {
    value.isFinite ? pythonFloatRepr(value) : "null"
}

private let hexDigits = Array("0123456789abcdef".unicodeScalars)

func appendJSONString(_ text: String, to out: inout String) {
    var scalars = String.UnicodeScalarView()
    scalars.append("\"")
    for s in text.unicodeScalars {
        switch s {
        case "\"": scalars.append(contentsOf: "\\\"".unicodeScalars)
        case "\\": scalars.append(contentsOf: "\\\\".unicodeScalars)
        case "\n": scalars.append(contentsOf: "\\n".unicodeScalars)
        case "\r": scalars.append(contentsOf: "\\r".unicodeScalars)
        case "\t": scalars.append(contentsOf: "\\t".unicodeScalars)
        case "\u{08}": scalars.append(contentsOf: "\\b".unicodeScalars)
        case "\u{0C}": scalars.append(contentsOf: "\\f".unicodeScalars)
        case _ where s.value < 0x20:
            scalars.append(contentsOf: "\\u00".unicodeScalars)
            scalars.append(hexDigits[Int(s.value >> 4)])
            scalars.append(hexDigits[Int(s.value & 0xF)])
        default:
            scalars.append(s)
        }
    }
    scalars.append("\"")
    out.unicodeScalars.append(contentsOf: scalars)
}
