import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// The attacks that need the test transcriber (see `HostileRunTests` for the others, with
/// the real model): the real binary must stay up, finish every other job exactly once,
/// and end each attack as planned. Decided from markers, never from timing.
@Suite(.serialized, .hangGuard) struct HostileInboxTests {
    static let others = ["ok-1.wav", "ok-2.wav", "ok-3.wav"]

    /// Starts a daemon on a folder prepared by `plant` plus three ordinary jobs, waits
    /// for those to be done, and checks the daemon is still up and did each once.
    @discardableResult
    func runBeside(_ plant: (Workspace) throws -> Void, extra: [String] = [], config: String = TestConfig.fast(),
                   check: (Workspace, DaemonProcess) throws -> Void = { _, _ in }) throws -> Workspace {
        let ws = Workspace(config: config)
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

    /// What needs the test transcriber (its content-driven faults and its visible state):
    /// pending markers carrying hand-made journals whose checkpoint says the job is finished
    /// (every window done, a made-up hash), one without a MAC and one with a made-up MAC;
    /// a sparse file of 40 hours of (test) audio; a job whose worker never returns; and a
    /// source touched again and again while its job runs. One daemon run.
    @Test func forgedJournalsAndUnboundedWorkInOneRun() throws {
        let content = "the real audio of a job with a forged journal"
        let forged = ["forged.wav", "forged1.wav"]
        let expected: [String: (kind: FailureKind, attempts: Int)] = [
            "forty-hours.wav": (.tooLong, 1), "hang.wav": (.timedOut, 1), "touched.wav": (.sourceChanged, 3)]
        var toucher: Process?
        defer { toucher?.terminate() }
        try runBeside({ ws in
            for (job, mac) in zip(forged, [nil, String(repeating: "ab", count: 32)]) {
                let f = try Fingerprint.of(FilePath(ws.drop(job, content)))
                let entry = JournalEntry(window: 4, progress: 1, time: 1, state: #"{"hash":1234,"window":4}"#, mac: mac)
                let marker = PendingMarker(size: f.size, mtimeNanoseconds: f.mtimeNanoseconds, firstSeen: 1, journal: [entry])
                #expect(FileManager.default.createFile(atPath: ws.inbox + "/\(job).pending", contents: try JSONEncoder().encode(marker)))
            }
            #expect(truncate(ws.drop("forty-hours.wav", ""), 40 * 3600 * 32000) == 0)  // sparse: no disk used
            ws.drop("hang.wav", "HANG")
            let touched = ws.drop("touched.wav", "audio that keeps changing under its job")
            let f = try Fingerprint.of(FilePath(touched))
            let marker = PendingMarker(size: f.size, mtimeNanoseconds: f.mtimeNanoseconds, firstSeen: 1)
            #expect(FileManager.default.createFile(atPath: touched + ".pending", contents: try JSONEncoder().encode(marker)))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "while :; do touch \"$0\"; sleep 0.02; done", touched]
            try p.run()
            toucher = p
        }, extra: forged, config: TestConfig.fast(top: "workers = 2\n[limits]\njob_timeout_min_seconds = 8",
                                                 // "redo" would take the failed job back once the file settles, which it never does here.
                                                 queue: "on_change = \"ignore\""), check: { ws, daemon in
            for job in forged {
                let txt = try String(contentsOfFile: ws.inbox + "/\(job).txt", encoding: .utf8)
                #expect(txt.contains("fnv1a \(String(fnv1a(content), radix: 16))"), "the real content was transcribed: \(txt)")
                #expect(!txt.contains("fnv1a 4d2"), "the forged checkpoint's hash (1234) was published: \(txt)")
                #expect(daemon.log.contains("the journal of \(job) has a checkpoint without a valid MAC"), "\(daemon.log.suffix(3000))")
            }
            let key = try FileManager.default.attributesOfItem(atPath: ws.root + "/journal.key")
            #expect((key[.posixPermissions] as? Int) == 0o600, "the key is created beside the config, owner-only")

            let ended = waitUntil(seconds: 90) { expected.keys.allSatisfy { FileManager.default.fileExists(atPath: ws.inbox + "/\($0).failed") } }
            #expect(ended, "\(ws.names())\n\(daemon.log.suffix(3000))")
            for (job, want) in expected where ended {
                let failed = try JSONDecoder().decode(FailedMarker.self, from: Data(contentsOf: URL(fileURLWithPath: ws.inbox + "/\(job).failed")))
                #expect(failed.kind == want.kind && failed.attempts == want.attempts, "\(job): \(failed)")
                #expect(failed.message.contains(job), "\(failed.message)")
                #expect(daemon.log.contains(job) && daemon.log.contains(want.kind.rawValue), "\(daemon.log.suffix(3000))")
            }
            #expect(ws.seen()["forty-hours.wav"] == nil && ws.seen()["hang.wav"] == nil)
        })
    }
}

/// The test transcriber's hash of a whole file (FNV-1a, 64 bits): what its transcript names.
func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
    return hash
}
