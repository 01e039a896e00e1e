import Foundation
import Glibc
import HotFolder
import Logging
import Subprocess
import Synchronization
import SystemPackage

/// Runs each claimed job on a worker child process of its pool and turns how it
/// ended into the job's next marker.
///
/// It exists so that the daemon's loop only hands it claims: the lease heartbeat,
/// the job's time limit, telling an OOM kill from other
/// deaths, archiving and the bookkeeping of which worker runs which job are here.
final class WorkerSupervisor: Sendable {
    struct State {
        var running: [String: Int32] = [:]     // job → worker pid (0 until spawned)
        var stopping = false
        var killedByUs: Set<Int32> = []
    }

    let layout: InboxLayout
    let identity: OwnerIdentity
    let worker: WorkerCommand
    /// This daemon's memory cgroup: parent of the per-worker ones, and where an OOM kill is counted.
    let memoryCgroup: MemoryCgroup?
    let publisher: DaemonPublisher
    let logger: Logger
    let hooks: HookRunner
    let pool: WorkerPool
    private let state = Mutex(State())

    init(layout: InboxLayout, identity: OwnerIdentity, worker: WorkerCommand, memoryCgroup: MemoryCgroup?,
         admission: MemoryAdmission, publisher: DaemonPublisher, logger: Logger) {
        self.layout = layout
        self.identity = identity
        self.worker = worker
        self.memoryCgroup = memoryCgroup
        self.publisher = publisher
        self.logger = logger
        hooks = HookRunner(logger: logger) { running, waiting in
            publisher.recordMetrics(atOnce: true) { $0.hooksRunning = running; $0.hooksWaiting = waiting }
        }
        pool = WorkerPool(command: worker, inbox: layout.root.string, memoryCgroup: memoryCgroup, admission: admission, logger: logger)
    }

    var runningCount: Int { state.withLock { $0.running.count } }
    var runningJobs: Set<String> { state.withLock { Set($0.running.keys) } }
    var isStopping: Bool { state.withLock { $0.stopping } }
    func isRunning(_ rel: String) -> Bool { state.withLock { $0.running[rel] != nil } }

    /// Worker slots free now (none once stopping).
    func freeSlots(configured: Int) -> Int { state.withLock { s in s.stopping ? 0 : configured - s.running.count } }

    /// Books the claimed jobs before their workers start, so no rescan takes them for orphans.
    func reserve(_ claims: [Claim]) {
        state.withLock { s in for c in claims { s.running[c.job.relativePath] = 0 } }
    }

    /// No new workers from now on; returns the pids to ask to stop.
    func beginStopping() -> [Int32] {
        state.withLock { s in
            s.stopping = true
            return Array(s.running.values.filter { $0 > 0 })
        }
    }

    /// The workers still running after the grace period, marked as killed by us.
    func markRemainingKilled() -> [Int32] {
        state.withLock { s in
            let left = Array(s.running.values.filter { $0 > 0 })
            s.killedByUs.formUnion(left)
            return left
        }
    }

