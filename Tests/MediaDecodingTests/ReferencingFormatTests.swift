import Foundation
import MediaDecoding
import Testing

/// Inputs whose content names other files (playlists, concat lists) are refused with
/// `.refusedFormat` before any segment is read, unless the options allow them; a plain
/// media file still decodes.
@Suite(.enabled(if: Corpus.available, "corpus missing: run `make corpus`"))
struct ReferencingFormatTests {
    /// A temp folder holding a real audio segment and the two referencing inputs.
    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mdt-ref-\(UUID().uuidString)")
        var segment: String { url.appendingPathComponent("segment.wav").path }
        var playlist: String { url.appendingPathComponent("talk.m3u8").path }
        var concat: String { url.appendingPathComponent("talk.ffconcat").path }

        init() throws {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Corpus.path("formats/sample.wav"), toPath: segment)
            try "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:60\n#EXTINF:60.0,\nsegment.wav\n#EXT-X-ENDLIST\n"
                .write(toFile: playlist, atomically: true, encoding: .utf8)
            try "ffconcat version 1.0\nfile 'segment.wav'\n".write(toFile: concat, atomically: true, encoding: .utf8)
        }

        deinit { try? FileManager.default.removeItem(at: url) }
    }

    @Test(arguments: [("talk.m3u8", "hls"), ("talk.ffconcat", "concat")])
    func aReferencingInputIsRefused(name: String, format: String) throws {
        let folder = try Folder()
        let path = folder.url.appendingPathComponent(name).path
        let error = try #require(throws: MediaError.self) { try AudioDecoder(path: path, options: .quiet) }
        #expect(error.code == .refusedFormat, "\(error)")
        #expect(error.isPermanent)
        #expect(error.description.contains(name) && error.description.contains("'\(format)'"), "\(error)")
        #expect(throws: MediaError.self) { try AudioDecoder.probe(path: path, options: .quiet) }
    }

    @Test func anAllowedConcatListDecodesItsPlainFileSegment() throws {
        let folder = try Folder()
        var options = DecoderOptions.quiet
        options.allowPlaylists = true
        let samples = try AudioDecoder(path: folder.concat, options: options).readAll()
        let direct = try AudioDecoder(path: folder.segment, options: .quiet).readAll()
        #expect(!direct.isEmpty)
        #expect(samples.count == direct.count)
    }

    @Test func aPlainFileStillDecodes() throws {
        let folder = try Folder()
        let samples = try AudioDecoder(path: folder.segment, options: .quiet).readAll()
        #expect(samples.count > 16000, "\(samples.count) samples")
    }

    @Test func policyRefusesReferencingDemuxersByAnyAlias() {
        #expect(InputFormatPolicy.refuses(formatName: "hls", allowPlaylists: false))
        #expect(InputFormatPolicy.refuses(formatName: "image2", allowPlaylists: false))
        #expect(InputFormatPolicy.refuses(formatName: "x,concat", allowPlaylists: false))
        #expect(!InputFormatPolicy.refuses(formatName: "hls", allowPlaylists: true))
        #expect(!InputFormatPolicy.refuses(formatName: "mov,mp4,m4a,3gp,3g2,mj2", allowPlaylists: false))
        #expect(!InputFormatPolicy.refuses(formatName: "wav", allowPlaylists: false))
        #expect(!InputFormatPolicy.refuses(formatName: "image2pipe", allowPlaylists: false), "reads only the input itself")
    }
}
