import Foundation
import Glibc
import HotFolder
import SystemPackage

/// A stand-in transcriber for the queue's own tests: deterministic, resumable,
/// and slow on purpose, so that crashes land mid-job.
///
/// It reads the source in `windows` slices, sleeping `windowMilliseconds` per
/// slice and journaling a checkpoint (slice index and running hash) after each.
/// The output is a one-line txt naming the size and hash, identical whether or
/// not the job was interrupted. A finished transcription appends
/// "relative-path TAB pid" to `seenLog`, so tests can count how many times each
/// job was really transcribed. Content starting with `FAIL` fails permanently;
/// `CRASH` aborts the worker (a transient failure); `HOG` allocates and
/// touches memory until the kernel kills the worker (or 8 GiB, then fails); `HANG`
/// never returns (the job timeout must kill it).
public struct TestTranscriber: Transcriber {
    public var windows: Int
    public var windowMilliseconds: Int
    public var seenLog: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        windows = Int(environment["DROPSCRIBE_TEST_WINDOWS"] ?? "") ?? 4
        windowMilliseconds = Int(environment["DROPSCRIBE_TEST_WINDOW_MS"] ?? "") ?? 100
        seenLog = environment["DROPSCRIBE_TEST_LOG"]
    }

    struct State: Codable {
        var window: Int
        var hash: UInt64
    }

    /// Grows in 16 MiB steps, writing every page, so the memory is really resident.
    func hog(_ job: TranscriptionJob) throws(TranscriptionFailure) {
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<512 {
            guard let block = malloc(16 << 20) else { break }
            memset(block, 0x5a, 16 << 20)
            blocks.append(block)
            usleep(2_000)
        }
        for block in blocks { free(block) }
        throw TranscriptionFailure(kind: .ioError, message: "\(job.displayName): HOG: 8 GiB allocated and nobody stopped it")
    }

    public func transcribe(_ job: TranscriptionJob) throws(TranscriptionFailure) -> TranscriptionResult {
        // Its "audio" is 32,000 bytes a second (16 kHz, 16 bit): a 40-hour sparse file is refused unread.
        if let size = try? FileManager.default.attributesOfItem(atPath: job.source.string)[.size] as? Int {
            try job.checkLength(Double(size) / 32000, declared: true)
        }
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: job.source.string)))
        } catch {
            throw TranscriptionFailure(kind: .ioError, message: "\(job.displayName): cannot be read: \(error.localizedDescription)")
        }
        if bytes.starts(with: Array("FAIL".utf8)) {
            throw TranscriptionFailure(kind: .notMedia, message: "\(job.displayName): test content asks to fail")
        }
        if bytes.starts(with: Array("CRASH".utf8)) { abort() }
        if bytes.starts(with: Array("HOG".utf8)) { try hog(job) }
        if bytes.starts(with: Array("HANG".utf8)) { while true { sleep(1) } }  // deaf to SIGTERM too: only a kill ends it

        var state = State(window: 0, hash: 0xcbf2_9ce4_8422_2325)
        if let resume = job.resumeFrom, let saved = try? JSONDecoder().decode(State.self, from: Data(resume.state.utf8)) {
            state = saved
        }
        let sliceSize = max(1, (bytes.count + windows - 1) / max(1, windows))
        while state.window < windows {
            if job.shouldStop() { throw .interrupted(job.displayName) }
            let start = min(bytes.count, state.window * sliceSize)
            let end = min(bytes.count, start + sliceSize)
            for b in bytes[start..<end] { state.hash = (state.hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            usleep(UInt32(windowMilliseconds * 1000))
            state.window += 1
            let json = String(decoding: (try? JSONEncoder().encode(state)) ?? Data(), as: UTF8.self)
            do {
                try job.checkpoint(JournalEntry(window: state.window, progress: Double(state.window) / Double(windows),
                                                time: Date().timeIntervalSince1970, state: json))
            } catch {
                throw TranscriptionFailure(kind: .ioError, message: "\(job.displayName): cannot journal a checkpoint: \(error)")
            }
        }
        if let seenLog {
            let line = Array("\(job.displayName)\t\(getpid())\n".utf8)
            if let fd = try? FileDescriptor.open(FilePath(seenLog), .writeOnly, options: [.append, .create], permissions: .ownerReadWrite) {
                _ = try? fd.writeAll(line)
                try? fd.close()
            }
        }
        let text = "test transcript of \(job.displayName): \(bytes.count) bytes, fnv1a \(String(state.hash, radix: 16))\n"
        return TranscriptionResult(outputs: [("txt", Array(text.utf8))], audioDuration: Double(bytes.count) / 32000, model: "test")
    }
}
