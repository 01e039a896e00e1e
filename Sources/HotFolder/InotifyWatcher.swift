import Glibc
import Synchronization
import SystemPackage

/// What the kernel told us about the inbox.
public enum WatchEvent: Sendable, Equatable {
    /// A writer created or modified the file: it may still be open.
    case writing(String)
    /// The writer closed it (IN_CLOSE_WRITE) or it was moved in whole (IN_MOVED_TO).
    case closed(String)
    case removed(String)
    /// A folder appeared: rescan everything.
    case rescanNeeded
    /// The kernel's event queue overflowed (IN_Q_OVERFLOW), events were lost: rescan everything.
    case overflowed
}

/// inotify on the inbox (and its subfolders when recursive), as an AsyncStream of events.
///
/// It only speeds things up: the daemon's periodic rescan finds everything
/// anyway, which is what happens on NFS and SMB, where inotify sees nothing
/// another host writes.
public final class InotifyWatcher: Sendable {
    private let fd: Int32
    private let root: FilePath
    private let recursive: Bool
    /// Watch descriptor → folder relative to the root ("" for the root).
    private let watches = Mutex<[Int32: String]>([:])
    private let stopped = Atomic<Bool>(false)
    public let events: AsyncStream<WatchEvent>
    private let continuation: AsyncStream<WatchEvent>.Continuation

    static let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_DELETE)
        | UInt32(IN_MODIFY) | UInt32(IN_MOVED_FROM) | UInt32(IN_DELETE_SELF) | UInt32(IN_ONLYDIR)

    public init(root: FilePath, recursive: Bool, excluding excluded: [FilePath] = []) throws(Errno) {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        self.fd = fd
        self.root = root
        self.recursive = recursive
        (events, continuation) = AsyncStream.makeStream(of: WatchEvent.self, bufferingPolicy: .bufferingNewest(65536))
        addWatches(under: root, relative: "", excluded: excluded)
        let thread = ReaderThread(watcher: self)
        thread.start()
    }

    deinit {
        close(fd)
    }

    /// Stops reading; the event stream finishes.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        continuation.finish()
    }

    private func addWatches(under dir: FilePath, relative: String, excluded: [FilePath]) {
        let wd = dir.withPlatformString { inotify_add_watch(fd, $0, Self.mask) }
        guard wd >= 0 else { return }
        watches.withLock { $0[wd] = relative }
        guard recursive, let entries = try? Syscall.listDirectory(dir) else { return }
        for (name, type) in entries where type == UInt8(DT_DIR) && !name.hasPrefix(".") {
            let sub = dir.appending(name)
            if excluded.contains(sub) { continue }
            addWatches(under: sub, relative: relative.isEmpty ? name : relative + "/" + name, excluded: excluded)
        }
    }

    /// Blocking read loop, run on its own thread (inotify is blocking C I/O).
    fileprivate func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let headerSize = MemoryLayout<inotify_event>.size
        while !stopped.load(ordering: .relaxed) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 500)
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { continue }
            var offset = 0
            buffer.withUnsafeBytes { raw in
                while offset + headerSize <= n {
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let nameStart = offset + headerSize
                    let nameBytes = raw[nameStart..<min(n, nameStart + Int(event.len))].prefix { $0 != 0 }
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    offset = nameStart + Int(event.len)
                    handle(event, name: name)
                }
            }
        }
    }

    private func handle(_ event: inotify_event, name: String) {
        let mask = event.mask
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            continuation.yield(.overflowed)
            return
        }
        guard let dir = watches.withLock({ $0[event.wd] }) else { return }
        if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 {
            watches.withLock { _ = $0.removeValue(forKey: event.wd) }
            return
        }
        let rel = dir.isEmpty ? name : dir + "/" + name
        if mask & UInt32(IN_ISDIR) != 0 {
            if recursive, mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0, !name.hasPrefix(".") {
                addWatches(under: root.appending(rel.split(separator: "/").map { FilePath.Component(String($0))! }),
                           relative: rel, excluded: [])
                continuation.yield(.rescanNeeded)
            }
            return
        }
        if mask & (UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)) != 0 {
            continuation.yield(.closed(rel))
        } else if mask & UInt32(IN_CREATE) != 0 {
            // link(2) and symlink(2) create a complete file that no writer will ever
            // close (no IN_CLOSE_WRITE follows): only the settle time applies to them.
            continuation.yield(createdComplete(rel) ? .closed(rel) : .writing(rel))
        } else if mask & UInt32(IN_MODIFY) != 0 {
            continuation.yield(.writing(rel))
        } else if mask & (UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)) != 0 {
            continuation.yield(.removed(rel))
        }
    }
}

extension InotifyWatcher {
    /// A symlink, or a hard link to a file that already had a name.
    fileprivate func createdComplete(_ rel: String) -> Bool {
        var path = root
        for c in rel.split(separator: "/") { path.append(String(c)) }
        guard let st = try? Syscall.lstat(path) else { return false }
        return st.st_mode & S_IFMT == S_IFLNK || st.st_nlink > 1
    }
}

/// The dedicated thread that blocks in poll/read for the watcher.
private final class ReaderThread: @unchecked Sendable {
    // Invariant: `watcher` is only read by the thread started in `start()`.
    let watcher: InotifyWatcher
    init(watcher: InotifyWatcher) { self.watcher = watcher }

    func start() {
        var tid = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&tid, nil, { arg in
            let me = Unmanaged<ReaderThread>.fromOpaque(arg!).takeRetainedValue()
            me.watcher.readLoop()
            return nil
        }, box)
        pthread_detach(tid)
    }
}
