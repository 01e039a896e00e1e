import Foundation
import SystemPackage
import Testing
@testable import HotFolder

/// Random and mutated marker files, read by the marker readers and decided on by
/// the reconciler, in-process: every one ends in a decision or a refusal, never a trap or a hang.
@Suite struct MarkerFuzzTests {
    /// SplitMix64: the same cases on every run and machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let extremes = ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "-1", "0", "1e300", "-1e300",
                           "1e400", "-0", "0.5", "\"NaN\"", "null", "true", "[]", "{}", "\"\"", "1.7976931348623157e308", "4294967296"]

    static func templates(_ fp: Fingerprint) -> [(JobState, String)] {
        let lease = #"{"attempt":1,"boot_id":"b","fingerprint":{"device":1,"inode":2,"mtime_ns":3,"size":4},"host":"h","pid":42,"pid_start":7,"started":1700000000,"first_seen":1700000000}"#
        let journal = #"{"progress":0.5,"state":"{\"seek\":3000}","time":1700000001,"window":1}"#
        return [
            (.pending, #"{"attempts":2,"first_seen":1700000000,"journal":[\#(journal)],"last_error":"x","last_error_kind":"killed","mtime_ns":\#(fp.mtimeNanoseconds),"not_before":1700000100,"size":\#(fp.size)}"#),
            (.processing, lease + "\n" + journal + "\n" + journal + "\n"),
            (.done, #"{"attempts":1,"audio_duration":12.5,"fingerprint":{"device":1,"inode":2,"mtime_ns":3,"size":4},"finished":1700000200,"host":"h","model":"tiny.en","outputs":["a.txt"],"peak_rss_bytes":1000,"real_time_factor":0.1,"source_mtime_ns":3,"source_size":4,"wall_time":1.2}"#),
            (.failed, #"{"attempts":3,"fingerprint":{"device":1,"inode":2,"mtime_ns":3,"size":4},"kind":"corrupt","message":"bad","time":1700000300}"#),
        ]
    }

    /// One hostile variant of `text`.
    static func mutate(_ text: String, _ rng: inout Random) -> [UInt8] {
        var bytes = Array(text.utf8)
        switch rng.below(6) {
        case 0:  // random bytes
            return (0..<rng.below(600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 1:  // truncated
            return Array(bytes.prefix(rng.below(bytes.count + 1)))
        case 2, 3:  // valid JSON, wrong values: every number becomes an extreme or a wrong type
            var out = ""
            var inNumber = false
            for ch in text {
                let numeric = ch.isNumber || ch == "." || ch == "-" || ch == "e"
                let afterColonOrBracket = out.last == ":" || out.last == "[" || out.last == ","
                if numeric, inNumber || afterColonOrBracket, !(out.last == "\"") {
                    if !inNumber, rng.below(2) == 0 { out += rng.pick(extremes); inNumber = true; continue }
                    if inNumber { continue }
                }
                inNumber = false
                out.append(ch)
            }
            return Array(out.utf8)
        case 4:  // flipped bytes
            for _ in 0..<(1 + rng.below(8)) where !bytes.isEmpty { bytes[rng.below(bytes.count)] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            return bytes
        default:  // hostile strings
            let evil = rng.pick(["\\n[error] forged", String(repeating: "A", count: 70_000), "\\u0000\\u001b[31m", "\u{2028}"])
            return Array(text.replacingOccurrences(of: "\"h\"", with: "\"\(evil)\"").replacingOccurrences(of: "\"bad\"", with: "\"\(evil)\"").utf8)
        }
    }

    /// Writes `bytes` with plain syscalls (FileManager's atomic writes would make this test slow).
    static func write(_ bytes: [UInt8], to path: FilePath) throws {
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        _ = try fd.writeAll(bytes)
    }

    /// What the marker readers make of `bytes` as the `state` marker of a job.
    static func observe(_ bytes: [UInt8], as state: JobState, entry: FolderSnapshot.Entry, queue: JobQueue) -> JobObservation {
        var o = JobObservation(entry: entry)
        switch state {
        case .pending: o.pending = JobQueue.decode(PendingMarker.self, bytes)
        case .processing: o.processing = .value(queue.processingObservation(bytes, modified: 1_700_000_000))
        case .done: o.done = JobQueue.decode(DoneMarker.self, bytes)
        case .failed: o.failed = JobQueue.decode(FailedMarker.self, bytes)
        }
        return o
    }

    /// The value a reader decoded, if any: then it must be in range.
    static func decodedValue(_ o: JobObservation) -> (any RangeChecked)? {
        o.pending?.value ?? o.processing?.value?.lease ?? o.done?.value ?? o.failed?.value
    }

    @Test func tenThousandHostileMarkersEachEndInADecisionOrARefusal() throws {
        let root = FilePath("/inbox")
        let queue = JobQueue(layout: InboxLayout(root: root), options: QueueOptions(), identity: .fake(host: "h", pid: 42))
        let fp = Fingerprint(device: 1, inode: 2, size: 5, mtimeNanoseconds: 3)
        let templates = Self.templates(fp)
        var rng = Random(state: 19)
        var observations: [JobObservation] = []
        for i in 0..<10_000 {
            let (state, template) = rng.pick(templates)
            let entry = FolderSnapshot.Entry(job: Job(root: root, relativePath: "job-\(i).wav"),
                                             fingerprint: rng.below(4) == 0 ? nil : fp, markers: [state])
            observations.append(Self.observe(Self.mutate(template, &rng), as: state, entry: entry, queue: queue))
        }
        var decided = 0
        for o in observations {
            guard let value = Self.decodedValue(o) else { continue }
            #expect(value.isInRange)
            decided += 1
        }
        // One plan over all of them, and each alone: always a decision, never a trap.
        let reconciler = Reconciler(options: queue.options, running: [])
        #expect(reconciler.plan(observations, now: 1_700_000_500).last.map { if case .claimCandidates = $0 { true } else { false } } == true)
        for o in observations.prefix(2_000) { #expect(!reconciler.plan([o], now: 1_700_000_500).isEmpty) }
        // Both kinds happen: the mutations are neither all harmless nor all fatal.
        #expect(decided > 100 && 10_000 - decided > 100, "decided \(decided) of 10,000")
    }

    @Test func hostileMarkerFilesGoThroughTheFileReadersToo() throws {
        let folder = TestFolder()
        let layout = folder.layout
        let queue = JobQueue(layout: layout, options: QueueOptions(), identity: .fake(host: "h", pid: 42))
        let templates = Self.templates(Fingerprint(device: 1, inode: 2, size: 5, mtimeNanoseconds: 3))
        var rng = Random(state: 15)
        var planted: [String: [UInt8]] = [:]
        for i in 0..<500 {
            let (state, template) = rng.pick(templates)
            let job = layout.job(relativePath: "job-\(i).wav")
            let bytes = Self.mutate(template, &rng)
            try Self.write(Array("audio".utf8), to: job.path)
            try Self.write(bytes, to: job.marker(state))
            planted[job.relativePath] = bytes
        }
        let observations = queue.observe(FolderScanner(layout: layout).scan(now: 1_700_000_500), running: [])
        #expect(observations.count == 500)
        for o in observations {
            // The file readers decide exactly as the decoders do on the same bytes.
            // The file readers decide as the decoders do on the same bytes, unless the file is over its cap.
            let state = try #require(o.entry.state)
            let bytes = planted[o.job.relativePath] ?? []
            if bytes.count > MarkerFile.limit(for: state) {
                #expect(o.refusals.map(\.refusal) == [.tooLarge(limit: MarkerFile.limit(for: state))], "\(o.job)")
                continue
            }
            let direct = Self.observe(bytes, as: state, entry: o.entry, queue: queue)
            #expect((Self.decodedValue(o) == nil) == (Self.decodedValue(direct) == nil), "\(o.job)")
        }
        _ = Reconciler(options: queue.options, running: []).plan(observations, now: 1_700_000_500)
    }

    /// 10,000 hostile marker files through the real binary's `status`, as a user runs it on a
    /// shared folder (text, and JSON with every done job listed): it exits 0 every time and
    /// counts each job once, by its marker, whatever the marker holds.
    @Test func tenThousandHostileMarkerFilesThroughStatus() throws {
        let folder = TestFolder()
        let layout = folder.layout
        let templates = Self.templates(Fingerprint(device: 1, inode: 2, size: 5, mtimeNanoseconds: 3))
        var rng = Random(state: 23)
        for i in 0..<10_000 {
            let (state, template) = rng.pick(templates)
            let job = layout.job(relativePath: "job-\(i).wav")
            try Self.write(Array("audio".utf8), to: job.path)
            try Self.write(Self.mutate(template, &rng), to: job.marker(state))
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let binary = (exe as NSString).deletingLastPathComponent + "/dropscribe"
        for arguments in [["status", layout.root.string], ["status", layout.root.string, "--json", "--done"]] {
            let process = Process(), output = Pipe()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(arguments)")
            guard arguments.contains("--json") else { continue }
            let json = try #require(try JSONSerialization.jsonObject(with: text) as? [String: Any])
            let counts = try #require(json["counts"] as? [String: Int], "\(json.keys)")
            #expect(counts.values.reduce(0, +) == 10_000, "\(counts)")
        }
    }

    @Test func aMarkerOverItsCapIsRefusedNotRead() throws {
        let folder = TestFolder()
        folder.write("talk.wav")
        folder.write("talk.wav.done", String(repeating: " ", count: MarkerFile.limit(for: .done) + 1))
        let queue = JobQueue(layout: folder.layout, options: QueueOptions())
        let observation = queue.observe(FolderScanner(layout: folder.layout).scan(now: 0), running: []).first
        #expect(observation?.done == .refused(.tooLarge(limit: MarkerFile.limit(for: .done))))
    }

    @Test func aFIFOMarkerIsRefusedWithoutBlocking() throws {
        let folder = TestFolder()
        folder.write("talk.wav")
        #expect(mkfifo(folder.path + "/talk.wav.processing", 0o644) == 0)
        #expect(mkdir(folder.path + "/talk.wav.done", 0o755) == 0)
        let queue = JobQueue(layout: folder.layout, options: QueueOptions())
        let snapshot = FolderScanner(layout: folder.layout).scan(now: 0)
        let observation = try #require(queue.observe(snapshot, running: []).first)
        #expect(observation.processing == .refused(.notARegularFile(.fifo)))
        #expect(observation.done == .refused(.notARegularFile(.directory)))
        #expect(snapshot.entries["talk.wav"]?.irregularMarkers == [.processing: .fifo, .done: .directory])
        let job = observation.job
        #expect(Reconciler(options: QueueOptions(), running: []).plan([observation], now: 0)
                == [.skipRefusedMarker(job, .processing, .notARegularFile(.fifo)),
                    .skipRefusedMarker(job, .done, .notARegularFile(.directory)), .claimCandidates([])])
    }

    @Test func aFileFromTheFarFutureIsFingerprintedWithoutATrap() throws {
        let folder = TestFolder()
        let path = folder.write("future.wav")
        // The year 2400: its mtime in nanoseconds does not fit in Int64.
        var times = [timespec(tv_sec: 13_569_465_600, tv_nsec: 5), timespec(tv_sec: 13_569_465_600, tv_nsec: 5)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let fp = try Fingerprint.of(FilePath(path))
        #expect(fp.mtimeNanoseconds == .max)
        #expect(FolderScanner(layout: folder.layout).scan(now: 0).entries["future.wav"]?.fingerprint == fp)
    }
}
