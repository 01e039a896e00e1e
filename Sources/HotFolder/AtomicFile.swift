import Foundation
import Glibc
import SystemPackage

/// Durable, all-or-nothing file writes: a reader sees the old file or the
/// complete new one, never a part, even across a crash or a full disk.
///
/// The data goes to a uniquely named temp file in the same folder (created
/// with O_EXCL|O_NOFOLLOW so a planted symlink cannot redirect it), is
/// fsynced, renamed over the target, and the folder is fsynced.
public enum AtomicFile {
    /// Prefix of every temp file dropscribe creates; the scanner never treats
    /// such names as jobs and removes stale ones.
    public static let tempPrefix = ".dropscribe-"

    /// A temp file older than this is left over from a crash (a write takes milliseconds).
    public static let staleTempAge: Double = 600

    /// Names a temp file after its creator (host and boot, pid), so a restarted
    /// daemon can tell its own crash leftovers apart from another host's live temps.
    static func tempName(_ tag: String) -> String {
        "\(tempPrefix)\(tag)-\(hostTag)-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16)).tmp"
    }

    /// A short hash of this host's name and boot id.
    static let hostTag: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (Syscall.hostname() + "/" + Syscall.bootID()).utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(hash & 0xffff_ffff, radix: 16)
    }()

    /// Whether a temp file named by `tempName` is a leftover: its creator, on
    /// this host, is gone; or it is older than any write could take.
    static func isStaleTemp(name: String, age: Double) -> Bool {
        if age > staleTempAge { return true }
        let parts = name.dropFirst(tempPrefix.count).split(separator: "-")
        guard parts.count >= 4, parts[1] == hostTag, let pid = Int32(parts[2]) else { return false }
        return !Syscall.processExists(pid)
    }

    /// Creates a new file exclusively (never through a symlink, never over an existing file).
    static func createExclusive(_ path: FilePath, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(Errno) -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                           permissions: permissions)
        } catch let e as Errno { throw e } catch { throw .ioError }
    }

    static func writeAll(_ fd: FileDescriptor, _ bytes: some Collection<UInt8>) throws(Errno) {
        do { _ = try fd.writeAll(bytes) } catch let e as Errno { throw e } catch { throw .ioError }
    }

    /// Writes `bytes` into a new temp file beside `target` and returns its path (fsynced, closed).
    static func writeTemp(beside target: FilePath, tag: String, bytes: some Collection<UInt8>,
                          permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(Errno) -> FilePath {
        let temp = target.removingLastComponent().appending(tempName(tag))
        let fd = try createExclusive(temp, permissions: permissions)
        do {
            try writeAll(fd, bytes)
            try Syscall.fsync(fd)
            try? fd.close()
        } catch {
            try? fd.close()
            try? Syscall.unlink(temp)
            throw error
        }
        return temp
    }

    /// Atomically replaces (or creates) `target` with `bytes`.
    public static func write(_ bytes: some Collection<UInt8>, to target: FilePath,
                             permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(Errno) {
        let temp = try writeTemp(beside: target, tag: "w", bytes: bytes, permissions: permissions)
        do {
            try Syscall.rename(temp, target)
        } catch {
            try? Syscall.unlink(temp)
            throw error
        }
        try? Syscall.fsyncDirectory(target.removingLastComponent())
    }

    /// Atomically creates `target` with `bytes`; fails with EEXIST if it exists.
    ///
    /// Built on link(2), which is atomic and exclusive on local filesystems and
    /// on NFSv3 and later (rename(2) would silently replace). NFS may retry a
    /// link whose reply was lost and report EEXIST for our own success, so the
    /// winner is decided by the temp file's link count afterwards, not by the
    /// return value.
    public static func createNew(_ bytes: some Collection<UInt8>, at target: FilePath,
                                 permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(Errno) {
        let temp = try writeTemp(beside: target, tag: "c", bytes: bytes, permissions: permissions)
        defer { try? Syscall.unlink(temp) }
        var linkError: Errno?
        do { try Syscall.link(temp, target) } catch { linkError = error }
        let won = ((try? Syscall.lstat(temp))?.st_nlink ?? 1) >= 2
        if !won { throw linkError ?? .fileExists }
        try? Syscall.fsyncDirectory(target.removingLastComponent())
    }
}
