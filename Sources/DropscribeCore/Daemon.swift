import Dispatch
import Foundation
import Glibc
import HotFolder
import Logging
import ServiceLifecycle
import Subprocess
import Synchronization
import SystemPackage

/// How the daemon starts its worker children.
public struct WorkerCommand: Sendable {
    /// The dropscribe binary (the daemon's own executable).
    public var executable: String
    /// Arguments after `worker`, before the job's: the config file and the like.
    public var arguments: [String]

    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }
}

/// The hot-folder daemon: watches the inbox, marks complete files pending,
/// claims jobs and runs each in a worker child process, and turns the
/// workers' outcomes into markers.
///
/// All state lives in the folder; what this object holds in memory (files
/// settling, jobs running) is rebuilt by the rescan at start.
public final class Daemon: Service, Sendable {
    struct LoopState {
        var configuration: Configuration
        /// The text of the config file as last accepted: what workers are given, so that an
        /// edit the daemon refused (SIGHUP) never reaches them.
        var configText: String?
        var settle: SettleTracker
        var running: [String: Int32] = [:]     // job → worker pid (0 until spawned)
        var candidates: [Job] = []             // pending jobs from the last scan, oldest first
        var checkSoon: Set<String> = []        // paths the kernel told us about
        var rescanNeeded = true
        var lastRescan: Double = 0
        var stopping = false
        var killedByUs: Set<Int32> = []
        var lastMemoryWarning: Double = 0
        var ownOrphans: [Job] = []            // our leases no worker runs (outcome not recorded)
        var metrics: DaemonMetrics
        var metricsDirty = true
        var lastMetricsWrite: Double = 0
        var lastHealthWrite: Double = 0
        var lastStatus = ""
        var lastStatusCheck: Double = 0
        var publishFailures: Set<String> = []  // files whose last write failed (logged once)
        var wake = false                      // a worker finished or events were lost: tick at once
        var workerSerial = 0                  // names the per-worker memory cgroups
        var cgroupWarned = false
    }

    let layout: InboxLayout
    let identity: OwnerIdentity
    let worker: WorkerCommand
    let configFile: String?
    let logger: Logger
    let notifier: ServiceNotifier
    let startTime: Double
    /// This daemon's memory cgroup: parent of the per-worker ones, and where an OOM kill is counted.
    let memoryCgroup: MemoryCgroup?
    private let state: Mutex<LoopState>

    public init(configuration: Configuration, configFile: String?, layout: InboxLayout, worker: WorkerCommand, logger: Logger) {
        self.layout = layout
        self.identity = .current()
        self.worker = worker
        self.configFile = configFile
        self.logger = logger
        notifier = ServiceNotifier()
        let now = Date().timeIntervalSince1970
        startTime = now
        self.memoryCgroup = MemoryCgroup.current()
        let text = configFile.flatMap { try? Configuration.readText(file: $0) }
        state = Mutex(LoopState(configuration: configuration, configText: text,
                                settle: SettleTracker(settleSeconds: configuration.watch.settleSeconds),
                                metrics: DaemonMetrics(startTime: now)))
    }

    var configuration: Configuration { state.withLock { $0.configuration } }
    var queue: JobQueue { JobQueue(layout: layout, options: configuration.queueOptions, identity: identity) }

