import Foundation
import Glibc
import SystemPackage

/// The steps of removing a finished job's source (`delete_source`), in their order.
///
/// It exists to make the order explicit and testable: after each step a crash
/// (kill -9) leaves a folder from which any daemon finishes the job without losing
/// the source and the outputs both, and without transcribing it again.
///
/// 0. `X.done` with `delete_source: true` is durable (`JobQueue.complete`), the outputs
///    before it (the worker fsyncs them). A crash now: the source is still there and
///    the job is done; the reconciler sees the flag and resumes at step 1.
/// 1. `recordWritten`: the done facts are copied beside the outputs (`X.done.json`),
///    fsynced with their folder. A crash now: as above, the copy is written again.
/// 2. `sourceRemoved`: the source is unlinked (only if it is still the content that was
///    transcribed) and its folder fsynced. A crash now: `X.done` without a source, the
///    reconciler removes the marker (nothing to transcribe: the source is gone).
/// 3. `markersRemoved`: the job's markers are unlinked and the folder fsynced.
public enum SourceDeletionStep: String, Sendable, CaseIterable {
    case recordWritten = "record-written"
    case sourceRemoved = "source-removed"
    case markersRemoved = "markers-removed"
}

/// `X.done.json`: what stays of a job whose source `delete_source` removed.
public struct DoneRecord: Codable, Sendable, Equatable {
    public var job: String
    public var source: String
    public var done: DoneMarker
}

extension JobQueue {
    /// Where the copy of the done facts goes: beside the first output, named after
    /// it without its format extension ("talk.mp3.txt" gives "talk.mp3.done.json").
    public static func doneRecordPath(for job: Job, done: DoneMarker) -> FilePath {
        guard let first = done.outputs.first.map({ FilePath($0) }), let name = first.lastComponent else {
            return FilePath(job.path.string + ".done.json")
        }
        return first.removingLastComponent().appending(name.stem + ".done.json")
    }

    /// Steps 1 to 3 of `SourceDeletionStep`, each safe to repeat; `after` is called
    /// after each (the test seam that kills the daemon there). Returns the record's
    /// path, or nil when the source was replaced by other content since (then
    /// nothing is removed: the reconciler treats it as a changed source).
    public func finishSourceDeletion(_ job: Job, done: DoneMarker,
                                     after: (SourceDeletionStep) -> Void = { _ in }) throws(QueueError) -> FilePath? {
        let recordPath = Self.doneRecordPath(for: job, done: done)
        let current = try? Fingerprint.of(job.path, followSymlinks: true)
        if let current, !current.sameContent(as: done.fingerprint) { return nil }
        if current != nil || !exists(recordPath) {
            let record = DoneRecord(job: job.relativePath, source: job.path.string, done: done)
            do {
                try AtomicFile.write(MarkerCoding.encode(record) + [UInt8(ascii: "\n")], to: recordPath)
                try Syscall.fsyncDirectory(recordPath.removingLastComponent())
            } catch {
                throw QueueError(job: job.relativePath, operation: "writing the done record \(recordPath)", errno: error)
            }
        }
        after(.recordWritten)
        if current != nil {
            do { try Syscall.unlink(job.path) } catch where error != .noSuchFileOrDirectory {
                throw QueueError(job: job.relativePath, operation: "removing the source (delete_source)", errno: error)
            } catch {}
            try? Syscall.fsyncDirectory(job.path.removingLastComponent())
        }
        after(.sourceRemoved)
        _ = reset(job)
        try? Syscall.fsyncDirectory(job.marker(.done).removingLastComponent())
        after(.markersRemoved)
        return recordPath
    }
}
