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
/// claims jobs and hands each to the worker supervisor.
///
/// All state lives in the folder; what this object holds in memory (files
/// settling, jobs running) is rebuilt by the rescan at start. What to do after
/// a scan is `Reconciler`'s decision; this type runs the loop and applies it.
public final class Daemon: Service, Sendable {
    struct LoopState {
        var configuration: Configuration
        /// The text of the config file as last accepted: what workers are given, so that an
        /// edit the daemon refused (SIGHUP) never reaches them.
        var configText: String?
        var settle: SettleTracker
        var candidates: [Job] = []             // pending jobs from the last scan, oldest first
        var checkSoon: Set<String> = []        // paths the kernel told us about
        var rescanNeeded = true
        var lastRescan: Double = 0
        /// What earlier rescans learned; a pass may span several ticks.
        var scanCache: ScanCache
        /// Over a pass that spans ticks: the unmarked files seen and the time spent so far.
        var passPresent: Set<String> = []
        var passRefused: Set<String> = []
        var passSeconds: Double = 0
        var ownOrphans: [Job] = []            // our leases no worker runs (outcome not recorded)
        var wake = false                      // a worker finished or events were lost: tick at once
        var refusedMarkers: Set<String> = []  // markers that are no files (FIFOs...), each logged once
        var skippedNames: Set<String> = []    // names that are no jobs (symlinks out, FIFOs...), each logged once
    }

    let layout: InboxLayout
    let identity: OwnerIdentity
    let configFile: String?
    let logger: Logger
    let publisher: DaemonPublisher
    let supervisor: WorkerSupervisor
    let admission: MemoryAdmission
    let state: Mutex<LoopState>

    public init(configuration: Configuration, configFile: String?, layout: InboxLayout, worker: WorkerCommand, logger: Logger) {
        self.layout = layout
        let identity = OwnerIdentity.current()
        self.identity = identity
        self.configFile = configFile
        self.logger = logger
        let publisher = DaemonPublisher(identity: identity, inbox: layout.root, startTime: Date().timeIntervalSince1970, logger: logger)
        self.publisher = publisher
        let admission = MemoryAdmission(logger: logger)
        self.admission = admission
        supervisor = WorkerSupervisor(layout: layout, identity: identity, worker: worker, memoryCgroup: MemoryCgroup.current(),
                                      admission: admission, publisher: publisher, logger: logger)
        let text = configFile.flatMap { try? Configuration.readText(file: $0) }
        state = Mutex(LoopState(configuration: configuration, configText: text,
                                settle: SettleTracker(settleSeconds: configuration.watch.settleSeconds),
                                scanCache: ScanCache(recheckSeconds: configuration.watch.recheckDoneSeconds)))
    }

    var configuration: Configuration { state.withLock { $0.configuration } }

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
        if let cg = supervisor.memoryCgroup {
            let removed = cg.removeStaleWorkerCgroups()
            if removed > 0 { logger.info("removed worker memory cgroups left by a crash", metadata: ["count": "\(removed)"]) }
        }
        if config.workerMemoryLimitMB > 0, supervisor.memoryCgroup == nil {
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
                while !self.supervisor.isStopping {
                    let now = Date().timeIntervalSince1970
                    let (claims, config, text) = self.tick(now: now)
                    for claim in claims {
                        // Resolved now, at claim time: a later reload never changes a running job.
                        let jobConfig = config.forJob(claim.job.relativePath)
                        group.addTask {
                            await self.supervisor.run(claim, configuration: jobConfig, configText: text) { needsRescan in
                                self.state.withLock { s in
                                    if needsRescan { s.rescanNeeded = true }
                                    s.wake = true
                                }
                            }
                        }
                    }
                    if !announced, self.state.withLock({ $0.lastRescan > 0 }) {
                        // After the first scan: the folder is being watched and its jobs are known.
                        // (Before the first publish, whose STATUS= with the job counts then stays shown.)
                        announced = true
                        self.publisher.notifyServiceManager(ServiceNotifier.ready(status: "watching \(self.layout.root)"))
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
            // Every job is settled: the idle workers' input is closed and they exit.
            await self.supervisor.pool.shutdown()
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        publisher.recordMetrics { $0.up = false }
        publish(now: Date().timeIntervalSince1970, health: .stopped, force: true)
        logger.info("stopped")
    }

    func publish(now: Double, health: HealthRecord.State, force: Bool = false) {
        publisher.publish(now: now, health: health, configuration: configuration, running: supervisor.runningCount, force: force)
    }

    // MARK: shutdown and reload

    private func beginShutdown() {
        let pids = supervisor.beginStopping()
        let grace = configuration.queue.shutdownGraceSeconds
        publisher.notifyServiceManager(ServiceNotifier.stopping)
        publish(now: Date().timeIntervalSince1970, health: .stopping, force: true)
        logger.info("shutting down: no new claims; asking running workers to stop at their next checkpoint",
                    metadata: ["workers": "\(pids.count)", "grace.s": "\(grace)"])
        for pid in pids { kill(pid, SIGTERM) }
        Task {
            try? await Task.sleep(for: .seconds(grace))
            for pid in self.supervisor.markRemainingKilled() {
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
            // The folders the scan skips are fixed at start: an archive inside the inbox that the
            // scan did not skip would have its sources transcribed again.
            if let excluded = try? fresh.layout().excludedDirectories, Set(excluded) != Set(layout.excludedDirectories) {
                logger.error("configuration not reloaded: it changes the output or archive folders inside the inbox, which needs a restart; keeping the old one",
                             metadata: ["file": "\(configFile)"])
                publisher.recordMetrics(atOnce: true) { $0.configReloadsRefused += 1 }
                return
            }
            state.withLock {
                $0.configuration = fresh
                $0.configText = text
                $0.settle.settleSeconds = fresh.watch.settleSeconds
                $0.rescanNeeded = true
            }
            logger.info("configuration reloaded", metadata: ["file": "\(configFile)", "workers": "\(fresh.workers)"])
            publisher.recordMetrics(atOnce: true) { $0.configReloadsApplied += 1 }
        } catch {
            logger.error("configuration not reloaded; keeping the old one", metadata: ["error": "\(error)"])
            publisher.recordMetrics(atOnce: true) { $0.configReloadsRefused += 1 }
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
}
