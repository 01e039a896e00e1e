import SystemPackage
import Testing
@testable import HotFolder

/// What a rescan does with a done job whose source is to be deleted (`delete_source`),
/// and with one whose source a hook removed: pure, observations in, actions out.
@Suite struct SourceDeletionPolicyTests {
    let job = Job(root: FilePath("/inbox"), relativePath: "de/talk.wav")
    let fp = Fingerprint(device: 1, inode: 2, size: 1000, mtimeNanoseconds: 5_000)
    let changed = Fingerprint(device: 1, inode: 9, size: 2000, mtimeNanoseconds: 6_000)

    func done(deleteSource: Bool?) -> DoneMarker {
        var d = DoneMarker(fingerprint: fp, audioDuration: 1, wallTime: 1, realTimeFactor: 1, peakRSSBytes: nil, model: nil,
                           outputs: ["/out/de/talk.wav.txt", "/out/de/talk.wav.srt"], finished: 1, attempts: 1, host: "h")
        d.deleteSource = deleteSource
        return d
    }

    func plan(source: Fingerprint?, deleteSource: Bool?, running: Set<String> = []) -> [ReconcileAction] {
        let o = JobObservation(entry: FolderSnapshot.Entry(job: job, fingerprint: source, markers: [.done]),
                               done: .value(done(deleteSource: deleteSource)))
        return Reconciler(options: QueueOptions(), running: running).plan([o], now: 10).filter {
            if case .claimCandidates = $0 { false } else { true }
        }
    }

    @Test func anInterruptedDeletionIsFinishedWhetherOrNotTheSourceIsStillThere() {
        #expect(plan(source: fp, deleteSource: true) == [.finishSourceDeletion(job)])
        #expect(plan(source: nil, deleteSource: true) == [.finishSourceDeletion(job)])
        // Not while this daemon's own supervisor is still finishing it.
        #expect(plan(source: fp, deleteSource: true, running: [job.relativePath]).isEmpty)
    }

    @Test func aSourceReplacedByOtherContentIsANewJobNotDeleted() {
        #expect(plan(source: changed, deleteSource: true) == [.redo(job, changed, after: .done)])
    }

    @Test func aSourceAHookRemovedLeavesTheJobDoneAndNothingToRun() {
        #expect(plan(source: nil, deleteSource: nil).isEmpty)
        #expect(plan(source: nil, deleteSource: false).isEmpty)
    }

    @Test func theRecordGoesBesideTheFirstOutput() {
        #expect(JobQueue.doneRecordPath(for: job, done: done(deleteSource: true)) == FilePath("/out/de/talk.wav.done.json"))
        var none = done(deleteSource: true)
        none.outputs = []
        #expect(JobQueue.doneRecordPath(for: job, done: none) == FilePath("/inbox/de/talk.wav.done.json"))
    }
}
