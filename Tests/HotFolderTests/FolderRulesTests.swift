import Foundation
import SystemPackage
import Testing
@testable import HotFolder

@Suite struct IgnoreRulesTests {
    let rules = IgnoreRules()

    @Test(arguments: [
        ".hidden.mp3", ".talk.mp3.Xy12Ab",            // dotfiles, rsync temp names
        "talk.mp3.part", "talk.mp3.partial", "talk.tmp", "talk.mp3.crdownload", "talk.mp3.!sync",
        "~talk.mp3", "~$report.docx", ".syncthing.talk.mp3.tmp",
        "talk.mp3.pending", "talk.mp3.processing", "talk.mp3.done", "talk.mp3.failed",
        "talk.mp3.txt", "talk.mp3.srt", "talk.mp3.vtt", "talk.mp3.tsv", "talk.mp3.json",
        ".dropscribe-w-12-abc.tmp",
    ])
    func notJobs(_ name: String) {
        #expect(!rules.isJob(name), "\(name) must not become a job")
    }

    @Test(arguments: ["talk.mp3", "name with spaces.wav", "-leading-dash.wav", "unicode-ümläut-日本語.flac", "new\nline.wav", "x"])
    func jobs(_ name: String) {
        #expect(rules.isJob(name))
    }

    @Test func includeAndExcludeGlobs() {
        let r = IgnoreRules(include: ["*.mp3", "*.wav"], exclude: ["draft-*"])
        #expect(r.isJob("a.mp3"))
        #expect(!r.isJob("a.flac"))
        #expect(!r.isJob("draft-a.mp3"))
        #expect(r.reasonToIgnore("draft-a.mp3") == "matched by watch.exclude")
    }
}

@Suite struct SettleTrackerTests {
    func fp(_ size: Int64, _ mtime: Int64, inode: UInt64 = 1) -> Fingerprint {
        Fingerprint(device: 1, inode: inode, size: size, mtimeNanoseconds: mtime)
    }

    @Test func stableOnlyAfterUnchangedForTheSettleTime() {
        var t = SettleTracker(settleSeconds: 5)
        let r1 = t.observe("a", fp(10, 1), now: 0)
        #expect(!r1)
        let r2 = t.observe("a", fp(10, 1), now: 4.9)
        #expect(!r2)
        let r3 = t.observe("a", fp(10, 1), now: 5)
        #expect(r3)
    }

    @Test func growthRestartsTheClock() {
        var t = SettleTracker(settleSeconds: 5)
        _ = t.observe("a", fp(10, 1), now: 0)
        let r4 = t.observe("a", fp(20, 2), now: 4)
        #expect(!r4)
        let r5 = t.observe("a", fp(20, 2), now: 8)
        #expect(!r5)
        let r6 = t.observe("a", fp(20, 2), now: 9)
        #expect(r6)
    }

    @Test func openWriterBlocksUntilClosed() {
        var t = SettleTracker(settleSeconds: 1)
        t.noteWriting("a")
        _ = t.observe("a", fp(10, 1), now: 0)
        let r7 = t.observe("a", fp(10, 1), now: 100)
        #expect(!r7, "still open for writing")
        t.noteClosed("a")
        let r8 = t.observe("a", fp(10, 1), now: 101)
        #expect(r8)
    }

    @Test func replacedFileIsNew() {
        var t = SettleTracker(settleSeconds: 5)
        _ = t.observe("a", fp(10, 1, inode: 1), now: 0)
        let r9 = t.observe("a", fp(10, 1, inode: 2), now: 6)
        #expect(!r9)
    }
}

@Suite struct ScannerTests {
    @Test func groupsMarkersAndSkipsNoise() throws {
        let folder = TestFolder()
        folder.write("a.wav")
        folder.write("a.wav.done", "{}")
        folder.write("b.mp3")
        folder.write("b.mp3.pending", "{}")
        folder.write("b.mp3.processing", "{}")
        folder.write("gone.mp3.failed", "{}")
        folder.write("sub/c.flac")
        folder.write("x.mp3.part")
        folder.write(".hidden/d.wav")
        let snap = FolderScanner(layout: folder.layout).scan(now: Date().timeIntervalSince1970)
        #expect(Set(snap.entries.keys) == ["a.wav", "b.mp3", "gone.mp3", "sub/c.flac"])
        #expect(snap.entries["a.wav"]?.state == .done)
        #expect(snap.entries["b.mp3"]?.state == .processing, "processing wins over a leftover pending")
        #expect(snap.entries["gone.mp3"]?.fingerprint == nil)
        #expect(snap.entries["sub/c.flac"]?.state == nil)
        var flat = folder.layout
        flat.recursive = false
        #expect(FolderScanner(layout: flat).scan(now: 0).entries["sub/c.flac"] == nil)
    }

