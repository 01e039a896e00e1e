import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// The daemon as a user runs it: the real binary on a temporary folder, with the
/// test transcriber standing in for the model (the queue's behaviour is under test here).
@Suite(.serialized, .hangGuard) struct DaemonTests {
    @Test func filesArrivingByCopyMoveAndASlowWriterAreEachProcessedOnceWhenComplete() throws {
        let ws = Workspace(config: TestConfig.fast(top: DaemonCounters.config))
        let daemon = try ws.startDaemon()
        // cp: written and closed at once.
        ws.drop("copied.wav", String(repeating: "c", count: 5000))
        // mv: written elsewhere, renamed in whole.
        let outside = ws.root + "/staging.wav"
        _ = FileManager.default.createFile(atPath: outside, contents: Data(String(repeating: "m", count: 7000).utf8))
        try FileManager.default.moveItem(atPath: outside, toPath: ws.inbox + "/moved.wav")
        // A slow writer: the file open all along, and after each piece two rescans
        // (rescan_seconds 2 apart, more than settle_seconds) that find it unchanged:
        // only the open writer keeps it from settling.
        let slow = ws.inbox + "/slow.wav"
        _ = FileManager.default.createFile(atPath: slow, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: slow))
        for i in 0..<2 {
            handle.write(Data(String(repeating: "s", count: 1000).utf8))
            ws.awaitTwoRescans(by: daemon)
            #expect(!FileManager.default.fileExists(atPath: slow + ".pending") && !FileManager.default.fileExists(atPath: slow + ".done"),
                    "the slow file became a job before its writer closed it (piece \(i))")
        }
        try handle.close()
        #expect(waitUntil(seconds: 120) { ws.count(suffix: ".done") == 3 }, "log:\n\(daemon.log)")
        #expect(daemon.terminate() == 0)
        expectOnlyDone(ws, jobs: ["copied.wav", "moved.wav", "slow.wav"])
        #expect(ws.seen() == ["copied.wav": 1, "moved.wav": 1, "slow.wav": 1])
        let transcript = try String(contentsOfFile: slow + ".txt", encoding: .utf8)
        #expect(transcript.contains("2000 bytes"), "the transcript must be of the whole file: \(transcript)")
    }

    @Test func killNineAtRandomMomentsLosesAndDuplicatesNothing() throws {
        let ws = Workspace(config: TestConfig.fast(top: "workers = 2"))
        let jobs = (0..<50).map { String(format: "job-%02d.wav", $0) }
        for (i, job) in jobs.enumerated() { ws.drop(job, String(repeating: "x", count: 1000 + i)) }
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        let started = Date()
        while kills < 12 {
            let daemon = try ws.startDaemon(windowMilliseconds: 40, tag: "crash")
            usleep(UInt32.random(in: 300_000...2_500_000, using: &rng))
            daemon.kill9()
            kills += 1
        }
        let last = try ws.startDaemon(windowMilliseconds: 40, tag: "crash")
        let finished = waitUntil(seconds: 120, poll: 0.25) { ws.count(suffix: ".done") == jobs.count }
        #expect(finished, "done: \(ws.count(suffix: ".done")) of \(jobs.count)\n\(last.log.suffix(3000))")
        awaitTempsSwept(ws)
        #expect(last.terminate() == 0)
        expectOnlyDone(ws, jobs: jobs)
        for (i, job) in jobs.enumerated() {
            let text = try String(contentsOfFile: ws.inbox + "/" + job + ".txt", encoding: .utf8)
            #expect(text.contains("\(1000 + i) bytes"))
        }
        let seen = ws.seen()
        #expect(Set(seen.keys) == Set(jobs), "every job transcribed")
        print("crash test: \(jobs.count) jobs, \(kills) kill -9, \(String(format: "%.1f", Date().timeIntervalSince(started))) s, "
              + "transcriptions \(seen.values.reduce(0, +)) (redone after a kill between transcription and done: \(seen.values.reduce(0, +) - jobs.count))")
    }

    @Test func fourDaemonsOnOneFolderProcessEachJobExactlyOnce() throws {
        let ws = Workspace(config: TestConfig.fast(top: "workers = 2"))
        let jobs = (0..<200).map { String(format: "j%03d.wav", $0) }
        for job in jobs { ws.drop(job, "audio \(job)") }
        let started = Date()
        let daemons = try (0..<4).map { try ws.startDaemon(windowMilliseconds: 5, windows: 2, tag: "d\($0)") }
        let finished = waitUntil(seconds: 180, poll: 0.25) { ws.count(suffix: ".done") == jobs.count }
        #expect(finished, "done: \(ws.count(suffix: ".done"))")
        for d in daemons { #expect(d.terminate() == 0) }
        let seen = ws.seen()
        #expect(seen.count == jobs.count)
        #expect(seen.values.allSatisfy { $0 == 1 }, "transcribed more than once: \(seen.filter { $0.value > 1 })")
        expectOnlyDone(ws, jobs: jobs)
        let perDaemon = daemons.map { $0.log.components(separatedBy: "] done").count - 1 }
        print("four daemons: \(jobs.count) jobs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, per daemon \(perDaemon)")
    }

    @Test func withoutInotifyTheRescanFindsJobs() throws {
        let ws = Workspace(config: TestConfig.fast(top: DaemonCounters.config))
        let daemon = try ws.startDaemon(["--no-inotify"])
        // Dropped after the first pass, so no start-up scan finds it.
        #expect(waitUntil(seconds: 60) { ws.rescansPublished() >= 1 }, "\(daemon.log)")
        ws.drop("sub/dir/late.wav", "late")
        // Found by a rescan (every 2 s, settle 1 s): no inotify event will come.
        #expect(waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: ws.inbox + "/sub/dir/late.wav.done") }, "\(daemon.log)")
        #expect(daemon.log.contains("inotify=false"))
        #expect(daemon.terminate() == 0)
    }

    @Test func sigtermHandsTheRunningJobBackAndARestartResumesIt() throws {
        let ws = Workspace(config: TestConfig.fast())
        ws.drop("long.wav", String(repeating: "l", count: 4000))
        var daemon = try ws.startDaemon(windowMilliseconds: 700, windows: 8)
        // Stopped once the job has journaled a checkpoint (the lease line and one entry).
        #expect(waitUntil(seconds: 120) { journalLines(ws.inbox + "/long.wav.processing") >= 2 })
        #expect(daemon.terminate() == 0)
        let pending = try String(contentsOfFile: ws.inbox + "/long.wav.pending", encoding: .utf8)
        #expect(pending.contains("\"journal\""), "the checkpoints travel with the pending marker: \(pending)")
        #expect(pending.contains("\"attempts\":0"), "a shutdown does not count as an attempt")
        daemon = try ws.startDaemon(windowMilliseconds: 700, windows: 8)
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: ws.inbox + "/long.wav.done") }, "\(daemon.log)")
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("resume.checkpoints=") && !daemon.log.contains("resume.checkpoints=0"))
        let text = try String(contentsOfFile: ws.inbox + "/long.wav.txt", encoding: .utf8)
        #expect(text.contains("4000 bytes"))
    }

    @Test func statusRetryAndResetOnAFolderWithEveryState() throws {
        let ws = Workspace(config: TestConfig.fast(queue: "max_attempts = 1"))
        ws.drop("ok.wav", "fine")
        ws.drop("bad.mp3", "FAIL: not audio")
        var daemon = try ws.startDaemon()
        #expect(waitUntil(seconds: 120) { ws.count(suffix: ".done") == 1 && ws.count(suffix: ".failed") == 1 }, "\(daemon.log)")
        #expect(daemon.terminate() == 0)
        // A long job in progress, and one waiting.
        ws.drop("long.wav", "long job")
        ws.drop("waiting.wav", "waits")
        daemon = try ws.startDaemon(windowMilliseconds: 3000, windows: 20)
        // Both settle in the same tick; which one is claimed first is not specified.
        #expect(waitUntil(seconds: 120) {
            ["long.wav", "waiting.wav"].contains { journalLines(ws.inbox + "/\($0).processing") >= 2 } && ws.count(suffix: ".pending") == 1
        }, "\(daemon.log)")
        let (status, out, _) = try Binary.run(["status", ws.inbox, "--json"])
        #expect(status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let counts = try #require(json["counts"] as? [String: Int])
        #expect(counts == ["pending": 1, "processing": 1, "done": 1, "failed": 1])
        let running = try #require((json["processing"] as? [[String: Any]])?.first)
        #expect((running["percent"] as? Double ?? 0) > 0, "percent done from the journal")
        #expect(running["pid"] as? Int == Int(daemon.pid))
        let failed = try #require((json["failed"] as? [[String: Any]])?.first)
        #expect(failed["job"] as? String == "bad.mp3")
        #expect(failed["kind"] as? String == "not-media")
        let (_, text, _) = try Binary.run(["status", ws.inbox])
        #expect(text.contains("pending 1  processing 1  done 1  failed 1"))
        #expect(text.contains("bad.mp3  [not-media]"))
        #expect(daemon.terminate() == 0)

        // retry: failed → pending
        let (rs, rout, _) = try Binary.run(["retry", ws.inbox + "/bad.mp3"])
        #expect(rs == 0, "\(rout)")
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/bad.mp3.pending"))
        #expect(!FileManager.default.fileExists(atPath: ws.inbox + "/bad.mp3.failed"))
        // reset --all: no markers left, outputs kept
        let (zs, zout, _) = try Binary.run(["reset", "--all", "--inbox", ws.inbox])
        #expect(zs == 0, "\(zout)")
        #expect(ws.names().filter { JobStateLike.isMarker($0) }.isEmpty, "\(ws.names())")
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/ok.wav.txt"))
        let (us, _, uerr) = try Binary.run(["retry"])
        #expect(us == 2, "no paths and no --all is a usage error: \(uerr)")
    }

    @Test func transientFailuresAreRetriedThenFail() throws {
        let ws = Workspace(config: TestConfig.fast())
        ws.drop("crashy.wav", "CRASH please")
        ws.drop("fine.wav", "fine")
        let daemon = try ws.startDaemon()
        #expect(waitUntil(seconds: 120) {
            FileManager.default.fileExists(atPath: ws.inbox + "/crashy.wav.failed")
                && FileManager.default.fileExists(atPath: ws.inbox + "/fine.wav.done")
        }, "\(daemon.log)")
        #expect(daemon.terminate() == 0)
        // Two retries then the failure: the marker's attempt count says so (not the log).
        let failed = try String(contentsOfFile: ws.inbox + "/crashy.wav.failed", encoding: .utf8)
        #expect(failed.contains("\"kind\":\"worker-crashed\""))
        #expect(failed.contains("\"attempts\":3"))
    }

    @Test func aSourceChangedAfterDoneIsTranscribedAgain() throws {
        let ws = Workspace(config: TestConfig.fast())
        let path = ws.drop("talk.wav", "first version")
        let daemon = try ws.startDaemon()
        // The first job has ended (its lease is gone) before the source changes.
        #expect(waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: path + ".done") && !FileManager.default.fileExists(atPath: path + ".processing") })
        try "second, longer version".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(waitUntil(seconds: 120) {
            ((try? String(contentsOfFile: path + ".txt", encoding: .utf8)) ?? "").contains("22 bytes")
                && FileManager.default.fileExists(atPath: path + ".done")
        }, "\(daemon.log)")
        #expect(daemon.terminate() == 0)
        #expect(ws.seen()["talk.wav"] == 2)
    }

    /// Without inotify, nothing tells the daemon of a rewrite in place (the folder's
    /// listing does not change, so the rescan's cache skips the folder); the periodic
    /// verification of finished jobs (`recheck_done_seconds`) finds it.
    @Test func aSourceRewrittenInPlaceAfterDoneIsRedoneWithinTheRecheckPeriod() throws {
        let ws = Workspace(config: TestConfig.fast().replacingOccurrences(of: "rescan_seconds = 2", with: """
            rescan_seconds = 1
            recheck_done_seconds = 4
            inotify = false
            """))
        let path = ws.drop("memo.wav", "first version")
        let daemon = try ws.startDaemon()
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: path + ".done") }, "\(daemon.log)")
        let inode = try #require(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
        try "second, longer version".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64 == inode)
        #expect(waitUntil(seconds: 60) {
            ((try? String(contentsOfFile: path + ".txt", encoding: .utf8)) ?? "").contains("22 bytes")
                && FileManager.default.fileExists(atPath: path + ".done")
        }, "\(daemon.log)")
        #expect(daemon.terminate() == 0)
        #expect(ws.seen()["memo.wav"] == 2)
    }

    @Test func aSourceDeletedOrReplacedMidJobIsAbandonedCleanly() throws {
        let ws = Workspace(config: TestConfig.fast())
        let deleted = ws.drop("deleted.wav", String(repeating: "d", count: 3000))
        let daemon = try ws.startDaemon(windowMilliseconds: 600, windows: 6)
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: deleted + ".processing") })
        try FileManager.default.removeItem(atPath: deleted)
        let replaced = ws.drop("replaced.wav", String(repeating: "r", count: 3000))
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: replaced + ".processing") }, "\(daemon.log)")
        try FileManager.default.removeItem(atPath: replaced)
        _ = FileManager.default.createFile(atPath: replaced, contents: Data(String(repeating: "n", count: 1234).utf8))
        #expect(waitUntil(seconds: 120) {
            ((try? String(contentsOfFile: replaced + ".txt", encoding: .utf8)) ?? "").contains("1234 bytes")
                && FileManager.default.fileExists(atPath: replaced + ".done")
        }, "the replacement is transcribed, never the old content: \(daemon.log)")
        #expect(daemon.terminate() == 0)
        #expect(!ws.names().contains { $0.hasPrefix("deleted.wav") }, "nothing left of the deleted job: \(ws.names())")
        #expect(daemon.log.contains("abandoned"))
        #expect(!((try? String(contentsOfFile: replaced + ".txt", encoding: .utf8)) ?? "").contains("3000 bytes"))
    }

    @Test func outputDirInsideTheInboxIsNeverScanned() throws {
        let ws = Workspace(config: TestConfig.fast(top: "output_dir = \"inbox/transcripts\"\nformats = [\"txt\"]\n" + DaemonCounters.config))
        try FileManager.default.createDirectory(atPath: ws.inbox + "/transcripts", withIntermediateDirectories: true)
        ws.drop("a/talk.wav", "talk")
        let daemon = try ws.startDaemon()
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: ws.inbox + "/a/talk.wav.done") }, "\(daemon.log)")
        ws.awaitTwoRescans(by: daemon)
        #expect(daemon.terminate() == 0)
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/transcripts/a/talk.wav.txt"))
        #expect(ws.names(ws.inbox + "/transcripts") == ["a", "a/talk.wav.txt"], "no markers inside output_dir")
    }

    @Test func noJobStartsWhileMemoryIsShort() throws {
        let ws = Workspace(config: TestConfig.fast(top: DaemonCounters.config))
        ws.drop("waits.wav", "audio")
        let daemon = try ws.startDaemon(environment: ["DROPSCRIBE_MEMAVAILABLE_MB": "64"])
        #expect(waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: ws.inbox + "/waits.wav.pending") })
        // Each pass offers the pending job to the free slot; two of them after it was marked.
        ws.awaitTwoRescans(by: daemon)
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/waits.wav.pending"), "the job must wait")
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("too little memory available"))
        let again = try ws.startDaemon(tag: "d2")
        #expect(waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: ws.inbox + "/waits.wav.done") }, "\(again.log)")
        #expect(again.terminate() == 0)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to mount a small tmpfs"))
    func aFullDiskSendsTheJobBackAndItFinishesOnceSpaceIsFree() throws {
        let ws = Workspace(config: TestConfig.fast(top: DaemonCounters.config))
        guard mountTmpfs(ws.inbox, size: "1m") else { Issue.record("cannot mount a tmpfs"); return }
        defer { _ = umount2(ws.inbox, Int32(MNT_DETACH)) }
        let job = ws.drop("talk.wav", String(repeating: "t", count: 2000))
        let daemon = try ws.startDaemon(windowMilliseconds: 500, windows: 8)
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: job + ".processing") }, "\(daemon.log)")
        // Fill the disk while the job journals, and keep it full (space freed by removed
        // markers is taken again) until we free it.
        let filler = ws.inbox + "/.filler"
        let keepFull = DiskFiller(path: filler)
        #expect(waitUntil(seconds: 120) { daemon.log.contains("disk full") || daemon.log.contains("No space left") }, "\(daemon.log)")
        ws.awaitTwoRescans(by: daemon)
        #expect(!FileManager.default.fileExists(atPath: job + ".txt"), "no output while the disk is full")
        #expect(!FileManager.default.fileExists(atPath: job + ".done"))
        #expect(daemon.process.isRunning, "the daemon keeps running")
        keepFull.stop()
        try FileManager.default.removeItem(atPath: filler)
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: job + ".done") }, "\(daemon.log.suffix(3000))")
        #expect(daemon.terminate() == 0)
        let text = (try? String(contentsOfFile: job + ".txt", encoding: .utf8)) ?? ""
        #expect(text.contains("2000 bytes"))
        #expect(!ws.names().contains { $0.contains(".dropscribe-") }, "\(ws.names())")
    }

    /// Appends to a file until told to stop, so the filesystem stays full.
    final class DiskFiller: @unchecked Sendable {
        // Invariant: `stopped` is only touched under `lock`.
        private let lock = NSLock()
        private var stopped = false
        private let done = DispatchSemaphore(value: 0)

        init(path: String) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let fd = open(path, O_WRONLY | O_APPEND)
            Thread.detachNewThread { [self] in
                let block = [UInt8](repeating: 0, count: 4096)
                while !lock.withLock({ stopped }) {
                    if write(fd, block, block.count) <= 0 { _ = write(fd, block, 1); usleep(20_000) }
                }
                close(fd)
                done.signal()
            }
            usleep(300_000)
        }

        func stop() {
            lock.withLock { stopped = true }
            done.wait()
        }
    }

    func mountTmpfs(_ path: String, size: String) -> Bool {
        mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0
    }
}

enum JobStateLike {
    static func isMarker(_ name: String) -> Bool {
        [".pending", ".processing", ".done", ".failed"].contains { name.hasSuffix($0) }
    }
}

/// Lines in a `.processing` marker: its lease, then one per journaled checkpoint (0 while absent).
func journalLines(_ marker: String) -> Int {
    ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n").count
}
