import Foundation
import Glibc
import HotFolder

/// The daemon's numbers for Prometheus, in the text exposition format that
/// node_exporter's textfile collector reads (`metrics_file`).
///
/// It exists so a fleet of daemons can be watched without a network port: the
/// daemon only writes a file (atomically, so a scrape never sees half of it)
/// and node_exporter serves it. Job counts per state are those of the last
/// full scan of the folder (shared with other daemons, so the same on every
/// replica); the totals count what this daemon did since it started.
public struct DaemonMetrics: Sendable, Equatable {
    /// Jobs per state at the last scan (pending, processing, done, failed).
    public var jobs: [JobState: Int] = [:]
    /// Files without a marker yet (settling or not yet noticed) at the last scan.
    public var unmarked = 0
    /// Whether a scan has been counted yet (before it, the gauges are left out).
    public var scanned = false
    /// Full passes over the inbox this daemon completed: a pass that began after an
    /// upload has looked at it, so a monitor (or a test) can tell "not yet looked at"
    /// from "looked at and left alone" without a clock.
    public var rescansTotal = 0
    /// SIGHUP reloads of the config file that took effect, and those refused (the old config kept).
    public var configReloadsApplied = 0
    public var configReloadsRefused = 0
    public var doneTotal = 0
    /// Jobs this daemon moved to `.failed` (gave up).
    public var failedTotal = 0
    /// Transient failures this daemon sent back to pending for another attempt.
    public var retriedTotal = 0
    /// Failed attempts (retried or final) by what went wrong.
    public var attemptFailures: [FailureKind: Int] = [:]
    public var audioSecondsTotal: Double = 0
    /// Wall time of the finished jobs that had audio, for the average real-time factor.
    public var wallSecondsTotal: Double = 0
    public var lastRealTimeFactor: Double?
    /// The largest peak resident set of any worker so far.
    public var workerPeakRSSBytes: Int64 = 0
    public var workersRunning = 0
    /// Jobs the last pass held back because the memory their model needs
    /// (`MemoryAdmission`) was not available: pending, and not for want of a worker.
    public var jobsWaitingForMemory = 0
    /// `on_done`/`on_failed` hooks running now, and those waiting for a slot (`hook_concurrency`).
    public var hooksRunning = 0
    public var hooksWaiting = 0
    public var workersConfigured = 0
    public var startTime: Double
    public var up = true

    public init(startTime: Double) {
        self.startTime = startTime
    }

    /// Wall time per second of audio over every job this daemon finished; nil before the first.
    public var averageRealTimeFactor: Double? {
        audioSecondsTotal > 0 ? wallSecondsTotal / audioSecondsTotal : nil
    }

    /// Counts a finished job from its `.done` summary.
    public mutating func recordDone(_ summary: DoneMarker) {
        doneTotal += 1
        if let audio = summary.audioDuration, audio > 0 {
            audioSecondsTotal += audio
            wallSecondsTotal += summary.wallTime
            lastRealTimeFactor = summary.realTimeFactor ?? summary.wallTime / audio
        }
        if let rss = summary.peakRSSBytes { workerPeakRSSBytes = max(workerPeakRSSBytes, rss) }
    }

    /// Counts a failed attempt by where it sent the job and by its kind.
    public mutating func recordFailure(next: JobState, kind: FailureKind) {
        if next == .failed { failedTotal += 1 } else { retriedTotal += 1 }
        attemptFailures[kind, default: 0] += 1
    }

    /// Takes the job counts of a folder snapshot.
    public mutating func recordScan(_ snapshot: FolderSnapshot) {
        recordCounts(snapshot.stateCounts)
    }

    /// Takes the job counts of a whole pass over the inbox, and counts the pass.
    public mutating func recordCounts(_ counts: (jobs: [JobState: Int], unmarked: Int)) {
        (jobs, unmarked) = counts
        scanned = true
        rescansTotal += 1
    }

    /// The text format: HELP and TYPE before each family, one sample per line, a final newline.
    public func render() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += "\(name)\(s.labels) \(Self.format(s.value))\n" }
        }
        if scanned {
            family("dropscribe_jobs", "gauge", "Jobs in the inbox per state, as of the daemon's last full scan.",
                   JobState.allCases.map { ("{state=\"\($0.rawValue)\"}", Double(jobs[$0] ?? 0)) })
            family("dropscribe_files_unmarked", "gauge", "Files in the inbox without a marker yet (settling or not yet noticed).",
                   [("", Double(unmarked))])
        }
        family("dropscribe_jobs_done_total", "counter", "Jobs this daemon finished since it started.", [("", Double(doneTotal))])
        family("dropscribe_jobs_failed_total", "counter", "Jobs this daemon gave up on (moved to .failed) since it started.",
               [("", Double(failedTotal))])
        family("dropscribe_jobs_retried_total", "counter", "Transient failures this daemon sent back to pending since it started.",
               [("", Double(retriedTotal))])
        if !attemptFailures.isEmpty {
            family("dropscribe_attempt_failures_total", "counter", "Failed attempts (retried or final) since the daemon started, by kind.",
                   FailureKind.allCases.compactMap { k in attemptFailures[k].map { ("{kind=\"\(k.rawValue)\"}", Double($0)) } })
        }
        family("dropscribe_rescans_total", "counter", "Full passes over the inbox this daemon completed since it started.",
               [("", Double(rescansTotal))])
        family("dropscribe_config_reloads_total", "counter", "SIGHUP reloads of the config file since the daemon started, by result.",
               [("{result=\"applied\"}", Double(configReloadsApplied)), ("{result=\"refused\"}", Double(configReloadsRefused))])
        family("dropscribe_audio_seconds_total", "counter", "Seconds of audio this daemon transcribed since it started.",
               [("", audioSecondsTotal)])
        family("dropscribe_transcription_wall_seconds_total", "counter",
               "Wall time of the jobs counted in dropscribe_audio_seconds_total.", [("", wallSecondsTotal)])
        if let last = lastRealTimeFactor {
            family("dropscribe_real_time_factor_last", "gauge", "Wall time per second of audio of the last finished job.", [("", last)])
        }
        if let average = averageRealTimeFactor {
            family("dropscribe_real_time_factor_average", "gauge",
                   "Wall time per second of audio over every job this daemon finished.", [("", average)])
        }
        family("dropscribe_worker_peak_rss_bytes", "gauge", "Largest peak resident memory of a worker process since the daemon started.",
               [("", Double(workerPeakRSSBytes))])
        family("dropscribe_workers_running", "gauge", "Worker processes running now.", [("", Double(workersRunning))])
        family("dropscribe_jobs_waiting_for_memory", "gauge",
               "Jobs the last pass held back because the memory their model needs was not available.",
               [("", Double(jobsWaitingForMemory))])
        family("dropscribe_hooks_running", "gauge", "on_done/on_failed hooks running now.", [("", Double(hooksRunning))])
        family("dropscribe_hooks_waiting", "gauge", "Hooks waiting for a free slot (hook_concurrency).", [("", Double(hooksWaiting))])
        family("dropscribe_workers_configured", "gauge", "Jobs the daemon runs at once (workers).", [("", Double(workersConfigured))])
        family("dropscribe_start_time_seconds", "gauge", "Start time of the daemon, seconds since the epoch.", [("", startTime)])
        family("dropscribe_up", "gauge", "1 while the daemon runs; 0 once it has stopped.", [("", up ? 1 : 0)])
        return out
    }

    /// Whole numbers without a fraction; others in full precision (Prometheus parses both).
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
