import SystemPackage

/// One thing the daemon does to the folder after a full scan.
public enum ReconcileAction: Sendable, Equatable {
    /// A temp file of ours left by a crash.
    case removeStaleTemp(FilePath)
    /// Markers left under a later one by an interrupted transition.
    case removeSuperseded(Job, [JobState])
    /// An unmarked, present file: watch it settle, then mark it pending.
    case observe(Job, Fingerprint)
    /// The job's markers are dropped, so nothing is left of it.
    case reset(Job, because: ResetReason)
    /// A marker that is not a dropscribe marker; the file is examined as new
    /// (at once for done/failed, from the next scan for pending).
    case removeUnreadableMarker(Job, JobState)
    /// The source changed after it was done or failed: drop the markers and examine it as new.
    case redo(Job, Fingerprint, after: JobState)
    /// Our own lease that no worker of ours runs (its outcome could not be written).
    case resumeOwnOrphan(Job)
    /// A processing job whose owner is gone.
    case takeOver(Job)
    /// A marker that is not a regular file (a FIFO, a directory...) or is too big:
    /// the job is left alone until someone replaces it (log it once, not every scan).
    case skipRefusedMarker(Job, JobState, MarkerRefusal)
    /// Something worth a log line that changes nothing by itself.
    case log(ReconcileNotice, Job)
    /// The pending jobs that may be claimed now, oldest first.
    case claimCandidates([Job])
    /// A done job whose source is to be deleted (`delete_source`) and was not, or whose
    /// markers were not removed yet: a crash interrupted `JobQueue.finishSourceDeletion`.
    case finishSourceDeletion(Job)
}

/// Why a job's markers are removed.
public enum ResetReason: Sendable, Equatable {
    case pendingSourceGone
    case ownOrphanSourceGone
    case staleSourceGone
}

/// What a log-only action reports.
public enum ReconcileNotice: Sendable, Equatable {
    /// A processing marker whose first line is no lease, not refreshed for the lease timeout.
    case unreadableLeaseTakenOver
}

/// The daemon's rescan policy: from what a scan saw (markers and their contents),
/// the time, and the jobs this daemon runs, the list of things to do.
///
/// It exists so that every case of every marker state is decided in one place
/// with no I/O, and can be tested without a daemon, a clock or a sleep.
public struct Reconciler: Sendable {
    public var options: QueueOptions
    /// Jobs this daemon has a worker for (relative paths).
    public var running: Set<String>

    public init(options: QueueOptions, running: Set<String>) {
        self.options = options
        self.running = running
    }

    public func plan(_ observations: [JobObservation], staleTemps: [FilePath] = [], now: Double) -> [ReconcileAction] {
        var actions = staleTemps.map(ReconcileAction.removeStaleTemp)
        var candidates: [(job: Job, firstSeen: Double)] = []
        for o in observations {
            actions += decide(o, now: now, candidates: &candidates)
        }
        candidates.sort { $0.firstSeen != $1.firstSeen ? $0.firstSeen < $1.firstSeen : $0.job.relativePath < $1.job.relativePath }
        actions.append(.claimCandidates(candidates.map(\.job)))
        return actions
    }

    /// The actions for one job; a claimable pending job goes to `candidates` instead.
    func decide(_ o: JobObservation, now: Double, candidates: inout [(job: Job, firstSeen: Double)]) -> [ReconcileAction] {
        let job = o.job
        let refused = o.refusals.map { ReconcileAction.skipRefusedMarker(job, $0.state, $0.refusal) }
        if !refused.isEmpty { return refused }
        let isRunning = running.contains(job.relativePath)
        var actions: [ReconcileAction] = []
        if o.entry.markers.count > 1, !isRunning {
            let superseded = supersededMarkers(o, now: now)
            if !superseded.isEmpty { actions.append(.removeSuperseded(job, superseded)) }
        }
        let fingerprint = o.entry.fingerprint
        switch o.entry.state {
        case nil:
            if let fingerprint { actions.append(.observe(job, fingerprint)) }
        case .pending?:
            guard fingerprint != nil else { return actions + [.reset(job, because: .pendingSourceGone)] }
            guard let pending = o.pending?.value else { return actions + [.removeUnreadableMarker(job, .pending)] }
            if pending.notBefore.map({ now >= $0 }) ?? true { candidates.append((job, pending.firstSeen)) }
        case .processing?:
            guard !isRunning, let info = o.processing?.value else { return actions }
            if info.lease != nil, info.holder == .thisProcess {
                actions.append(fingerprint == nil ? .reset(job, because: .ownOrphanSourceGone) : .resumeOwnOrphan(job))
            } else if info.isStale(now: now, leaseTimeout: options.leaseTimeoutSeconds) {
                if info.lease == nil { actions.append(.log(.unreadableLeaseTakenOver, job)) }
                actions.append(fingerprint == nil ? .reset(job, because: .staleSourceGone) : .takeOver(job))
            }
        case let state? where state == .done || state == .failed:
            if state == .done, !isRunning, let done = o.done?.value, done.deleteSource == true,
               fingerprint.map({ done.fingerprint.sameContent(as: $0) }) ?? true {
                return actions + [.finishSourceDeletion(job)]
            }
            guard let fingerprint else { return actions }
            let recorded: Fingerprint??
            if state == .done { recorded = o.done?.value.map { $0.fingerprint } } else { recorded = o.failed?.value.map { $0.fingerprint } }
            guard let recorded else { return actions + [.removeUnreadableMarker(job, state), .observe(job, fingerprint)] }
            if options.redoOnChange, let recorded, !recorded.sameContent(as: fingerprint) {
                actions.append(.redo(job, fingerprint, after: state))
            }
        default:
            break
        }
        return actions
    }

    /// Markers below the job's latest one; a processing marker only when its owner is gone.
    func supersededMarkers(_ o: JobObservation, now: Double) -> [JobState] {
        guard let top = o.entry.state else { return [] }
        return o.entry.markers.filter { $0 < top }.sorted().filter { state in
            guard state == .processing, case .value(let info)? = o.processing else { return true }
            return info.isStale(now: now, leaseTimeout: options.leaseTimeoutSeconds)
        }
    }
}
