import Dispatch
import Foundation
import Glibc
import HotFolder
import Logging
import Synchronization
import SystemPackage
import Transcripts

/// What a worker child reports to its daemon: one JSON line on stdout.
public struct WorkerOutcome: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Outputs are published; the daemon writes X.done from `summary`.
        case done
        case failed
        /// Stopped at a checkpoint on request (shutdown): hand back, no attempt counted.
        case interrupted
        /// The job is no longer ours or its source vanished or changed: drop the claim.
        case abandoned
    }

    public var status: Status
    public var kind: FailureKind?
    public var message: String?
    public var summary: DoneMarker?
    /// The worker's resident memory after the job: a serving worker that grew too much is replaced.
    public var workerRSSBytes: Int64?

    enum CodingKeys: String, CodingKey {
        case status, kind, message, summary
        case workerRSSBytes = "worker_rss_bytes"
    }

    public init(status: Status, kind: FailureKind? = nil, message: String? = nil, summary: DoneMarker? = nil) {
        self.status = status
        self.kind = kind
        self.message = message
        self.summary = summary
    }
}

/// Memory figures of this process, for the per-job log line and X.done.
public enum ProcessMemory {
    /// Peak resident set size so far, in bytes.
    public static func peakRSS() -> Int64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_maxrss) * 1024
    }

    /// Current resident set size, in bytes.
    public static func currentRSS() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The worker child's side of a job: runs the transcriber on a claimed job,
/// journals its checkpoints, and publishes the outputs atomically.
///
/// It runs in its own process so that a crash, an abort or the kernel's OOM
/// killer takes down one job, never the daemon.
public struct WorkerRunner: Sendable {
    public var configuration: Configuration
    public var layout: InboxLayout
    public var transcriber: any Transcriber
    public var journalKey: JournalKey
    public var logger: Logger

    public init(configuration: Configuration, layout: InboxLayout, transcriber: any Transcriber, journalKey: JournalKey, logger: Logger) {
        self.configuration = configuration
        self.layout = layout
        self.transcriber = transcriber
        self.journalKey = journalKey
        self.logger = logger
    }

    /// What became of the source since its claim: nil while it is still the claimed file and content.
    static func sourceFate(_ path: FilePath, claimed: Fingerprint, relativePath: String) -> WorkerOutcome? {
        guard let now = try? Fingerprint.of(path, followSymlinks: true) else {
            return WorkerOutcome(status: .abandoned, message: "\(relativePath): the source file was deleted during transcription")
        }
        guard now.sameContent(as: claimed), now.inode == claimed.inode else {
            return WorkerOutcome(status: .abandoned, kind: .sourceChanged, message: "\(relativePath): the source changed during transcription")
        }
        return nil
    }

    /// Runs the job at `relativePath` and returns what to report to the daemon.
    public func run(relativePath: String, ownerPID: Int32) -> WorkerOutcome {
        run(relativePath: relativePath, ownerPID: ownerPID, stop: StopFlag.installingSignalHandler())
    }

