/// What reading one marker file gave.
public enum MarkerRead<Value: Sendable & Equatable>: Sendable, Equatable {
    case value(Value)
    /// Present but not a dropscribe marker: bad JSON, a value out of range, too big.
    case unreadable
    /// Gone between the listing and the read.
    case missing

    public var value: Value? {
        if case .value(let v) = self { v } else { nil }
    }
}

/// One job of a scan with the contents of its markers, as the reconcile policy needs them.
///
/// It exists so that every read (and every question to the kernel) happens
/// before the policy runs: `Reconciler` decides from this alone.
public struct JobObservation: Sendable {
    public var entry: FolderSnapshot.Entry
    /// Each marker present, read (nil for markers absent, or not read because the daemon runs the job).
    public var pending: MarkerRead<PendingMarker>?
    public var processing: MarkerRead<ProcessingObservation>?
    public var done: MarkerRead<DoneMarker>?
    public var failed: MarkerRead<FailedMarker>?

    public init(entry: FolderSnapshot.Entry, pending: MarkerRead<PendingMarker>? = nil,
                processing: MarkerRead<ProcessingObservation>? = nil,
                done: MarkerRead<DoneMarker>? = nil, failed: MarkerRead<FailedMarker>? = nil) {
        self.entry = entry
        self.pending = pending
        self.processing = processing
        self.done = done
        self.failed = failed
    }

    public var job: Job { entry.job }
}

extension JobQueue {
    /// Reads the markers of every job in a snapshot (the processing marker of a
    /// job in `running` is left unread: its worker is appending to it).
    public func observe(_ snapshot: FolderSnapshot, running: Set<String>) -> [JobObservation] {
        snapshot.entries.keys.sorted().compactMap { rel in
            snapshot.entries[rel].map { observe($0, skipProcessing: running.contains(rel)) }
        }
    }

    public func observe(_ entry: FolderSnapshot.Entry, skipProcessing: Bool = false) -> JobObservation {
        let job = entry.job
        var o = JobObservation(entry: entry)
        let markers = entry.markers
        func read<T>(_ value: T?) -> MarkerRead<T> { value.map { .value($0) } ?? .unreadable }
        if markers.contains(.pending) { o.pending = read(readPending(job)) }
        if markers.contains(.done) { o.done = read(readDone(job)) }
        if markers.contains(.failed) { o.failed = read(readFailed(job)) }
        if markers.contains(.processing), !skipProcessing {
            if let info = readProcessing(job) {
                o.processing = .value(ProcessingObservation(lease: info.lease, holder: info.lease.map(identity.holder(of:)),
                                                            journal: info.journal, modified: info.modified))
            } else {
                o.processing = .missing
            }
        }
        return o
    }
}
