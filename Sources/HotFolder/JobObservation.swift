/// What reading one marker file gave.
public enum MarkerRead<Value: Sendable & Equatable>: Sendable, Equatable {
    case value(Value)
    /// Present but not a dropscribe marker: bad JSON, a value out of range, too big.
    case unreadable
    /// Gone between the listing and the read.
    case missing

    /// Not a regular file, or too big: skipped (and logged once) until it is replaced.
    case refused(MarkerRefusal)

    public var value: Value? {
        if case .value(let v) = self { v } else { nil }
    }

    init(_ error: MarkerFileError) {
        switch error {
        case .missing: self = .missing
        case .refused(let refusal): self = .refused(refusal)
        case .io: self = .unreadable
        }
    }

    public var refusal: MarkerRefusal? {
        if case .refused(let r) = self { r } else { nil }
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

    /// The markers that were refused (not regular files, or too big), in lifecycle order.
    public var refusals: [(state: JobState, refusal: MarkerRefusal)] {
        let reads: [(JobState, MarkerRefusal?)] = [(.pending, pending?.refusal), (.processing, processing?.refusal),
                                                    (.failed, failed?.refusal), (.done, done?.refusal)]
        return reads.compactMap { state, refusal in refusal.map { (state, $0) } }
    }
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
        if markers.contains(.pending) { o.pending = read(PendingMarker.self, .pending, of: job) }
        if markers.contains(.done) { o.done = read(DoneMarker.self, .done, of: job) }
        if markers.contains(.failed) { o.failed = read(FailedMarker.self, .failed, of: job) }
        if markers.contains(.processing), !skipProcessing { o.processing = readProcessingMarker(job) }
        return o
    }
}
