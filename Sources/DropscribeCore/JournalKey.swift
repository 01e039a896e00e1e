import Crypto
import Foundation
import Glibc
import SystemPackage

/// Why the journal key cannot be used: a startup error naming the file.
public struct JournalKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var problem: String

    public var description: String { "journal key \(path): \(problem)" }
}

/// The secret under which checkpoint journals are authenticated (HMAC-SHA256).
///
/// It exists because a journal travels inside markers that anyone with write access to
/// the inbox can write: without a MAC, a hand-made journal claiming a job is finished
/// would be published as its transcript. The key lives outside the inbox (a state
/// directory, or a Kubernetes Secret shared by the replicas), readable by its owner only.
public struct JournalKey: Sendable {
    /// The secret bytes (SymmetricKey is not Sendable; one is made per use).
    let bytes: [UInt8]
    public let path: String

    var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }

    /// Fewer bytes than this is no secret worth the name.
    public static let minimumBytes = 32
    /// More than this is not a key file (a wrong path).
    public static let maximumBytes = 4096

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// The key at `path`, created first (32 random bytes, mode 0600) when `creating` and
    /// absent. Creation is atomic: the bytes go to a private temp file that is then linked
    /// to `path`, which fails if another replica got there first, so replicas starting
    /// together agree on one key and none reads a half-written one.
    public static func load(path: String, creating: Bool, outside inbox: String? = nil) throws(JournalKeyError) -> JournalKey {
        if let inbox {
            // Compared through the real folder: a symlinked parent must not hide the inbox.
            let file = FilePath(path)
            let folder = file.removingLastComponent().string
            let real = (Foundation.realpath(folder, nil)).map { p in defer { free(p) }; return String(cString: p) } ?? folder
            let canonical = real + "/" + (file.lastComponent?.string ?? "")
            if canonical.hasPrefix(inbox.hasSuffix("/") ? inbox : inbox + "/") {
                throw JournalKeyError(path: path, problem: "is inside the inbox \(inbox), where anyone who can drop a file could read or replace it")
            }
        }
        if creating { try createIfAbsent(path) }
        return try read(path)
    }

    static func read(_ path: String) throws(JournalKeyError) -> JournalKey {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.noFollow, .nonBlocking, .closeOnExec])
        } catch .tooManySymbolicLinkLevels {
            throw JournalKeyError(path: path, problem: "is a symbolic link (refused: name the file itself)")
        } catch .noSuchFileOrDirectory {
            throw JournalKeyError(path: path, problem: "does not exist (the daemon creates it on its first start; a worker or replica needs the same file)")
        } catch {
            throw JournalKeyError(path: path, problem: "cannot be opened: \(error)")
        }
        defer { try? fd.close() }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else { throw JournalKeyError(path: path, problem: "cannot be examined: \(Errno(rawValue: errno))") }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw JournalKeyError(path: path, problem: "is not a regular file (\(fileType(st.st_mode)))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw JournalKeyError(path: path, problem: "is readable or writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))): "
                                  + "chmod 600 it, or give a Kubernetes Secret defaultMode 0400")
        }
        guard st.st_size >= minimumBytes else {
            throw JournalKeyError(path: path, problem: "holds \(st.st_size) bytes; a key needs at least \(minimumBytes) random bytes")
        }
        guard st.st_size <= maximumBytes else {
            throw JournalKeyError(path: path, problem: "holds \(st.st_size) bytes; a key file is at most \(maximumBytes) (is this the right file?)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let count: Int
        do {
            count = try bytes.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }
        } catch {
            throw JournalKeyError(path: path, problem: "cannot be read: \(error)")
        }
        guard count >= minimumBytes else {
            throw JournalKeyError(path: path, problem: "gave \(count) bytes; a key needs at least \(minimumBytes)")
        }
        return JournalKey(bytes: Array(bytes.prefix(count)), path: path)
    }

    static func createIfAbsent(_ path: String) throws(JournalKeyError) {
        var st = stat()
        if lstat(path, &st) == 0 { return }  // present: `read` judges it
        guard errno == ENOENT else { throw JournalKeyError(path: path, problem: "cannot be examined: \(Errno(rawValue: errno))") }
        let temp = FilePath(path).removingLastComponent()
            .appending(".journal-key.\(getpid()).\(UInt64.random(in: 0...UInt64.max))")
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(temp, .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                         permissions: .ownerReadWrite)
        } catch {
            throw JournalKeyError(path: path, problem: "cannot be created in its folder: \(error)")
        }
        defer { _ = unlink(temp.string) }
        do {
            defer { try? fd.close() }
            let random = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            guard fchmod(fd.rawValue, 0o600) == 0 else { throw Errno(rawValue: errno) }
            _ = try fd.writeAll(random)
            guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
        } catch {
            throw JournalKeyError(path: path, problem: "cannot be written: \(error)")
        }
        // link() never replaces: if another replica linked its key first, both use that one.
        if link(temp.string, path) != 0 && errno != EEXIST {
            throw JournalKeyError(path: path, problem: "cannot be created: \(Errno(rawValue: errno))")
        }
    }

    static func fileType(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "not a plain file"
        }
    }
}
