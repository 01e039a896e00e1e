import Foundation

/// Whisper's tokenizer: ids → text (GPT-2 byte-level, lossy UTF-8), the special
/// token ids of this vocabulary, language tokens, and BPE encoding for prompts.
///
/// Exists so decoding rules (docs/engine.md §6) can name special tokens without hard-coding a
/// model's ids, and so prompts/hotwords can be encoded as faster-whisper does.
public struct Tokenizer: Sendable {
    /// The 99 Whisper language codes, in token order (`<|en|>` first).
    public static let languageCodes: [String] = [
        "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi",
        "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la",
        "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy",
        "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be",
        "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
        "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su",
    ]
    /// Every code a Whisper model may have, in token order: the 99 and `yue`, which
    /// large-v3 added after `su` (faster-whisper's `_LANGUAGE_CODES`).
    public static let allLanguageCodes: [String] = languageCodes + ["yue"]

    /// Token strings in GPT-2 byte-to-unicode form, index = id.
    public let vocabulary: [String]
    let tokenToId: [String: Int]
    let mergeRanks: [String: Int]
    public let multilingual: Bool
    public let eot: Int
    public let sot: Int
    public let translate: Int
    public let transcribe: Int
    public let sotLM: Int
    public let sotPrev: Int
    public let noSpeech: Int
    public let noTimestamps: Int
    public let timestampBegin: Int
    /// Language code → token id, for the languages present in the vocabulary.
    public let languageTokens: [String: Int]

    /// - Parameters:
    ///   - vocabulary: one token per id.
    ///   - merges: BPE merges "a b" in rank order (may be empty if encoding is not needed).
    ///   - languageIds: config.json's `lang_ids`, each a `<|code|>` token; nil = every
    ///     code of `allLanguageCodes` the vocabulary has. English-only models ignore them:
    ///     their converters copied the multilingual ids, one off in that vocabulary.
    public init(vocabulary: [String], merges: [String], path: String = "vocabulary.txt",
                languageIds: [Int]? = nil) throws(WhisperError) {
        self.vocabulary = vocabulary
        var t2i: [String: Int] = [:]
        t2i.reserveCapacity(vocabulary.count)
        for (i, s) in vocabulary.enumerated() where t2i[s] == nil { t2i[s] = i }
        self.tokenToId = t2i
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() where ranks[m] == nil { ranks[m] = i }
        self.mergeRanks = ranks
        func id(_ s: String) throws(WhisperError) -> Int {
            guard let i = t2i[s] else { throw .badConfig(path: path, reason: "vocabulary lacks \(s)") }
            return i
        }
        self.multilingual = t2i[""] != nil
        eot = try id("<|endoftext|>")
        sot = try id("<|startoftranscript|>")
        translate = try id("<|translate|>")
        transcribe = try id("<|transcribe|>")
        sotLM = try id("<|startoflm|>")
        sotPrev = try id("<|startofprev|>")
        if let ns = t2i["<|nospeech|>"] { noSpeech = ns } else { noSpeech = try id("<|nocaptions|>") }
        noTimestamps = try id("<|notimestamps|>")
        timestampBegin = noTimestamps + 1
        var langs: [String: Int] = [:]
        if let languageIds, multilingual {
            for i in languageIds {
                let token = i >= 0 && i < vocabulary.count ? vocabulary[i] : ""
                guard token.hasPrefix("<|"), token.hasSuffix("|>"), token.count > 4 else {
                    throw .badConfig(path: path, reason: "lang id \(i) is \"\(token)\", not a language token")
                }
                langs[String(token.dropFirst(2).dropLast(2))] = i
            }
        } else {
            for code in Tokenizer.allLanguageCodes {
                if let i = t2i["<|\(code)|>"] { langs[code] = i }
            }
        }
        languageTokens = langs
    }

    /// The token of `language`; an error naming it when the model does not know it.
    public func languageToken(_ language: String) throws(WhisperError) -> Int {
        guard let id = languageTokens[language] else {
            throw .unknownLanguage(language, available: languageTokens.keys.sorted())
        }
        return id
    }

    /// The start-of-transcript sequence: [sot] for English-only models,
    /// [sot, <|lang|>, <|task|>] for multilingual ones.
    public func sotSequence(language: String = "en", task: Task = .transcribe) -> [Int] {
        guard multilingual else { return [sot] }
        return [sot, languageTokens[language] ?? languageTokens["en"] ?? sot, task == .translate ? translate : transcribe]
    }