    /// `stop`: set by SIGTERM; a serving worker installs it once for all its jobs.
    func run(relativePath: String, ownerPID: Int32, stop: StopFlag) -> WorkerOutcome {
        let started = Date().timeIntervalSince1970
        let rssAtStart = ProcessMemory.currentRSS()
        let queue = JobQueue(layout: layout, options: configuration.queueOptions)
        let job = layout.job(relativePath: relativePath)
        guard let info = queue.readProcessing(job), let lease = info.lease, lease.pid == ownerPID else {
            return WorkerOutcome(status: .abandoned, message: "\(relativePath): the lease is not held by this worker's daemon")
        }
        guard let now = try? Fingerprint.of(job.path, followSymlinks: true) else {
            return WorkerOutcome(status: .abandoned, message: "\(relativePath): the source file is gone")
        }
        guard now.sameContent(as: lease.fingerprint) else {
            return WorkerOutcome(status: .abandoned, kind: .sourceChanged, message: "\(relativePath): the source changed since it was claimed")
        }
        let seal = JournalSeal(key: journalKey, job: relativePath, fingerprint: lease.fingerprint)
        let journal: JournalAppender
        // A resumed job starts from the checkpoints; the progress lines of a pass are for `status` only.
        var resumeFrom = info.journal.filter { $0.phase == nil }
        do {
            journal = try JournalAppender(marker: job.marker(.processing), seal: seal)
            if let refused = seal.trusted(info.journal).refused {
                logger.warning("the journal of \(relativePath) has a checkpoint without a valid MAC (forged, or written under another key): ignoring it and starting from the beginning",
                               metadata: ["job.id": "\(relativePath)", "checkpoint": "\(refused)"])
                resumeFrom = []
                try journal.discardEntries()
            }
        } catch {
            return WorkerOutcome(status: .failed, kind: .ioError, message: "\(relativePath): cannot open the journal: \(error)")
        }
        let (outputs, folders) = layout.outputLocation(for: job)
        do {
            try outputs.refuseUnsafe(folders)
            if let (archive, archiveFolders) = layout.archiveLocation(for: job) { try archive.refuseUnsafe(archiveFolders) }
        } catch {
            return Self.outcome(writing: error, relativePath: relativePath)
        }
        // The decoder opens the source with O_NOFOLLOW: a symlink in the inbox is resolved
        // (and checked again) here.
        guard let source = resolvedSource(job.path) else {
            return WorkerOutcome(status: .failed, kind: .badInput, message: "\(relativePath): the source is a symlink that leads out of the inbox")
        }
        var transcription = TranscriptionJob(
            source: source, displayName: relativePath, journal: resumeFrom,
            checkpoint: { entry in try journal.append(entry) }, shouldStop: { stop.isSet }, logger: logger,
            limits: configuration.limits, reportAudioSeconds: WorkerProgressLine.report)
        transcription.refuseSymlinks = true
        // Progress lines are for `status` only: one that cannot be written is not worth failing the job.
        transcription.reportPhase = { phase, fraction in
            try? journal.append(.progress(phase, fraction: fraction, time: Date().timeIntervalSince1970))
        }
        let result: TranscriptionResult
        do {
            result = try transcriber.transcribe(transcription)
        } catch {
            if error.kind == .interrupted { return WorkerOutcome(status: .interrupted, kind: .interrupted, message: error.message) }
            // A source deleted or replaced under the decoder fails its read: that is the source's
            // fate, reported as such, not an I/O fault of the job to retry.
            if let moved = Self.sourceFate(job.path, claimed: lease.fingerprint, relativePath: relativePath) { return moved }
            return WorkerOutcome(status: .failed, kind: error.kind, message: error.message)
        }
        // Publish only what is still ours, of the content we were given.
        if let moved = Self.sourceFate(job.path, claimed: lease.fingerprint, relativePath: relativePath) { return moved }
        guard journal.stillOurs() else {
            return WorkerOutcome(status: .abandoned, message: "\(relativePath): the lease was taken over by another daemon")
        }
        var written: [String] = []
        do {
            let mode = outputMode(source: job.path)
            for (ext, contents) in result.outputs {
                let name = (try? OutputFormat(parsing: ext)).map { outputFileName(forSource: job.name, format: $0) } ?? job.name + "." + ext
                written.append(try outputs.write(contents, to: folders, name: name, permissions: mode).string)
            }
        } catch {
            return Self.outcome(writing: error, relativePath: relativePath)
        }
        let wall = Date().timeIntervalSince1970 - started
        let peak = ProcessMemory.peakRSS()
        let rtf = result.audioDuration.map { $0 > 0 ? wall / $0 : 0 }
        logger.info("job finished", metadata: [
            "job.id": "\(relativePath)", "wall.s": "\(String(format: "%.2f", wall))",
            "rtf": "\(rtf.map { String(format: "%.4f", $0) } ?? "-")",
            "rss.start.mb": "\(rssAtStart >> 20)", "rss.end.mb": "\(ProcessMemory.currentRSS() >> 20)",
            "rss.peak.mb": "\(peak >> 20)", "rss.delta.mb": "\((peak - rssAtStart) >> 20)",
        ])
        let summary = DoneMarker(fingerprint: lease.fingerprint, audioDuration: result.audioDuration, wallTime: wall,
                                 realTimeFactor: rtf, peakRSSBytes: peak, model: result.model, outputs: written,
                                 finished: Date().timeIntervalSince1970, attempts: lease.attempt, host: lease.host)
        return WorkerOutcome(status: .done, summary: summary)
    }

