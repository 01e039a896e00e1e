import Foundation
import SystemPackage

/// The four states a job can be in; each is a marker file beside the job.
///
/// For `inbox/X` exactly one of `X.pending`, `X.processing`, `X.done` and
/// `X.failed` is meant to exist. During a transition the new marker is created
/// before the old one is removed, so for a moment two may coexist; the later
/// state in this order wins, and the daemon removes the leftover.
public enum JobState: String, CaseIterable, Codable, Sendable, Comparable {
    case pending, processing, done, failed

    public var suffix: String { Self.suffixes[rank] }

    private static let suffixes = [".pending", ".processing", ".failed", ".done"]

    /// Precedence when two markers coexist after an interrupted transition.
    var rank: Int {
        switch self {
        case .pending: 0
        case .processing: 1
        case .failed: 2
        case .done: 3
        }
    }

    public static func < (a: JobState, b: JobState) -> Bool { a.rank < b.rank }

    /// Splits a file name (or path) into (job name, state) when it is a marker:
    /// "talk.mp3.failed" is ("talk.mp3", .failed).
    /// Called for every name in every scan, so it compares bytes, not characters.
    public static func parse(markerName name: String) -> (job: String, state: JobState)? {
        let utf8 = name.utf8
        guard let last = utf8.last, last == UInt8(ascii: "g") || last == UInt8(ascii: "e") || last == UInt8(ascii: "d") else {
            return nil
        }
        for state in allCases {
            let suffix = state.suffix.utf8
            if utf8.count > suffix.count, utf8.suffix(suffix.count).elementsEqual(suffix) {
                return (String(decoding: utf8.dropLast(suffix.count), as: UTF8.self), state)
            }
        }
        return nil
    }
}

/// What identifies the exact content a job was started on: if any of these
/// change, the file was replaced or rewritten and the transcript would be of
/// the wrong content.
public struct Fingerprint: Codable, Hashable, Sendable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtimeNanoseconds: Int64

    public init(device: UInt64, inode: UInt64, size: Int64, mtimeNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
    }

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        // Saturating: anyone can set a file's mtime past the year 2262, where nanoseconds overflow Int64.
        let (seconds, overflow) = Int64(st.st_mtim.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        mtimeNanoseconds = overflow ? (st.st_mtim.tv_sec > 0 ? .max : .min) : seconds.saturatingAdding(Int64(st.st_mtim.tv_nsec))
    }

    /// The fingerprint of the file at `path` now (symlinks are followed only when asked).
    public static func of(_ path: FilePath, followSymlinks: Bool = false) throws(Errno) -> Fingerprint {
        Fingerprint(followSymlinks ? try Syscall.statFollowing(path) : try Syscall.lstat(path))
    }

    /// Size and mtime agree: the content is the same even if a copy gave it a new inode.
    public func sameContent(as other: Fingerprint) -> Bool {
        size == other.size && mtimeNanoseconds == other.mtimeNanoseconds
    }

    public var description: String { "dev \(device) ino \(inode) size \(size) mtime \(mtimeNanoseconds)ns" }

    enum CodingKeys: String, CodingKey {
        case device, inode, size
        case mtimeNanoseconds = "mtime_ns"
    }
}

/// Why a job did not finish, and whether trying again could help.
public enum FailureKind: String, Codable, Sendable, CaseIterable {
    // Permanent: the file itself is the problem.
    case notMedia = "not-media"
    case noAudioStream = "no-audio-stream"
    case unsupportedCodec = "unsupported-codec"
    case corrupt = "corrupt"
    case emptyFile = "empty-file"
    case badInput = "bad-input"
    /// An output or archive path would cross a symlink (or a non-folder): nothing was written.
    case unsafePath = "unsafe-path"
    /// A playlist, concat list or image sequence, not allowed by `[media] allow_playlists`.
    case refusedFormat = "refused-format"
    /// Longer than `[limits] max_audio_seconds` (declared or decoded).
    case tooLong = "too-long"
    /// Ran past `[limits] job_timeout_factor` × its audio length: the worker was killed.
    case timedOut = "timed-out"
    // Transient: the machine or the process was the problem.
    case workerCrashed = "worker-crashed"
    case killed = "killed"
    case outOfMemory = "out-of-memory"
    case diskFull = "disk-full"
    case ioError = "io-error"
    case sourceChanged = "source-changed"
    case interrupted = "interrupted"
    case modelError = "model-error"

