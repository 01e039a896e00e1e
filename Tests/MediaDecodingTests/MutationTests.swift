import Foundation
import MediaDecoding
import Testing

/// Feeds randomly damaged corpus files to the decoder: every one must give a sample stream
/// or a typed `MediaError`, quickly, without crashing or hanging.
///
/// `DROPSCRIBE_FUZZ_COUNT` (default 1000) mutants, `DROPSCRIBE_FUZZ_SEED` (default 1);
/// `DROPSCRIBE_FUZZ_ONLY=N` re-runs mutant N alone (with the same COUNT and SEED).
/// `make fuzz` runs 10,000.
@Suite(.enabled(if: Corpus.available, "corpus missing: run `make corpus`"))
struct MutationTests {
    static let sources = [
        "formats/sample.mp3", "formats/sample-16k-mono.mp3", "formats/sample.flac", "formats/sample.m4a",
        "formats/sample.ogg", "formats/sample.opus", "formats/sample.wav", "formats/sample-u8.wav",
        "formats/sample-video.mp4", "formats/sample-video.mkv", "formats/sample.wma", "formats/sample.aiff",
        "formats/sample.caf", "formats/sample-audio-only.mp4", "bad/tiny-0.1s.wav",
    ]
    static let count = Int(ProcessInfo.processInfo.environment["DROPSCRIBE_FUZZ_COUNT"] ?? "") ?? 1000
    static let seed = UInt64(ProcessInfo.processInfo.environment["DROPSCRIBE_FUZZ_SEED"] ?? "") ?? 1
    static let shards = 4
    /// A single mutant must finish within this (the decoder's I/O deadline is shorter).
    static let perFileLimit = 20.0

