import Foundation
import MediaDecoding
import Testing

@Suite(.enabled(if: Corpus.available, "corpus missing: run `make corpus`"))
struct SeekTests {
    static let files = ["formats/sample.mp3", "formats/sample-16k-mono.mp3", "formats/sample.flac",
                        "formats/sample-48k-stereo.flac", "formats/sample.m4a", "formats/sample-video.mp4",
                        "formats/sample-video.mkv", "formats/sample.ogg", "formats/sample.opus",
                        "formats/sample-44k-stereo.wav"]

    static let noisyCodec: Set<String> = ["formats/sample.m4a", "formats/sample-video.mp4"]

    @Test("samples after a seek equal a decode from the start", arguments: files)
    func seekEquivalence(file: String) throws {
        let path = Corpus.path(file)
        let full = try decodeAll(path)
        let positions = [0, 777, 16000 * 2 + 1, 16000 * 3 + 12345, 16000 * 7 + 5, 16000 * 11 + 999, full.count - 4000]
        let decoder = try AudioDecoder(path: path, options: .quiet)
        for target in positions + [16000 * 5] {  // also backwards
            try decoder.seek(toSample: target)
            #expect(decoder.position == target)
            var got: [Float] = []
            while got.count < 32000, let c = try decoder.next() { got += c }
            let expected = full[target..<min(full.count, target + 32000)]
            #expect(got.count >= expected.count, "\(file) @\(target): \(got.count) samples")
            let head = Array(got[0..<min(got.count, expected.count)])
            let m = maxAbsDifference(head[...], expected)
            let rms = rmsDifference(head, Array(expected))
            if Self.noisyCodec.contains(file) {
                // AAC's perceptual noise substitution draws from a random generator that a
                // seek does not rewind: noise-filled bands differ, the rest is exact.
                #expect(rms < 2e-3, "\(file) @\(target): RMS difference \(rms), max \(m)")
            } else {
                #expect(m <= 2.0 / 32768, "\(file) @\(target): max difference \(m)")
            }
            print("seek \(file) @\(target): max \(m) rms \(rms)")
        }
        try decoder.seek(toSample: full.count + 16000)
        #expect(try decoder.next() == nil)
    }

    @Test func seekDeepIntoALongFile() throws {
        let path = Corpus.path("long/long-10min.flac")
        let target = 16000 * 377 + 4321
        let decoder = try AudioDecoder(path: path, options: .quiet)
        try decoder.seek(toSample: target)
        let got = try #require(try decoder.next())
        let reference = try FFmpegCLI.s16(path).dropFirst(target).prefix(got.count)
        #expect(maxAbsDifference(got[...], reference) <= 1.0 / 32768)
    }

    /// Resuming an hour-long MP3 near its end: the seek lands where a streaming decode from
    /// the start is, sample for sample.
    @Test func seekNearTheEndOfAnHourLongMP3() throws {
        let path = Corpus.path("long/long-60min.mp3")
        let target = 16000 * (57 * 60 + 13) + 321
        let reference = try AudioDecoder(path: path, options: .quiet)
        var skipped = 0
        var expected: [Float] = []
        while expected.count < 32000, let chunk = try reference.next() {
            let start = max(0, target - skipped)
            if start < chunk.count { expected += chunk[start...] }
            skipped += chunk.count
        }
        let clock = ContinuousClock()
        let decoder = try AudioDecoder(path: path, options: .quiet)
        var got: [Float] = []
        let elapsed = try clock.measure {
            try decoder.seek(toSample: target)
            while got.count < 32000, let chunk = try decoder.next() { got += chunk }
        }
        print("seek long-60min.mp3 to 57:13: \(elapsed)")
        let n = min(got.count, expected.count, 32000)
        #expect(n == 32000)
        #expect(maxAbsDifference(got[0..<n], expected[0..<n]) <= 2.0 / 32768)
    }

    /// Why AAC seeks are compared by RMS: with perceptual noise substitution switched off in
    /// the encoder, an AAC seek is exact like the other codecs.
    @Test func aacWithoutNoiseSubstitutionSeeksExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aac-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("nopns.m4a").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-i", Corpus.path("formats/sample-44k-stereo.wav"),
                       "-c:a", "aac", "-b:a", "96k", "-aac_pns", "0", file]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let full = try decodeAll(file)
        let decoder = try AudioDecoder(path: file, options: .quiet)
        for target in [16000 * 3 + 12345, 16000 * 7 + 5, 16000 * 11 + 999] {
            try decoder.seek(toSample: target)
            var got: [Float] = []
            while got.count < 32000, let c = try decoder.next() { got += c }
            let m = maxAbsDifference(got.prefix(32000), full[target..<min(full.count, target + 32000)])
            #expect(m <= 2.0 / 32768, "@\(target): max difference \(m)")
        }
    }
}
