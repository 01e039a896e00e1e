import ArgumentParser
import Foundation
import MediaDecoding

/// `dropscribe bench-decode`: the media decoder alone on one file, timed, with its peak
/// memory (hidden; used by packaging/measure-decoder.sh to compare against the ffmpeg CLI),
/// and optionally its samples (make-pyav-goldens.py --compare sets them beside PyAV's).
/// Lives in the binary rather than the test suite because it measures and asserts nothing.
struct BenchDecode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-decode",
        abstract: "Decode a file to 16 kHz mono and print the time taken and peak RSS as one `probe key=value ...` line.",
        shouldDisplay: false)

    @Argument(help: "The media file to decode.")
    var file: String

    @Option(help: "Output sample format: f32 or s16.")
    var format: String = "s16"

    @Option(help: "Also write the samples to this file: s16le for s16 (the int16 before the division by 32768), f32le for f32.")
    var output: String?

    func run() async throws {
        var options = DecoderOptions()
        switch format {
        case "f32": options.sampleFormat = .float32
        case "s16": options.sampleFormat = .s16Quantized
        default: throw ValidationError("--format must be f32 or s16, not \(format)")
        }
        // Reset the kernel's peak-RSS mark to the current RSS, so the peak below is the
        // decoder's (the process's own start-up peak would otherwise hide it).
        let reset = (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        let startRSS = Self.statusKilobytes("VmRSS")
        var samples = 0, largestChunk = 0
        let sink = try output.map { path -> FileHandle in
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ValidationError("cannot create \(path)") }
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        let elapsed = try ContinuousClock().measure {
            let decoder = try AudioDecoder(path: file, options: options)
            while let chunk = try decoder.next() {
                samples += chunk.count
                largestChunk = max(largestChunk, chunk.count)
                if let sink { try sink.write(contentsOf: Self.bytes(chunk, options.sampleFormat)) }
            }
        }
        try sink?.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("probe file=\(file) format=\(format) samples=\(samples) audio_s=\(samples / 16000) "
              + "decode_s=\(String(format: "%.3f", seconds)) largest_chunk=\(largestChunk) "
              + "rss_at_start_kb=\(startRSS) peak_rss_during_decode_kb=\(reset ? Self.statusKilobytes("VmHWM") : -1)")
    }

    /// Little-endian bytes of a chunk: int16 for s16 (the samples are exact multiples of
    /// 1/32768 there), float32 otherwise.
    static func bytes(_ chunk: [Float], _ format: OutputSampleFormat) -> Data {
        switch format {
        case .s16Quantized: chunk.map { Int16(($0 * 32768).rounded()).littleEndian }.withUnsafeBytes { Data($0) }
        case .float32: chunk.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        }
    }

    /// A `/proc/self/status` field in kB, or -1 where it cannot be read.
    static func statusKilobytes(_ key: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
        }
        return -1
    }
}
