import Foundation
import MediaDecoding
import Testing

/// Not a test: a measurement hook for `measure-decoder.sh` (peak RSS, speed). Runs only
/// when `DROPSCRIBE_PROBE_FILE` is set; prints one `probe ...` line.
@Suite struct DecodeProbe {
    static let file = ProcessInfo.processInfo.environment["DROPSCRIBE_PROBE_FILE"]

    @Test(.enabled(if: file != nil))
    func probe() throws {
        let path = try #require(Self.file)
        var options = DecoderOptions()
        if ProcessInfo.processInfo.environment["DROPSCRIBE_PROBE_FORMAT"] == "f32" { options.sampleFormat = .float32 }
        let before = Self.maxRSSKilobytes()
        // Reset the kernel's peak-RSS mark to the current RSS, so the peak below is the
        // decoder's (the test runner's own start-up peak would otherwise hide it).
        let reset = (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        let startRSS = Self.statusKilobytes("VmRSS")
        let clock = ContinuousClock()
        var samples = 0
        var largestChunk = 0
        let elapsed = try clock.measure {
            let decoder = try AudioDecoder(path: path, options: options)
            while let chunk = try decoder.next() {
                samples += chunk.count
                largestChunk = max(largestChunk, chunk.count)
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("probe file=\(path) format=\(options.sampleFormat) samples=\(samples) audio_s=\(samples / 16000) "
              + "decode_s=\(String(format: "%.3f", seconds)) maxrss_before_kb=\(before) maxrss_kb=\(Self.maxRSSKilobytes()) largest_chunk=\(largestChunk) "
              + "rss_at_start_kb=\(startRSS) peak_rss_during_decode_kb=\(reset ? Self.statusKilobytes("VmHWM") : -1)")
    }

    static func statusKilobytes(_ key: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
        }
        return -1
    }

    static func maxRSSKilobytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }
}