    /// Runs one claimed job to its end on a pooled worker; `finished(needsRescan)` is called once its markers are written.
    func run(_ claim: Claim, configuration config: Configuration, configText: String?,
             finished: @Sendable (_ needsRescan: Bool) -> Void) async {
        let rel = claim.job.relativePath
        let queue = JobQueue(layout: layout, options: config.queueOptions, identity: identity)
        let started = Date()
        let deadline = AttemptDeadline(limits: config.limits, started: started.timeIntervalSince1970)
        let heartbeat = config.queue.heartbeatSeconds
        let request = WorkerRequest(job: rel, config: configText)
        var end: WorkerJobEnd?
        var worker: PooledWorker?
        var oomKillsBefore: Int?
        // A worker found ended before it got the job (it died idle) is replaced.
        for _ in 0..<3 where end == nil {
            let w = pool.checkout(for: config)
            worker = w
            oomKillsBefore = w.oomCounter?.oomKills()
            end = await withTaskGroup(of: WorkerJobEnd?.self) { group in
                group.addTask {
                    await w.run(request, started: { p in
                        let stopping = self.state.withLock { s in s.running[rel] = p; return s.stopping }
                        if stopping { kill(p, SIGTERM) }
                    }, output: { deadline.observe(workerOutput: $0) })
                }
                group.addTask {  // the job timeout: SIGKILL, as a hung worker may not hear SIGTERM
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        let p = self.state.withLock { $0.running[rel] ?? 0 }
                        if p > 0, deadline.expire(now: Date().timeIntervalSince1970) { kill(p, SIGKILL) }
                    }
                    return nil
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(heartbeat))
                        if !Task.isCancelled { queue.heartbeat(claim) }
                    }
                    return nil
                }
                // The job's own task ends first: the others only stop when cancelled.
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }
        let pid = state.withLock { $0.running[rel] ?? 0 }
        let killedByUs = state.withLock { s in s.killedByUs.remove(pid) != nil }
        var outcome: WorkerOutcome?
        var status: TerminationStatus?
        var oom = OOMEvidence.unknown
        switch end {
        case .reported(let reported)?:
            outcome = reported
            if let worker { pool.checkin(worker, outcome: reported, config: config, retire: isStopping || reported.status == .interrupted) }
        case .died(let ended, let oomKillsAfter)?:
            status = ended
            if let before = oomKillsBefore, let after = oomKillsAfter {
                oom = after > before ? .killed(limitMB: worker?.cgroup == nil ? nil : config.workerMemoryLimitMB) : .notKilled
            }
        case nil:
            logger.error("no worker could be started for the job", metadata: ["job.id": "\(rel)"])
        }
        var ended: HookEvent?
        let needsRescan = settle(claim, outcome: outcome, status: status, killedByUs: killedByUs, oom: oom, queue: queue,
                                 config: config, elapsed: Date().timeIntervalSince(started), timedOutAfter: deadline.expiredAfter,
                                 ended: &ended)
        // Only now: until its markers are written, a rescan must not take the job for an orphan.
        state.withLock { s in s.running[rel] = nil }
        publisher.workersChanged()
        finished(needsRescan)
        // After the markers, outside the worker slot: a hook never holds up a claim or changes the job.
        if let ended {
            let command = ended.state == JobState.done.rawValue ? config.jobs.onDone : config.jobs.onFailed
            await hooks.run(command, event: ended, settings: config.jobs, workingDirectory: layout.root)
        }
    }

    /// Turns what the worker reported (or how it died) into the job's next marker.
    /// Returns true when the folder should be rescanned (the job was abandoned).
    private func settle(_ claim: Claim, outcome: WorkerOutcome?, status: TerminationStatus?, killedByUs: Bool,
                        oom: OOMEvidence, queue: JobQueue, config: Configuration, elapsed: Double, timedOutAfter: Double?,
                        ended: inout HookEvent?) -> Bool {
        let rel = claim.job.relativePath
        let now = Date().timeIntervalSince1970
        let meta: Logger.Metadata = ["job.id": "\(rel)", "elapsed.s": "\(String(format: "%.1f", elapsed))"]
        do {
            if let limit = timedOutAfter, outcome == nil {
                try fail(claim, kind: .timedOut, message: "\(rel): the worker was killed after \(Int(limit)) s, past [limits] "
                         + "job_timeout_factor x the audio length (at least job_timeout_min_seconds)", queue: queue, now: now, meta: meta,
                         ended: &ended)
                return false
            }
            guard let outcome else {
                let (kind, message) = WorkerExitClassification.classify(status, rel: rel, oom: oom)
                if killedByUs || (isStopping && kind != .workerCrashed) {
                    try queue.handBack(claim, now: now)
                    logger.info("handed back to pending at shutdown", metadata: meta)
                    return false
                }
                try fail(claim, kind: kind, message: message, queue: queue, now: now, meta: meta, ended: &ended)
                return false
            }
            switch outcome.status {
            case .done:
                guard let summary = outcome.summary else {
                    // The outputs may or may not be there: try again rather than leave the lease orphaned.
                    logger.error("the worker reported done without a summary; treating it as a crash", metadata: meta)
                    try fail(claim, kind: .workerCrashed, message: "\(rel): the worker reported done without a summary",
                             queue: queue, now: now, meta: meta, ended: &ended)
                    return false
                }
                var done = summary
                done.rule = claim.lease.rule
                if config.jobs.deleteSource { done.deleteSource = true }
                try queue.complete(claim, summary: done)
                publisher.recordMetrics { $0.recordDone(summary) }
                var record: FilePath?
                var archived: FilePath?
                if config.jobs.deleteSource {
                    CrashSeam.reached(CrashSeam.doneWritten)
                    record = deleteSource(claim.job, done: done, queue: queue)
                } else {
                    archived = archive(claim.job, config: config)
                }
                ended = .done(claim, done, sourceDeleted: record != nil, doneRecord: record?.string)
                if let archived { ended?.source = archived.string }
                logger.info("done", metadata: meta.merging([
                    "rtf": "\(summary.realTimeFactor.map { String(format: "%.4f", $0) } ?? "-")",
                    "rss.peak.mb": "\((summary.peakRSSBytes ?? 0) >> 20)"] as Logger.Metadata) { $1 })
            case .failed:
                try fail(claim, kind: outcome.kind ?? .workerCrashed, message: outcome.message ?? "unknown error",
                         queue: queue, now: now, meta: meta, ended: &ended)
            case .interrupted:
                try queue.handBack(claim, now: now)
                logger.info("handed back to pending", metadata: meta)
            case .abandoned where outcome.kind == .sourceChanged:
                // Counted like a failure, so touching a file again and again cannot keep a worker busy forever.
                try fail(claim, kind: .sourceChanged, message: outcome.message ?? "\(rel): the source changed",
                         queue: queue, now: now, meta: meta, ended: &ended)
            case .abandoned:
                queue.abandon(claim)
                logger.notice("abandoned", metadata: meta.merging(["reason": "\(outcome.message ?? "")"] as Logger.Metadata) { $1 })
                return true
            }
        } catch {
            logger.error("cannot record the job's outcome; it will be recovered by a later rescan",
                         metadata: meta.merging(["error": "\(error)"] as Logger.Metadata) { $1 })
        }
        return false
    }

    private func fail(_ claim: Claim, kind: FailureKind, message: String, queue: JobQueue, now: Double,
                      meta: Logger.Metadata, ended: inout HookEvent?) throws(QueueError) {
        let next = try queue.fail(claim, kind: kind, message: message, now: now)
        if next == .failed { ended = .failed(claim, kind: kind, message: message) }
        publisher.recordMetrics { $0.recordFailure(next: next, kind: kind) }
        logger.warning("\(next == .failed ? "failed" : "will retry")", metadata: meta.merging([
            "kind": "\(kind.rawValue)", "error": "\(message)", "attempt": "\(claim.lease.attempt)"] as Logger.Metadata) { $1 })
    }

    /// `delete_source`: the source and its markers go, a copy of the done facts stays beside the outputs.
    private func deleteSource(_ job: Job, done: DoneMarker, queue: JobQueue) -> FilePath? {
        do {
            let record = try queue.finishSourceDeletion(job, done: done, after: CrashSeam.reached)
            logger.info("source deleted (delete_source)", metadata: ["job.id": "\(job)", "record": "\(record?.string ?? "-")"])
            return record
        } catch {
            logger.error("cannot delete the source (delete_source); a later rescan tries again",
                         metadata: ["job.id": "\(job)", "error": "\(error)"])
            return nil
        }
    }

    /// Moves the source into the job's archive folder (its rule's, or the global one); returns where it went.
    private func archive(_ job: Job, config: Configuration) -> FilePath? {
        let jobLayout = (try? config.layout()) ?? layout
        guard let (archive, folders) = jobLayout.archiveLocation(for: job) else { return nil }
        do {
            let target = try archive.moveIn(job.path, to: folders, name: job.name)
            logger.info("archived", metadata: ["job.id": "\(job)", "to": "\(target)"])
            return target
        } catch {
            logger.error("cannot archive the source", metadata: ["job.id": "\(job)", "error": "\(error)"])
            return nil
        }
    }
}
