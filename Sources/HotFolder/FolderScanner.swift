import Glibc
import SystemPackage

/// What one pass over the inbox found: every job with its markers.
public struct FolderSnapshot: Sendable {
    /// One job file (or a marker whose job file is gone) and the markers beside it.
    public struct Entry: Sendable {
        public var job: Job
        /// Nil when the job file itself is missing (only markers are left).
        public var fingerprint: Fingerprint?
        public var markers: Set<JobState>
        /// Markers that the directory listing says are not regular files (a FIFO, a directory...).
        public var irregularMarkers: [JobState: FileKind] = [:]
        /// The state that counts: the latest in the lifecycle among the markers present.
        public var state: JobState? { markers.max() }
        public var sourceExists: Bool { fingerprint != nil || sourceIsUnstatted }
        var sourceIsUnstatted = false
    }

    public var entries: [String: Entry] = [:]
    /// Our own temp files old enough to be leftovers of a crash.
    public var staleTempFiles: [FilePath] = []
    /// Names skipped, with the reason (symlinks out of the inbox and the like), for logging.
    public var skipped: [(path: FilePath, reason: String)] = []

    /// Jobs per state (every state present, zero or not) and files without a marker yet.
    public var stateCounts: (jobs: [JobState: Int], unmarked: Int) {
        var jobs: [JobState: Int] = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
        var unmarked = 0
        for entry in entries.values {
            if let state = entry.state { jobs[state, default: 0] += 1 } else { unmarked += 1 }
        }
        return (jobs, unmarked)
    }
}

/// Walks the inbox with readdir, classifying names as jobs, markers, temps or noise.
///
/// It follows no symlink out of the inbox unless allowed, never descends into
/// the output or archive folders, and needs no stat call for markers, so a
/// status over 100,000 files stays well under a second.
public struct FolderScanner: Sendable {
    public var layout: InboxLayout
    /// stat each job file (needed for settling and fingerprints; `status` skips it).
    public var statJobs: Bool

    public init(layout: InboxLayout, statJobs: Bool = true) {
        self.layout = layout
        self.statJobs = statJobs
    }

    public func scan(now: Double) -> FolderSnapshot {
        var snapshot = FolderSnapshot()
        walk(layout.root, relative: "", depth: 0, now: now, into: &snapshot)
        return snapshot
    }

    private func walk(_ dir: FilePath, relative: String, depth: Int, now: Double, into snapshot: inout FolderSnapshot) {
        guard depth < 64, let names = try? Syscall.listDirectory(dir) else { return }
        // Markers of names too long for `name.processing` carry a hashed stem: map it back.
        var longNames: [String: String] = [:]
        for (name, _) in names where Job.needsMarkerStem(name) { longNames[Job.markerStem(forName: name)] = name }
        let jobNames = Set(names.lazy.map(\.name))
        for (name, type) in names {
            let path = dir.appending(name)
            let rel = relative.isEmpty ? name : relative + "/" + name
            var kind = type
            if kind == UInt8(DT_UNKNOWN), let st = try? Syscall.lstat(path) {
                kind = Self.direntType(st.st_mode)
            }
            // A directory named like a marker of a file beside it is a (broken) marker, not a folder.
            let isMarkerDirectory = kind == UInt8(DT_DIR)
                && JobState.parse(markerName: name).map { jobNames.contains(longNames[$0.job] ?? $0.job) } == true
            if kind == UInt8(DT_DIR), !isMarkerDirectory {
                if layout.recursive, !name.hasPrefix("."), !layout.excludedDirectories.contains(path) {
                    walk(path, relative: rel, depth: depth + 1, now: now, into: &snapshot)
                }
                continue
            }
            if name.hasPrefix(AtomicFile.tempPrefix) {
                if let st = try? Syscall.lstat(path), AtomicFile.isStaleTemp(name: name, age: now - Double(st.st_mtim.tv_sec)) {
                    snapshot.staleTempFiles.append(path)
                }
                continue
            }
            if let (stem, state) = JobState.parse(markerName: name) {
                let jobName = longNames[stem] ?? stem
                let jobRel = relative.isEmpty ? jobName : relative + "/" + jobName
                var entry = snapshot.entries[jobRel] ?? FolderSnapshot.Entry(job: layout.job(relativePath: jobRel), markers: [])
                entry.markers.insert(state)
                if let odd = FileKind(direntType: kind) { entry.irregularMarkers[state] = odd }
                snapshot.entries[jobRel] = entry
                continue
            }
            guard layout.rules.isJob(name) else { continue }
            if kind == UInt8(DT_LNK) {
                if let reason = symlinkProblem(path) {
                    snapshot.skipped.append((path, reason))
                    continue
                }
            } else if kind != UInt8(DT_REG) {
                continue
            }
            var entry = snapshot.entries[rel] ?? FolderSnapshot.Entry(job: layout.job(relativePath: rel), markers: [])
            if statJobs {
                entry.fingerprint = try? Fingerprint.of(path, followSymlinks: kind == UInt8(DT_LNK))
            } else {
                entry.sourceIsUnstatted = true
            }
            snapshot.entries[rel] = entry
        }
    }

    /// Why a symlink in the inbox must not be followed, or nil when it may be.
    func symlinkProblem(_ path: FilePath) -> String? {
        guard let target = Syscall.realpath(path) else { return "dangling symlink" }
        if layout.followSymlinks { return nil }
        if target.starts(with: layout.root) { return nil }
        return "symlink to \(target) outside the inbox (set queue.follow_symlinks = true to allow)"
    }

    static func direntType(_ mode: mode_t) -> UInt8 {
        switch mode & S_IFMT {
        case S_IFDIR: UInt8(DT_DIR)
        case S_IFREG: UInt8(DT_REG)
        case S_IFLNK: UInt8(DT_LNK)
        case S_IFIFO: UInt8(DT_FIFO)
        case S_IFSOCK: UInt8(DT_SOCK)
        case S_IFCHR: UInt8(DT_CHR)
        case S_IFBLK: UInt8(DT_BLK)
        default: UInt8(DT_UNKNOWN)
        }
    }
}
