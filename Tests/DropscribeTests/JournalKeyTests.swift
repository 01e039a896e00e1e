import Foundation
import Glibc
import HotFolder
import Testing
@testable import DropscribeCore

/// The journal key file (created once, owner-only, refused when it could be swapped or
/// read by others) and the MACs it puts on checkpoints.
@Suite struct JournalKeyTests {
    static let fingerprint = Fingerprint(device: 1, inode: 2, size: 48_000, mtimeNanoseconds: 1_700_000_000_000_000_000)

    func expectRefused(_ path: String, _ problem: String, creating: Bool = true, outside inbox: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try JournalKey.load(path: path, creating: creating, outside: inbox)
            Issue.record("\(path) must be refused", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description.hasPrefix("journal key \(path): "), sourceLocation: sourceLocation)
            #expect(error.problem.contains(problem), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func aMissingKeyIsCreatedOwnerOnlyAndLoadedAgainUnchanged() throws {
        let ws = Workspace()
        let path = ws.root + "/state/journal.key"
        try FileManager.default.createDirectory(atPath: ws.root + "/state", withIntermediateDirectories: false)
        let first = try JournalKey.load(path: path, creating: true)
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(st.st_size == 32)
        let second = try JournalKey.load(path: path, creating: true)
        let entry = JournalEntry(window: 1, progress: 0.5, time: 2, state: "{}")
        let a = JournalSeal(key: first, job: "a.wav", fingerprint: Self.fingerprint)
        let b = JournalSeal(key: second, job: "a.wav", fingerprint: Self.fingerprint)
        #expect(b.isAuthentic(a.sealed(entry)), "the second start reads the key the first created")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root + "/state") == ["journal.key"], "no temp file is left")
    }

    @Test func aWorkerDoesNotCreateAMissingKey() {
        let ws = Workspace()
        expectRefused(ws.root + "/none.key", "does not exist", creating: false)
        #expect(!FileManager.default.fileExists(atPath: ws.root + "/none.key"))
    }

    @Test func unsafeKeyFilesAreStartupErrorsNamingTheFile() throws {
        let ws = Workspace()
        let good = ws.root + "/good.key"
        _ = try JournalKey.load(path: good, creating: true)
        #expect(symlink(good, ws.root + "/link.key") == 0)
        expectRefused(ws.root + "/link.key", "symbolic link")
        try FileManager.default.createDirectory(atPath: ws.root + "/dir.key", withIntermediateDirectories: false)
        expectRefused(ws.root + "/dir.key", "a directory")
        #expect(mkfifo(ws.root + "/fifo.key", 0o600) == 0)
        expectRefused(ws.root + "/fifo.key", "a FIFO")
        #expect(FileManager.default.createFile(atPath: ws.root + "/short.key", contents: Data(repeating: 7, count: 16),
                                               attributes: [.posixPermissions: 0o600]))
        expectRefused(ws.root + "/short.key", "holds 16 bytes")
        #expect(FileManager.default.createFile(atPath: ws.root + "/shared.key", contents: Data(repeating: 7, count: 32),
                                               attributes: [.posixPermissions: 0o640]))
        expectRefused(ws.root + "/shared.key", "readable or writable by group or others (mode 640)")
        expectRefused(ws.inbox + "/journal.key", "inside the inbox", outside: ws.inbox)
        #expect(!FileManager.default.fileExists(atPath: ws.inbox + "/journal.key"))
    }

    @Test func aCheckpointIsTrustedOnlyWithItsOwnMAC() throws {
        let ws = Workspace()
        let key = try JournalKey.load(path: ws.root + "/k", creating: true)
        let other = try JournalKey.load(path: ws.root + "/other", creating: true)
        let seal = JournalSeal(key: key, job: "talk.wav", fingerprint: Self.fingerprint)
        let entries = (0..<3).map { seal.sealed(JournalEntry(window: $0, progress: Double($0) / 3, time: 1_700_000_000.25, state: #"{"w":\#($0)}"#)) }
        #expect(entries.allSatisfy(seal.isAuthentic))
        #expect(seal.trusted(entries).refused == nil && seal.trusted(entries).journal == entries)
        // Through the marker's JSON and back, as a resumed job reads it.
        let decoded = try entries.map { try JSONDecoder().decode(JournalEntry.self, from: JSONEncoder().encode($0)) }
        #expect(decoded.allSatisfy(seal.isAuthentic))

        var unsigned = entries[1]; unsigned.mac = nil
        var edited = entries[2]; edited.state = #"{"w":99}"#
        var moved = entries[1]; moved.window = 2
        var garbage = entries[0]; garbage.mac = "zz"
        for forged in [unsigned, edited, moved, garbage] { #expect(!seal.isAuthentic(forged)) }
        #expect(!JournalSeal(key: key, job: "other.wav", fingerprint: Self.fingerprint).isAuthentic(entries[0]), "bound to its job")
        var rewritten = Self.fingerprint; rewritten.mtimeNanoseconds += 1
        #expect(!JournalSeal(key: key, job: "talk.wav", fingerprint: rewritten).isAuthentic(entries[0]), "bound to its content")
        #expect(!JournalSeal(key: other, job: "talk.wav", fingerprint: Self.fingerprint).isAuthentic(entries[0]), "bound to its key")
        let mixed = seal.trusted([entries[0], edited, entries[2]])
        #expect(mixed.journal.isEmpty && mixed.refused == 1, "one bad checkpoint: the job starts from the beginning")
    }

    @Test func aPassProgressLineIsSealedWithItsPhaseAndCheckpointsKeepTheirMAC() throws {
        let ws = Workspace()
        let key = try JournalKey.load(path: ws.root + "/journal.key", creating: true)
        let seal = JournalSeal(key: key, job: "talk.wav", fingerprint: Self.fingerprint)
        let line = seal.sealed(.progress(.vad, fraction: 0.35, time: 5))
        let decoded = try JSONDecoder().decode(JournalEntry.self, from: JSONEncoder().encode(line))
        #expect(decoded.phase == .vad && decoded.progress == 0.35)
        #expect(seal.isAuthentic(decoded))
        var moved = decoded
        moved.phase = .levels
        #expect(!seal.isAuthentic(moved), "the phase is signed")
        moved.phase = nil
        #expect(!seal.isAuthentic(moved), "a progress line cannot pass as a checkpoint")
        // A checkpoint's message is the one journals written before phases existed were signed with.
        let checkpoint = JournalEntry(window: 1, progress: 0.5, time: 2, state: "{}")
        let v1 = ["dropscribe-journal-v1", "talk.wav", "48000", "1700000000000000000", "1", "0.5", "2.0", "{}"].joined(separator: "\0")
        #expect(seal.message(checkpoint) == Array(v1.utf8))
        #expect(!String(decoding: try JSONEncoder().encode(checkpoint), as: UTF8.self).contains("phase"), "no phase key in a checkpoint line")
    }
}