    /// Permanent failures go straight to `.failed`; the others return to `.pending`.
    public var isPermanent: Bool {
        switch self {
        case .notMedia, .noAudioStream, .unsupportedCodec, .corrupt, .emptyFile, .badInput, .unsafePath, .refusedFormat,
             .tooLong, .timedOut: true
        default: false
        }
    }
}

/// Contents of `X.pending`.
public struct PendingMarker: Codable, Sendable, Equatable {
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var firstSeen: Double
    public var attempts: Int
    /// Earliest time (seconds since the epoch) the job may be claimed again: the retry backoff.
    public var notBefore: Double?
    public var lastErrorKind: FailureKind?
    public var lastError: String?
    /// Checkpoints of an earlier attempt that the next claim resumes from.
    public var journal: [JournalEntry]?

    public init(size: Int64, mtimeNanoseconds: Int64, firstSeen: Double, attempts: Int = 0,
                notBefore: Double? = nil, lastErrorKind: FailureKind? = nil, lastError: String? = nil,
                journal: [JournalEntry]? = nil) {
        self.journal = journal
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.firstSeen = firstSeen
        self.attempts = attempts
        self.notBefore = notBefore
        self.lastErrorKind = lastErrorKind
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case size, attempts, journal
        case mtimeNanoseconds = "mtime_ns"
        case firstSeen = "first_seen"
        case notBefore = "not_before"
        case lastErrorKind = "last_error_kind"
        case lastError = "last_error"
    }
}

/// First line of `X.processing`: who holds the job, since when, on which content.
public struct LeaseHeader: Codable, Sendable, Equatable {
    public var host: String
    public var pid: Int32
    /// Start time of the owner process (clock ticks since boot), against pid reuse.
    public var pidStart: UInt64?
    public var bootID: String
    public var started: Double
    public var attempt: Int
    public var fingerprint: Fingerprint
    public var firstSeen: Double?
    /// The folder rule the job was claimed under (nil: the global settings).
    public var rule: AppliedRule?

    enum CodingKeys: String, CodingKey {
        case host, pid, started, attempt, fingerprint, rule
        case pidStart = "pid_start"
        case bootID = "boot_id"
        case firstSeen = "first_seen"
    }
}

/// One line of the checkpoint journal in `X.processing`, appended after each finished window.
///
/// `state` is the transcriber's own resumable state as JSON text: the queue
/// stores and returns it without looking inside. A line with a `phase` is not a checkpoint
/// but how far a pass before the first checkpoint has got (`status` shows it); a resumed
/// job skips such lines.
public struct JournalEntry: Codable, Sendable, Equatable {
    public var window: Int
    /// Fraction of the job done, 0...1, for `status` (with a `phase`: of that pass).
    public var progress: Double
    public var time: Double
    public var state: String
    /// HMAC-SHA256 (hex) of this entry under the journal key, which lives outside the inbox:
    /// anyone can write a journal into a marker, only a worker can make one that is trusted.
    public var mac: String?
    /// Nil for a checkpoint; otherwise the pass this progress line is about.
    public var phase: JobPhase?

    public init(window: Int, progress: Double, time: Double, state: String, mac: String? = nil, phase: JobPhase? = nil) {
        self.window = window
        self.progress = progress
        self.time = time
        self.state = state
        self.mac = mac
        self.phase = phase
    }

