import Foundation
import SystemPackage
import Testing
@testable import HotFolder

@Suite struct ClaimAndLeaseTests {
    let now = 1_800_000_000.0

    @Test func exactlyOneOfManyConcurrentClaimantsWins() async throws {
        for round in 0..<20 {
            let folder = TestFolder()
            folder.write("job-\(round).wav")
            let job = folder.layout.job(relativePath: "job-\(round).wav")
            let fp = try Fingerprint.of(job.path)
            try JobQueue(layout: folder.layout, options: QueueOptions()).markPending(job, fingerprint: fp, now: now)
            let layout = folder.layout
            let t = now
            let winners = await withTaskGroup(of: Int.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        let queue = JobQueue(layout: layout, options: QueueOptions(), identity: .fake(host: "host-\(i)"))
                        return (try? queue.claim(job, now: t)) != nil ? 1 : 0
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(winners == 1, "round \(round)")
            #expect(!folder.names().contains { $0.hasPrefix(AtomicFile.tempPrefix) })
        }
    }

    @Test func deadOwnerOnThisHostIsTakenOverAtOnceWithItsJournal() throws {
        let folder = TestFolder()
        folder.write("a.wav")
        let job = folder.layout.job(relativePath: "a.wav")
        let me = OwnerIdentity.current()
        // A lease written by a process of this host that no longer exists.
        let dead = OwnerIdentity(host: me.host, pid: 4_000_000, pidStart: 5, bootID: me.bootID)
        let old = JobQueue(layout: folder.layout, options: QueueOptions(), identity: dead)
        try old.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
        _ = try #require(try old.claim(job, now: now))
        let entry = JournalEntry(window: 2, progress: 0.4, time: now, state: "{}")
        let fd = try FileDescriptor.open(job.marker(.processing), .writeOnly, options: [.append])
        _ = try fd.writeAll(MarkerCoding.encode(entry) + [10])
        try fd.close()

        let queue = JobQueue(layout: folder.layout, options: QueueOptions(), identity: me)
        let info = try #require(queue.readProcessing(job))
        #expect(queue.isStale(lease: info.lease, modified: info.modified, now: now))
        let claim = try #require(try queue.takeOver(job, now: now))
        #expect(claim.journal == [entry])
        #expect(claim.lease.pid == me.pid)
        #expect(queue.readProcessing(job)?.journal == [entry])
        #expect(try queue.takeOver(job, now: now) == nil, "a live lease (ours) is not taken over")
        #expect(!folder.names().contains { $0.hasPrefix(AtomicFile.tempPrefix) })
    }

    /// A job claimed under the name of a live process of this host and boot, and how `me` reads its lease.
    func leaseHeld(byLivePid pid: Int32, seenBy me: OwnerIdentity) throws -> (JobQueue, (lease: LeaseHeader?, journal: [JournalEntry], modified: Double)) {
        let folder = TestFolder()
        folder.write("a.wav")
        let job = folder.layout.job(relativePath: "a.wav")
        let live = OwnerIdentity(host: me.host, pid: pid, pidStart: Syscall.processStartTime(pid), bootID: me.bootID)
        let owner = JobQueue(layout: folder.layout, options: QueueOptions(), identity: live)
        try owner.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
        _ = try #require(try owner.claim(job, now: now))
        let queue = JobQueue(layout: folder.layout, options: QueueOptions(), identity: me)
        return (queue, try #require(queue.readProcessing(job)))
    }

    @Test func liveOwnerOnThisHostIsNeverTakenOver() throws {
        // The parent process is alive, and it counts as a daemon like us when it runs what we run.
        var me = OwnerIdentity.current()
        me.executable = Syscall.executable(of: getppid())
        let (queue, info) = try leaseHeld(byLivePid: getppid(), seenBy: me)
        #expect(me.holder(of: try #require(info.lease)) == .aliveHere)
        #expect(!queue.isStale(lease: info.lease, modified: info.modified, now: now + 100_000))
    }

    /// A hand-made lease naming a live process of this host and boot (pid 1, with its real
    /// start time, or our parent, which is no daemon) holds the job only until the timeout.
    @Test(arguments: [Int32(1), getppid()])
    func aLivePidThatIsNotADaemonLikeUsIsStaleAfterTheTimeout(_ pid: Int32) throws {
        let me = OwnerIdentity.current()
        let (queue, info) = try leaseHeld(byLivePid: pid, seenBy: me)
        #expect(me.holder(of: try #require(info.lease)) == .unverifiedHere)
        #expect(!queue.isStale(lease: info.lease, modified: info.modified, now: info.modified + 60))
        #expect(queue.isStale(lease: info.lease, modified: info.modified, now: info.modified + 121))
    }

    @Test func otherHostsLeaseIsStaleOnlyAfterTheTimeout() throws {
        let folder = TestFolder()
        folder.write("a.wav")
        let job = folder.layout.job(relativePath: "a.wav")
        var options = QueueOptions()
        options.leaseTimeoutSeconds = 60
        let remote = JobQueue(layout: folder.layout, options: options, identity: .fake(host: "elsewhere"))
        try remote.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
        _ = try #require(try remote.claim(job, now: now))
        let queue = JobQueue(layout: folder.layout, options: options)
        let info = try #require(queue.readProcessing(job))
        #expect(!queue.isStale(lease: info.lease, modified: info.modified, now: info.modified + 30))
        #expect(queue.isStale(lease: info.lease, modified: info.modified, now: info.modified + 61))
        #expect(try queue.takeOver(job, now: info.modified + 30) == nil)
        // The heartbeat keeps it fresh: a lease last refreshed in 2001 is stale now, and
        // after a heartbeat it carries the current time again.
        let longAgo = 1_000_000_000.0
        try setModificationTime(job.marker(.processing), to: longAgo)
        let aged = try #require(queue.readProcessing(job))
        #expect(aged.modified == longAgo)
        let wallClock = Date().timeIntervalSince1970
        #expect(queue.isStale(lease: aged.lease, modified: aged.modified, now: wallClock))
        remote.heartbeat(Claim(job: job, lease: try #require(info.lease), journal: []))
        let refreshed = try #require(queue.readProcessing(job))
        #expect(refreshed.modified > longAgo + 86_400, "the heartbeat moved the lease's time to now")
        #expect(!queue.isStale(lease: refreshed.lease, modified: refreshed.modified, now: wallClock))
    }

    @Test func concurrentTakeoversHaveOneWinner() async throws {
        let folder = TestFolder()
        folder.write("a.wav")
        let job = folder.layout.job(relativePath: "a.wav")
        let me = OwnerIdentity.current()
        let dead = JobQueue(layout: folder.layout, options: QueueOptions(),
                            identity: OwnerIdentity(host: me.host, pid: 4_000_001, pidStart: 5, bootID: me.bootID))
        try dead.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
        _ = try #require(try dead.claim(job, now: now))
        let layout = folder.layout
        let t = now
        let winners = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let q = JobQueue(layout: layout, options: QueueOptions(), identity: me)
                    return (try? q.takeOver(job, now: t)) != nil ? 1 : 0
                }
            }
            return await group.reduce(0, +)
        }
        #expect(winners == 1)
        #expect(folder.exists("a.wav.processing"))
    }
}

/// Sets a file's modification time, so a test can age a lease without waiting.
private func setModificationTime(_ path: FilePath, to seconds: Double) throws {
    let time = timespec(tv_sec: Int(seconds), tv_nsec: 0)
    let result = [time, time].withUnsafeBufferPointer { utimensat(AT_FDCWD, path.string, $0.baseAddress, 0) }
    guard result == 0 else { throw Errno(rawValue: errno) }
}
