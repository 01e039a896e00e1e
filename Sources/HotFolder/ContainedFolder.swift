import CLinuxShims
import Glibc
import SystemPackage

/// Why a path below a contained folder was refused, or what failed there.
public enum ContainmentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `path` is a symlink: following it could lead outside the folder.
    case symlink(path: FilePath)
    /// `path` exists but is not a folder, so nothing can be created below it.
    case notAFolder(path: FilePath)
    /// `name` ("", ".", "..", or one with a "/") cannot be a single component below `folder`.
    case invalidName(folder: FilePath, name: String)
    /// The system call on `path` failed.
    case system(path: FilePath, Errno)

    public var description: String {
        switch self {
        case .symlink(let path): "\(path) is a symlink; refusing to follow it out of the folder"
        case .notAFolder(let path): "\(path) is not a folder"
        case .invalidName(let folder, let name): "\"\(name)\" is not a valid name inside \(folder)"
        case .system(let path, let errno): "\(path): \(errno)"
        }
    }

    /// True when the path itself is hostile or unusable, so trying again cannot help.
    public var isRefusal: Bool {
        if case .system = self { return false }
        return true
    }
}

/// A folder that outputs and archived sources are written into without ever
/// leaving it: every folder below the root is opened relative to its parent's
/// descriptor and no symlink on the way is followed, so a symlink planted in
/// the output or archive tree (`output_dir/evil -> /etc`) cannot redirect a write.
///
/// The root itself is trusted (it comes from the configuration, resolved at load).
/// openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS resolves a whole path in one
/// call where the kernel has it; otherwise, and to name the offending component,
/// the path is walked one `openat(O_NOFOLLOW|O_DIRECTORY)` / `mkdirat` at a time.
public struct ContainedFolder: Sendable, Equatable {
    public let root: FilePath

    public init(root: FilePath) { self.root = root }

    /// Opens the folder `components` below the root, creating missing ones when `create` is set.
    public func openFolder(_ components: [String], create: Bool) throws(ContainmentError) -> FileDescriptor {
        var path = root
        for name in components {
            guard Self.isPlainName(name) else { throw .invalidName(folder: path, name: name) }
            path.append(name)
        }
        let rootFD = try openRoot(create: create)
        if components.isEmpty { return rootFD }
        let whole = components.joined(separator: "/")
        let direct = whole.withCString { dropscribe_openat2_beneath(rootFD.rawValue, $0, O_RDONLY | O_DIRECTORY, 0) }
        if direct >= 0 {
            try? rootFD.close()
            return FileDescriptor(rawValue: direct)
        }
        // Missing folders, a refusal to name, or a kernel without openat2: walk.
        var current = rootFD
        var walked = root
        for name in components {
            walked.append(name)
            let next: FileDescriptor
            do {
                next = try openChild(name, in: current, path: walked, create: create)
            } catch {
                try? current.close()
                throw error
            }
            try? current.close()
            current = next
        }
        return current
    }

    /// Throws if a component of `components` that exists now is a symlink or not a
    /// folder; creates nothing (a missing component ends the check).
    public func refuseUnsafe(_ components: [String]) throws(ContainmentError) {
        do {
            let fd = try openFolder(components, create: false)
            try? fd.close()
        } catch .system(_, .noSuchFileOrDirectory) {
            return
        }
    }

    /// Atomically writes `bytes` as `name` in the folder `components` (created as needed)
    /// and returns the file's path.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>, to components: [String], name: String,
                      permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws(ContainmentError) -> FilePath {
        let dir = try openFolder(components, create: true)
        defer { try? dir.close() }
        let folder = path(of: components)
        guard Self.isPlainName(name) else { throw .invalidName(folder: folder, name: name) }
        let temp = try writeTemp(in: dir, folder: folder, permissions: permissions) { fd throws(Errno) in
            try AtomicFile.writeAll(fd, bytes)
        }
        try publish(temp, as: name, in: dir, folder: folder, replacing: true)
        return folder.appending(name)
    }

    /// Moves the file `source` to `name` in the folder `components` (created as needed),
    /// never over an existing file, copying when it lies on another filesystem.
    @discardableResult
    public func moveIn(_ source: FilePath, to components: [String], name: String) throws(ContainmentError) -> FilePath {
        let dir = try openFolder(components, create: true)
        defer { try? dir.close() }
        let folder = path(of: components)
        guard Self.isPlainName(name) else { throw .invalidName(folder: folder, name: name) }
        let target = folder.appending(name)
        let moved = source.withPlatformString { s in
            name.withCString { n in Syscall.retrying { dropscribe_rename_noreplace(AT_FDCWD, s, dir.rawValue, n) } }
        }
        switch moved {
        case .success: break
        case .failure(.improperLink):
            let temp = try writeTemp(in: dir, folder: folder, permissions: [.ownerReadWrite, .groupRead, .otherRead]) { fd throws(Errno) in
                try Self.copy(source, into: fd)
            }
            try publish(temp, as: name, in: dir, folder: folder, replacing: false)
            do { try Syscall.unlink(source) } catch { throw .system(path: source, error) }
        case .failure(let e): throw .system(path: target, e)
        }
        _ = Syscall.retrying { Glibc.fsync(dir.rawValue) }
        return target
    }

