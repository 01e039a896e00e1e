import Foundation
import Testing

/// A symlink out of the inbox that only inotify reports (no listing of the folder comes
/// before it settles) is held to the listing's rule: it is never marked, so no worker
/// opens what it points to. The hostile-run test caught the inotify path marking one
/// when its settle time ran out before a rescan listed the folder.
@Suite struct InotifySymlinkTests {
    @Test func aSymlinkOutOfTheInboxSeenOnlyByInotifyIsNeverMarked() throws {
        // No periodic rescan: after the first listing only inotify sees new names.
        let ws = Workspace(config: """
            workers = 1
            [watch]
            settle_seconds = 0.2
            rescan_seconds = 3600
            """)
        let secret = ws.root + "/secret.wav"
        try "private words".write(toFile: secret, atomically: true, encoding: .utf8)
        let daemon = try ws.startDaemon(windowMilliseconds: 0, windows: 1, tag: "symlink")
        #expect(waitUntil(seconds: 120, poll: 0.01) { FaultTests.hasInotify(daemon.pid) }, "no inotify instance: \(daemon.log)")
        // The first listing has run when a file dropped now is marked by inotify's path alone.
        ws.drop("first.wav", "first")
        #expect(waitUntil(seconds: 120, poll: 0.05) { FileManager.default.fileExists(atPath: ws.inbox + "/first.wav.done") },
                "first.wav not done: \(daemon.log)")
        #expect(symlink(secret, ws.inbox + "/out.wav") == 0)
        ws.drop("after.wav", "after")
        // after.wav settles no earlier than the symlink created before it: once it is done,
        // a symlink the inotify path accepted would have been marked too.
        #expect(waitUntil(seconds: 120, poll: 0.05) { FileManager.default.fileExists(atPath: ws.inbox + "/after.wav.done") },
                "after.wav not done: \(daemon.log)")
        #expect(daemon.process.isRunning)
        #expect(waitUntil(seconds: 30, poll: 0.05) { daemon.log.contains("inbox/out.wav") && daemon.log.contains("outside the inbox") },
                "not logged: \(daemon.log)")
        let markers = ws.names().filter { $0.hasPrefix("out.wav.") }
        #expect(markers.isEmpty, "the symlink out of the inbox was marked: \(markers)\n\(daemon.log.suffix(3000))")
        #expect(!ws.seen().keys.contains { $0.hasSuffix("out.wav") } && (try? String(contentsOfFile: secret, encoding: .utf8)) == "private words")
        #expect(daemon.terminate() == 0)
    }
}
