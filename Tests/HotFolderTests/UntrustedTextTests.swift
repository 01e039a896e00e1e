import Testing
@testable import HotFolder

@Suite struct UntrustedTextTests {
    @Test func controlCharactersAreEscapedSoNoLineCanBeForged() {
        #expect(UntrustedText.printable("a\nERROR forged") == "a\\nERROR forged")
        #expect(UntrustedText.printable("bell\u{7}esc\u{1b}[31m") == "bell\\x07esc\\x1b[31m")
        #expect(UntrustedText.printable("sep\u{2028}x") == "sep\\u{2028}x")
        #expect(!UntrustedText.printable("x\r\n\u{85}y").contains(where: { $0.isNewline }))
    }

    @Test func plainTextIsUnchangedAndLongTextIsCut() {
        #expect(UntrustedText.printable("talk (1) – ünïcode\\path.wav") == "talk (1) – ünïcode\\path.wav")
        #expect(UntrustedText.printable(String(repeating: "a", count: 50), limit: 10) == String(repeating: "a", count: 10) + "…")
        #expect(UntrustedText.printable("a\\b\n") == "a\\\\b\\n", "with escapes present, a backslash is escaped too")
    }
}
