import SystemPackage
import Testing
@testable import HotFolder

/// The rescan policy, case by case: observations in, actions out. No folder, no clock, no daemon.
@Suite struct ReconcilerTests {
    static let root = FilePath("/inbox")
    let job = Job(root: Self.root, relativePath: "talk.wav")
    let fp = Fingerprint(device: 1, inode: 2, size: 1000, mtimeNanoseconds: 5_000)
    let changed = Fingerprint(device: 1, inode: 2, size: 2000, mtimeNanoseconds: 6_000)
    let now = 10_000.0
    var options: QueueOptions { var o = QueueOptions(); o.leaseTimeoutSeconds = 120; return o }

    func entry(_ markers: Set<JobState>, source: Fingerprint?) -> FolderSnapshot.Entry {
        FolderSnapshot.Entry(job: job, fingerprint: source, markers: markers)
    }

    func lease(attempt: Int = 1) -> LeaseHeader {
        LeaseHeader(host: "h", pid: 42, pidStart: 7, bootID: "b", started: now - 50, attempt: attempt, fingerprint: fp, firstSeen: now - 60)
    }

    func processing(_ holder: LeaseHolder?, modified: Double, readable: Bool = true) -> MarkerRead<ProcessingObservation> {
        .value(ProcessingObservation(lease: readable ? lease() : nil, holder: readable ? holder : nil, journal: [], modified: modified))
    }

    func done(_ recorded: Fingerprint) -> DoneMarker {
        DoneMarker(fingerprint: recorded, audioDuration: 1, wallTime: 1, realTimeFactor: 1, peakRSSBytes: nil, model: nil,
                   outputs: [], finished: now - 5, attempts: 1, host: "h")
    }

    func plan(_ o: JobObservation, running: Set<String> = [], options: QueueOptions? = nil) -> [ReconcileAction] {
        let actions = Reconciler(options: options ?? self.options, running: running).plan([o], now: now)
        return actions
    }

    /// The actions without the final (possibly empty) candidate list.
    func effects(_ actions: [ReconcileAction]) -> [ReconcileAction] {
        actions.filter { if case .claimCandidates = $0 { false } else { true } }
    }

    func candidates(_ actions: [ReconcileAction]) -> [Job] {
        for case .claimCandidates(let jobs) in actions { return jobs }
        return []
    }

    @Test func unmarkedPresentFileIsObserved() {
        #expect(plan(JobObservation(entry: entry([], source: fp))) == [.observe(job, fp), .claimCandidates([])])
    }

    @Test func unmarkedUnstattableFileIsLeftAlone() {
        #expect(plan(JobObservation(entry: entry([], source: nil))) == [.claimCandidates([])])
    }

    @Test func claimablePendingIsACandidate() {
        let o = JobObservation(entry: entry([.pending], source: fp), pending: .value(PendingMarker(size: 1000, mtimeNanoseconds: 5_000, firstSeen: 1)))
        #expect(plan(o) == [.claimCandidates([job])])
    }

    @Test func pendingInBackoffIsNotACandidate() {
        let pending = PendingMarker(size: 1000, mtimeNanoseconds: 5_000, firstSeen: 1, attempts: 1, notBefore: now + 1)
        #expect(plan(JobObservation(entry: entry([.pending], source: fp), pending: .value(pending))) == [.claimCandidates([])])
    }

    @Test func candidatesAreOrderedOldestFirst() {
        let young = Job(root: Self.root, relativePath: "b.wav"), old = Job(root: Self.root, relativePath: "c.wav")
        func pendingJob(_ j: Job, _ firstSeen: Double) -> JobObservation {
            JobObservation(entry: FolderSnapshot.Entry(job: j, fingerprint: fp, markers: [.pending]),
                           pending: .value(PendingMarker(size: 1, mtimeNanoseconds: 1, firstSeen: firstSeen)))
        }
        let actions = Reconciler(options: options, running: []).plan([pendingJob(young, 50), pendingJob(old, 10)], now: now)
        #expect(actions == [.claimCandidates([old, young])])
    }

    @Test func unreadablePendingIsRemoved() {
        #expect(effects(plan(JobObservation(entry: entry([.pending], source: fp), pending: .unreadable))) == [.removeUnreadableMarker(job, .pending)])
    }

    @Test func pendingWithSourceGoneIsReset() {
        let o = JobObservation(entry: entry([.pending], source: nil), pending: .value(PendingMarker(size: 1, mtimeNanoseconds: 1, firstSeen: 1)))
        #expect(effects(plan(o)) == [.reset(job, because: .pendingSourceGone)])
    }

    @Test func ownLeaseWithoutWorkerIsResumed() {
        let o = JobObservation(entry: entry([.processing], source: fp), processing: processing(.thisProcess, modified: now))
        #expect(effects(plan(o)) == [.resumeOwnOrphan(job)])
        let gone = JobObservation(entry: entry([.processing], source: nil), processing: processing(.thisProcess, modified: now))
        #expect(effects(plan(gone)) == [.reset(job, because: .ownOrphanSourceGone)])
    }

