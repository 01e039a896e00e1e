import DropscribeCore
import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// `delete_source` survives a kill -9 after every step of the removal: the daemon kills
/// itself there (the `DROPSCRIBE_TEST_KILL_AFTER` seam), a fresh daemon finishes the
/// job, and in the end the source and its markers are gone, the outputs and the done
/// record stay, and the job was transcribed exactly once (its output never rewritten).
@Suite(.serialized) struct SourceDeletionTests {
    /// What each crash leaves: (source present, done marker present, record present).
    static let steps: [(step: String, source: Bool, marker: Bool, record: Bool)] = [
        ("done-written", true, true, false),
        ("record-written", true, true, true),
        ("source-removed", false, true, true),
    ]

    @Test(.hangGuard) func aKillAfterAnyStepLosesNothingAndRunsNothingTwice() throws {
        // One workspace per crash point, all three daemons at once (each job is tiny).
        let cases = Self.steps.enumerated().map { index, step in
            let ws = Workspace()
            // Outputs beside the source for one case, under output_dir for the others.
            ws.writeConfig(TestConfig.fast(top: "delete_source = true\n" + (index == 0 ? "" : "output_dir = \"out\"")))
            return (ws, step)
        }
        var daemons: [DaemonProcess] = []
        for (ws, step) in cases {
            daemons.append(try ws.startDaemon(environment: ["DROPSCRIBE_TEST_KILL_AFTER": step.step]))
            ws.drop("talks/a.wav", "audio for \(step.step)")
        }
        var outputs: [UInt64] = []
        for ((ws, step), daemon) in zip(cases, daemons) {
            let died = waitUntil(seconds: 60) { !daemon.process.isRunning }
            try #require(died, "the daemon did not kill itself after \(step.step)")
            #expect(daemon.process.terminationReason == .uncaughtSignal && daemon.process.terminationStatus == SIGKILL)
            let paths = Self.paths(ws, outputFolder: step.step == "done-written" ? nil : "out")
            let exists = { (p: String) in FileManager.default.fileExists(atPath: p) }
            #expect(exists(paths.source) == step.source, "\(step.step): source")
            #expect(exists(paths.marker) == step.marker, "\(step.step): done marker")
            #expect(exists(paths.record) == step.record, "\(step.step): record")
            let output = try #require(try? FileManager.default.attributesOfItem(atPath: paths.output)[.systemFileNumber] as? UInt64,
                                      "\(step.step): the transcript must exist at every crash point")
            outputs.append(output)
        }
        daemons = try cases.map { ws, _ in try ws.startDaemon(tag: "after") }
        for ((ws, step), output) in zip(cases, outputs) {
            let paths = Self.paths(ws, outputFolder: step.step == "done-written" ? nil : "out")
            let finished = waitUntil(seconds: 60) {
                !FileManager.default.fileExists(atPath: paths.source) && !FileManager.default.fileExists(atPath: paths.marker)
            }
            #expect(finished, "\(step.step): not finished by the next daemon: \(ws.names())")
            #expect(ws.names().filter { JobState.parse(markerName: $0) != nil }.isEmpty, "\(step.step): markers left")
            let record = try JSONDecoder().decode(DoneRecord.self, from: Data(contentsOf: URL(fileURLWithPath: paths.record)))
            #expect(record.job == "talks/a.wav" && record.done.outputs == [paths.output] && record.done.deleteSource == true)
            // The same file: never transcribed or written again.
            #expect((try? FileManager.default.attributesOfItem(atPath: paths.output)[.systemFileNumber] as? UInt64) == output)
            #expect(ws.seen() == ["talks/a.wav": 1], "\(step.step): transcribed \(ws.seen())")
        }
        for d in daemons { #expect(d.terminate() == 0) }
    }

    static func paths(_ ws: Workspace, outputFolder: String?) -> (source: String, marker: String, record: String, output: String) {
        let outputs = outputFolder.map { ws.root + "/" + $0 } ?? ws.inbox
        return (ws.inbox + "/talks/a.wav", ws.inbox + "/talks/a.wav.done",
                outputs + "/talks/a.wav.done.json", outputs + "/talks/a.wav.txt")
    }
}
