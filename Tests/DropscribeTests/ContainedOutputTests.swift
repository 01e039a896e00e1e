import Foundation
import Glibc
import HotFolder
import Testing

/// A symlink planted in the output or archive tree (`out/evil -> elsewhere`) must not
/// carry a job's transcript or source out of that tree: the real binary with the test
/// transcriber fails the job with `unsafe-path`, writes nothing elsewhere, and does
/// the other job exactly once. Decided from markers and folder contents.
@Suite(.serialized, .hangGuard) struct ContainedOutputTests {
    /// Runs a daemon with `key = "<root>/tree"` where `tree/evil` is a symlink to
    /// `<root>/elsewhere`, on the jobs `evil/x.wav` and `ok.wav`; returns the workspace.
    func run(key: String) throws -> Workspace {
        let ws = Workspace()
        let tree = ws.root + "/tree", elsewhere = ws.root + "/elsewhere"
        ws.writeConfig(TestConfig.fast(top: "\(key) = \"\(tree)\""))
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: tree + "/evil", withDestinationPath: elsewhere)
        ws.drop("evil/x.wav", "audio whose folder leads out")
        ws.drop("ok.wav", "ordinary audio")
        let daemon = try ws.startDaemon()
        let finished = waitUntil(seconds: 60) {
            FileManager.default.fileExists(atPath: ws.inbox + "/evil/x.wav.failed")
                && FileManager.default.fileExists(atPath: ws.inbox + "/ok.wav.done")
        }
        #expect(finished, "\(ws.names())\n\(daemon.log.suffix(3000))")
        #expect(daemon.process.isRunning, "the daemon must survive: \(daemon.log.suffix(2000))")
        #expect(daemon.terminate() == 0)

        let marker = (try? String(contentsOfFile: ws.inbox + "/evil/x.wav.failed", encoding: .utf8)) ?? ""
        #expect(marker.contains("unsafe-path") && marker.contains(tree + "/evil") && marker.contains("symlink"), "\(marker)")
        #expect(ws.names(elsewhere) == [], "nothing may be written through the symlink")
        #expect(ws.seen()["ok.wav"] == 1, "the other job is transcribed exactly once")
        #expect(ws.seen()["evil/x.wav"] == nil, "a job that cannot be published is not transcribed")
        return ws
    }

    @Test func anOutputFolderThatIsASymlinkIsRefused() throws {
        let ws = try run(key: "output_dir")
        #expect(ws.names(ws.root + "/tree").contains("ok.wav.txt"), "\(ws.names(ws.root + "/tree"))")
    }

    @Test func anArchiveFolderThatIsASymlinkIsRefused() throws {
        let ws = try run(key: "archive_dir")
        #expect(ws.names(ws.root + "/tree").contains("ok.wav"), "\(ws.names(ws.root + "/tree"))")
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/evil/x.wav"), "the refused source stays in the inbox")
    }
}