    /// The task token of a multilingual model.
    public enum Task: String, Sendable, Codable { case transcribe, translate }

    /// ids → text: keeps ids < eot, maps GPT-2 unicode back to bytes, decodes lossy UTF-8.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < eot && id < vocabulary.count {
            for scalar in vocabulary[id].unicodeScalars {
                if let b = ByteLevel.unicodeToByte[scalar.value] { bytes.append(b) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// text → ids (no special tokens added), as HF's ByteLevel BPE without a prefix space.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        for piece in ByteLevel.preTokenize(text) {
            let mapped = piece.utf8.map { ByteLevel.byteToUnicode[Int($0)] }
            for tok in bpe(mapped) {
                if let i = tokenToId[tok] { ids.append(i) }
            }
        }
        return ids
    }

    /// Byte-pair merges of one pre-token (symbols are single mapped characters).
    func bpe(_ symbols: [Character]) -> [String] {
        var parts = symbols.map { String($0) }
        if parts.count < 2 { return parts }
        while parts.count > 1 {
            var best = Int.max, bestIndex = -1
            for i in 0..<(parts.count - 1) {
                if let r = mergeRanks[parts[i] + " " + parts[i + 1]], r < best { best = r; bestIndex = i }
            }
            if bestIndex < 0 { break }
            let a = parts[bestIndex], b = parts[bestIndex + 1]
            var merged: [String] = []
            merged.reserveCapacity(parts.count)
            var i = 0
            while i < parts.count {
                if i < parts.count - 1 && parts[i] == a && parts[i + 1] == b {
                    merged.append(a + b); i += 2
                } else {
                    merged.append(parts[i]); i += 1
                }
            }
            parts = merged
        }
        return parts
    }
}

/// GPT-2 byte ↔ unicode tables and pre-tokenizer.
enum ByteLevel {
    /// byte → printable character (bytes 33–126, 161–172, 174–255 map to themselves,
    /// the other 68 to U+0100… in ascending order).
    static let byteToUnicode: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                table[b] = Character(Unicode.Scalar(UInt32(256 + n))!)
                n += 1
            }
        }
        return table
    }()

    static let unicodeToByte: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for (b, c) in byteToUnicode.enumerated() { d[c.unicodeScalars.first!.value] = UInt8(b) }
        return d
    }()

    /// GPT-2 split: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    static func preTokenize(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var out: [String] = []
        var i = 0
        func isL(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
        func isN(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: return true
            default: return false
            }
        }
        func isS(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
        func emit(_ a: Int, _ b: Int) {
            var str = String.UnicodeScalarView()
            str.append(contentsOf: s[a..<b])
            out.append(String(str))
        }
        while i < s.count {
            // contractions
            if s[i] == "'" && i + 1 < s.count {
                let rest2 = i + 2 < s.count ? String(String.UnicodeScalarView(s[i + 1...i + 2])) : ""
                if ["re", "ve", "ll"].contains(rest2) { emit(i, i + 3); i += 3; continue }
                if ["s", "t", "m", "d"].contains(String(s[i + 1])) { emit(i, i + 2); i += 2; continue }
            }
            let start = i
            var j = i
            if s[j] == " " && j + 1 < s.count && !isS(s[j + 1]) { j += 1 }
            let c = s[j]
            if isL(c) {
                var k = j; while k < s.count && isL(s[k]) { k += 1 }
                emit(start, k); i = k; continue
            }
            if isN(c) {
                var k = j; while k < s.count && isN(s[k]) { k += 1 }
                emit(start, k); i = k; continue
            }
            if !isS(c) {
                var k = j; while k < s.count && !isS(s[k]) && !isL(s[k]) && !isN(s[k]) { k += 1 }
                emit(start, k); i = k; continue
            }
            // whitespace run starting at i
            var k = i; while k < s.count && isS(s[k]) { k += 1 }
            if k == s.count || k - i == 1 {
                // \s+(?!\S): to the end, or a single space before non-space falls to \s+
                emit(i, k); i = k
            } else {
                // leave the last whitespace char to prefix the next token
                emit(i, k - 1); i = k - 1
            }
        }
        return out
    }
}
