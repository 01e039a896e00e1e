import Foundation
import Glibc
import SystemPackage

/// An error of the queue, naming the job and what went wrong on disk.
public struct QueueError: Error, CustomStringConvertible, Sendable {
    public var job: String
    public var operation: String
    public var errno: Errno?
    public var detail: String?

    public var description: String {
        var s = "\(operation) failed for '\(job)'"
        if let errno { s += ": \(errno)" }
        if let detail { s += ": \(detail)" }
        return s
    }
}

/// Who holds a lease: enough to tell, on the same host, whether the holder is still alive.
public struct OwnerIdentity: Sendable, Equatable {
    public var host: String
    public var pid: Int32
    public var pidStart: UInt64?
    public var bootID: String
    /// This process's executable: a live lease owner on this host counts as alive only if it
    /// runs the same one (a hand-made lease naming pid 1 must not hold a job forever).
    public var executable: String? = nil

    public static func current() -> OwnerIdentity {
        let pid = getpid()
        return OwnerIdentity(host: Syscall.hostname(), pid: pid, pidStart: Syscall.processStartTime(pid), bootID: Syscall.bootID(),
                             executable: Syscall.executable(of: pid))
    }

    /// Same host and boot, alive, and provably a daemon like this one: its start time is in
    /// the lease and it runs this executable.
    public func isVerifiedOwner(_ lease: LeaseHeader) -> Bool {
        guard lease.host == host, lease.bootID == bootID, lease.pidStart != nil, let executable else { return false }
        return Syscall.executable(of: lease.pid) == executable
    }

    /// Certain death: same machine and boot, and that pid is gone or is another process now.
    public func isDeadOwner(_ lease: LeaseHeader) -> Bool {
        guard lease.host == host else { return false }
        if lease.bootID != bootID { return true }
        if lease.pid == pid && lease.pidStart == pidStart { return false }
        guard Syscall.processExists(lease.pid) else { return true }
        if let start = lease.pidStart, let now = Syscall.processStartTime(lease.pid), now != start { return true }
        return false
    }
}

/// Tunables of the claim and retry protocol.
public struct QueueOptions: Sendable, Equatable {
    public var maxAttempts: Int = 3
    public var leaseTimeoutSeconds: Double = 120
    public var heartbeatSeconds: Double = 10
    /// First retry delay; doubles with each attempt, capped at 10 minutes.
    public var retryBackoffSeconds: Double = 10
    /// Transcribe again a source that changed after it was done.
    public var redoOnChange: Bool = true

    public init() {}

    func backoff(afterAttempt attempt: Int) -> Double {
        min(600, retryBackoffSeconds * pow(2, max(0, Double(attempt) - 1)))
    }
}

/// A job this process holds: its lease and the journal it resumes from.
public struct Claim: Sendable {
    public var job: Job
    public var lease: LeaseHeader
    /// Checkpoints of earlier attempts, oldest first: where to resume.
    public var journal: [JournalEntry]
}

/// The marker protocol: every state change of a job, atomic and safe with
/// several daemons (on several hosts) sharing one folder.
public struct JobQueue: Sendable {
    public let layout: InboxLayout
    public let options: QueueOptions
    public let identity: OwnerIdentity

    public init(layout: InboxLayout, options: QueueOptions, identity: OwnerIdentity = .current()) {
        self.layout = layout
        self.options = options
        self.identity = identity
    }

    private func error(_ job: Job, _ op: String, _ e: Errno? = nil, _ detail: String? = nil) -> QueueError {
        QueueError(job: job.relativePath, operation: op, errno: e, detail: detail)
    }

    // MARK: reading markers

    public func readPending(_ job: Job) -> PendingMarker? { read(PendingMarker.self, .pending, of: job).value }

    public func readDone(_ job: Job) -> DoneMarker? { read(DoneMarker.self, .done, of: job).value }

    public func readFailed(_ job: Job) -> FailedMarker? { read(FailedMarker.self, .failed, of: job).value }

    /// A pending, done or failed marker, through `MarkerFile` (never blocks, never more than its cap).
    func read<T: Decodable & RangeChecked & Equatable & Sendable>(_ type: T.Type, _ state: JobState, of job: Job) -> MarkerRead<T> {
        do {
            return Self.decode(T.self, try MarkerFile.read(job.marker(state), limit: MarkerFile.limit(for: state)))
        } catch {
            return MarkerRead(error)
        }
    }

