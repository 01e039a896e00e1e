import Testing
@testable import Transcripts

@Suite struct OutputFileNameTests {
    @Test func keepsTheWholeSourceName() {
        #expect(outputFileName(forSource: "talk.mp3", format: .txt) == "talk.mp3.txt")
        #expect(outputFileName(forSource: "talk.wav", format: .txt) == "talk.wav.txt")
        #expect(outputFileName(forSource: "talk", format: .json) == "talk.json")
        #expect(outputFileName(forSource: ".hidden", format: .srt) == ".hidden.srt")
        #expect(outputFileName(forSource: "-rf --x.m4a", format: .vtt) == "-rf --x.m4a.vtt")
        #expect(outputFileName(forSource: "a b\nc\td.ogg", format: .tsv) == "a b\nc\td.ogg.tsv")
        #expect(outputFileName(forSource: "Übung 日本語 😀.flac", format: .srt) == "Übung 日本語 😀.flac.srt")
    }

    @Test func slashNulAndEmptyAreMadeSafe() {
        #expect(outputFileName(forSource: "a/b", format: .txt) == "a_b.txt")
        #expect(outputFileName(forSource: "a\u{0}b", format: .txt) == "a_b.txt")
        #expect(outputFileName(forSource: "", format: .txt) == "_.txt")
        #expect(outputFileName(forSource: "..", format: .txt) == "...txt")
    }

    @Test func arbitraryBytesPassThrough() {
        let source: [UInt8] = [0xFF, 0xFE, 0x80, 0x20, 0x2D, 0x0A]
        #expect(outputFileName(forSource: source, format: .srt) == source + Array(".srt".utf8))
    }

    @Test(arguments: OutputFormat.allCases)
    func exactlyFittingNamesAreNotTouched(_ format: OutputFormat) {
        let fits = [UInt8](repeating: UInt8(ascii: "a"), count: 255 - 1 - format.fileExtension.utf8.count)
        let out = outputFileName(forSource: fits, format: format)
        #expect(out.count == 255)
        #expect(out == fits + Array(".\(format.fileExtension)".utf8))
    }

    @Test(arguments: OutputFormat.allCases)
    func longNamesAreCutAndHashed(_ format: OutputFormat) {
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 255 - format.fileExtension.utf8.count)
        let out = outputFileName(forSource: long, format: format)
        #expect(out.count == 255)
        let suffix = Array(".\(format.fileExtension)".utf8)
        #expect(Array(out.suffix(suffix.count)) == suffix)
        let stemEnd = out.count - suffix.count
        let marker = Array(out[(stemEnd - 17)..<stemEnd])
        #expect(marker[0] == UInt8(ascii: "~"))
        #expect(String(decoding: marker.dropFirst(), as: UTF8.self) == hex(fnv1a64(long)))
        #expect(Array(out[..<(stemEnd - 17)]) == Array(long[..<(stemEnd - 17)]))
    }

    @Test func longNamesSharingAPrefixStayDistinct() {
        let base = String(repeating: "x", count: 300)
        let a = outputFileName(forSource: base + "1.mp3", format: .txt)
        let b = outputFileName(forSource: base + "2.mp3", format: .txt)
        #expect(a != b)
        #expect(a.utf8.count == 255 && b.utf8.count == 255)
        // Deterministic.
        #expect(a == outputFileName(forSource: base + "1.mp3", format: .txt))
    }

    /// An upload named like another file's cut transcript name (without the extension)
    /// must not be written over it: a name ending like a cut one is cut and hashed too.
    @Test(arguments: OutputFormat.allCases)
    func aNameThatLooksCutIsMarkedToo(_ format: OutputFormat) {
        let long = String(repeating: "l", count: 300) + ".wav"
        let cut = outputFileName(forSource: long, format: format)
        let twin = String(cut.dropLast(format.fileExtension.utf8.count + 1))
        let twinOutput = outputFileName(forSource: twin, format: format)
        #expect(twinOutput != cut)
        #expect(twinOutput.utf8.count <= 255 && twinOutput.hasSuffix("." + format.fileExtension))
        #expect(outputFileName(forSource: "a~0123456789abcdef", format: format) != "a~0123456789abcdef." + format.fileExtension)
        #expect(outputFileName(forSource: "a~0123456789ABCDEF", format: format) == "a~0123456789ABCDEF." + format.fileExtension,
                "only the exact form of the mark (lowercase hex) is taken for one")
    }

    @Test func hashExample() {
        // FNV-1a 64 reference values.
        #expect(fnv1a64([UInt8]()) == 0xcbf2_9ce4_8422_2325)
        #expect(fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(fnv1a64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
        let name = String(repeating: "b", count: 260)
        #expect(
            outputFileName(forSource: name, format: .txt)
                == String(repeating: "b", count: 234) + "~" + hex(fnv1a64(Array(name.utf8))) + ".txt")
    }

    @Test(arguments: [1, 2, 3, 4])
    func neverCutsInsideAUTF8Sequence(_ width: Int) {
        // Characters of every UTF-8 width, at every alignment relative to the cut.
        let char = ["a", "é", "日", "😀"][width - 1]
        for pad in 0..<4 {
            let source = String(repeating: "-", count: pad) + String(repeating: char, count: 300)
            let out = outputFileName(forSource: source, format: .json)
            #expect(out.utf8.count <= 255)
            #expect(out.utf8.count > 255 - 4)  // at most 3 bytes given up
            #expect(!out.unicodeScalars.contains("\u{FFFD}"))
            let bytes = outputFileName(forSource: Array(source.utf8), format: .json)
            #expect(String(validating: bytes, as: UTF8.self) != nil)
            #expect(out.hasSuffix(".json"))
            #expect(source.hasPrefix(String(out.prefix(while: { $0 != "~" }))))
        }
    }

    @Test func longNonUTF8NamesBackUpAtMostThreeBytes() {
        let source = [UInt8](repeating: 0x80, count: 300)
        let out = outputFileName(forSource: source, format: .txt)
        #expect(out.count == 255 - 3)
        #expect(Array(out[..<(234 - 3)]) == [UInt8](repeating: 0x80, count: 231))
        #expect(out[231] == UInt8(ascii: "~"))
    }

    @Test func maximumLengthUTF8Name() {
        // 255-byte source made of 3-byte characters: 85 × "日".
        let source = String(repeating: "日", count: 85)
        #expect(source.utf8.count == 255)
        let out = outputFileName(forSource: source, format: .srt)
        #expect(out.utf8.count <= 255)
        #expect(out == String(repeating: "日", count: 78) + "~" + hex(fnv1a64(Array(source.utf8))) + ".srt")
        #expect(out.hasSuffix(".srt"))
    }
}

private func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
