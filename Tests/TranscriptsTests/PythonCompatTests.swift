import Testing
@testable import Transcripts

@Suite struct PythonCompatTests {
    @Test func floatReprMatchesPython() {
        // Python repr() of the same values.
        let cases: [(Double, String)] = [
            (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (0.1, "0.1"), (1e16, "1e+16"),
            (1e15, "1000000000000000.0"), (1e-5, "1e-05"), (0.0001, "0.0001"), (1.5e-7, "1.5e-07"),
            (123456789.123, "123456789.123"), (1.0 / 3.0, "0.3333333333333333"), (2.5e-300, "2.5e-300"),
            (1.7976931348623157e308, "1.7976931348623157e+308"), (Double.leastNonzeroMagnitude, "5e-324"), (-2.25, "-2.25"),
            (1e22, "1e+22"), (12345678901234567.0, "1.2345678901234568e+16"), (3725.5, "3725.5"),
            (-0.25, "-0.25"), (100.0, "100.0"),
        ]
        for (value, expected) in cases {
            #expect(pythonFloatRepr(value) == expected)
        }
    }

    @Test func stripUsesPythonWhitespace() {
        #expect(pythonStrip("\u{1C} a \u{1F}") == "a")
        #expect(pythonStrip("\u{A0}x\u{3000}") == "x")
        #expect(pythonStrip("\u{200B}x") == "\u{200B}x")  // zero-width space is not whitespace
        #expect(pythonStrip(" \r\n y \u{85}") == "y")
        #expect(pythonStrip("") == "")
        #expect(pythonStrip(" \t ") == "")
        // Works on code points: a combining mark after a space survives on its own.
        #expect(Array(pythonStrip(" \u{301}x ").unicodeScalars) == ["\u{301}", "x"])
    }

    @Test func replaceIsNonOverlappingLeftToRight() {
        #expect(pythonReplace("--->", "-->", "->") == "-->")
        #expect(pythonReplace("a-->b-->", "-->", "->") == "a->b->")
        #expect(pythonReplace("--", "-->", "->") == "--")
        #expect(pythonReplace("-->\u{301}", "-->", "->") == "->\u{301}")  // code points, not graphemes
        #expect(pythonReplace("a\tb\t", "\t", " ") == "a b ")
    }

    @Test func lengthCountsCodePoints() {
        #expect(pythonLength("e\u{301}") == 2)
        #expect(pythonLength("日本") == 2)
        #expect(pythonLength("😀") == 1)
    }
}