    /// The path of `components` below the root (for messages and results).
    public func path(of components: [String]) -> FilePath {
        components.reduce(root) { $0.appending($1) }
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
    }

    private func openRoot(create: Bool) throws(ContainmentError) -> FileDescriptor {
        let open = { () -> Result<Int32, Errno> in
            self.root.withPlatformString { p in Syscall.retrying { Glibc.open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } }
        }
        var result = open()
        if case .failure(.noSuchFileOrDirectory) = result, create {
            var prefix = FilePath(root: root.root)
            for component in root.components {
                prefix.append(component)
                do { try Syscall.mkdir(prefix) } catch where error == .fileExists {} catch { throw .system(path: prefix, error) }
            }
            result = open()
        }
        switch result {
        case .success(let fd): return FileDescriptor(rawValue: fd)
        case .failure(let e): throw .system(path: root, e)
        }
    }

    /// Opens the folder `name` in `parent` without following a symlink, creating it when asked.
    private func openChild(_ name: String, in parent: FileDescriptor, path: FilePath,
                           create: Bool) throws(ContainmentError) -> FileDescriptor {
        let open = { () -> Result<Int32, Errno> in
            name.withCString { n in Syscall.retrying { openat(parent.rawValue, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } }
        }
        var result = open()
        if case .failure(.noSuchFileOrDirectory) = result, create {
            let made = name.withCString { n in Syscall.retrying { mkdirat(parent.rawValue, n, 0o755) } }
            if case .failure(let e) = made, e != .fileExists { throw .system(path: path, e) }
            result = open()
        }
        switch result {
        case .success(let fd): return FileDescriptor(rawValue: fd)
        case .failure(let e) where e == .tooManySymbolicLinkLevels || e == .notDirectory:
            var st = Glibc.stat()
            let isLink = name.withCString { fstatat(parent.rawValue, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
                && (st.st_mode & S_IFMT) == S_IFLNK
            throw isLink ? .symlink(path: path) : .notAFolder(path: path)
        case .failure(let e): throw .system(path: path, e)
        }
    }

    /// Creates a uniquely named temp file in `dir`, fills it with `fill`, fsyncs it and returns its name.
    private func writeTemp(in dir: FileDescriptor, folder: FilePath, permissions: FilePermissions,
                           fill: (FileDescriptor) throws(Errno) -> Void) throws(ContainmentError) -> String {
        let temp = AtomicFile.tempName("w")
        let created = temp.withCString { t in
            Syscall.retrying { openat(dir.rawValue, t, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions.rawValue) }
        }
        guard case .success(let raw) = created else {
            if case .failure(let e) = created { throw .system(path: folder.appending(temp), e) }
            throw .system(path: folder.appending(temp), .ioError)
        }
        let fd = FileDescriptor(rawValue: raw)
        do {
            try fill(fd)
            try Syscall.fsync(fd)
            try? fd.close()
        } catch {
            try? fd.close()
            _ = temp.withCString { unlinkat(dir.rawValue, $0, 0) }
            throw .system(path: folder.appending(temp), error)
        }
        return temp
    }

    /// Renames the temp file to `name` (replacing, or never over an existing file) and
    /// sets its permissions; removes the temp file when that fails.
    private func publish(_ temp: String, as name: String, in dir: FileDescriptor, folder: FilePath,
                         replacing: Bool) throws(ContainmentError) {
        let renamed = temp.withCString { t in
            name.withCString { n in
                Syscall.retrying {
                    replacing ? renameat(dir.rawValue, t, dir.rawValue, n) : dropscribe_rename_noreplace(dir.rawValue, t, dir.rawValue, n)
                }
            }
        }
        if case .failure(let e) = renamed {
            _ = temp.withCString { unlinkat(dir.rawValue, $0, 0) }
            throw .system(path: folder.appending(name), e)
        }
        _ = Syscall.retrying { Glibc.fsync(dir.rawValue) }
    }

    /// Copies the regular file `source` (not through a final symlink) into `fd`.
    private static func copy(_ source: FilePath, into fd: FileDescriptor) throws(Errno) {
        let input: FileDescriptor
        do {
            input = try FileDescriptor.open(source, .readOnly, options: [.noFollow, .closeOnExec])
        } catch let e as Errno { throw e } catch { throw .ioError }
        defer { try? input.close() }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n: Int
            do { n = try chunk.withUnsafeMutableBytes { try input.read(into: $0) } } catch let e as Errno { throw e } catch { throw .ioError }
            if n == 0 { return }
            try AtomicFile.writeAll(fd, chunk[0..<n])
        }
    }
}
