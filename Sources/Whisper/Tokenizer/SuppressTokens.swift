/// faster-whisper's default suppress list (`get_suppressed_tokens` with `suppress_tokens=[-1]`):
/// the tokens of non-speech symbols, plus transcribe, translate, sot, sot_prev, sot_lm
/// and no_speech.
///
/// Exists because the list depends on the vocabulary's layout (large-v3 moved every
/// special token by one) and faster-whisper computes it from the tokenizer rather than
/// trusting config.json; for tiny.en and base both agree (tested).
public enum SuppressTokens {
    /// Symbols that begin speaker tags and annotations ("[DAVID]", "( MUSIC )", "♪♪♪").
    static let symbols: [String] = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".map(String.init)
        + "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split(separator: " ").map(String.init)
    /// U+2640–U+267F symbols: suppressed by their first token even when they take several.
    static let miscellaneous: [String] = ["♩", "♪", "♫", "♬", "♭", "♮", "♯"]

    /// tokenizer.py's `non_speech_tokens`: needs the tokenizer's merges.
    public static func nonSpeech(_ tokenizer: Tokenizer) -> [Int] {
        var result = Set<Int>()
        // Hyphens and apostrophes may join words, but not begin one.
        for start in [" -", " '"] { if let first = tokenizer.encode(start).first { result.insert(first) } }
        for symbol in symbols + miscellaneous {
            for tokens in [tokenizer.encode(symbol), tokenizer.encode(" " + symbol)] {
                if tokens.count == 1 || (miscellaneous.contains(symbol) && !tokens.isEmpty) { result.insert(tokens[0]) }
            }
        }
        return result.sorted()
    }

    /// transcribe.py's `get_suppressed_tokens(tokenizer, [-1])`, sorted.
    public static func fasterWhisper(_ tokenizer: Tokenizer) -> [Int] {
        let special = [tokenizer.transcribe, tokenizer.translate, tokenizer.sot, tokenizer.sotPrev,
                       tokenizer.sotLM, tokenizer.noSpeech]
        return Array(Set(nonSpeech(tokenizer) + special)).sorted()
    }
}