    public func run() async throws {
        let config = configuration
        logger.info("watching", metadata: [
            "inbox": "\(layout.root)", "workers": "\(config.workers)", "inotify": "\(config.watch.inotify)",
            "rescan.s": "\(config.watch.rescanSeconds)", "settle.s": "\(config.watch.settleSeconds)",
        ])
        var watcher: InotifyWatcher?
        if config.watch.inotify {
            do {
                watcher = try InotifyWatcher(root: layout.root, recursive: layout.recursive, excluding: layout.excludedDirectories)
            } catch {
                logger.warning("inotify unavailable, relying on the periodic rescan", metadata: ["error": "\(error)"])
            }
        }
        if let cg = memoryCgroup {
            let removed = cg.removeStaleWorkerCgroups()
            if removed > 0 { logger.info("removed worker memory cgroups left by a crash", metadata: ["count": "\(removed)"]) }
        }
        if config.workerMemoryLimitMB > 0, memoryCgroup == nil {
            logger.warning("worker_memory_limit_mb is set but no memory cgroup was found; the limit is not enforced",
                           metadata: ["worker_memory_limit_mb": "\(config.workerMemoryLimitMB)"])
        }
        let hangup = installReloadOnHangup()
        defer { hangup.cancel() }

        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if let watcher {
                    group.addTask { await self.consume(watcher.events) }
                }
                var announced = false
                while !self.state.withLock({ $0.stopping }) {
                    let now = Date().timeIntervalSince1970
                    for claim in self.tick(now: now) {
                        group.addTask { await self.runWorker(claim) }
                    }
                    if !announced {
                        // After the first scan: the folder is being watched and its jobs are known.
                        // (Before the first publish, whose STATUS= with the job counts then stays shown.)
                        announced = true
                        self.notifyServiceManager(ServiceNotifier.ready(status: "watching \(self.layout.root)"))
                    }
                    self.publish(now: now, health: .watching)
                    // Up to 200 ms between ticks, less when a worker slot frees up.
                    var slept = 0
                    while slept < 200, !self.state.withLock({ s in defer { s.wake = false }; return s.wake }) {
                        try? await Task.sleep(for: .milliseconds(20))
                        slept += 20
                    }
                }
                watcher?.stop()
                // The group now waits for the running workers, which were asked to stop.
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        state.withLock { s in
            s.metrics.up = false
            s.metricsDirty = true
        }
        publish(now: Date().timeIntervalSince1970, health: .stopped, force: true)
        logger.info("stopped")
    }

    // MARK: metrics, heartbeat and the service manager

    /// Tells systemd (when it started us with $NOTIFY_SOCKET) about readiness, status or shutdown.
    private func notifyServiceManager(_ message: String) {
        do { try notifier.notify(message) } catch { logger.warning("cannot notify the service manager", metadata: ["error": "\(error)"]) }
    }

