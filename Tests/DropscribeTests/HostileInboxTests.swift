import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// Markers planted by someone hostile (or careless) with write access to the inbox:
/// the real binary with the test transcriber must stay up, finish every other job
/// exactly once, and say what it skipped. Decided from markers, never from timing.
@Suite(.serialized, .hangGuard) struct HostileInboxTests {
    static let others = ["ok-1.wav", "ok-2.wav", "ok-3.wav"]

    /// Starts a daemon on a folder prepared by `plant` plus three ordinary jobs, waits
    /// for those to be done, and checks the daemon is still up and did each once.
    @discardableResult
    func runBeside(_ plant: (Workspace) throws -> Void, extra: [String] = [], check: (Workspace, DaemonProcess) throws -> Void = { _, _ in }) throws -> Workspace {
        let ws = Workspace(config: TestConfig.fast())
        for (i, job) in Self.others.enumerated() { ws.drop(job, String(repeating: "o", count: 500 + i)) }
        try plant(ws)
        let daemon = try ws.startDaemon()
        let jobs = Self.others + extra
        let finished = waitUntil(seconds: 60) { jobs.allSatisfy { FileManager.default.fileExists(atPath: ws.inbox + "/\($0).done") } }
        #expect(finished, "\(ws.names())\n\(daemon.log.suffix(3000))")
        #expect(daemon.process.isRunning, "the daemon must survive: \(daemon.log.suffix(2000))")
        try check(ws, daemon)
        #expect(daemon.terminate() == 0)
        expectOnlyDone(ws, jobs: jobs)
        // The test transcriber's log is line-based: a name with a newline is checked by its markers alone.
        for job in jobs where !job.contains("\n") { #expect(ws.seen()[job] == 1, "\(job) transcribed exactly once") }
        return ws
    }

    func status(_ ws: Workspace, json: Bool = false) throws -> (Int32, String) {
        // A status that blocked on a marker would be killed by the timeout and fail the check.
        let (code, out, err) = try Binary.run(["status", ws.inbox] + (json ? ["--json"] : []), timeout: 30)
        return (code, out + err)
    }

    @Test func fifoMarkersDoNotFreezeTheDaemonOrStatus() throws {
        try runBeside({ ws in
            #expect(mkfifo(ws.inbox + "/x.wav.processing", 0o644) == 0)
            ws.drop("y.wav", "real audio beside a fifo done marker")
            #expect(mkfifo(ws.inbox + "/y.wav.done", 0o644) == 0)
            #expect(mkfifo(ws.inbox + "/p.wav", 0o644) == 0)  // a "job" no worker could read
        }, check: { ws, _ in
            let (code, out) = try status(ws)
            #expect(code == 0, "\(out)")
            #expect(out.contains("y.wav.done is a fifo"), "\(out)")
            #expect(ws.seen()["y.wav"] == nil, "a job whose marker is a FIFO is skipped, not redone")
            #expect(!ws.names().contains { $0.hasPrefix("p.wav.") }, "a FIFO is never marked as a job: \(ws.names())")
        })
    }

    @Test func aDirectoryWhereAMarkerBelongsIsReportedAndSkipped() throws {
        try runBeside({ ws in
            ws.drop("d.wav", "audio")
            try FileManager.default.createDirectory(atPath: ws.inbox + "/d.wav.pending", withIntermediateDirectories: false)
        }, check: { ws, _ in
            let (code, out) = try status(ws, json: true)
            #expect(code == 0, "\(out)")
            #expect(out.contains("bad-marker") && out.contains("d.wav.pending is a directory"), "\(out)")
            #expect(ws.seen()["d.wav"] == nil)
        })
    }

    @Test func aHugeAttemptsCountIsAnUnreadableMarkerNotACrash() throws {
        try runBeside({ ws in
            ws.drop("big.wav", "audio with a hostile pending marker")
            let marker = #"{"attempts":9223372036854775807,"first_seen":1,"mtime_ns":1,"size":1}"#
            #expect(FileManager.default.createFile(atPath: ws.inbox + "/big.wav.pending", contents: Data(marker.utf8)))
        }, extra: ["big.wav"])
    }

    @Test func aFileDatedPastTheYear2262IsAJobLikeAnyOther() throws {
        try runBeside({ ws in
            let path = ws.drop("future.wav", "audio from the far future")
            var times = [timespec(tv_sec: 13_569_465_600, tv_nsec: 0), timespec(tv_sec: 13_569_465_600, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }, extra: ["future.wav"])
    }

    @Test func statusSurvivesAnAbsurdLeaseAndEscapesMarkerText() throws {
        try runBeside({ ws in
            ws.drop("z.wav", "audio")
            let lease = #"{"attempt":1,"boot_id":"b","fingerprint":{"device":1,"inode":1,"mtime_ns":1,"size":1},"host":"elsewhere.invalid","pid":1,"started":-1e300}"#
            _ = FileManager.default.createFile(atPath: ws.inbox + "/z.wav.processing", contents: Data((lease + "\n").utf8))
            ws.drop("f.wav", "audio")
            let failed = #"{"attempts":1,"kind":"corrupt","message":"boom\nforged status line","time":1,"fingerprint":null}"#
            _ = FileManager.default.createFile(atPath: ws.inbox + "/f.wav.failed", contents: Data(failed.utf8))
            let (code, out) = try status(ws)
            #expect(code == 0, "status must not crash on a -1e300 lease: \(out)")
            #expect(out.contains("z.wav"), "\(out)")
            #expect(!out.split(separator: "\n").contains { $0.hasPrefix("forged") }, "a marker's newline must not forge a status line: \(out)")
        }, extra: ["z.wav"])
    }

    /// A pending marker carrying a hand-made journal whose checkpoint says the job is
    /// finished (the test transcriber's state: every window done, a made-up hash).
    @Test func aForgedJournalIsIgnoredAndTheJobStartsFromTheBeginning() throws {
        let content = "the real audio of a job with a forged journal"
        try runBeside({ ws in
            // One checkpoint without a MAC, one with a made-up MAC.
            for (job, mac) in [("forged.wav", nil), ("forged1.wav", String(repeating: "ab", count: 32))] {
                let f = try Fingerprint.of(FilePath(ws.drop(job, content)))
                let entry = JournalEntry(window: 4, progress: 1, time: 1, state: #"{"hash":1234,"window":4}"#, mac: mac)
                let marker = PendingMarker(size: f.size, mtimeNanoseconds: f.mtimeNanoseconds, firstSeen: 1, journal: [entry])
                #expect(FileManager.default.createFile(atPath: ws.inbox + "/\(job).pending", contents: try JSONEncoder().encode(marker)))
            }
        }, extra: ["forged.wav", "forged1.wav"], check: { ws, daemon in
            for job in ["forged.wav", "forged1.wav"] {
                let txt = try String(contentsOfFile: ws.inbox + "/\(job).txt", encoding: .utf8)
                #expect(txt.contains("fnv1a \(String(fnv1a(content), radix: 16))"), "the real content was transcribed: \(txt)")
                #expect(!txt.contains("fnv1a 4d2"), "the forged checkpoint's hash (1234) was published: \(txt)")
                #expect(daemon.log.contains("the journal of \(job) has a checkpoint without a valid MAC"), "\(daemon.log.suffix(3000))")
            }
            let key = try FileManager.default.attributesOfItem(atPath: ws.root + "/journal.key")
            #expect((key[.posixPermissions] as? Int) == 0o600, "the key is created beside the config, owner-only")
        })
    }

    @Test func aNewlineInANameCannotForgeALogLine() throws {
        let evil = "evil\nforged line.wav"
        try runBeside({ ws in ws.drop(evil, "audio") }, extra: [evil], check: { _, daemon in
            #expect(!daemon.log.split(separator: "\n").contains { $0.hasPrefix("forged line") }, "\(daemon.log.suffix(3000))")
        })
    }
}

/// The test transcriber's hash of a whole file (FNV-1a, 64 bits): what its transcript names.
func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
    return hash
}
