import Foundation

/// A word of a window's text and the tokens that spell it (docs/engine.md §8.5).
///
/// Exists because word timing works on token groups: the alignment gives a
/// time per token, and a word's span is that of its first and last tokens.
public struct WordTokens: Sendable, Equatable {
    public var word: String
    public var tokens: [Int]
}

extension Tokenizer {
    /// Languages written without spaces between words: their words are the
    /// smallest token runs that decode to whole characters.
    static let languagesWithoutSpaces: Set<String> = ["zh", "ja", "th", "lo", "my", "yue"]

    /// Python's `string.punctuation`; membership is tested as a substring, as
    /// faster-whisper's `subword.strip() in string.punctuation` does.
    static let asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

    /// Splits tokens (text tokens, usually ending in eot) into words the way
    /// faster-whisper's `split_to_word_tokens` does.
    public func splitToWordTokens(_ tokens: [Int], language: String) -> [WordTokens] {
        let pieces = splitOnUnicode(tokens)
        if Self.languagesWithoutSpaces.contains(language) { return pieces }
        var words: [WordTokens] = []
        for piece in pieces {
            let special = (piece.tokens.first ?? 0) >= eot
            let withSpace = piece.word.hasPrefix(" ")
            let stripped = piece.word.trimmingCharacters(in: .whitespacesAndNewlines)
            let punctuation = stripped.isEmpty || Self.asciiPunctuation.contains(stripped)
            if special || withSpace || punctuation || words.isEmpty {
                words.append(piece)
            } else {
                words[words.count - 1].word += piece.word
                words[words.count - 1].tokens += piece.tokens
            }
        }
        return words
    }

    /// Groups tokens into the shortest runs that decode without a replacement
    /// character (unless the full text has one at the same place).
    func splitOnUnicode(_ tokens: [Int]) -> [WordTokens] {
        let replacement: Unicode.Scalar = "\u{FFFD}"
        let full = Array(decode(tokens).unicodeScalars)
        var out: [WordTokens] = []
        var current: [Int] = []
        var offset = 0
        for token in tokens {
            current.append(token)
            let decoded = decode(current)
            let scalars = Array(decoded.unicodeScalars)
            var complete = true
            if let i = scalars.firstIndex(of: replacement) {
                let at = i + offset
                complete = at < full.count && full[at] == replacement
            }
            if complete {
                out.append(WordTokens(word: decoded, tokens: current))
                current = []
                offset += scalars.count
            }
        }
        return out
    }
}
