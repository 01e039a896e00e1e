import Foundation
import Glibc
import MediaDecoding
import Testing

/// The decoder opens a source once, checks through the descriptor that it is a regular
/// file, and lets libav read only through that descriptor: a file renamed over the path
/// afterwards is never read, not even by a seek that decodes again from the start.
@Suite(.enabled(if: Corpus.available, "corpus missing: run `make corpus`"))
struct CheckedDescriptorTests {
    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mdt-fd-\(UUID().uuidString)")
        var source: String { url.appendingPathComponent("talk.wav").path }

        init() throws {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Corpus.path("formats/sample-8k.wav"), toPath: source)
        }

        deinit { try? FileManager.default.removeItem(at: url) }
    }

    static func decodeAll(_ decoder: AudioDecoder, first: [Float] = []) throws -> [Float] {
        var samples = first
        while let chunk = try decoder.next() { samples += chunk }
        return samples
    }

    @Test func aFileRenamedOverThePathAfterOpeningIsNeverRead() throws {
        let folder = try Folder()
        let original = try Self.decodeAll(AudioDecoder(path: folder.source, options: .quiet))
        #expect(original.count > 16_000)

        let decoder = try AudioDecoder(path: folder.source, options: .quiet)
        let first = try #require(try decoder.next())
        // Swapped in: a quarter of the same file (a valid but shorter WAV), renamed over the path.
        let swapped = folder.url.appendingPathComponent("swap.wav").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: folder.source))
        try bytes.prefix(bytes.count / 4).write(to: URL(fileURLWithPath: swapped))
        #expect(rename(swapped, folder.source) == 0)

        #expect(try Self.decodeAll(decoder, first: first) == original, "the rest comes from the file that was checked")
        try decoder.seek(toSample: 0)
        #expect(try Self.decodeAll(decoder) == original, "a seek back to the start reads the checked file too")
    }

    @Test func aFIFOIsRefusedAtOnceNotWaitedOn() throws {
        let folder = try Folder()
        let fifo = folder.url.appendingPathComponent("pipe.wav").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let error = try #require(throws: MediaError.self) { try AudioDecoder(path: fifo, options: .quiet) }
        #expect(error.code == .notMediaFile && error.description.contains("FIFO"), "\(error)")
    }

    @Test func aSymlinkIsRefusedWhenTheCallerSaysThereIsNone() throws {
        let folder = try Folder()
        let link = folder.url.appendingPathComponent("link.wav").path
        #expect(symlink(folder.source, link) == 0)
        #expect(try AudioDecoder(path: link, options: .quiet).next() != nil, "followed by default (a path on the command line)")
        var options = DecoderOptions.quiet
        options.followSymlinks = false
        let error = try #require(throws: MediaError.self) { try AudioDecoder(path: link, options: options) }
        #expect(error.description.contains("symbolic link"), "\(error)")
    }
}