    @Test func jobThisDaemonRunsIsLeftToItsWorker() {
        let o = JobObservation(entry: entry([.pending, .processing], source: fp), pending: .value(PendingMarker(size: 1, mtimeNanoseconds: 1, firstSeen: 1)))
        #expect(effects(plan(o, running: ["talk.wav"])) == [])
    }

    @Test func liveOwnerOnThisHostIsNeverTakenOver() {
        let o = JobObservation(entry: entry([.processing], source: fp), processing: processing(.aliveHere, modified: now - 1_000_000))
        #expect(effects(plan(o)) == [])
    }

    @Test func deadOwnerOnThisHostIsTakenOverAtOnce() {
        let o = JobObservation(entry: entry([.processing], source: fp), processing: processing(.deadHere, modified: now))
        #expect(effects(plan(o)) == [.takeOver(job)])
    }

    @Test func otherHostsLeaseIsTakenOverOnlyAfterTheTimeout() {
        let fresh = JobObservation(entry: entry([.processing], source: fp), processing: processing(.elsewhere, modified: now - 119))
        #expect(effects(plan(fresh)) == [])
        let stale = JobObservation(entry: entry([.processing], source: fp), processing: processing(.elsewhere, modified: now - 121))
        #expect(effects(plan(stale)) == [.takeOver(job)])
        let staleGone = JobObservation(entry: entry([.processing], source: nil), processing: processing(.elsewhere, modified: now - 121))
        #expect(effects(plan(staleGone)) == [.reset(job, because: .staleSourceGone)])
    }

    @Test func aLivePidThatIsNotADaemonLikeUsHoldsTheJobOnlyUntilTheTimeout() {
        let fresh = JobObservation(entry: entry([.processing], source: fp), processing: processing(.unverifiedHere, modified: now - 119))
        #expect(effects(plan(fresh)) == [])
        let stale = JobObservation(entry: entry([.processing], source: fp), processing: processing(.unverifiedHere, modified: now - 121))
        #expect(effects(plan(stale)) == [.takeOver(job)])
    }

    @Test(arguments: [LeaseHolder.elsewhere, .unverifiedHere, nil])
    func aLeaseStampedInTheFutureCannotHoldTheJobForever(_ holder: LeaseHolder?) {
        let readable = holder != nil
        let takeOver: [ReconcileAction] = (readable ? [] : [.log(.unreadableLeaseTakenOver, job)]) + [.takeOver(job)]
        for far in [now + 121, now + 1e9, .infinity] {
            let o = JobObservation(entry: entry([.processing], source: fp), processing: processing(holder, modified: far, readable: readable))
            #expect(effects(plan(o)) == takeOver, "a heartbeat never stamps further ahead than the timeout: \(far)")
        }
        // A few seconds ahead is clock skew between hosts and the file server: a live lease.
        let skewed = JobObservation(entry: entry([.processing], source: fp), processing: processing(holder, modified: now + 5, readable: readable))
        #expect(effects(plan(skewed)) == [])
    }

    @Test func unreadableLeaseWaitsForTheTimeoutThenIsTakenOverWithALogLine() {
        let fresh = JobObservation(entry: entry([.processing], source: fp), processing: processing(nil, modified: now - 10, readable: false))
        #expect(effects(plan(fresh)) == [])
        let stale = JobObservation(entry: entry([.processing], source: fp), processing: processing(nil, modified: now - 500, readable: false))
        #expect(effects(plan(stale)) == [.log(.unreadableLeaseTakenOver, job), .takeOver(job)])
    }

    @Test func doneWithSameSourceIsLeftAlone() {
        #expect(effects(plan(JobObservation(entry: entry([.done], source: fp), done: .value(done(fp))))) == [])
    }

    @Test func doneWithChangedSourceIsRedoneUnlessRedoIsOff() {
        let o = JobObservation(entry: entry([.done], source: changed), done: .value(done(fp)))
        #expect(effects(plan(o)) == [.redo(job, changed, after: .done)])
        var off = options
        off.redoOnChange = false
        #expect(effects(plan(o, options: off)) == [])
    }

    @Test func failedWithChangedSourceIsRedone() {
        let failed = FailedMarker(kind: .corrupt, message: "bad", attempts: 1, time: 1, fingerprint: fp)
        #expect(effects(plan(JobObservation(entry: entry([.failed], source: changed), failed: .value(failed)))) == [.redo(job, changed, after: .failed)])
        var noPrint = failed
        noPrint.fingerprint = nil
        #expect(effects(plan(JobObservation(entry: entry([.failed], source: changed), failed: .value(noPrint)))) == [])
    }

