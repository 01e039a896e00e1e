import Foundation
import HotFolder
import SystemPackage

/// What a hook (`on_done`, `on_failed`) is told about the job that ended: in
/// environment variables for a quick script, and as a JSON document on its
/// standard input for anything that wants exact values.
///
/// It exists so that both forms come from one value, and a test can check them
/// field by field against the markers.
public struct HookEvent: Codable, Sendable, Equatable {
    /// The job's path relative to the inbox.
    public var job: String
    /// The source's absolute path: where `archive_dir` moved it, if it did (gone when `sourceDeleted`).
    public var source: String
    public var outputs: [String]
    /// "done" or "failed".
    public var state: String
    public var failureKind: String?
    public var failureMessage: String?
    public var audioSeconds: Double?
    public var rule: AppliedRule?
    public var attempts: Int
    /// `delete_source` removed the source before the hook ran.
    public var sourceDeleted = false
    /// The copy of the done facts beside the outputs, when `delete_source` wrote one.
    public var doneRecord: String?

    enum CodingKeys: String, CodingKey {
        case job, source, outputs, state, rule, attempts
        case failureKind = "failure_kind"
        case failureMessage = "failure_message"
        case audioSeconds = "audio_seconds"
        case sourceDeleted = "source_deleted"
        case doneRecord = "done_record"
    }

    /// The variables the hook runs with (on top of the daemon's environment). Outputs
    /// are newline-separated; the JSON on stdin is exact for any name.
    public var environment: [String: String] {
        [
            "DROPSCRIBE_JOB": job,
            "DROPSCRIBE_SOURCE": source,
            "DROPSCRIBE_OUTPUTS": outputs.joined(separator: "\n"),
            "DROPSCRIBE_STATE": state,
            "DROPSCRIBE_FAILURE_KIND": failureKind ?? "",
            "DROPSCRIBE_FAILURE_MESSAGE": failureMessage ?? "",
            "DROPSCRIBE_AUDIO_SECONDS": audioSeconds.map { String(format: "%.3f", $0) } ?? "",
            "DROPSCRIBE_RULE": rule.map { String($0.index) } ?? "",
            "DROPSCRIBE_RULE_MATCH": rule.map { $0.match.joined(separator: "\n") } ?? "",
            "DROPSCRIBE_SOURCE_DELETED": sourceDeleted ? "1" : "0",
        ]
    }

    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own plain struct cannot fail.
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }

    static func done(_ claim: Claim, _ done: DoneMarker, sourceDeleted: Bool, doneRecord: String?) -> HookEvent {
        HookEvent(job: claim.job.relativePath, source: claim.job.path.string, outputs: done.outputs, state: JobState.done.rawValue,
                  audioSeconds: done.audioDuration, rule: claim.lease.rule, attempts: claim.lease.attempt,
                  sourceDeleted: sourceDeleted, doneRecord: doneRecord)
    }

    static func failed(_ claim: Claim, kind: FailureKind, message: String) -> HookEvent {
        HookEvent(job: claim.job.relativePath, source: claim.job.path.string, outputs: [], state: JobState.failed.rawValue,
                  failureKind: kind.rawValue, failureMessage: message, rule: claim.lease.rule, attempts: claim.lease.attempt)
    }
}
