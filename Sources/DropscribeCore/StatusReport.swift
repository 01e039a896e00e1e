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
        /// Before the first checkpoint: the pass the job is in ("vad", "levels") and how far
        /// through the file's samples it is, in percent (nil once windows are transcribed).
        public var phase: String?
        public var phasePercent: Double?
        public var elapsedSeconds: Double?
        public var remainingSeconds: Double?
        public var stale: Bool
        /// The folder rule the job was claimed under (nil: the global settings).
        public var rule: AppliedRule?
    }

    /// A job that gave up (or whose marker is not a file dropscribe can read).
    public struct Failure: Codable, Sendable {
        public var job: String
        public var kind: String
        public var message: String
        public var attempts: Int
        public var rule: AppliedRule?

        /// The message as the marker had it, cut to a length a terminal (or a script) can take.
        init(job: String, kind: String, attempts: Int, message: String, rule: AppliedRule? = nil) {
            self.job = job
            self.rule = rule
            self.kind = kind
            self.attempts = attempts
            self.message = String(message.unicodeScalars.prefix(Self.messageLimit))
        }

        static let messageLimit = 4096
    }

    /// A done job and how it was handled (only with `status --json --done`).
    public struct Finished: Codable, Sendable {
        public var job: String
        public var rule: AppliedRule?
        public var model: String?
        public var outputs: [String]
    }

    public var inbox: String
    public var counts: [String: Int]
    /// Files seen that have no marker yet (still settling, or not yet noticed).
    public var unmarked: Int
    public var processing: [Running]
    public var failed: [Failure]
    /// Pending jobs waiting for a retry after a transient failure.
    public var retrying: Int
    /// Every done job, when asked for (nil otherwise: a history of a million is not read by default).
    public var done: [Finished]?

    public static func collect(layout: InboxLayout, options: QueueOptions, now: Double = Date().timeIntervalSince1970,
                               listingDone: Bool = false) -> StatusReport {
        let census = FolderScanner(layout: layout, statJobs: false).census(now: now, listingDone: listingDone)
        let queue = JobQueue(layout: layout, options: options)
        let counts = Dictionary(uniqueKeysWithValues: census.jobs.map { ($0.key.rawValue, $0.value) })
        let unmarked = census.unmarked
        var running: [Running] = []
        var failed: [Failure] = []
        var retrying = 0
        for (rel, entry) in census.unfinished {
            guard let state = entry.state else { continue }
            if let (marker, kind) = entry.irregularMarkers.min(by: { $0.key < $1.key }) {
                // Never opened: a FIFO would block, a directory means nothing. The daemon skips the job too.
                failed.append(Failure(job: rel, kind: "bad-marker", attempts: 0,
                                      message: "\(entry.job.marker(marker).lastComponent?.string ?? rel) is a \(kind.rawValue), not a marker file; remove it"))
                continue
            }
            switch state {
            case .processing:
                let info = queue.readProcessing(entry.job)
                let progress = info?.journal.last { $0.phase == nil }?.progress ?? 0
                // A pass's progress line after the last checkpoint: the job is in that pass.
                let pass = info?.journal.last.flatMap { $0.phase == nil ? nil : $0 }
                let elapsed = info?.lease.map { now - $0.started }
                let remaining = elapsed.flatMap { e in progress > 0 && pass == nil ? e / progress * (1 - progress) : nil }
                let stale = info.map { queue.isStale(lease: $0.lease, modified: $0.modified, now: now) } ?? true
                running.append(Running(job: rel, host: info?.lease?.host, pid: info?.lease?.pid, attempt: info?.lease?.attempt,
                                       percent: Self.percent(progress), phase: pass?.phase?.rawValue,
                                       phasePercent: pass.map { Self.percent($0.progress) }, elapsedSeconds: elapsed,
                                       remainingSeconds: remaining, stale: stale, rule: info?.lease?.rule))
            case .failed:
                if let f = queue.readFailed(entry.job) {
                    failed.append(Failure(job: rel, kind: f.kind.rawValue, attempts: f.attempts, message: f.message, rule: f.rule))
                } else {
                    failed.append(Failure(job: rel, kind: "unknown", attempts: 0, message: "unreadable failed marker"))
                }
            case .pending:
                // Reading every pending marker would cost a file read each; only count retries when few.
                if census.total <= 10_000, let p = queue.readPending(entry.job), p.attempts > 0 { retrying += 1 }
            case .done:
                break
            }
        }
        let done = listingDone ? census.done.map { rel in
            let marker = queue.readDone(layout.job(relativePath: rel))
            return Finished(job: rel, rule: marker?.rule, model: marker?.model, outputs: marker?.outputs ?? [])
        } : nil
        return StatusReport(inbox: layout.root.string, counts: counts, unmarked: unmarked, processing: running,
                            failed: failed, retrying: retrying, done: done)
    }

    /// A fraction as a percentage with one decimal.
    static func percent(_ fraction: Double) -> Double { (fraction * 1000).rounded() / 10 }

    /// How a pass is named in the human-readable form.
    static func passName(_ phase: String) -> String {
        switch JobPhase(rawValue: phase) {
        case .vad?: "VAD pass"
        case .levels?: "level pass"
        case nil: UntrustedText.printable(phase, limit: 64)
        }
    }

    /// How many failures the human-readable form lists before it says how many more there are.
    public static let failuresShown = 20

    /// The human-readable form: the failures capped at `failureLimit` (nil: every one).
    public func render(failureLimit: Int? = StatusReport.failuresShown) -> String {
        var lines: [String] = ["inbox: \(inbox)"]
        let order = JobState.allCases.map(\.rawValue)
        lines.append(order.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: "  ") + "  unmarked \(unmarked)"
                     + (retrying > 0 ? "  (\(retrying) pending retries)" : ""))
        if !processing.isEmpty {
            lines.append("")
            lines.append("processing:")
            for r in processing {
                var s = "  \(Self.quote(r.job))  \(String(format: "%5.1f", r.percent))%"
                if let phase = r.phase, let p = r.phasePercent { s += "  \(Self.passName(phase)) \(String(format: "%.1f", p))%" }
                if let e = r.elapsedSeconds { s += "  elapsed \(Self.duration(e))" }
                if let left = r.remainingSeconds { s += "  left ~\(Self.duration(left))" }
                s += "  on \(r.host.map { UntrustedText.printable($0, limit: 256) } ?? "?") pid \(r.pid.map(String.init) ?? "?")"
                if let a = r.attempt, a > 1 { s += "  attempt \(a)" }
                if r.stale { s += "  (owner gone: will be resumed)" }
                lines.append(s)
            }
        }
        if !failed.isEmpty {
            lines.append("")
            lines.append("failed:")
            let shown = failed.prefix(failureLimit ?? failed.count)
            for f in shown {
                lines.append("  \(Self.quote(f.job))  [\(UntrustedText.printable(f.kind, limit: 64))] \(UntrustedText.printable(f.message))")
            }
            if shown.count < failed.count {
                lines.append("  … and \(failed.count - shown.count) more (dropscribe status --all lists every one)")
            }
        }
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Names with newlines or control characters are shown quoted and escaped, one job per line.
    static func quote(_ name: String) -> String {
        UntrustedText.needsEscaping(name) ? "\"" + UntrustedText.printable(name, limit: 4096) + "\"" : name
    }

    /// "12m05s" or "3h07m"; "?" for a time no marker could honestly hold.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