    /// A progress line through `phase`: `fraction` of the file's samples passed.
    public static func progress(_ phase: JobPhase, fraction: Double, time: Double) -> JournalEntry {
        JournalEntry(window: 0, progress: min(1, max(0, fraction.isFinite ? fraction : 0)), time: time, state: "", phase: phase)
    }
}

/// A pass over the whole file that runs before a job's first checkpoint.
///
/// It exists so `status` can say where a job is while no window has been transcribed yet
/// (on an hour of audio these passes take a while).
public enum JobPhase: String, Codable, Sendable {
    /// Voice activity detection (`vad_filter`, batched mode): Silero VAD over every sample.
    case vad
    /// The log-mel level pass (the file-wide maximum the features are scaled by).
    case levels
}

/// Contents of `X.done`: the summary of a finished job.
public struct DoneMarker: Codable, Sendable, Equatable {
    public var sourceSize: Int64
    public var sourceMtimeNanoseconds: Int64
    public var fingerprint: Fingerprint
    public var audioDuration: Double?
    public var wallTime: Double
    public var realTimeFactor: Double?
    public var peakRSSBytes: Int64?
    public var model: String?
    public var outputs: [String]
    public var finished: Double
    public var attempts: Int
    public var host: String
    /// The folder rule the job ran under (nil: the global settings).
    public var rule: AppliedRule?
    /// The source is to be removed (`delete_source`): a daemon that finds this marker
    /// finishes the removal (see `SourceDeletion`).
    public var deleteSource: Bool?
    /// The worker process that ran the job, and whether it already had the job's model loaded.
    public var workerPID: Int32?
    public var modelReused: Bool?

    public init(fingerprint: Fingerprint, audioDuration: Double?, wallTime: Double, realTimeFactor: Double?,
                peakRSSBytes: Int64?, model: String?, outputs: [String], finished: Double, attempts: Int, host: String) {
        self.sourceSize = fingerprint.size
        self.sourceMtimeNanoseconds = fingerprint.mtimeNanoseconds
        self.fingerprint = fingerprint
        self.audioDuration = audioDuration
        self.wallTime = wallTime
        self.realTimeFactor = realTimeFactor
        self.peakRSSBytes = peakRSSBytes
        self.model = model
        self.outputs = outputs
        self.finished = finished
        self.attempts = attempts
        self.host = host
    }

    enum CodingKeys: String, CodingKey {
        case fingerprint, model, outputs, finished, attempts, host, rule
        case deleteSource = "delete_source"
        case workerPID = "worker_pid"
        case modelReused = "model_reused"
        case sourceSize = "source_size"
        case sourceMtimeNanoseconds = "source_mtime_ns"
        case audioDuration = "audio_duration"
        case wallTime = "wall_time"
        case realTimeFactor = "real_time_factor"
        case peakRSSBytes = "peak_rss_bytes"
    }
}

/// Contents of `X.failed`.
public struct FailedMarker: Codable, Sendable, Equatable {
    public var kind: FailureKind
    public var message: String
    public var attempts: Int
    public var time: Double
    public var fingerprint: Fingerprint?
    /// The folder rule the job ran under (nil: the global settings).
    public var rule: AppliedRule?

    public init(kind: FailureKind, message: String, attempts: Int, time: Double, fingerprint: Fingerprint?, rule: AppliedRule? = nil) {
        self.kind = kind
        self.message = message
        self.attempts = attempts
        self.time = time
        self.fingerprint = fingerprint
        self.rule = rule
    }
}

enum MarkerCoding {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own plain structs cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// The marker value, or nil when the bytes are not one or a number in it is out of range.
    static func decode<T: Decodable & RangeChecked>(_ type: T.Type, from bytes: some Collection<UInt8>) -> T? {
        guard let value = try? JSONDecoder().decode(T.self, from: Data(bytes)), value.isInRange else { return nil }
        return value
    }
}
