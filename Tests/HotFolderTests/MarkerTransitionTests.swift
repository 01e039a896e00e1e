import Foundation
import SystemPackage
import Testing
@testable import HotFolder

@Suite struct MarkerTransitionTests {
    let now = 1_800_000_000.0

    func setUp(_ folder: TestFolder, options: QueueOptions = QueueOptions()) throws -> (JobQueue, Job, Fingerprint) {
        folder.write("talk.mp3", "some audio bytes")
        let queue = JobQueue(layout: folder.layout, options: options)
        let job = folder.layout.job(relativePath: "talk.mp3")
        return (queue, job, try Fingerprint.of(job.path))
    }

    func markers(_ folder: TestFolder) -> [String] {
        folder.names().filter { JobState.parse(markerName: $0) != nil }
    }

    @Test func pendingClaimDone() throws {
        let folder = TestFolder()
        let (queue, job, fp) = try setUp(folder)
        #expect(try queue.markPending(job, fingerprint: fp, now: now))
        #expect(try !queue.markPending(job, fingerprint: fp, now: now), "a second pending marker must not replace the first")
        #expect(markers(folder) == ["talk.mp3.pending"])
        let claim = try #require(try queue.claim(job, now: now))
        #expect(claim.lease.attempt == 1)
        #expect(claim.lease.fingerprint == fp)
        #expect(markers(folder) == ["talk.mp3.processing"])
        #expect(try queue.claim(job, now: now) == nil, "nothing left to claim")
        let summary = DoneMarker(fingerprint: fp, audioDuration: 1, wallTime: 0.5, realTimeFactor: 0.5, peakRSSBytes: 1,
                                 model: "m", outputs: [], finished: now, attempts: 1, host: "h")
        try queue.complete(claim, summary: summary)
        #expect(markers(folder) == ["talk.mp3.done"])
        #expect(queue.readDone(job) == summary)
        #expect(!folder.names().contains { $0.hasPrefix(AtomicFile.tempPrefix) }, "no temp file left")
    }

    @Test func transientFailureReturnsToPendingWithBackoffThenFails() throws {
        let folder = TestFolder()
        var options = QueueOptions()
        options.maxAttempts = 2
        options.retryBackoffSeconds = 10
        let (queue, job, fp) = try setUp(folder, options: options)
        try queue.markPending(job, fingerprint: fp, now: now)
        let first = try #require(try queue.claim(job, now: now))
        #expect(try queue.fail(first, kind: .workerCrashed, message: "boom", now: now) == .pending)
        let pending = try #require(queue.readPending(job))
        #expect(pending.attempts == 1)
        #expect(pending.lastErrorKind == .workerCrashed)
        #expect(pending.notBefore == now + 10)
        #expect(try queue.claim(job, now: now + 5) == nil, "backoff not over yet")
        let second = try #require(try queue.claim(job, now: now + 11))
        #expect(second.lease.attempt == 2)
        #expect(try queue.fail(second, kind: .outOfMemory, message: "oom", now: now + 12) == .failed)
        let failed = try #require(queue.readFailed(job))
        #expect(failed.kind == .outOfMemory)
        #expect(failed.attempts == 2)
        #expect(markers(folder) == ["talk.mp3.failed"])
    }

    @Test func permanentFailureGoesStraightToFailed() throws {
        let folder = TestFolder()
        let (queue, job, fp) = try setUp(folder)
        try queue.markPending(job, fingerprint: fp, now: now)
        let claim = try #require(try queue.claim(job, now: now))
        #expect(try queue.fail(claim, kind: .notMedia, message: "talk.mp3: not a media file", now: now) == .failed)
        #expect(queue.readFailed(job)?.message == "talk.mp3: not a media file")
    }

    @Test func handBackKeepsAttemptsAndJournal() throws {
        let folder = TestFolder()
        let (queue, job, fp) = try setUp(folder)
        try queue.markPending(job, fingerprint: fp, now: now)
        let claim = try #require(try queue.claim(job, now: now))
        let entry = JournalEntry(window: 1, progress: 0.5, time: now, state: "{\"seek\":3000}")
        let handle = try FileDescriptor.open(job.marker(.processing), .writeOnly, options: [.append])
        _ = try handle.writeAll(MarkerCoding.encode(entry) + [10])
        try handle.close()
        #expect(queue.readProcessing(job)?.journal == [entry])
        try queue.handBack(claim, now: now)
        #expect(queue.readPending(job)?.attempts == 0)
        #expect(queue.readPending(job)?.journal == [entry])
        let again = try #require(try queue.claim(job, now: now))
        #expect(again.journal == [entry], "the next claim resumes from the checkpoint")
        #expect(again.lease.attempt == 1)
        #expect(queue.readProcessing(job)?.journal == [entry])
    }

    @Test func changedSourceDropsTheJournal() throws {
        let folder = TestFolder()
        let (queue, job, fp) = try setUp(folder)
        try queue.markPending(job, fingerprint: fp, now: now)
        let claim = try #require(try queue.claim(job, now: now))
        try queue.handBack(claim, now: now)
        var pending = try #require(queue.readPending(job))
        pending.journal = [JournalEntry(window: 1, progress: 0.5, time: now, state: "{}")]
        try AtomicFile.write(MarkerCoding.encode(pending), to: job.marker(.pending))
        folder.write("talk.mp3", "other, longer audio bytes")
        let again = try #require(try queue.claim(job, now: now))
        #expect(again.journal.isEmpty)
    }

    @Test func retryAndReset() throws {
        let folder = TestFolder()
        let (queue, job, fp) = try setUp(folder)
        try queue.markPending(job, fingerprint: fp, now: now)
        let claim = try #require(try queue.claim(job, now: now))
        try queue.fail(claim, kind: .corrupt, message: "bad", now: now)
        #expect(try queue.retry(job, now: now))
        #expect(markers(folder) == ["talk.mp3.pending"])
        #expect(try !queue.retry(job, now: now), "only failed jobs are retried")
        #expect(queue.reset(job) == 1)
        #expect(markers(folder).isEmpty)
    }

    @Test func claimLosesToAJobFinishedMeanwhile() throws {
        let folder = TestFolder()
        let (queue, job, fp) = try setUp(folder)
        try queue.markPending(job, fingerprint: fp, now: now)
        // Another daemon finished the job after we listed the folder but before we linked.
        let summary = DoneMarker(fingerprint: fp, audioDuration: 1, wallTime: 1, realTimeFactor: 1, peakRSSBytes: 1,
                                 model: nil, outputs: [], finished: now, attempts: 1, host: "h")
        try AtomicFile.write(MarkerCoding.encode(summary), to: job.marker(.done))
        #expect(try queue.claim(job, now: now) == nil)
        #expect(!folder.exists("talk.mp3.processing"))
    }
}