    /// The file a source path names: itself, or a symlink's target when that is inside the
    /// inbox (or `follow_symlinks` allows any); nil otherwise.
    func resolvedSource(_ path: FilePath) -> FilePath? {
        var st = stat()
        guard lstat(path.string, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else { return path }
        guard let real = realpath(path.string, nil) else { return nil }
        defer { free(real) }
        let target = FilePath(String(decoding: UnsafeRawBufferPointer(start: real, count: strlen(real)), as: UTF8.self))
        return layout.followSymlinks || target.starts(with: layout.root) ? target : nil
    }

    func outputMode(source: FilePath) -> FilePermissions {
        if configuration.outputPermissions != "source", let mode = UInt32(configuration.outputPermissions, radix: 8) {
            return FilePermissions(rawValue: mode)
        }
        guard let st = try? FileManager.default.attributesOfItem(atPath: source.string)[.posixPermissions] as? Int else {
            return [.ownerReadWrite, .groupRead, .otherRead]
        }
        return FilePermissions(rawValue: CModeT(st & 0o666))
    }

    /// The failure to report when an output or archive folder cannot be used: a symlink or
    /// non-folder on the path is permanent (nothing was written), a full disk or an I/O error is not.
    static func outcome(writing error: ContainmentError, relativePath: String) -> WorkerOutcome {
        switch error {
        case .system(_, let e) where e == .noSpace || e == .diskQuotaExceeded:
            WorkerOutcome(status: .failed, kind: .diskFull, message: "\(relativePath): disk full while writing the outputs (\(error))")
        case .system:
            WorkerOutcome(status: .failed, kind: .ioError, message: "\(relativePath): cannot write the outputs: \(error)")
        default:
            WorkerOutcome(status: .failed, kind: .unsafePath, message: "\(relativePath): refusing to write the outputs or archive: \(error)")
        }
    }
}

/// Appends checkpoint lines, each with its MAC, to X.processing through one descriptor, opened once.
///
/// If another daemon takes the job over, it renames our marker aside first,
/// so our late writes land in the stale file, never in the new owner's journal.
final class JournalAppender: Sendable {
    let fd: FileDescriptor
    let inode: UInt64
    let marker: FilePath
    let seal: JournalSeal

    init(marker: FilePath, seal: JournalSeal) throws {
        self.marker = marker
        self.seal = seal
        // Non-blocking: a FIFO planted in its place fails at once instead of hanging the worker.
        fd = try FileDescriptor.open(marker, .readWrite, options: [.append, .noFollow, .closeOnExec, .nonBlocking])
        var st = stat()
        fstat(fd.rawValue, &st)
        inode = UInt64(st.st_ino)
    }

    deinit { try? fd.close() }

    /// Cuts the marker back to its lease line, so checkpoints refused once are not read
    /// again by the next attempt (which would then start from the beginning again).
    func discardEntries() throws {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
        guard let newline = buffer.prefix(count).firstIndex(of: UInt8(ascii: "\n")) else { return }
        if ftruncate(fd.rawValue, off_t(newline + 1)) != 0 { throw Errno(rawValue: errno) }
    }

    func append(_ entry: JournalEntry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = Array(try encoder.encode(seal.sealed(entry)))
        line.append(UInt8(ascii: "\n"))
        _ = try fd.writeAll(line)
        if fsync(fd.rawValue) != 0 { throw Errno(rawValue: errno) }
    }

    func stillOurs() -> Bool {
        var st = stat()
        let r = marker.withPlatformString { fstatat(AT_FDCWD, $0, &st, AT_SYMLINK_NOFOLLOW) }
        return r == 0 && UInt64(st.st_ino) == inode
    }
}

/// Set by SIGTERM/SIGINT in a worker: finish the current window, checkpoint, stop.
final class StopFlag: Sendable {
    /// What the signal handlers set: shared with them, not with the sources they belong to.
    private final class Raised: Sendable {
        let value = Atomic<Bool>(false)
    }

    private let raised: Raised
    /// Keeps the signal sources alive as long as the flag (never read).
    private let sources: Mutex<[any DispatchSourceSignal]>

    var isSet: Bool { raised.value.load(ordering: .relaxed) }

    private init(raised: Raised, sources: consuming sending [any DispatchSourceSignal]) {
        self.raised = raised
        self.sources = Mutex(sources)
    }

    static func installingSignalHandler() -> StopFlag {
        let raised = Raised()
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { raised.value.store(true, ordering: .relaxed) }
            source.resume()
            sources.append(source)
        }
        return StopFlag(raised: raised, sources: sources)
    }
}