    @Test func unreadableDoneOrFailedIsRemovedAndTheFileExaminedAsNew() {
        #expect(effects(plan(JobObservation(entry: entry([.done], source: fp), done: .unreadable)))
                == [.removeUnreadableMarker(job, .done), .observe(job, fp)])
        #expect(effects(plan(JobObservation(entry: entry([.failed], source: fp), failed: .unreadable)))
                == [.removeUnreadableMarker(job, .failed), .observe(job, fp)])
    }

    @Test func doneOrFailedWithSourceGoneIsKept() {
        #expect(effects(plan(JobObservation(entry: entry([.done], source: nil), done: .value(done(fp))))) == [])
        #expect(effects(plan(JobObservation(entry: entry([.failed], source: nil), failed: .unreadable))) == [])
    }

    @Test func supersededMarkersAreRemovedButALiveLeaseIsKept() {
        let both = JobObservation(entry: entry([.pending, .done], source: fp),
                                  pending: .value(PendingMarker(size: 1, mtimeNanoseconds: 1, firstSeen: 1)), done: .value(done(fp)))
        #expect(effects(plan(both)) == [.removeSuperseded(job, [.pending])])
        let live = JobObservation(entry: entry([.pending, .processing, .done], source: fp),
                                  processing: processing(.aliveHere, modified: now), done: .value(done(fp)))
        #expect(effects(plan(live)) == [.removeSuperseded(job, [.pending])])
        let dead = JobObservation(entry: entry([.processing, .failed], source: fp), processing: processing(.deadHere, modified: now),
                                  failed: .value(FailedMarker(kind: .corrupt, message: "", attempts: 1, time: 1, fingerprint: fp)))
        #expect(effects(plan(dead)) == [.removeSuperseded(job, [.processing])])
    }

    @Test func pendingUnderALiveProcessingMarkerIsRemovedAndTheLeaseKept() {
        let o = JobObservation(entry: entry([.pending, .processing], source: fp),
                               pending: .value(PendingMarker(size: 1, mtimeNanoseconds: 1, firstSeen: 1)),
                               processing: processing(.elsewhere, modified: now))
        #expect(effects(plan(o)) == [.removeSuperseded(job, [.pending])])
    }

    @Test func staleTempFilesAreRemoved() {
        let temp = FilePath("/inbox/.dropscribe-tmp-x")
        #expect(Reconciler(options: options, running: []).plan([], staleTemps: [temp], now: now) == [.removeStaleTemp(temp), .claimCandidates([])])
    }

    @Test func refusedMarkersSkipTheJobAndNothingElse() {
        let o = JobObservation(entry: entry([.pending, .done], source: changed), pending: .refused(.notARegularFile(.directory)),
                               done: .value(done(fp)))
        #expect(plan(o) == [.skipRefusedMarker(job, .pending, .notARegularFile(.directory)), .claimCandidates([])])
        let fifo = JobObservation(entry: entry([.processing], source: fp), processing: .refused(.notARegularFile(.fifo)))
        #expect(effects(plan(fifo)) == [.skipRefusedMarker(job, .processing, .notARegularFile(.fifo))])
        let huge = JobObservation(entry: entry([.failed], source: fp), failed: .refused(.tooLarge(limit: 65536)))
        #expect(effects(plan(huge)) == [.skipRefusedMarker(job, .failed, .tooLarge(limit: 65536))])
    }

    @Test func numbersOutOfRangeMakeAMarkerUnreadableSoTheFileIsExaminedAsNew() {
        let hostile = [
            #"{"attempts":9223372036854775807,"first_seen":1,"mtime_ns":1,"size":1}"#,
            #"{"attempts":-1,"first_seen":1,"mtime_ns":1,"size":1}"#,
            #"{"attempts":1,"first_seen":-1e300,"mtime_ns":1,"size":1}"#,
            #"{"attempts":1,"first_seen":1,"mtime_ns":1,"size":-5}"#,
            #"{"attempts":1,"first_seen":1,"mtime_ns":1,"size":1,"not_before":1e300}"#,
            #"{"attempts":1,"first_seen":1,"mtime_ns":1,"size":1,"journal":[{"window":1,"progress":7,"time":1,"state":""}]}"#,
        ]
        for text in hostile {
            let decoded = MarkerCoding.decode(PendingMarker.self, from: Array(text.utf8))
            #expect(decoded == nil, "\(text)")
            let o = JobObservation(entry: entry([.pending], source: fp), pending: decoded.map { .value($0) } ?? .unreadable)
            #expect(effects(plan(o)) == [.removeUnreadableMarker(job, .pending)])
        }
        let lease = #"{"attempt":1,"boot_id":"b","fingerprint":{"device":1,"inode":1,"mtime_ns":1,"size":1},"host":"h","pid":1,"started":-1e300}"#
        #expect(MarkerCoding.decode(LeaseHeader.self, from: Array(lease.utf8)) == nil)
        #expect(MarkerCoding.decode(PendingMarker.self, from: Array(#"{"attempts":3,"first_seen":1,"mtime_ns":-7,"size":1}"#.utf8)) != nil,
                "a file's mtime may be before 1970")
    }

    @Test func countsFromMarkersSaturateInsteadOfTrapping() {
        #expect(Int.max.saturatingAdding(1) == .max)
        #expect(Int.min.saturatingAdding(-1) == .min)
        #expect(41.saturatingAdding(1) == 42)
    }
}
