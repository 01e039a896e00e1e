/// Who holds a processing lease, as far as this process can tell.
///
/// It exists so that the liveness check (which asks the kernel about pids) is
/// made once, where markers are read, and the reconcile policy stays pure.
public enum LeaseHolder: Sendable, Equatable {
    /// This very process wrote the lease.
    case thisProcess
    /// Same host: the boot changed, or the pid is gone or is another process now.
    case deadHere
    /// Same host and boot, and the owning process is alive and a daemon like this one.
    case aliveHere
    /// Same host and boot, a live process with that pid, but not provably a daemon like this
    /// one (another program, or a lease written by hand): only the lease's age counts.
    case unverifiedHere
    /// Another host: only the lease's age tells whether its owner is gone.
    case elsewhere
}

extension OwnerIdentity {
    /// Whether this very process wrote the lease.
    public func wrote(_ lease: LeaseHeader) -> Bool {
        lease.host == host && lease.pid == pid && lease.pidStart == pidStart && lease.bootID == bootID
    }

    /// Classifies a lease's owner (asks the kernel about the pid when on this host).
    public func holder(of lease: LeaseHeader) -> LeaseHolder {
        if wrote(lease) { return .thisProcess }
        guard lease.host == host else { return .elsewhere }
        if isDeadOwner(lease) { return .deadHere }
        return isVerifiedOwner(lease) ? .aliveHere : .unverifiedHere
    }
}

/// What one read of `X.processing` found, with its owner already classified.
public struct ProcessingObservation: Sendable, Equatable {
    /// Nil when the first line is not a lease (a hand edit or a torn write).
    public var lease: LeaseHeader?
    public var holder: LeaseHolder?
    public var journal: [JournalEntry]
    /// The marker's mtime: the last heartbeat.
    public var modified: Double

    public init(lease: LeaseHeader?, holder: LeaseHolder?, journal: [JournalEntry], modified: Double) {
        self.lease = lease
        self.holder = holder
        self.journal = journal
        self.modified = modified
    }

    /// Whether the holder is gone, so the job may be taken over.
    ///
    /// On our own host a dead pid is certain and counts at once (restart
    /// recovery). Elsewhere, for a live pid that is not a daemon like us, or when the
    /// lease cannot be read, only a lease not refreshed for `leaseTimeout` counts.
    public func isStale(now: Double, leaseTimeout: Double) -> Bool {
        switch lease == nil ? nil : holder {
        case .deadHere?: true
        case .thisProcess?, .aliveHere?: false
        case .elsewhere?, .unverifiedHere?, nil: Self.age(modified: modified, now: now) > leaseTimeout
        }
    }

    /// How far the last heartbeat is from now, either way: a heartbeat sets the file
    /// server's time, so a lease stamped further ahead than the timeout was not written by
    /// one (it is stale at once), and one slightly ahead (clock skew) ages through zero.
    static func age(modified: Double, now: Double) -> Double {
        guard modified.isFinite else { return .infinity }
        return abs(now - modified)
    }
}
