import CLinuxShims
import Foundation
import Glibc
import SystemPackage

/// One name of a directory listing, as readdir(3) reports it.
struct DirectoryEntry: Sendable, Equatable {
    var name: String
    var type: UInt8
    var inode: UInt64
    /// False when the name's bytes are not UTF-8: `name` then holds a repaired copy that
    /// names no file, so such an entry can only be reported, never opened.
    var isUTF8 = true
}

/// The few POSIX calls swift-system does not wrap, each returning a typed `Errno`.
///
/// Every call retries `EINTR` and reads `errno` immediately after the call, so
/// callers never see a stale error number.
enum Syscall {
    @discardableResult
    static func retrying<T: BinaryInteger>(_ body: () -> T) -> Result<T, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let error = Errno(rawValue: errno)
            if error != .interrupted { return .failure(error) }
        }
    }

    static func link(_ from: FilePath, _ to: FilePath) throws(Errno) {
        let r = from.withPlatformString { f in to.withPlatformString { t in retrying { Glibc.link(f, t) } } }
        if case .failure(let e) = r { throw e }
    }

    static func rename(_ from: FilePath, _ to: FilePath) throws(Errno) {
        let r = from.withPlatformString { f in to.withPlatformString { t in retrying { Glibc.rename(f, t) } } }
        if case .failure(let e) = r { throw e }
    }

    /// rename(2) that fails with EEXIST instead of replacing an existing target.
    ///
    /// Filesystems without renameat2's RENAME_NOREPLACE answer EINVAL (the Linux
    /// NFS client always does: the protocol has no such rename); there the same
    /// guarantee comes from link(2), exclusive on the target, then unlink(2).
    static func renameNoReplace(_ from: FilePath, _ to: FilePath) throws(Errno) {
        let r = from.withPlatformString { f in
            to.withPlatformString { t in retrying { dropscribe_rename_noreplace(AT_FDCWD, f, AT_FDCWD, t) } }
        }
        switch r {
        case .success: return
        case .failure(.invalidArgument):
            try link(from, to)
            try unlink(from)
        case .failure(let e): throw e
        }
    }

    static func unlink(_ path: FilePath) throws(Errno) {
        let r = path.withPlatformString { p in retrying { Glibc.unlink(p) } }
        if case .failure(let e) = r { throw e }
    }

    static func mkdir(_ path: FilePath, mode: mode_t = 0o755) throws(Errno) {
        let r = path.withPlatformString { p in retrying { Glibc.mkdir(p, mode) } }
        if case .failure(let e) = r { throw e }
    }

    static func fsync(_ fd: FileDescriptor) throws(Errno) {
        if case .failure(let e) = retrying({ Glibc.fsync(fd.rawValue) }) { throw e }
    }

    /// fsync of a directory, so a rename or link inside it is durable.
    static func fsyncDirectory(_ path: FilePath) throws(Errno) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.directory, .closeOnExec])
        } catch let e as Errno {
            throw e
        } catch {
            throw .ioError
        }
        defer { try? fd.close() }
        // Some filesystems (and NFS clients) refuse fsync on directories; that is not an error for us.
        do { try fsync(fd) } catch let e where e == .invalidArgument || e == .notSupported || e == .badFileDescriptor {}
    }

    /// lstat(2): information about the path itself, never a symlink's target.
    static func lstat(_ path: FilePath) throws(Errno) -> Glibc.stat {
        var st = Glibc.stat()
        let r = path.withPlatformString { p in retrying { fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) } }
        if case .failure(let e) = r { throw e }
        return st
    }

    static func statFollowing(_ path: FilePath) throws(Errno) -> Glibc.stat {
        var st = Glibc.stat()
        let r = path.withPlatformString { p in retrying { fstatat(AT_FDCWD, p, &st, 0) } }
        if case .failure(let e) = r { throw e }
        return st
    }

    /// Sets a file's access and modification times to now, without following symlinks.
    static func touch(_ path: FilePath) throws(Errno) {
        let r = path.withPlatformString { p in retrying { utimensat(AT_FDCWD, p, nil, AT_SYMLINK_NOFOLLOW) } }
        if case .failure(let e) = r { throw e }
    }

    static func readlink(_ path: FilePath) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = path.withPlatformString { p in Glibc.readlink(p, &buffer, buffer.count - 1) }
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func realpath(_ path: FilePath) -> FilePath? {
        path.withPlatformString { p -> FilePath? in
            guard let r = Glibc.realpath(p, nil) else { return nil }
            defer { free(r) }
            return FilePath(platformString: r)
        }
    }

    /// The names in a directory (without "." and ".."), with their d_type.
    static func listDirectory(_ path: FilePath) throws(Errno) -> [(name: String, type: UInt8)] {
        try readDirectory(path).map { ($0.name, $0.type) }
    }

    /// The entries of a directory (without "." and ".."), with their d_type and inode
    /// number as readdir gives them: no stat call per name.
    static func readDirectory(_ path: FilePath) throws(Errno) -> [DirectoryEntry] {
        guard let dir = path.withPlatformString({ opendir($0) }) else { throw Errno(rawValue: errno) }
        defer { closedir(dir) }
        var entries: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw Errno(rawValue: errno) }
                break
            }
            let (name, valid) = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: 256) { (String(platformString: $0), String(validatingCString: $0) != nil) }
            }
            if name == "." || name == ".." { continue }
            entries.append(DirectoryEntry(name: name, type: entry.pointee.d_type, inode: UInt64(entry.pointee.d_ino), isUTF8: valid))
        }
        return entries
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return buffer.withUnsafeBufferPointer { String(platformString: $0.baseAddress!) }
    }

    /// The executable a process runs (/proc/PID/exe), or nil when it cannot be read
    /// (gone, or another user's process): "who is this pid" beyond its start time.
    static func executable(of pid: Int32) -> String? {
        guard pid > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = Glibc.readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when a process with this pid exists (EPERM means it exists but is not ours).
    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat),
    /// which tells a live owner apart from an unrelated process that reused its pid.
    static func processStartTime(_ pid: Int32) -> UInt64? {
        guard let text = readSmallFile(FilePath("/proc/\(pid)/stat")) else { return nil }
        // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    static func bootID() -> String {
        readSmallFile(FilePath("/proc/sys/kernel/random/boot_id"))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }

    static func readSmallFile(_ path: FilePath, limit: Int = 1 << 20) -> String? {
        guard let bytes = try? readFile(path, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a whole (small) file without following a final symlink.
    static func readFile(_ path: FilePath, limit: Int = 16 << 20) throws(Errno) -> [UInt8] {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.noFollow, .closeOnExec])
        } catch let e as Errno { throw e } catch { throw .ioError }
        defer { try? fd.close() }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
            } catch let e as Errno { throw e } catch { throw .ioError }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }
}

