import Foundation
import HotFolder
import Logging
import Testing
@testable import DropscribeCore

/// How the supervisor records what a worker reported, with a stand-in worker script.
@Suite struct WorkerOutcomeTests {
    /// A worker that prints `line` as its outcome and exits 0.
    func fakeWorker(in ws: Workspace, printing line: String) throws -> String {
        let path = ws.root + "/fake-worker.sh"
        try "#!/bin/sh\necho '\(line)'\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    @Test func doneWithoutASummaryIsRetriedAsACrashNotLeftOrphaned() async throws {
        let ws = Workspace()
        ws.drop("a.wav", "audio")
        var config = Configuration()
        config.inbox = ws.inbox
        let layout = try config.layout()
        let identity = OwnerIdentity.current()
        let queue = JobQueue(layout: layout, options: config.queueOptions, identity: identity)
        let job = layout.job(relativePath: "a.wav")
        try queue.markPending(job, fingerprint: Fingerprint.of(job.path), now: 1)
        let claim = try #require(try queue.claim(job, now: 2))
        let logger = Logger(label: "test")
        let publisher = DaemonPublisher(identity: identity, inbox: layout.root, startTime: 0, logger: logger)
        let supervisor = WorkerSupervisor(
            layout: layout, identity: identity,
            worker: WorkerCommand(executable: try fakeWorker(in: ws, printing: #"{"status":"done"}"#), arguments: []),
            memoryCgroup: nil, admission: MemoryAdmission(logger: logger), publisher: publisher, logger: logger)
        supervisor.reserve([claim])
        await supervisor.run(claim, configuration: config, configText: nil) { _ in }
        #expect(!ws.names().contains("a.wav.processing"))
        let pending = try #require(queue.readPending(job))
        #expect(pending.lastErrorKind == .workerCrashed)
        #expect(pending.attempts == 1)
        #expect(!supervisor.isRunning("a.wav"))
    }
}
