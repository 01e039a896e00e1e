import Foundation
import Glibc
import HotFolder
import Testing

/// Issue 17's "a worker serves many jobs" on the real binary and tiny.en: one worker
/// process takes job after job with its model loaded, a kill -9 costs only its job,
/// and `worker_max_jobs` recycles workers. Decided from the `.done` markers' `worker_pid`,
/// `model_reused` and `attempts` only.
@Suite(.serialized, .hangGuard, .enabled(if: Assets.available, "needs models/tiny.en and .corpus"))
struct WorkerReuseTests {
    /// The four shortest clips (3 to 4 s).
    let shortClips = ["clip-28.wav", "clip-10.wav", "clip-34.wav", "clip-40.wav"]

    func dropClips(_ names: [String], into ws: Workspace) throws {
        for name in names { try FileManager.default.copyItem(atPath: Assets.corpus + "/clips/" + name, toPath: ws.inbox + "/" + name) }
    }

    func done(_ job: String, in ws: Workspace) throws -> DoneMarker {
        try JSONDecoder().decode(DoneMarker.self, from: Data(contentsOf: URL(fileURLWithPath: ws.inbox + "/" + job + ".done")))
    }

    func finish(_ ws: Workspace, _ daemon: DaemonProcess, jobs: [String]) throws -> [String: DoneMarker] {
        #expect(waitUntil(seconds: 300) { jobs.allSatisfy { FileManager.default.fileExists(atPath: ws.inbox + "/" + $0 + ".done") } },
                "\(ws.names())\n\(daemon.log.suffix(3000))")
        awaitTempsSwept(ws)
        #expect(daemon.terminate() == 0)
        expectOnlyDone(ws, jobs: jobs)
        return try Dictionary(uniqueKeysWithValues: jobs.map { ($0, try done($0, in: ws)) })
    }

    /// The four short clips through one daemon with these top-level keys; their `.done` markers.
    func runShortClips(_ keys: String) throws -> [String: DoneMarker] {
        let ws = Workspace(config: RealModel.config(keys))
        try dropClips(shortClips, into: ws)
        return try finish(ws, try ws.startRealDaemon(), jobs: shortClips)
    }

    @Test func oneWorkerServesEveryJobLoadingTheModelOnce() throws {
        let markers = try runShortClips("workers = 1")
        let pids = Set(markers.values.compactMap(\.workerPID))
        #expect(pids.count == 1 && markers.values.allSatisfy { $0.workerPID != nil }, "one worker ran all four: \(pids)")
        #expect(markers.values.filter { $0.modelReused == true }.count == 3, "the model loaded once: \(markers.mapValues(\.modelReused))")
        #expect(markers.values.allSatisfy { $0.attempts == 1 }, "each done exactly once")
    }

    @Test func workerMaxJobsRetiresAWorkerAfterItsJobs() throws {
        let markers = try runShortClips("workers = 1\nworker_max_jobs = 2")
        let byPID = Dictionary(grouping: markers.values, by: { $0.workerPID ?? 0 })
        #expect(byPID.count == 2 && byPID.values.allSatisfy { $0.count == 2 } && byPID[0] == nil,
                "two workers, two jobs each: \(markers.mapValues { $0.workerPID ?? 0 })")
        // Each worker loads the model for its first job and keeps it for its second.
        for (_, served) in byPID { #expect(served.filter { $0.modelReused == true }.count == 1) }
    }

    /// Five clips in one file (35 s): two windows, so a kill lands while the second one runs.
    func twoWindowFile(_ name: String, in ws: Workspace) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
        p.arguments = [1, 2, 3, 22, 25].map { String(format: "%@/clips/clip-%02d.wav", Assets.corpus, $0) } + [ws.inbox + "/" + name]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    func isDone(_ job: String, in ws: Workspace) -> Bool { FileManager.default.fileExists(atPath: ws.inbox + "/" + job + ".done") }

    /// The jobs are dropped one after another, so which is second does not depend on the claim order.
    @Test func aKilledWorkerCostsOnlyItsJobAndANewWorkerTakesOver() throws {
        let ws = Workspace(config: RealModel.config("workers = 1"))
        let daemon = try ws.startRealDaemon()
        try dropClips(["clip-04.wav"], into: ws)
        #expect(waitUntil(seconds: 300) { isDone("clip-04.wav", in: ws) }, "\(daemon.log.suffix(3000))")
        try twoWindowFile("long.wav", in: ws)
        // Its first window journaled (lease, speech pre-pass, window): the kill comes while the second is decoded.
        var killed: Int32?
        waitUntil(seconds: 300, poll: 0.02) {
            let journal = (try? String(contentsOfFile: ws.inbox + "/long.wav.processing", encoding: .utf8)) ?? ""
            guard journal.split(separator: "\n").count >= 3, let pid = workerRunning("long.wav", in: ws, daemon: daemon.pid) else { return false }
            kill(pid, SIGKILL)
            killed = pid
            return true
        }
        let victim = try #require(killed, "long.wav was never seen running: \(daemon.log.suffix(3000))")
        #expect(waitUntil(seconds: 300) { isDone("long.wav", in: ws) }, "\(daemon.log.suffix(3000))")
        try dropClips(["clip-16.wav", "clip-31.wav"], into: ws)
        let jobs = ["clip-04.wav", "long.wav", "clip-16.wav", "clip-31.wav"]
        let markers = try finish(ws, daemon, jobs: jobs)
        let first = try #require(markers["clip-04.wav"]), again = try #require(markers["long.wav"])
        #expect(first.workerPID == victim, "the first job ran on the worker that was killed")
        #expect(again.attempts == 2, "the killed job ran again: \(again.attempts)")
        #expect(again.workerPID != victim && again.workerPID != nil && again.modelReused == false, "on a new worker, which loaded the model")
        for job in ["clip-04.wav", "clip-16.wav", "clip-31.wav"] { #expect(markers[job]?.attempts == 1, "\(job) done exactly once") }
        for job in ["clip-16.wav", "clip-31.wav"] {
            #expect(markers[job]?.workerPID == again.workerPID && markers[job]?.modelReused == true, "\(job) on the new worker, model kept")
        }
    }
}