    /// Writes the heartbeat record (every couple of seconds) and the metrics file
    /// (when something changed, at most once a second, and at least every 15 s),
    /// each atomically, when configured; tells systemd the job counts when they
    /// change. `force` writes both now.
    func publish(now: Double, health: HealthRecord.State, force: Bool = false) {
        let underServiceManager = notifier.socket != nil
        let (config, metrics, writeMetrics, writeHealth, checkStatus, running) = state.withLock { s in
            s.metrics.workersRunning = s.running.count
            s.metrics.workersConfigured = s.configuration.workers
            let m = !s.configuration.metricsFile.isEmpty
                && (force || (s.metricsDirty && now - s.lastMetricsWrite >= 1) || now - s.lastMetricsWrite >= 15)
            let h = !s.configuration.healthFile.isEmpty && (force || now - s.lastHealthWrite >= HealthRecord.interval)
            let st = underServiceManager && (force || now - s.lastStatusCheck >= 1)
            if m { s.lastMetricsWrite = now; s.metricsDirty = false }
            if h { s.lastHealthWrite = now }
            if st { s.lastStatusCheck = now }
            return (s.configuration, s.metrics, m, h, st, s.running.count)
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
                                      started: startTime, updated: now, workersRunning: running, inbox: layout.root.string)
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

    // MARK: shutdown and reload

    private func beginShutdown() {
        let (pids, grace) = state.withLock { s -> ([Int32], Double) in
            s.stopping = true
            return (Array(s.running.values.filter { $0 > 0 }), s.configuration.queue.shutdownGraceSeconds)
        }
        notifyServiceManager(ServiceNotifier.stopping)
        publish(now: Date().timeIntervalSince1970, health: .stopping, force: true)
        logger.info("shutting down: no new claims; asking running workers to stop at their next checkpoint",
                    metadata: ["workers": "\(pids.count)", "grace.s": "\(grace)"])
        for pid in pids { kill(pid, SIGTERM) }
        Task {
            try? await Task.sleep(for: .seconds(grace))
            let left = self.state.withLock { s -> [Int32] in
                let l = Array(s.running.values.filter { $0 > 0 })
                s.killedByUs.formUnion(l)
                return l
            }
            for pid in left {
                self.logger.warning("worker did not stop within the grace period; killing it", metadata: ["worker.pid": "\(pid)"])
                kill(pid, SIGKILL)
            }
        }
    }

    private func installReloadOnHangup() -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in reload() }
        source.resume()
        return source
    }

    func reload() {
        guard let configFile else {
            logger.info("SIGHUP: no config file to reload")
            return
        }
        do {
            let text = try Configuration.readText(file: configFile)
            var fresh = try Configuration.load(text: text, file: configFile)
            let old = configuration
            fresh.inbox = old.inbox
            state.withLock {
                $0.configuration = fresh
                $0.configText = text
                $0.settle.settleSeconds = fresh.watch.settleSeconds
                $0.rescanNeeded = true
            }
            logger.info("configuration reloaded", metadata: ["file": "\(configFile)", "workers": "\(fresh.workers)"])
        } catch {
            logger.error("configuration not reloaded; keeping the old one", metadata: ["error": "\(error)"])
        }
    }

    // MARK: events

    private func consume(_ events: AsyncStream<WatchEvent>) async {
        for await event in events {
            if event == .overflowed {
                logger.warning("inotify event queue overflowed (events were lost); rescanning the whole inbox")
            }
            state.withLock { s in
                switch event {
                case .writing(let path): s.settle.noteWriting(path); s.checkSoon.insert(path)
                case .closed(let path): s.settle.noteClosed(path); s.checkSoon.insert(path)
                case .removed(let path): s.settle.forget(path)
                case .rescanNeeded: s.rescanNeeded = true
                case .overflowed: s.rescanNeeded = true; s.wake = true
                }
            }
        }
    }

    // MARK: the loop

    /// One pass: a full rescan when due, else a look at the files settling; then
    /// claims for the free worker slots. Returns the claims to start workers for.
    func tick(now: Double) -> [Claim] {
        let (config, due) = state.withLock { s -> (Configuration, Bool) in
            let due = s.rescanNeeded || now - s.lastRescan >= s.configuration.watch.rescanSeconds
            if due {
                // Cleared before the scan, not after: an overflow (or any event) that arrives
                // while the folder is being read asks for another scan, and gets it.
                s.rescanNeeded = false
                s.checkSoon.removeAll()
            }
            return (s.configuration, due)
        }
        let queue = JobQueue(layout: layout, options: config.queueOptions, identity: identity)
        var takeovers: [Job] = []
        if due {
            takeovers = rescan(queue: queue, now: now)
        } else {
            settleKnown(queue: queue, now: now)
        }
        var claims: [Claim] = []
        var free = state.withLock { s in s.stopping ? 0 : s.configuration.workers - s.running.count }
        if free > 0, !memoryAllowsAnotherJob(config: config, now: now) { free = 0 }
        let orphans = state.withLock { s -> [Job] in defer { s.ownOrphans = [] }; return s.ownOrphans }
        for (job, own) in orphans.map({ ($0, true) }) + takeovers.map({ ($0, false) }) where free > 0 {
            do {
                if let claim = try queue.takeOver(job, now: now, ownOrphan: own) {
                    logger.notice("resuming a job whose owner is gone", metadata: [
                        "job.id": "\(job)", "checkpoints": "\(claim.journal.count)", "attempt": "\(claim.lease.attempt)",
                    ])
                    claims.append(claim)
                    free -= 1
                }
            } catch {
                logger.error("takeover failed", metadata: ["job.id": "\(job)", "error": "\(error)"])
            }
        }
        while free > 0 {
            guard let job = state.withLock({ s in s.candidates.isEmpty ? nil : s.candidates.removeFirst() }) else { break }
            if state.withLock({ $0.running[job.relativePath] != nil }) { continue }
            do {
                if let claim = try queue.claim(job, now: now) {
                    logger.info("processing", metadata: ["job.id": "\(job)", "attempt": "\(claim.lease.attempt)",
                                                        "resume.checkpoints": "\(claim.journal.count)"])
                    claims.append(claim)
                    free -= 1
                }
            } catch {
                logger.error("claim failed", metadata: ["job.id": "\(job)", "error": "\(error)"])
            }
        }
        state.withLock { s in for c in claims { s.running[c.job.relativePath] = 0 } }
        return claims
    }

    /// The full look at the folder. Returns processing jobs whose owner is gone.
    private func rescan(queue: JobQueue, now: Double) -> [Job] {
        let started = Date()
        let snapshot = FolderScanner(layout: layout).scan(now: now)
        for temp in snapshot.staleTempFiles {
            logger.info("removing a temp file left by a crash", metadata: ["file.path": "\(temp)"])
            try? FileManager.default.removeItem(atPath: temp.string)
        }
        // Jobs marked pending during this scan are appended by `observe`; the scan's own list goes before them.
        let running = state.withLock { s in s.candidates = []; return s.running }
        let budgetEnd = Date().addingTimeInterval(0.25)
        var deferred: Set<String> = []
        var candidates: [(Job, Double)] = []
        var stale: [Job] = []
        var ownOrphans: [Job] = []
        var present: Set<String> = []
        for (rel, entry) in snapshot.entries {
            if entry.markers.count > 1, running[rel] == nil { queue.removeSuperseded(entry) }
            switch entry.state {
            case nil:
                guard let fp = entry.fingerprint else { continue }
                present.insert(rel)
                // Marking is fsynced: past the budget, leave it to the next ticks (as `settleKnown` does).
                if Date() > budgetEnd { deferred.insert(rel) } else { observe(entry.job, fp, queue: queue, now: now) }
            case .pending?:
                guard entry.fingerprint != nil else {
                    logger.notice("source gone; dropping its pending marker", metadata: ["job.id": "\(rel)"])
                    _ = queue.reset(entry.job)
                    continue
                }
                let pending = queue.readPending(entry.job)
                if pending == nil {
                    logger.warning("unreadable pending marker; examining the file as new", metadata: ["job.id": "\(rel)"])
                    try? FileManager.default.removeItem(atPath: entry.job.marker(.pending).string)
                    continue
                }
                if queue.isClaimable(pending, now: now) { candidates.append((entry.job, pending?.firstSeen ?? now)) }
            case .processing?:
                if running[rel] != nil { continue }
                guard let info = queue.readProcessing(entry.job) else { continue }
                if let lease = info.lease, queue.isOwn(lease) {
                    // Ours, but no worker runs it: its outcome could not be written (full disk?).
                    if entry.fingerprint == nil { _ = queue.reset(entry.job) } else { ownOrphans.append(entry.job) }
                } else if queue.isStale(lease: info.lease, modified: info.modified, now: now) {
                    if info.lease == nil {
                        logger.warning("unreadable lease in a processing marker (edited by hand or torn?), not refreshed for the lease timeout; taking the job over",
                                       metadata: ["job.id": "\(rel)"])
                    }
                    if entry.fingerprint == nil {
                        logger.notice("source gone while its owner was gone; dropping the job", metadata: ["job.id": "\(rel)"])
                        _ = queue.reset(entry.job)
                    } else {
                        stale.append(entry.job)
                    }
                }
            case .done?, .failed?:
                guard let fp = entry.fingerprint else { continue }
                let readable = entry.state == .done ? queue.readDone(entry.job).map { $0.fingerprint }
                                                    : queue.readFailed(entry.job).map { $0.fingerprint as Fingerprint? }
                guard let recorded = readable else {
                    // Edited by hand into something that is not a marker: the job's outcome is unknown.
                    logger.warning("unreadable \(entry.state!.rawValue) marker (not a dropscribe marker: edited by hand?); examining the file as new",
                                   metadata: ["job.id": "\(rel)", "marker": "\(entry.job.marker(entry.state!))"])
                    try? FileManager.default.removeItem(atPath: entry.job.marker(entry.state!).string)
                    present.insert(rel)
                    observe(entry.job, fp, queue: queue, now: now)
                    continue
                }
                guard queue.options.redoOnChange else { continue }
                if let recorded, !recorded.sameContent(as: fp) {
                    logger.notice("source changed after it was \(entry.state!.rawValue); transcribing it again", metadata: ["job.id": "\(rel)"])
                    _ = queue.reset(entry.job)
                    present.insert(rel)
                    observe(entry.job, fp, queue: queue, now: now)
                }
            }
        }
        candidates.sort { $0.1 < $1.1 }
        state.withLock { s in
            s.metrics.recordScan(snapshot)
            s.metricsDirty = true
            s.candidates = candidates.map(\.0) + s.candidates
            s.settle.retain(only: present)
            s.checkSoon.formUnion(deferred)
            s.lastRescan = now
        }
        state.withLock { $0.ownOrphans = ownOrphans }
        logger.debug("rescan", metadata: ["jobs": "\(snapshot.entries.count)", "pending": "\(candidates.count)",
                                          "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        return stale
    }

    /// Between rescans: re-stat the files still settling and those inotify named.
    private func settleKnown(queue: JobQueue, now: Double) {
        let paths = state.withLock { s -> Set<String> in
            let p = s.checkSoon.union(s.settle.settling)
            s.checkSoon.removeAll()
            return p
        }
        // Marking is durable (fsynced) and so not free: bound one tick's share, so that
        // a flood of files does not keep the free workers waiting; the rest comes next tick.
        let budgetEnd = Date().addingTimeInterval(0.25)
        var remaining = paths
        for rel in paths {
            if Date() > budgetEnd {
                state.withLock { $0.checkSoon.formUnion(remaining) }
                break
            }
            remaining.remove(rel)
            let job = layout.job(relativePath: rel)
            guard layout.rules.isJob(job.name) else { continue }
            guard let fp = try? Fingerprint.of(job.path) else {
                state.withLock { $0.settle.forget(rel) }
                continue
            }
            if JobState.allCases.contains(where: { (try? FileManager.default.attributesOfItem(atPath: job.marker($0).string)) != nil }) {
                state.withLock { $0.settle.forget(rel) }
                continue
            }
            observe(job, fp, queue: queue, now: now)
        }
    }

    private func observe(_ job: Job, _ fp: Fingerprint, queue: JobQueue, now: Double) {
        let stable = state.withLock { $0.settle.observe(job.relativePath, fp, now: now) }
        guard stable else { return }
        do {
            if try queue.markPending(job, fingerprint: fp, now: now) {
                logger.info("pending", metadata: ["job.id": "\(job)", "size": "\(fp.size)"])
                state.withLock { s in
                    s.settle.forget(job.relativePath)
                    s.candidates.append(job)
                }
            } else {
                state.withLock { $0.settle.forget(job.relativePath) }
            }
        } catch {
            logger.error("cannot mark pending", metadata: ["job.id": "\(job)", "error": "\(error)"])
        }
    }

    // MARK: memory

    /// What one job needs: the model's weights widened to float32 plus one
    /// window's working set (features, encoder activations, caches).
    static func estimatedJobBytes(modelDirectory: String) -> Int64 {
        let modelFile = (try? FileManager.default.attributesOfItem(atPath: modelDirectory + "/model.bin")[.size] as? Int) ?? 0
        return Int64(modelFile) * 2 + 256 << 20
    }

    /// The kernel's estimate of memory available without swapping (MemAvailable).
    static func availableMemoryBytes() -> Int64? {
        // Lets the tests simulate a machine short of memory.
        if let mb = ProcessInfo.processInfo.environment["DROPSCRIBE_MEMAVAILABLE_MB"].flatMap({ Int64($0) }) { return mb << 20 }
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// A job is only started when the machine has room for it; otherwise the
    /// daemon waits (and says so, once a minute) rather than letting the
    /// kernel's OOM killer pick a victim.
    private func memoryAllowsAnotherJob(config: Configuration, now: Double) -> Bool {
        guard let available = Self.availableMemoryBytes() else { return true }
        let needed = Self.estimatedJobBytes(modelDirectory: config.resolve(config.model.path))
        if available >= needed { return true }
        let shouldLog = state.withLock { s -> Bool in
            if now - s.lastMemoryWarning < 60 { return false }
            s.lastMemoryWarning = now
            return true
        }
        if shouldLog {
            logger.warning("not starting a job: too little memory available", metadata: [
                "available.mb": "\(available >> 20)", "needed.mb": "\(needed >> 20)"])
        }
        return false
    }

    // MARK: workers

    private func runWorker(_ claim: Claim) async {
        let rel = claim.job.relativePath
        let (config, configText) = state.withLock { ($0.configuration, $0.configText) }
        let queue = JobQueue(layout: layout, options: config.queueOptions, identity: identity)
        let started = Date()
        var environment = Subprocess.Environment.inherit
        if let configText { environment = environment.updating([.init(stringLiteral: Configuration.workerConfigVariable): configText]) }
        // "--opt=value" form: a job name may start with a dash.
        var args = ["worker"] + worker.arguments + ["--inbox=\(layout.root.string)", "--owner-pid=\(getpid())", "--job=\(rel)"]
        let workerCgroup = makeWorkerCgroup(config: config)
        if let workerCgroup { args.append("--memory-cgroup=\(workerCgroup.directory)") }
        // Where an OOM kill of this worker would be counted.
        let oomCounter = workerCgroup ?? memoryCgroup
        let oomKillsBefore = oomCounter?.oomKills()
        var outcome: WorkerOutcome?
        var status: TerminationStatus?
        var pid: Int32 = 0
        do {
            let heartbeat = config.queue.heartbeatSeconds
            let result = try await Subprocess.run(
                .path(FilePath(worker.executable)), arguments: Arguments(args), environment: environment,
                input: .none, output: .sequence, error: .currentStandardError
            ) { execution -> String in
                let p = execution.processIdentifier.value
                self.state.withLock { $0.running[rel] = p }
                if self.state.withLock({ $0.stopping }) { kill(p, SIGTERM) }
                return try await withThrowingTaskGroup(of: String?.self) { group in
                    group.addTask {
                        var text = ""
                        for try await chunk in execution.standardOutput {
                            text += chunk.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                        }
                        return text
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(heartbeat))
                            if !Task.isCancelled { queue.heartbeat(claim) }
                        }
                        return nil
                    }
                    var text = ""
                    if let first = try await group.next() { text = first ?? "" }
                    group.cancelAll()
                    return text
                }
            }
            pid = result.processIdentifier.value
            status = result.terminationStatus
            let lastLine = result.closureResult.split(separator: "\n").last.map(String.init) ?? ""
            outcome = try? JSONDecoder().decode(WorkerOutcome.self, from: Data(lastLine.utf8))
        } catch {
            logger.error("cannot start a worker", metadata: ["job.id": "\(rel)", "error": "\(error)"])
        }
        let killedByUs = state.withLock { s in s.killedByUs.remove(pid) != nil }
        var oom = OOMEvidence.unknown
        if let before = oomKillsBefore, let after = oomCounter?.oomKills() {
            oom = after > before ? .killed(limitMB: workerCgroup == nil ? nil : config.workerMemoryLimitMB) : .notKilled
        }
        workerCgroup?.remove()
        settle(claim, outcome: outcome, status: status, killedByUs: killedByUs, oom: oom, queue: queue,
               elapsed: Date().timeIntervalSince(started))
        // Only now: until its markers are written, a rescan must not take the job for an orphan.
        state.withLock { s in
            s.running[rel] = nil
            s.metricsDirty = true  // dropscribe_workers_running changed
            s.wake = true
        }
    }

    /// Turns what the worker reported (or how it died) into the job's next marker.
    private func settle(_ claim: Claim, outcome: WorkerOutcome?, status: TerminationStatus?, killedByUs: Bool,
                        oom: OOMEvidence, queue: JobQueue, elapsed: Double) {
        let rel = claim.job.relativePath
        let now = Date().timeIntervalSince1970
        let meta: Logger.Metadata = ["job.id": "\(rel)", "elapsed.s": "\(String(format: "%.1f", elapsed))"]
        do {
            guard let outcome, case .exited(0)? = status else {
                let (kind, message) = Self.classify(status, rel: rel, oom: oom)
                if killedByUs || (state.withLock { $0.stopping } && kind != .workerCrashed) {
                    try queue.handBack(claim, now: now)
                    logger.info("handed back to pending at shutdown", metadata: meta)
                    return
                }
                let next = try queue.fail(claim, kind: kind, message: message, now: now)
                recordMetrics { $0.recordFailure(next: next) }
                logger.warning("\(next == .failed ? "failed" : "will retry")", metadata: meta.merging([
                    "kind": "\(kind.rawValue)", "error": "\(message)", "attempt": "\(claim.lease.attempt)"] as Logger.Metadata) { $1 })
                return
            }
            switch outcome.status {
            case .done:
                guard let summary = outcome.summary else { return }
                try queue.complete(claim, summary: summary)
                recordMetrics { $0.recordDone(summary) }
                archive(claim.job)
                logger.info("done", metadata: meta.merging([
                    "rtf": "\(summary.realTimeFactor.map { String(format: "%.4f", $0) } ?? "-")",
                    "rss.peak.mb": "\((summary.peakRSSBytes ?? 0) >> 20)"] as Logger.Metadata) { $1 })
            case .failed:
                let kind = outcome.kind ?? .workerCrashed
                let next = try queue.fail(claim, kind: kind, message: outcome.message ?? "unknown error", now: now)
                recordMetrics { $0.recordFailure(next: next) }
                logger.warning("\(next == .failed ? "failed" : "will retry")", metadata: meta.merging([
                    "kind": "\(kind.rawValue)", "error": "\(outcome.message ?? "")", "attempt": "\(claim.lease.attempt)"] as Logger.Metadata) { $1 })
            case .interrupted:
                try queue.handBack(claim, now: now)
                logger.info("handed back to pending", metadata: meta)
            case .abandoned:
                queue.abandon(claim)
                state.withLock { $0.rescanNeeded = true }
                logger.notice("abandoned", metadata: meta.merging(["reason": "\(outcome.message ?? "")"] as Logger.Metadata) { $1 })
            }
        } catch {
            logger.error("cannot record the job's outcome; it will be recovered by a later rescan",
                         metadata: meta.merging(["error": "\(error)"] as Logger.Metadata) { $1 })
        }
    }

    private func recordMetrics(_ change: (inout DaemonMetrics) -> Void) {
        state.withLock { s in
            change(&s.metrics)
            s.metricsDirty = true
        }
    }

    /// What the memory cgroup says about a worker's SIGKILL.
    enum OOMEvidence: Equatable {
        /// The cgroup's oom_kill count rose while the worker ran; `limitMB` when it was the worker's own limit.
        case killed(limitMB: Int?)
        case notKilled
        /// No memory cgroup to ask.
        case unknown
    }

    static func classify(_ status: TerminationStatus?, rel: String, oom: OOMEvidence) -> (FailureKind, String) {
        switch status {
        case .signaled(let sig)? where sig == SIGKILL:
            switch oom {
            case .killed(let limit?):
                return (.outOfMemory, "\(rel): the worker ran out of memory: the kernel killed it at its limit (worker_memory_limit_mb = \(limit))")
            case .killed(nil):
                return (.outOfMemory, "\(rel): the worker ran out of memory: the kernel's out-of-memory killer killed it (the memory cgroup's oom_kill count rose)")
            case .notKilled:
                return (.killed, "\(rel): the worker was killed by SIGKILL (not by the out-of-memory killer: its memory cgroup counted no OOM kill)")
            case .unknown:
                return (.killed, "\(rel): the worker was killed by SIGKILL (by the out-of-memory killer or by hand; no memory cgroup to tell)")
            }
        case .signaled(let sig)?:
            return (.workerCrashed, "\(rel): the worker crashed with signal \(sig)")
        case .exited(let code)?:
            return (.workerCrashed, "\(rel): the worker exited with status \(code) without a result")
        default:
            return (.workerCrashed, "\(rel): the worker could not be run")
        }
    }

    /// A memory cgroup of its own for the next worker when `worker_memory_limit_mb` is set
    /// (nil when unset, or when cgroups cannot be created here: logged once).
    private func makeWorkerCgroup(config: Configuration) -> MemoryCgroup? {
        guard config.workerMemoryLimitMB > 0, let parent = memoryCgroup else { return nil }
        let serial = state.withLock { s -> Int in s.workerSerial += 1; return s.workerSerial }
        do {
            return try parent.makeChild(named: "\(MemoryCgroup.workerPrefix)\(getpid())-\(serial)",
                                        limitBytes: Int64(config.workerMemoryLimitMB) << 20)
        } catch {
            let first = state.withLock { s -> Bool in defer { s.cgroupWarned = true }; return !s.cgroupWarned }
            if first {
                logger.warning("cannot give workers their own memory cgroup; worker_memory_limit_mb is not enforced (an OOM kill by an outer limit is still recognised)",
                               metadata: ["error": "\(error)"])
            }
            return nil
        }
    }

    private func archive(_ job: Job) {
        guard let archive = layout.archiveDirectory else { return }
        var target = archive
        for c in job.relativePath.split(separator: "/") { target.append(String(c)) }
        do {
            try FileManager.default.createDirectory(atPath: target.removingLastComponent().string, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: job.path.string, toPath: target.string)
            logger.info("archived", metadata: ["job.id": "\(job)", "to": "\(target)"])
        } catch {
            logger.error("cannot archive the source", metadata: ["job.id": "\(job)", "error": "\(error)"])
        }
    }
}
