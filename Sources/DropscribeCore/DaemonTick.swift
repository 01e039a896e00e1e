import Foundation
import HotFolder
import Logging
import Synchronization
import SystemPackage

/// The daemon's loop body: scan or re-check the folder, apply what the
/// reconciler decided, and claim jobs for the free worker slots.
extension Daemon {
    var queue: JobQueue { JobQueue(layout: layout, options: configuration.queueOptions, identity: identity) }

    /// Whether the memory for the job's model is there: none is needed when an idle worker has
    /// it loaded; when it is short, the idle workers are retired so that their models' memory is freed.
    private func allowsAnotherJob(_ job: Job, config: Configuration, now: Double) -> Bool {
        let jobConfig = config.forJob(job.relativePath)
        if supervisor.pool.hasIdleWorker(for: jobConfig) { return true }
        if admission.allowsAnotherJob(config: jobConfig, now: now) { return true }
        supervisor.pool.retireIdle()
        return false
    }

    /// One pass: a rescan (or the next slice of one under way) when due, else a look
    /// at the files settling; then claims for the free worker slots. Returns the
    /// claims to start workers for, with the config (and its text) they were claimed
    /// under: each job runs with the settings of its rule in that config.
    func tick(now: Double) -> (claims: [Claim], configuration: Configuration, configText: String?) {
        let (config, configText, due, continuing) = state.withLock { s -> (Configuration, String?, Bool, Bool) in
            let continuing = s.scanCache.passInProgress
            let due = continuing || s.rescanNeeded || now - s.lastRescan >= s.configuration.watch.rescanSeconds
            if due, !continuing {
                // Cleared before the scan, not after: an overflow (or any event) that arrives
                // while the folder is being read asks for another scan, and gets it.
                s.rescanNeeded = false
                s.checkSoon.removeAll()
            }
            return (s.configuration, s.configText, due, continuing)
        }
        let queue = JobQueue(layout: layout, options: config.queueOptions, identity: identity)
        var takeovers: [Job] = []
        if due {
            takeovers = rescan(queue: queue, now: now)
        }
        if !due || continuing {
            // A pass that spans ticks still lets inotify's files settle between its slices.
            settleKnown(queue: queue, now: now)
        }
        var claims: [Claim] = []
        var free = supervisor.freeSlots(configured: config.workers)
        // Jobs this pass leaves pending for want of memory (a refused takeover, then the candidates).
        var heldBack = 0
        let orphans = state.withLock { s -> [Job] in defer { s.ownOrphans = [] }; return s.ownOrphans }
        for (job, own) in orphans.map({ ($0, true) }) + takeovers.map({ ($0, false) }) where free > 0 {
            // Left to a later rescan when the memory for its model is not there.
            guard allowsAnotherJob(job, config: config, now: now) else { heldBack += 1; free = 0; break }
            do {
                if let claim = try queue.takeOver(job, now: now, ownOrphan: own, rule: config.rule(for: job.relativePath)?.applied) {
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
        // Jobs whose model does not fit in the memory available now; they keep their place.
        var tooBig: [Job] = []
        defer { if !tooBig.isEmpty { state.withLock { $0.candidates.insert(contentsOf: tooBig, at: 0) } } }
        while free > 0 {
            guard let job = state.withLock({ s in s.candidates.isEmpty ? nil : s.candidates.removeFirst() }) else { break }
            if supervisor.isRunning(job.relativePath) { continue }
            // The memory check counts the model this job's rule needs: a job for a smaller model may go first.
            guard allowsAnotherJob(job, config: config, now: now) else {
                tooBig.append(job)
                continue
            }
            do {
                if let claim = try queue.claim(job, now: now, rule: config.rule(for: job.relativePath)?.applied) {
                    logger.info("processing", metadata: ["job.id": "\(job)", "attempt": "\(claim.lease.attempt)",
                                                        "resume.checkpoints": "\(claim.journal.filter { $0.phase == nil }.count)"])
                    claims.append(claim)
                    free -= 1
                }
            } catch {
                logger.error("claim failed", metadata: ["job.id": "\(job)", "error": "\(error)"])
            }
        }
        supervisor.reserve(claims)
        publisher.recordWaitingForMemory(heldBack + tooBig.count)
        return (claims, config, configText)
    }

    /// A look at the folder through the scan cache (a slice of a pass, when a pass
    /// over a huge inbox takes longer than a tick should): read what changed, let the
    /// reconciler decide, apply. Returns processing jobs whose owner is gone.
    private func rescan(queue: JobQueue, now: Double) -> [Job] {
        let started = Date()
        let running = supervisor.runningJobs
        // Moved out of the lock (not copied) while the scan updates it.
        var cache = state.withLock { s in
            let c = s.scanCache
            s.scanCache = ScanCache(recheckSeconds: c.recheckSeconds)
            return c
        }
        cache.recheckSeconds = configuration.watch.recheckDoneSeconds
        let slice = IncrementalScanner(scanner: FolderScanner(layout: layout), queue: queue)
            .scan(&cache, running: running, now: now, pastDeadline: { Date().timeIntervalSince(started) > Self.scanSliceSeconds })
        let counts = slice.passComplete ? cache.stateCounts : nil
        let scanProgress = cache.passProgress
        let finishedJobs = cache.finishedJobs
        state.withLock { $0.scanCache = cache }
        let newlySkipped = state.withLock { s in
            if s.skippedNames.count > 100_000 { s.skippedNames = [] }  // bounded: at worst, logged again
            return slice.skipped.filter { s.skippedNames.insert($0.path.string).inserted }
        }
        for (path, reason) in newlySkipped {
            logger.notice("not a job", metadata: ["file.path": "\(path)", "reason": "\(reason)"])
        }
        let actions = Reconciler(options: queue.options, running: running).plan(slice.observations, staleTemps: slice.staleTempFiles, now: now)
        // The pass's candidates go first, then jobs marked pending while applying (appended by `observe`).
        let earlier = state.withLock { s in
            defer { s.candidates = [] }
            return slice.passStarted ? [] : s.candidates
        }
        // Marking is fsynced: past the budget, leave it to the next ticks (as `settleKnown` does).
        let budgetEnd = Date().addingTimeInterval(0.25)
        var deferred: Set<String> = []
        var candidates: [Job] = []
        var stale: [Job] = []
        var ownOrphans: [Job] = []
        var present: Set<String> = []
        var refused: Set<String> = []
        let refusedBefore = state.withLock { $0.refusedMarkers.union($0.passRefused) }
        for action in actions {
            switch action {
            case .removeStaleTemp(let temp):
                logger.info("removing a temp file left by a crash", metadata: ["file.path": "\(temp)"])
                try? FileManager.default.removeItem(atPath: temp.string)
            case .removeSuperseded(let job, let states):
                queue.remove(states, of: job)
            case .observe(let job, let fp):
                present.insert(job.relativePath)
                if Date() > budgetEnd { deferred.insert(job.relativePath) } else { observe(job, fp, queue: queue, now: now) }
            case .reset(let job, let reason):
                switch reason {
                case .pendingSourceGone: logger.notice("source gone; dropping its pending marker", metadata: ["job.id": "\(job)"])
                case .staleSourceGone: logger.notice("source gone while its owner was gone; dropping the job", metadata: ["job.id": "\(job)"])
                case .ownOrphanSourceGone: break
                }
                _ = queue.reset(job)
            case .removeUnreadableMarker(let job, let state):
                if state == .pending {
                    logger.warning("unreadable pending marker; examining the file as new", metadata: ["job.id": "\(job)"])
                } else {
                    // Edited by hand into something that is not a marker: the job's outcome is unknown.
                    logger.warning("unreadable \(state.rawValue) marker (not a dropscribe marker: edited by hand?); examining the file as new",
                                   metadata: ["job.id": "\(job)", "marker": "\(job.marker(state))"])
                }
                queue.remove([state], of: job)
            case .redo(let job, let fp, let after):
                logger.notice("source changed after it was \(after.rawValue); transcribing it again", metadata: ["job.id": "\(job)"])
                _ = queue.reset(job)
                present.insert(job.relativePath)
                observe(job, fp, queue: queue, now: now)
            case .resumeOwnOrphan(let job):
                // Ours, but no worker runs it: its outcome could not be written (full disk?).
                ownOrphans.append(job)
            case .takeOver(let job):
                stale.append(job)
            case .skipRefusedMarker(let job, let state, let refusal):
                let marker = job.marker(state).string
                refused.insert(marker)
                if !refusedBefore.contains(marker) {
                    logger.error("skipping a job: its \(state.rawValue) marker is \(refusal); remove or replace it",
                                 metadata: ["job.id": "\(job)", "marker": "\(marker)"])
                }
            case .log(.unreadableLeaseTakenOver, let job):
                logger.warning("unreadable lease in a processing marker (edited by hand or torn?), not refreshed for the lease timeout; taking the job over",
                               metadata: ["job.id": "\(job)"])
            case .claimCandidates(let jobs):
                candidates = jobs
            case .finishSourceDeletion(let job):
                finishSourceDeletion(job, queue: queue)
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let passSeconds = state.withLock { s -> Double in
            s.candidates = earlier + candidates + s.candidates
            if slice.passStarted { s.passPresent = []; s.passRefused = []; s.passSeconds = 0 }
            s.passPresent.formUnion(present)
            s.passSeconds += seconds
            s.checkSoon.formUnion(deferred)
            s.ownOrphans += ownOrphans
            s.passRefused.formUnion(refused)
            if slice.passComplete {
                s.settle.retain(only: s.passPresent)
                s.refusedMarkers = s.passRefused
                s.lastRescan = now
            }
            return s.passSeconds
        }
        if counts == nil, let progress = scanProgress, Int(passSeconds / 5) > Int((passSeconds - seconds) / 5) {
            // A pass long enough to span ticks (a first scan of a huge inbox): say how far it got, every 5 s.
            logger.info("rescan in progress", metadata: [
                "dirs.done": "\(progress.visited)", "dirs.known.todo": "\(progress.toVisit)", "s": "\(Int(passSeconds))",
            ])
        }
        if let counts {
            publisher.recordMetrics(atOnce: true) { $0.recordCounts(counts) }
            logger.debug("rescan", metadata: [
                "jobs": "\(counts.jobs.values.reduce(counts.unmarked, +))", "finished.cached": "\(finishedJobs)",
                "pending": "\(candidates.count)", "dirs.listed": "\(slice.directoriesListed)",
                "dirs.unchanged": "\(slice.directoriesUnchanged)", "observed": "\(slice.observations.count)",
                "verified": "\(slice.finishedVerified)", "ms": "\(Int(passSeconds * 1000))",
            ])
        }
        return stale
    }

    /// Completes a `delete_source` a crash interrupted (see `SourceDeletionStep`).
    private func finishSourceDeletion(_ job: Job, queue: JobQueue) {
        guard let done = queue.readDone(job) else { return }
        do {
            if let record = try queue.finishSourceDeletion(job, done: done, after: CrashSeam.reached) {
                logger.notice("finished removing the source of a done job (delete_source), interrupted earlier",
                              metadata: ["job.id": "\(job)", "record": "\(record)"])
            }
        } catch {
            logger.error("cannot finish removing the source (delete_source)", metadata: ["job.id": "\(job)", "error": "\(error)"])
        }
    }

    /// How long one slice of a rescan may run before the tick goes on to claiming.
    static let scanSliceSeconds = 0.5

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
            // A FIFO, socket or device named like a job is no job: a worker opening it would hang.
            let type = (try? FileManager.default.attributesOfItem(atPath: job.path.string))?[.type] as? FileAttributeType
            guard type == .typeRegular || type == .typeSymbolicLink, let fp = try? Fingerprint.of(job.path) else {
                state.withLock { $0.settle.forget(rel) }
                continue
            }
            // The listing's rule for symlinks holds here too: one out of the inbox is never
            // marked, whichever of the two sees it first, and is logged once by either.
            if type == .typeSymbolicLink, let reason = layout.symlinkProblem(job.path) {
                let first = state.withLock { s in
                    s.settle.forget(rel)
                    return s.skippedNames.insert(job.path.string).inserted
                }
                if first { logger.notice("not a job", metadata: ["file.path": "\(job.path)", "reason": "\(reason)"]) }
                continue
            }
            if JobState.allCases.contains(where: { (try? FileManager.default.attributesOfItem(atPath: job.marker($0).string)) != nil }) {
                // A job with markers written to in place (a finished source overwritten, say):
                // the next rescan looks at it in full instead of trusting the cache.
                state.withLock { s in
                    s.settle.forget(rel)
                    s.scanCache.invalidate(rel)
                }
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
}
