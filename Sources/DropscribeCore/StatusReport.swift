import Foundation
import HotFolder
import SystemPackage

/// What `dropscribe status` shows: counts per state, the running jobs with
/// their progress, and the failures with their causes. Built from the
/// folder alone (markers and journals), so it works on any host that sees the share.
public struct StatusReport: Codable, Sendable {
    /// A job being processed, as its lease and journal describe it.
    public struct Running: Codable, Sendable {
        public var job: String
        public var host: String?
        public var pid: Int32?
        public var attempt: Int?
        public var percent: Double
        public var elapsedSeconds: Double?
        public var remainingSeconds: Double?
        public var stale: Bool
    }

    /// A job that gave up.
    public struct Failure: Codable, Sendable {
        public var job: String
        public var kind: String
        public var message: String
        public var attempts: Int
    }

    public var inbox: String
    public var counts: [String: Int]
    /// Files seen that have no marker yet (still settling, or not yet noticed).
    public var unmarked: Int
    public var processing: [Running]
    public var failed: [Failure]
    /// Pending jobs waiting for a retry after a transient failure.
    public var retrying: Int

    public static func collect(layout: InboxLayout, options: QueueOptions, now: Double = Date().timeIntervalSince1970) -> StatusReport {
        let snapshot = FolderScanner(layout: layout, statJobs: false).scan(now: now)
        let queue = JobQueue(layout: layout, options: options)
        let (jobs, unmarked) = snapshot.stateCounts
        let counts = Dictionary(uniqueKeysWithValues: jobs.map { ($0.key.rawValue, $0.value) })
        var running: [Running] = []
        var failed: [Failure] = []
        var retrying = 0
        for (rel, entry) in snapshot.entries.sorted(by: { $0.key < $1.key }) {
            guard let state = entry.state else { continue }
            switch state {
            case .processing:
                let info = queue.readProcessing(entry.job)
                let progress = info?.journal.last?.progress ?? 0
                let elapsed = info?.lease.map { now - $0.started }
                let remaining = elapsed.flatMap { e in progress > 0 ? e / progress * (1 - progress) : nil }
                let stale = info.map { queue.isStale(lease: $0.lease, modified: $0.modified, now: now) } ?? true
                running.append(Running(job: rel, host: info?.lease?.host, pid: info?.lease?.pid, attempt: info?.lease?.attempt,
                                       percent: (progress * 1000).rounded() / 10, elapsedSeconds: elapsed,
                                       remainingSeconds: remaining, stale: stale))
            case .failed:
                if let f = queue.readFailed(entry.job) {
                    failed.append(Failure(job: rel, kind: f.kind.rawValue, message: f.message, attempts: f.attempts))
                } else {
                    failed.append(Failure(job: rel, kind: "unknown", message: "unreadable failed marker", attempts: 0))
                }
            case .pending:
                // Reading every pending marker would cost a file read each; only count retries when few.
                if snapshot.entries.count <= 10_000, let p = queue.readPending(entry.job), p.attempts > 0 { retrying += 1 }
            case .done:
                break
            }
        }
        return StatusReport(inbox: layout.root.string, counts: counts, unmarked: unmarked, processing: running,
                            failed: failed, retrying: retrying)
    }

    /// The human-readable form.
    public func render() -> String {
        var lines: [String] = ["inbox: \(inbox)"]
        let order = JobState.allCases.map(\.rawValue)
        lines.append(order.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: "  ") + "  unmarked \(unmarked)"
                     + (retrying > 0 ? "  (\(retrying) pending retries)" : ""))
        if !processing.isEmpty {
            lines.append("")
            lines.append("processing:")
            for r in processing {
                var s = "  \(Self.quote(r.job))  \(String(format: "%5.1f", r.percent))%"
                if let e = r.elapsedSeconds { s += "  elapsed \(Self.duration(e))" }
                if let left = r.remainingSeconds { s += "  left ~\(Self.duration(left))" }
                s += "  on \(r.host ?? "?") pid \(r.pid.map(String.init) ?? "?")"
                if let a = r.attempt, a > 1 { s += "  attempt \(a)" }
                if r.stale { s += "  (owner gone: will be resumed)" }
                lines.append(s)
            }
        }
        if !failed.isEmpty {
            lines.append("")
            lines.append("failed:")
            for f in failed { lines.append("  \(Self.quote(f.job))  [\(f.kind)] \(f.message)") }
        }
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Names with newlines or control characters are shown escaped, one job per line.
    static func quote(_ name: String) -> String {
        guard name.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7f}" }) else { return name }
        return "\"" + name.unicodeScalars.map { $0.value < 0x20 || $0 == "\u{7f}" ? String(format: "\\x%02x", $0.value) : String($0) }.joined() + "\""
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