    @Test(.timeLimit(.minutes(30)), arguments: 0..<shards)
    func mutants(shard: Int) throws {
        FFmpegLog.setLevel(.quiet)
        let originals = try Self.sources.map { try Data(contentsOf: URL(fileURLWithPath: Corpus.path($0))) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mutants-\(getpid())-\(shard)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var outcomes: [String: Int] = [:]
        var slowest = (0.0, "")
        let started = Date()
        let only = Int(ProcessInfo.processInfo.environment["DROPSCRIBE_FUZZ_ONLY"] ?? "")  // reproduce one mutant
        for i in stride(from: shard, to: Self.count, by: Self.shards) where only == nil || only == i {
            var rng = SplitMix64(seed: Self.seed &* 1_000_003 &+ UInt64(i))
            let which = Int(rng.next() % UInt64(originals.count))
            let (bytes, what) = Self.mutate(originals[which], &rng)
            let ext = (Self.sources[which] as NSString).pathExtension
            let file = dir.appendingPathComponent("m\(i).\(ext)")
            try bytes.write(to: file)
            let label = "#\(i) \(Self.sources[which]) \(what)"

            let t0 = Date()
            var options = DecoderOptions.quiet
            options.ioTimeout = 5
            options.chunkSize = 16000 * 5
            do {
                let decoder = try AudioDecoder(path: file.path, options: options)
                var total = 0
                if i % 5 == 0 {  // exercise seeking on damaged files too
                    let target = Int(rng.next() % 16000 * 20)
                    try decoder.seek(toSample: target)
                    total = target
                }
                while let chunk = try decoder.next() {
                    total += chunk.count
                    #expect(chunk.allSatisfy { $0 >= -1 && $0 < 1 }, "\(label): sample out of range")
                }
                // Output is bounded by the input's size (256 samples/byte + 1 min cap).
                #expect(total <= 16000 * 60 + bytes.count * 256 + 16000 * 21, "\(label): \(total) samples")
                outcomes[decoder.warnings.isEmpty ? "samples" : "samples+warning", default: 0] += 1
            } catch {
                #expect(error.path == file.path && error.description.contains("m\(i)."), "\(label): \(error)")
                // A damaged but readable file is never a transient failure (no retry loops).
                #expect(error.isPermanent, "\(label): \(error)")
                outcomes["\(error.code)", default: 0] += 1
            }
            let elapsed = Date().timeIntervalSince(t0)
            if elapsed > slowest.0 { slowest = (elapsed, label) }
            if only != nil { print("mutant \(label): \(outcomes) in \(elapsed) s") }
            #expect(elapsed < Self.perFileLimit, "\(label): took \(elapsed) s")
            try? FileManager.default.removeItem(at: file)
        }
        let rss = Self.currentRSSMegabytes()
        print("mutation shard \(shard): \(outcomes.values.reduce(0, +)) mutants in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; "
              + "outcomes \(outcomes.sorted { $0.key < $1.key }); slowest \(String(format: "%.2f", slowest.0)) s (\(slowest.1)); RSS now \(rss) MB")
    }

    static func mutate(_ original: Data, _ rng: inout SplitMix64) -> (Data, String) {
        var d = [UInt8](original)
        func pos(_ limit: Int) -> Int { limit <= 0 ? 0 : Int(rng.next() % UInt64(limit)) }
        // Headers hold the interesting fields: aim half of the damage at the first 4 KB.
        func target() -> Int { rng.next() % 2 == 0 ? pos(min(4096, d.count)) : pos(d.count) }
        var notes: [String] = []
        let rounds = 1 + pos(3)
        for _ in 0..<rounds where !d.isEmpty {
            switch rng.next() % 5 {
            case 0:
                let n = 1 + pos(32)
                for _ in 0..<n { d[target()] ^= UInt8(1 << pos(8)) }
                notes.append("flip\(n)")
            case 1:
                let n = 1 + pos(16)
                for _ in 0..<n { d[target()] = UInt8(truncatingIfNeeded: rng.next()) }
                notes.append("set\(n)")
            case 2:
                let cut = pos(d.count)
                d.removeSubrange(cut...)
                notes.append("truncate@\(cut)")
            case 3:
                let start = target(), len = 1 + pos(max(1, d.count / 10))
                for j in start..<min(d.count, start + len) { d[j] = 0 }
                notes.append("zero@\(start)+\(len)")
            default:
                let at = target(), len = 1 + pos(4096)
                let garbage = (0..<len).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                d.insert(contentsOf: garbage, at: min(at, d.count))
                notes.append("insert@\(at)+\(len)")
            }
        }
        return (Data(d), notes.joined(separator: ","))
    }

    static func currentRSSMegabytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
        let pages = Int(s.split(separator: " ")[1]) ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Opt-in (`DROPSCRIBE_LEAK_CHECK=1`, run alone): decodes the same 300 mutants five times;
/// resident memory after the first pass must not keep growing (libav objects are freed on
/// every path, error paths included).
@Suite(.enabled(if: Corpus.available && ProcessInfo.processInfo.environment["DROPSCRIBE_LEAK_CHECK"] != nil))
struct LeakCheck {
    @Test func repeatedMutantsDoNotGrowMemory() throws {
        FFmpegLog.setLevel(.quiet)
        let originals = try MutationTests.sources.map { try Data(contentsOf: URL(fileURLWithPath: Corpus.path($0))) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("leak-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for i in 0..<300 {
            var rng = SplitMix64(seed: 77 &+ UInt64(i))
            let which = Int(rng.next() % UInt64(originals.count))
            let (bytes, _) = MutationTests.mutate(originals[which], &rng)
            let file = dir.appendingPathComponent("m\(i).\((MutationTests.sources[which] as NSString).pathExtension)")
            try bytes.write(to: file)
            files.append(file.path)
        }
        var rss: [Int] = []
        for _ in 0..<5 {
            for file in files {
                do {
                    let d = try AudioDecoder(path: file, options: .quiet)
                    try d.seek(toSample: 16000 * 3)
                    while try d.next() != nil {}
                } catch {}
            }
            rss.append(MutationTests.currentRSSMegabytes())
        }
        print("leak check: RSS after each pass of 300 mutants (MB): \(rss)")
        #expect(rss.last! - rss[1] <= 4, "RSS grows: \(rss)")
    }
}