    /// The lease header and journal of `X.processing`, skipping lines that do not parse
    /// (a torn last line after a crash, or a hand edit).
    public func readProcessing(_ job: Job) -> (lease: LeaseHeader?, journal: [JournalEntry], modified: Double)? {
        guard case .value(let info) = readProcessingMarker(job) else { return nil }
        return (info.lease, info.journal, info.modified)
    }

    func readProcessingMarker(_ job: Job) -> MarkerRead<ProcessingObservation> {
        do {
            let marker = job.marker(.processing)
            let bytes = try MarkerFile.read(marker, limit: MarkerFile.limit(for: .processing))
            guard let st = try? Syscall.lstat(marker) else { return .missing }
            return .value(processingObservation(bytes, modified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
        } catch {
            return MarkerRead(error)
        }
    }

    /// What the bytes of a pending, done or failed marker say.
    static func decode<T: Decodable & RangeChecked & Equatable & Sendable>(_ type: T.Type, _ bytes: [UInt8]) -> MarkerRead<T> {
        MarkerCoding.decode(T.self, from: bytes).map { .value($0) } ?? .unreadable
    }

    /// What the bytes of a processing marker say, its owner classified.
    func processingObservation(_ bytes: [UInt8], modified: Double) -> ProcessingObservation {
        let info = Self.parseProcessing(bytes, modified: modified)
        return ProcessingObservation(lease: info.lease, holder: info.lease.map(identity.holder(of:)), journal: info.journal, modified: info.modified)
    }

    static func parseProcessing(_ bytes: [UInt8], modified: Double) -> (lease: LeaseHeader?, journal: [JournalEntry], modified: Double) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        let lease = lines.first.flatMap { MarkerCoding.decode(LeaseHeader.self, from: $0) }
        let journal = lines.dropFirst().compactMap { MarkerCoding.decode(JournalEntry.self, from: $0) }
        return (lease, journal, modified)
    }

    // MARK: transitions

    /// unmarked → pending. Returns false when another daemon marked it first.
    @discardableResult
    public func markPending(_ job: Job, fingerprint: Fingerprint, now: Double) throws(QueueError) -> Bool {
        let marker = PendingMarker(size: fingerprint.size, mtimeNanoseconds: fingerprint.mtimeNanoseconds, firstSeen: now)
        do {
            try AtomicFile.createNew(MarkerCoding.encode(marker), at: job.marker(.pending))
            return true
        } catch .fileExists {
            return false
        } catch {
            throw self.error(job, "marking pending", error)
        }
    }

    /// Whether a pending job may be claimed now (its retry backoff has passed).
    public func isClaimable(_ pending: PendingMarker?, now: Double) -> Bool {
        guard let notBefore = pending?.notBefore else { return true }
        return now >= notBefore
    }

    /// pending → processing. Exactly one claimant wins: the marker is created
    /// with link(2) (see `AtomicFile.createNew`). Returns nil when the job was
    /// not claimable or someone else won. `rule`: the folder rule the job runs under, recorded in the lease.
    public func claim(_ job: Job, now: Double, rule: AppliedRule? = nil) throws(QueueError) -> Claim? {
        guard let pending = readPending(job), isClaimable(pending, now: now) else { return nil }
        guard let fingerprint = try? Fingerprint.of(job.path, followSymlinks: true) else { return nil }
        let lease = makeLease(attempt: pending.attempts.saturatingAdding(1), fingerprint: fingerprint, firstSeen: pending.firstSeen,
                              now: now, rule: rule)
        // Checkpoints carried over from an earlier attempt, unless the content changed since.
        let journal = pending.size == fingerprint.size && pending.mtimeNanoseconds == fingerprint.mtimeNanoseconds
            ? (pending.journal ?? []) : []
        do {
            try AtomicFile.createNew(processingBytes(lease, journal), at: job.marker(.processing))
        } catch .fileExists {
            return nil
        } catch {
            throw self.error(job, "claiming", error)
        }
        // Between our look at the folder and the link, another daemon may have
        // finished the job entirely (its .done is written before its .processing
        // goes): then this claim is void.
        if exists(job.marker(.done)) || exists(job.marker(.failed)) {
            try? Syscall.unlink(job.marker(.processing))
            return nil
        }
        try? Syscall.unlink(job.marker(.pending))
        return Claim(job: job, lease: lease, journal: journal)
    }

    /// Whether the holder of `X.processing` is gone, so the job may be taken over
    /// (see `ProcessingObservation.isStale`).
    public func isStale(lease: LeaseHeader?, modified: Double, now: Double) -> Bool {
        ProcessingObservation(lease: lease, holder: lease.map(identity.holder(of:)), journal: [], modified: modified)
            .isStale(now: now, leaseTimeout: options.leaseTimeoutSeconds)
    }

    /// Takes over a processing job whose owner is gone, keeping its journal so
    /// the work resumes from the last checkpoint. Atomic: the stale marker is
    /// first renamed to a name only we use (one rename wins), then our lease is
    /// linked in its place.
    ///
    /// `ownOrphan`: the lease is this process's own but no worker of ours runs it
    /// any more (its outcome could not be recorded, e.g. on a full disk): take it
    /// back the same way instead of waiting for a lease that will never expire.
    public func takeOver(_ job: Job, now: Double, ownOrphan: Bool = false, rule: AppliedRule? = nil) throws(QueueError) -> Claim? {
        let marker = job.marker(.processing)
        guard let before = try? Syscall.lstat(marker),
              let (lease, journal, modified) = readProcessing(job),
              (ownOrphan && lease.map(isOwn) == true) || isStale(lease: lease, modified: modified, now: now) else { return nil }
        let aside = marker.removingLastComponent().appending(AtomicFile.tempName("stale"))
        do {
            // A plain rename: `aside` is a fresh unique name, so there is nothing to
            // replace; what is exclusive is consuming `marker` (of several takers, one
            // rename succeeds, the others find it gone). Unlike renameat2's
            // RENAME_NOREPLACE, which NFS refuses with EINVAL, this works everywhere.
            try Syscall.rename(marker, aside)
        } catch {
            // NFS may report ENOENT for a rename whose first attempt succeeded.
            guard exists(aside) else { return nil }
        }
        defer { try? Syscall.unlink(aside) }
        guard let moved = try? Syscall.lstat(aside), moved.st_ino == before.st_ino else {
            // We moved a fresh lease another daemon had just written: put it back.
            try? Syscall.renameNoReplace(aside, marker)
            return nil
        }
        if exists(job.marker(.done)) || exists(job.marker(.failed)) { return nil }
        guard let fingerprint = try? Fingerprint.of(job.path, followSymlinks: true) else {
            // Source gone while nobody held it: nothing to resume.
            return nil
        }
        let attempt = lease?.attempt ?? 1
        var carried = journal
        if let old = lease?.fingerprint, !old.sameContent(as: fingerprint) {
            carried = []  // the content changed: the checkpoints are for other audio
        }
        let newLease = makeLease(attempt: attempt, fingerprint: fingerprint, firstSeen: lease?.firstSeen, now: now, rule: rule)
        do {
            try AtomicFile.createNew(processingBytes(newLease, carried), at: marker)
        } catch .fileExists {
            return nil
        } catch {
            // Could not write our lease (a full disk?): put the old one back, journal and all.
            try? Syscall.renameNoReplace(aside, marker)
            throw self.error(job, "taking over", error)
        }
        return Claim(job: job, lease: newLease, journal: carried)
    }

    /// Whether a lease was written by this very process.
    public func isOwn(_ lease: LeaseHeader) -> Bool {
        identity.wrote(lease)
    }

    func processingBytes(_ lease: LeaseHeader, _ journal: [JournalEntry]) -> [UInt8] {
        var bytes = MarkerCoding.encode(lease) + [UInt8(ascii: "\n")]
        for entry in journal { bytes += MarkerCoding.encode(entry) + [UInt8(ascii: "\n")] }
        return bytes
    }

    func makeLease(attempt: Int, fingerprint: Fingerprint, firstSeen: Double?, now: Double, rule: AppliedRule? = nil) -> LeaseHeader {
        LeaseHeader(host: identity.host, pid: identity.pid, pidStart: identity.pidStart, bootID: identity.bootID,
                    started: now, attempt: attempt, fingerprint: fingerprint, firstSeen: firstSeen, rule: rule)
    }

    /// True while `X.processing` is still the lease this claim wrote (by host and pid).
    public func stillHolds(_ claim: Claim) -> Bool {
        guard let (lease, _, _) = readProcessing(claim.job), let lease else { return false }
        return lease.host == claim.lease.host && lease.pid == claim.lease.pid && lease.started == claim.lease.started
    }

    /// Refreshes the lease (the marker's mtime) so other daemons see the owner is alive.
    public func heartbeat(_ claim: Claim) {
        try? Syscall.touch(claim.job.marker(.processing))
    }

    /// processing → done. The outputs must already be complete.
    public func complete(_ claim: Claim, summary: DoneMarker) throws(QueueError) {
        do {
            try AtomicFile.write(MarkerCoding.encode(summary), to: claim.job.marker(.done))
        } catch {
            throw self.error(claim.job, "writing the done marker", error)
        }
        try? Syscall.unlink(claim.job.marker(.processing))
        try? Syscall.fsyncDirectory(claim.job.marker(.done).removingLastComponent())
    }

    /// processing → pending (transient, attempts left) or failed. Returns the new state.
    @discardableResult
    public func fail(_ claim: Claim, kind: FailureKind, message: String, now: Double) throws(QueueError) -> JobState {
        let attempts = claim.lease.attempt
        if kind.isPermanent || attempts >= options.maxAttempts {
            let marker = FailedMarker(kind: kind, message: message, attempts: attempts, time: now, fingerprint: claim.lease.fingerprint,
                                      rule: claim.lease.rule)
            do { try AtomicFile.write(MarkerCoding.encode(marker), to: claim.job.marker(.failed)) } catch {
                throw self.error(claim.job, "writing the failed marker", error)
            }
            try? Syscall.unlink(claim.job.marker(.processing))
            return .failed
        }
        let pending = PendingMarker(size: claim.lease.fingerprint.size, mtimeNanoseconds: claim.lease.fingerprint.mtimeNanoseconds,
                                    firstSeen: claim.lease.firstSeen ?? claim.lease.started, attempts: attempts,
                                    notBefore: now + options.backoff(afterAttempt: attempts), lastErrorKind: kind, lastError: message)
        try writePendingReplacingProcessing(claim, pending)
        return .pending
    }

    /// processing → pending without counting an attempt: a clean shutdown hands the job on.
    public func handBack(_ claim: Claim, now: Double) throws(QueueError) {
        let pending = PendingMarker(size: claim.lease.fingerprint.size, mtimeNanoseconds: claim.lease.fingerprint.mtimeNanoseconds,
                                    firstSeen: claim.lease.firstSeen ?? claim.lease.started, attempts: max(0, claim.lease.attempt.saturatingAdding(-1)),
                                    lastErrorKind: .interrupted, lastError: "handed back at shutdown")
        try writePendingReplacingProcessing(claim, pending)
    }

    /// Writes X.pending (carrying the journal, so the next claim resumes from the
    /// last checkpoint) and then removes X.processing.
    private func writePendingReplacingProcessing(_ claim: Claim, _ pending: PendingMarker) throws(QueueError) {
        var marker = pending
        let journal = readProcessing(claim.job)?.journal ?? []
        marker.journal = journal.isEmpty ? nil : journal
        do { try AtomicFile.write(MarkerCoding.encode(marker), to: claim.job.marker(.pending)) } catch {
            throw self.error(claim.job, "returning to pending", error)
        }
        try? Syscall.unlink(claim.job.marker(.processing))
    }

    /// Source deleted or replaced mid-job: drop the claim and the job's markers.
    public func abandon(_ claim: Claim) {
        try? Syscall.unlink(claim.job.marker(.processing))
    }

    /// failed → pending, for `dropscribe retry`.
    public func retry(_ job: Job, now: Double) throws(QueueError) -> Bool {
        guard exists(job.marker(.failed)) else { return false }
        guard let fp = try? Fingerprint.of(job.path, followSymlinks: true) else {
            throw error(job, "retrying", nil, "the source file is gone")
        }
        try? Syscall.unlink(job.marker(.failed))
        _ = try markPending(job, fingerprint: fp, now: now)
        return true
    }

    /// Removes every marker of a job, so it is examined as new.
    public func reset(_ job: Job) -> Int {
        var removed = 0
        for state in JobState.allCases where (try? Syscall.unlink(job.marker(state))) != nil { removed += 1 }
        return removed
    }

    /// Removes some markers of a job (superseded or unreadable ones, as the reconciler decided).
    public func remove(_ states: [JobState], of job: Job) {
        for state in states { try? Syscall.unlink(job.marker(state)) }
    }

    func exists(_ path: FilePath) -> Bool { (try? Syscall.lstat(path)) != nil }
}

