import Foundation
import Testing
@testable import Whisper

/// Needs the tiny.en and base models, except the pre-tokenizer (ByteLevelTests), which runs everywhere.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en") && Fixtures.hasModel("base"), "needs the tiny.en and base models"))
struct TokenizerTests {
    @Test func decodeExamples() throws {
        let t = try Fixtures.model("tiny.en").tokenizer
        #expect(t.decode([18435, 995, 13]) == " Hello world.")
        #expect(t.decode([10263, 225]) == " \u{FFFD}")
        #expect(t.decode([50363, 383, 2068, 50256, 13]) == " The quick.")
    }

    @Test func specialTokens() throws {
        let t = try Fixtures.model("tiny.en").tokenizer
        #expect(!t.multilingual)
        #expect(Array<Int>([t.eot, t.sot, t.translate, t.transcribe, t.sotLM, t.sotPrev, t.noSpeech, t.noTimestamps, t.timestampBegin])
                == [50256, 50257, 50357, 50358, 50359, 50360, 50361, 50362, 50363])
        #expect(t.languageTokens["en"] == 50258)
        #expect(t.sotSequence() == [50257])
        let b = try Fixtures.model("base").tokenizer
        #expect(b.multilingual)
        #expect(Array<Int>([b.eot, b.sot, b.translate, b.transcribe, b.sotLM, b.sotPrev, b.noSpeech, b.noTimestamps, b.timestampBegin])
                == [50257, 50258, 50358, 50359, 50360, 50361, 50362, 50363, 50364])
        #expect(b.sotSequence(language: "en") == [50258, 50259, 50359])
        #expect(Tokenizer.languageCodes.count == 99)
        #expect(b.languageTokens.count == 99)
        #expect(b.languageTokens["su"] == 50357)
    }

    @Test func encodeKnownAndRoundTrip() throws {
        let t = try Fixtures.model("tiny.en").tokenizer
        #expect(t.encode(" Hello world.") == [18435, 995, 13])
        #expect(t.encode(" The quick brown fox") == [383, 2068, 7586, 21831])
        for s in [" She sells sea shells by the sea shore.", "It's 42 o'clock,  isn't it?\nYes —  naïve café 東京 🙂",
                  "  leading and trailing  ", "we'll they've I'm"] {
            #expect(t.decode(t.encode(s)) == s)
        }
        let b = try Fixtures.model("base").tokenizer
        let s = " Bonjour, ça va? Üben 12345"
        #expect(b.decode(b.encode(s)) == s)
    }
}

/// GPT-2's pre-tokenizer split, which needs no model.
struct ByteLevelTests {
    @Test func preTokenizerSplitsLikeGPT2() {
        #expect(ByteLevel.preTokenize("Hello world") == ["Hello", " world"])
        #expect(ByteLevel.preTokenize("it's  ok") == ["it", "'s", " ", " ok"])
        #expect(ByteLevel.preTokenize("a\n\nb") == ["a", "\n", "\n", "b"])
        #expect(ByteLevel.preTokenize("x  ") == ["x", "  "])
        #expect(ByteLevel.preTokenize("ab12 !!") == ["ab", "12", " !!"])
    }
}
