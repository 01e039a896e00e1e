import Foundation
import Glibc
import SystemPackage
import Testing
@testable import HotFolder

/// The scan cache: an unchanged finished job is neither stat'ed nor read again; one
/// changed in size, mtime, inode or marker is looked at in full (at once when its
/// directory changed, on its bucket's turn when it was rewritten in place).
@Suite struct ScanCacheTests {
    let folder = TestFolder()
    /// Scans run "later" than the files were made, so no directory counts as racily changed.
    let later = Date().timeIntervalSince1970 + 60

    var queue: JobQueue { JobQueue(layout: folder.layout, options: QueueOptions(), identity: .fake(host: "this-host", pid: 1)) }
    var scanner: IncrementalScanner { IncrementalScanner(scanner: FolderScanner(layout: folder.layout), queue: queue) }

    /// A finished job: its source and a done marker recording the source as it is.
    func finishedJob(_ name: String, text: String = "audio") throws {
        let path = folder.write(name, text)
        let fp = try Fingerprint.of(FilePath(path))
        let done = DoneMarker(fingerprint: fp, audioDuration: 1, wallTime: 1, realTimeFactor: 1, peakRSSBytes: nil,
                              model: "tiny.en", outputs: [], finished: 0, attempts: 1, host: "h")
        try Data(MarkerCoding.encode(done)).write(to: URL(fileURLWithPath: path + ".done"))
    }

    func observed(_ slice: ScanSlice) -> [String] { slice.observations.map(\.job.relativePath).sorted() }

