import Glibc
import SystemPackage

/// What a path that should hold a marker holds instead.
public enum FileKind: String, Sendable, Equatable {
    case directory, fifo, socket, symlink
    case characterDevice = "character device"
    case blockDevice = "block device"
    case unknown = "unknown file type"

    /// The kind a directory entry's d_type names; nil for a regular file or an unknown type.
    init?(direntType type: UInt8) {
        switch Int(type) {
        case Int(DT_DIR): self = .directory
        case Int(DT_FIFO): self = .fifo
        case Int(DT_SOCK): self = .socket
        case Int(DT_LNK): self = .symlink
        case Int(DT_CHR): self = .characterDevice
        case Int(DT_BLK): self = .blockDevice
        default: return nil
        }
    }

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symlink
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .unknown
        }
    }
}

/// Why a marker file was not read.
public enum MarkerRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a regular file: reading it could block (a FIFO) or mean nothing (a directory).
    case notARegularFile(FileKind)
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .notARegularFile(let kind): "a \(kind.rawValue), not a marker file"
        case .tooLarge(let limit): "larger than \(limit) bytes, too large for a marker"
        }
    }
}

/// Why a marker could not be read.
public enum MarkerFileError: Error, Sendable, Equatable {
    case missing
    case refused(MarkerRefusal)
    case io(Errno)
}

/// Reads marker files, which are untrusted input: anyone who can write to the
/// inbox can put a FIFO, a device, a directory or a huge file where a marker belongs.
///
/// It exists so that no read of a marker can block the daemon or exhaust its
/// memory: nothing but a regular file is opened (and that without following a
/// symlink, without blocking, not inherited by workers), and at most a cap per
/// marker kind is read.
public enum MarkerFile {
    /// What one marker may hold. A processing marker holds the lease and a journal
    /// line per window, and a pending one carries that journal over after a retry.
    public static func limit(for state: JobState) -> Int {
        switch state {
        case .pending, .processing: 16 << 20
        case .done, .failed: 64 << 10
        }
    }

    /// The bytes of the marker at `path`, at most `limit` of them.
    public static func read(_ path: FilePath, limit: Int) throws(MarkerFileError) -> [UInt8] {
        do {
            // Refuse before opening: opening a device node can have effects of its own.
            let before = try Syscall.lstat(path)
            try requireRegular(before)
            let fd = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .noFollow, .closeOnExec])
            defer { try? fd.close() }
            // It may have been swapped for something else since the lstat.
            var st = stat()
            guard fstat(fd.rawValue, &st) == 0 else { throw Errno(rawValue: errno) }
            try requireRegular(st)
            guard st.st_size <= limit else { throw MarkerRefusal.tooLarge(limit: limit) }
            var result: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                if n == 0 { break }
                result.append(contentsOf: chunk[0..<n])
                // Growing while we read: still not more than the cap.
                if result.count > limit { throw MarkerRefusal.tooLarge(limit: limit) }
            }
            return result
        } catch let refusal as MarkerRefusal {
            throw .refused(refusal)
        } catch let e as Errno where e == .noSuchFileOrDirectory {
            throw .missing
        } catch let e as Errno {
            throw .io(e)
        } catch {
            throw .io(.ioError)
        }
    }

    private static func requireRegular(_ st: stat) throws(MarkerRefusal) {
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(FileKind(mode: st.st_mode)) }
    }
}
