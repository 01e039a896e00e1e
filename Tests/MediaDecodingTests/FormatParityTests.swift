import Foundation
import MediaDecoding
import Testing

@Suite(.enabled(if: Corpus.available, "corpus missing: run `make corpus`"))
struct FormatParityTests {
    static let formats = Corpus.files(in: "formats").filter { !$0.hasSuffix(".txt") && !$0.hasSuffix(".tsv") }

    /// Allowed length difference: 1 ms per minute of audio, at least one sample.
    static func lengthTolerance(_ count: Int) -> Int { max(1, Int((Double(count) / 16000 / 60 * 16).rounded(.up))) }

    @Test("float32 output equals `ffmpeg -ac 1 -ar 16000 -f f32le`", arguments: formats)
    func float32MatchesFFmpeg(name: String) throws {
        let path = Corpus.path("formats/" + name)
        var options = DecoderOptions.quiet
        options.sampleFormat = .float32
        let ours = try decodeAll(path, options)
        let reference = try FFmpegCLI.f32(path)
        #expect(reference.count > 16000)
        #expect(abs(ours.count - reference.count) <= Self.lengthTolerance(reference.count), "\(name): \(ours.count) vs \(reference.count)")
        let rms = rmsDifference(ours, reference)
        #expect(rms < 1e-3, "\(name): RMS difference \(rms)")
    }

    /// The command resamples 16-bit input in 16-bit integers (FFmpeg 5.1), the decoder in
    /// float as PyAV's FFmpeg does (`ResampleFormatPolicy`): up to 3 LSB apart on those files.
    /// Parity with PyAV itself is `PyAVGoldenTests`.
    /// Not sample-video.mkv: its Opus starts 208 samples (48 kHz) earlier in PyAV's decode
    /// than in the command's (`OpusPreSkipPolicy`).
    @Test("default s16-quantised output is within 1e-4 RMS of `ffmpeg -f s16le` / 32768",
          arguments: formats.filter { $0 != "sample-video.mkv" })
    func s16MatchesFasterWhisperPath(name: String) throws {
        let path = Corpus.path("formats/" + name)
        let decoder = try AudioDecoder(path: path, options: .quiet)
        let ours = try decoder.readAll()
        let reference = try FFmpegCLI.s16(path)
        #expect(abs(ours.count - reference.count) <= Self.lengthTolerance(reference.count), "\(name): \(ours.count) vs \(reference.count)")
        let rms = rmsDifference(ours, reference)
        #expect(rms < 1e-4, "\(name): RMS difference \(rms)")
        #expect(decoder.warnings.isEmpty, "\(name): \(decoder.warnings)")
        // Against the float command: s16 quantisation only (mono sources); stereo sources
        // differ by the down-mix normalisation libswresample applies for integer output.
        let f32 = try FFmpegCLI.f32(path)
        let vsFloat = rmsDifference(ours, f32)
        if decoder.info.channels == 1 {
            #expect(vsFloat < 1e-3, "\(name): RMS difference vs f32le \(vsFloat)")
        }
        print("parity \(name): channels \(decoder.info.channels), RMS vs s16le \(rms), vs f32le \(vsFloat)")
    }

    @Test func probeReportsStreamFacts() throws {
        let d = try AudioDecoder(path: Corpus.path("formats/sample-44k-stereo.wav"), options: .quiet)
        #expect(d.info.container == "wav")
        #expect(d.info.codec == "pcm_s16le")
        #expect(d.info.channels == 2)
        #expect(d.info.sampleRate == 44100)
        #expect(d.info.audioStreamCount == 1)
        #expect(abs((d.info.duration ?? 0) - 14.89) < 1)

        let v = try AudioDecoder(path: Corpus.path("formats/sample-video.mp4"), options: .quiet)
        #expect(v.info.codec == "aac")
        #expect(v.info.container.contains("mp4"))
    }

    @Test func secondAudioStreamIsSelectable() throws {
        let path = Corpus.path("formats/sample-2audio.mp4")
        let first = try AudioDecoder(path: path, options: .quiet)
        #expect(first.info.audioStreamCount == 2)
        var options = DecoderOptions.quiet
        options.audioStream = 1
        let second = try AudioDecoder(path: path, options: options)
        #expect(second.info.audioStream == 1)
        let a = try first.readAll(), b = try second.readAll()
        let reference = try FFmpegCLI.s16(path, extra: ["-map", "0:a:1"])
        #expect(rmsDifference(b, reference) < 1e-4)
        #expect(rmsDifference(a, b) > 1e-3, "the two streams should differ")

        options.audioStream = 2
        #expect(throws: MediaError.self) { try AudioDecoder(path: path, options: options) }
    }

    @Test func chunksAreBoundedAndSequenceWorks() throws {
        var options = DecoderOptions.quiet
        options.chunkSize = 4000
        let d = try AudioDecoder(path: Corpus.path("formats/sample.flac"), options: options)
        var total = 0
        let chunks = d.chunks
        for chunk in chunks {
            #expect(chunk.count <= 4000 && !chunk.isEmpty)
            total += chunk.count
        }
        #expect(chunks.error == nil)
        #expect(total == d.position)
        #expect(total == (try FFmpegCLI.s16(Corpus.path("formats/sample.flac"))).count)
    }
}
