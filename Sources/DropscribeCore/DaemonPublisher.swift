import Foundation
import HotFolder
import Logging
import Synchronization
import SystemPackage

/// What the daemon tells the world about itself: the metrics file, the health
/// (heartbeat) file and systemd's STATUS= line.
///
/// It exists so that the daemon's loop only says when to publish and what
/// changed; the pacing of each file, the once-only logging of a failing write
/// and the metrics themselves live here.
final class DaemonPublisher: Sendable {
    struct State {
        var metrics: DaemonMetrics
        var metricsDirty = true
        /// A change that readers wait for (a finished pass, a reload): written at the next publish, unpaced.
        var metricsUrgent = false
        var lastMetricsWrite: Double = 0
        var lastHealthWrite: Double = 0
        var lastStatus = ""
        var lastStatusCheck: Double = 0
        /// Files whose last write failed (logged once).
        var publishFailures: Set<String> = []
    }

    let identity: OwnerIdentity
    let inbox: FilePath
    let startTime: Double
    let notifier: ServiceNotifier
    let logger: Logger
    private let state: Mutex<State>

    init(identity: OwnerIdentity, inbox: FilePath, startTime: Double, logger: Logger) {
        self.identity = identity
        self.inbox = inbox
        self.startTime = startTime
        self.logger = logger
        notifier = ServiceNotifier()
        state = Mutex(State(metrics: DaemonMetrics(startTime: startTime)))
    }

    /// Changes the metrics; the file is rewritten at the next publish (within a second,
    /// or at once when `atOnce`: the loop publishes after each tick, so a pass counted
    /// `atOnce` is in the file before the next pass begins).
    func recordMetrics(atOnce: Bool = false, _ change: (inout DaemonMetrics) -> Void) {
        state.withLock { s in
            change(&s.metrics)
            s.metricsDirty = true
            if atOnce { s.metricsUrgent = true }
        }
    }

    /// Jobs held back at this pass because their model's memory was not available; the
    /// metrics file is rewritten only when the number changes (every pass sets it).
    func recordWaitingForMemory(_ jobs: Int) {
        state.withLock { s in
            guard s.metrics.jobsWaitingForMemory != jobs else { return }
            s.metrics.jobsWaitingForMemory = jobs
            s.metricsDirty = true
        }
    }

    /// The number of running workers changed: the metrics file is rewritten at the next publish.
    func workersChanged() {
        state.withLock { $0.metricsDirty = true }
    }

    /// Tells systemd (when it started us with $NOTIFY_SOCKET) about readiness, status or shutdown.
    func notifyServiceManager(_ message: String) {
        do { try notifier.notify(message) } catch { logger.warning("cannot notify the service manager", metadata: ["error": "\(error)"]) }
    }

    /// Writes the heartbeat record (every couple of seconds) and the metrics file
    /// (when something changed, at most once a second, and at least every 15 s),
    /// each atomically, when configured; tells systemd the job counts when they
    /// change. `force` writes both now.
    func publish(now: Double, health: HealthRecord.State, configuration config: Configuration, running: Int, force: Bool = false) {
        let underServiceManager = notifier.socket != nil
        let (metrics, writeMetrics, writeHealth, checkStatus) = state.withLock { s in
            s.metrics.workersRunning = running
            s.metrics.workersConfigured = config.workers
            let m = !config.metricsFile.isEmpty
                && (force || s.metricsUrgent || (s.metricsDirty && now - s.lastMetricsWrite >= 1) || now - s.lastMetricsWrite >= 15)
            let h = !config.healthFile.isEmpty && (force || now - s.lastHealthWrite >= HealthRecord.interval)
            let st = underServiceManager && (force || now - s.lastStatusCheck >= 1)
            if m { s.lastMetricsWrite = now; s.metricsDirty = false; s.metricsUrgent = false }
            if h { s.lastHealthWrite = now }
            if st { s.lastStatusCheck = now }
            return (s.metrics, m, h, st)
        }
        if writeMetrics {
            write(Array(metrics.render().utf8), to: config.resolve(config.metricsFile), what: "metrics file")
        }
        if checkStatus, health == .watching, metrics.scanned {
            let status = "\(running) running; " + JobState.allCases.map { "\($0.rawValue) \(metrics.jobs[$0] ?? 0)" }.joined(separator: ", ")
            let changed = state.withLock { s in
                defer { s.lastStatus = status }
                return s.lastStatus != status
            }
            if changed { notifyServiceManager("STATUS=" + status) }
        }
        if writeHealth {
            let record = HealthRecord(state: health, host: identity.host, pid: identity.pid, bootID: identity.bootID,
                                      started: startTime, updated: now, workersRunning: running, inbox: inbox.string)
            write(record.encoded(), to: config.resolve(config.healthFile), what: "health file")
        }
    }

    private func write(_ bytes: [UInt8], to path: String, what: String) {
        do {
            try AtomicFile.write(bytes, to: FilePath(path))
            if state.withLock({ $0.publishFailures.remove(path) != nil }) {
                logger.notice("\(what) written again", metadata: ["file.path": "\(path)"])
            }
        } catch {
            if state.withLock({ $0.publishFailures.insert(path).inserted }) {
                logger.warning("cannot write the \(what) (logged once until it works again)",
                               metadata: ["file.path": "\(path)", "error": "\(error)"])
            }
        }
    }
}
