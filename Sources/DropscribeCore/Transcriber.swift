import Foundation
import HotFolder
import Logging
import SystemPackage

/// Why a transcription stopped without a transcript.
public struct TranscriptionFailure: Error, CustomStringConvertible, Sendable {
    public var kind: FailureKind
    public var message: String

    public init(kind: FailureKind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    public static func interrupted(_ file: String) -> TranscriptionFailure {
        TranscriptionFailure(kind: .interrupted, message: "\(file): stopped at a checkpoint for shutdown")
    }
}

/// One job as a transcriber sees it: the source, where it left off, and how to report progress.
public struct TranscriptionJob: Sendable {
    public var source: FilePath
    /// The name shown in messages (the path relative to the inbox).
    public var displayName: String
    /// Checkpoints of earlier attempts, oldest first: resume after the last.
    public var journal: [JournalEntry]
    public var resumeFrom: JournalEntry? { journal.last }
    /// Journals a checkpoint durably (appended to X.processing and fsynced) before returning.
    public var checkpoint: @Sendable (JournalEntry) throws -> Void
    /// Becomes true when the worker is asked to stop (SIGTERM): finish the window, checkpoint, throw `.interrupted`.
    public var shouldStop: @Sendable () -> Bool
    public var logger: Logger
    /// `[limits]`: a source longer than `maxAudioSeconds` fails `too-long` as soon as that is known.
    public var limits: JobLimits
    /// Told the audio length as soon as it is known (or a growing lower bound): the worker's deadline.
    public var reportAudioSeconds: @Sendable (Double) -> Void
    /// Told how far a pass before the first checkpoint has got (the VAD, the level pass), as a
    /// fraction of the file's samples: the worker journals it as a progress line for `status`.
    public var reportPhase: @Sendable (JobPhase, Double) -> Void = { _, _ in }
    /// The source path has no symlink to follow (the worker resolved and checked it): open it
    /// with O_NOFOLLOW, so a symlink swapped in after the check is refused.
    public var refuseSymlinks = false

    public init(source: FilePath, displayName: String, journal: [JournalEntry],
                checkpoint: @escaping @Sendable (JournalEntry) throws -> Void,
                shouldStop: @escaping @Sendable () -> Bool, logger: Logger,
                limits: JobLimits = JobLimits(), reportAudioSeconds: @escaping @Sendable (Double) -> Void = { _ in }) {
        self.source = source
        self.displayName = displayName
        self.journal = journal
        self.checkpoint = checkpoint
        self.shouldStop = shouldStop
        self.logger = logger
        self.limits = limits
        self.reportAudioSeconds = reportAudioSeconds
    }

    /// Reports a length and fails `too-long` past the limit (`declared`: from the container, not decoded).
    public func checkLength(_ seconds: Double, declared: Bool) throws(TranscriptionFailure) {
        if limits.isTooLong(audioSeconds: seconds) { throw limits.tooLong(displayName, audioSeconds: seconds, declared: declared) }
        reportAudioSeconds(seconds)
    }
}

/// A finished transcription: the output files' contents, by extension, and facts for X.done.
public struct TranscriptionResult: Sendable {
    public var outputs: [(fileExtension: String, contents: [UInt8])]
    public var audioDuration: Double?
    public var model: String?

    public init(outputs: [(fileExtension: String, contents: [UInt8])], audioDuration: Double?, model: String?) {
        self.outputs = outputs
        self.audioDuration = audioDuration
        self.model = model
    }
}

/// What turns a source file into transcripts. The daemon's workers run one per
/// job; the queue's own tests plug in `TestTranscriber` to exercise the queue
/// without a model.
public protocol Transcriber: Sendable {
    func transcribe(_ job: TranscriptionJob) throws(TranscriptionFailure) -> TranscriptionResult
}