    @Test func symlinksOutOfTheInboxAreNotFollowedUnlessAllowed() throws {
        let folder = TestFolder()
        let outside = TestFolder()
        outside.write("secret.wav")
        folder.write("inside.wav")
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/link-out.wav", withDestinationPath: outside.path + "/secret.wav")
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/link-in.wav", withDestinationPath: folder.path + "/inside.wav")
        let snap = FolderScanner(layout: folder.layout).scan(now: 0)
        #expect(snap.entries["link-out.wav"] == nil)
        #expect(snap.skipped.contains { $0.reason.contains("outside the inbox") })
        #expect(snap.entries["link-in.wav"] != nil)
        var allow = folder.layout
        allow.followSymlinks = true
        #expect(FolderScanner(layout: allow).scan(now: 0).entries["link-out.wav"] != nil)
    }

    @Test func staleTempFilesAreReported() throws {
        let folder = TestFolder()
        let temp = folder.write(AtomicFile.tempPrefix + "w-1-abc.tmp")
        let old = Date(timeIntervalSinceNow: -3600)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: temp)
        folder.write(AtomicFile.tempPrefix + "w-2-def.tmp")
        // Fresh, but its creator (this host, a pid that does not exist) is gone.
        let orphan = folder.write(AtomicFile.tempPrefix + "w-\(AtomicFile.hostTag)-4000000-abc.tmp")
        // Fresh, from a live process of this host (us).
        folder.write(AtomicFile.tempName("w"))
        let snap = FolderScanner(layout: folder.layout).scan(now: Date().timeIntervalSince1970)
        #expect(Set(snap.staleTempFiles.map(\.string)) == [temp, orphan])
        #expect(snap.entries.isEmpty)
    }
}

@Suite struct AtomicFileTests {
    @Test func createNewIsExclusive() throws {
        let folder = TestFolder()
        let target = FilePath(folder.path + "/m.pending")
        try AtomicFile.createNew(Array("one".utf8), at: target)
        #expect(throws: Errno.fileExists) { try AtomicFile.createNew(Array("two".utf8), at: target) }
        #expect(try String(contentsOfFile: target.string, encoding: .utf8) == "one")
        #expect(folder.names() == ["m.pending"])
    }

    @Test func aPlantedSymlinkIsReplacedNotWrittenThrough() throws {
        let folder = TestFolder()
        let outside = TestFolder()
        let victim = outside.write("victim.txt", "original")
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/a.wav.txt", withDestinationPath: victim)
        try AtomicFile.write(Array("transcript".utf8), to: FilePath(folder.path + "/a.wav.txt"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "original")
        #expect(try String(contentsOfFile: folder.path + "/a.wav.txt", encoding: .utf8) == "transcript")
        // And a symlink planted at a marker name blocks the exclusive create instead of being followed.
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/b.wav.pending", withDestinationPath: victim)
        #expect(throws: Errno.fileExists) { try AtomicFile.createNew(Array("x".utf8), at: FilePath(folder.path + "/b.wav.pending")) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "original")
    }

    /// A file named like the markers' stem of another file's long name gets markers of
    /// its own, and the scanner gives each file its own markers.
    @Test func aNameLikeAnotherFilesMarkerStemHasItsOwnMarkers() throws {
        let long = String(repeating: "l", count: 251) + ".wav"
        let twin = Job.markerStem(forName: long)
        let twinStem = Job.markerStem(forName: twin)
        #expect(twinStem != twin && twinStem.utf8.count <= 244)
        #expect(Job.markerStem(forName: "~0123456789abcdef").utf8.count == 17, "a name that is only a tag")
        let folder = TestFolder()
        folder.write(long)
        folder.write(twin)
        folder.write(twin + ".done")        // the long file's marker
        folder.write(twinStem + ".pending") // the twin's marker
        let entries = FolderScanner(layout: folder.layout).scan(now: 1_000_000).entries
        #expect(entries[long]?.markers == [.done])
        #expect(entries[twin]?.markers == [.pending])
    }
}