    /// Rewrites a file in place: same inode, new contents, an mtime a minute back (still in the past).
    func rewriteInPlace(_ name: String, _ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: folder.path + "/" + name))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test func anUnchangedFinishedJobIsNotReadAgain() throws {
        try finishedJob("a.wav")
        var cache = ScanCache(recheckSeconds: 3600)
        let first = scanner.scan(&cache, running: [], now: later)
        #expect(observed(first) == ["a.wav"])
        #expect(first.passComplete && first.directoriesListed == 1)
        // A marker garbled in place with its size and mtime kept: a scan that read it would see it.
        let marker = folder.path + "/a.wav.done"
        let st = try Syscall.lstat(FilePath(marker))
        try rewriteInPlace("a.wav.done", String(repeating: "x", count: Int(st.st_size)))
        var times = [st.st_atim, st.st_mtim]
        _ = utimensat(AT_FDCWD, marker, &times, 0)
        let second = scanner.scan(&cache, running: [], now: later + 1)
        #expect(second.observations.isEmpty)
        #expect(second.directoriesUnchanged == 1 && second.directoriesListed == 0)
        #expect(cache.stateCounts.jobs[.done] == 1)
    }

    @Test func aJobNotFinishedIsLookedAtEveryTime() throws {
        try finishedJob("a.wav")
        folder.write("new.wav")
        var cache = ScanCache(recheckSeconds: 3600)
        _ = scanner.scan(&cache, running: [], now: later)
        #expect(observed(scanner.scan(&cache, running: [], now: later + 1)) == ["new.wav"])
        #expect(cache.stateCounts.unmarked == 1 && cache.stateCounts.jobs[.done] == 1)
    }

    @Test(arguments: ["size", "mtime", "marker"])
    func aChangeInPlaceIsFoundOnTheBucketsTurn(_ change: String) throws {
        try finishedJob("a.wav", text: "first")
        var cache = ScanCache(recheckSeconds: 100)
        _ = scanner.scan(&cache, running: [], now: later)
        let path = folder.path + "/a.wav"
        switch change {
        case "size": try rewriteInPlace("a.wav", "longer contents")
        case "mtime":
            var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, path, &times, 0)
        default: try rewriteInPlace("a.wav.done", "{}")
        }
        // Before its turn the change is not seen (nothing named it); by the end of the period it is.
        #expect(scanner.scan(&cache, running: [], now: later + 0.001).observations.isEmpty)
        let due = scanner.scan(&cache, running: [], now: later + 100.001)
        #expect(observed(due) == ["a.wav"])
        #expect(due.finishedVerified == 1)
        if change == "marker" { #expect(due.observations.first?.done == .unreadable) }
    }

    @Test func aSourceReplacedByRenameIsFoundAtOnce() throws {
        try finishedJob("a.wav", text: "first")
        var cache = ScanCache(recheckSeconds: 3600)
        _ = scanner.scan(&cache, running: [], now: later)
        folder.write(".upload", "other contents")
        try FileManager.default.removeItem(atPath: folder.path + "/a.wav")
        try FileManager.default.moveItem(atPath: folder.path + "/.upload", toPath: folder.path + "/a.wav")
        let slice = scanner.scan(&cache, running: [], now: later + 1)
        #expect(slice.directoriesListed == 1)
        #expect(observed(slice) == ["a.wav"])
    }

    @Test func aMarkerMadeAgainIsReadAgain() throws {
        try finishedJob("a.wav")
        try finishedJob("b.wav")
        var cache = ScanCache(recheckSeconds: 3600)
        _ = scanner.scan(&cache, running: [], now: later)
        // Removed and made again: a new inode, or the old number reused (ext4 does) with other contents.
        let marker = folder.path + "/b.wav.done"
        try FileManager.default.removeItem(atPath: marker)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: marker))
        let slice = scanner.scan(&cache, running: [], now: later + 1)
        #expect(observed(slice) == ["b.wav"])
        #expect(slice.observations.first?.done == .unreadable)
    }

    @Test func anInvalidatedJobIsLookedAtInFull() throws {
        try finishedJob("a.wav")
        var cache = ScanCache(recheckSeconds: 3600)
        _ = scanner.scan(&cache, running: [], now: later)
        cache.invalidate("a.wav")
        #expect(observed(scanner.scan(&cache, running: [], now: later + 1)) == ["a.wav"])
    }

    @Test func aDirectoryChangedRightBeforeItsListingIsListedAgain() throws {
        try finishedJob("a.wav")
        var cache = ScanCache(recheckSeconds: 3600)
        _ = scanner.scan(&cache, running: [], now: Date().timeIntervalSince1970)
        #expect(scanner.scan(&cache, running: [], now: later).directoriesListed == 1)
        #expect(scanner.scan(&cache, running: [], now: later + 1).directoriesListed == 0)
    }

    @Test func aPassGoesOnAcrossSlicesAndCountsLikeAFullScan() throws {
        for d in ["x", "y", "z"] {
            try finishedJob("\(d)/done.wav")
            folder.write("\(d)/new.wav")
        }
        var cache = ScanCache(recheckSeconds: 3600)
        var seen: [String] = []
        var slices = 0
        while true {
            let slice = scanner.scan(&cache, running: [], now: later, pastDeadline: { true })
            seen += observed(slice)
            slices += 1
            if slice.passComplete { break }
            #expect(cache.passInProgress)
            #expect(cache.passProgress.map { $0.visited + $0.toVisit } == 4, "the root and x, y, z")
        }
        #expect(slices == 4)  // the root, then one folder each
        #expect(cache.passProgress == nil)
        #expect(seen.sorted() == ["x/done.wav", "x/new.wav", "y/done.wav", "y/new.wav", "z/done.wav", "z/new.wav"])
        let full = FolderScanner(layout: folder.layout).scan(now: later)
        #expect(cache.stateCounts.jobs == full.stateCounts.jobs && cache.stateCounts.unmarked == 3)
        try FileManager.default.removeItem(atPath: folder.path + "/y")
        _ = scanner.scan(&cache, running: [], now: later + 1)
        #expect(cache.stateCounts.jobs[.done] == 2 && cache.finishedJobs == 2)
    }
}
