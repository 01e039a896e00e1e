import Dispatch
import Glibc
import Synchronization
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

/// One directory's names, classified by `FolderScanner.list`, before any stat of a source.
struct DirectoryListing {
    /// A job's names in this directory: its source (if present) and its markers.
    struct JobNames {
        var entry: FolderSnapshot.Entry
        /// The source's d_type (DT_REG or an allowed DT_LNK); nil when only markers are left.
        var sourceKind: UInt8?
        var sourceInode: UInt64?
        var markerInodes: [JobState: UInt64] = [:]
    }

    var jobs: [String: JobNames] = [:]
    var subdirectories: [(path: FilePath, relative: String)] = []
    var staleTempFiles: [FilePath] = []
    var skipped: [(path: FilePath, reason: String)] = []
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
        guard depth < Self.maximumDepth, let listing = list(dir, relative: relative, now: now) else { return }
        snapshot.staleTempFiles += listing.staleTempFiles
        snapshot.skipped += listing.skipped
        for (rel, names) in listing.jobs {
            var entry = names.entry
            if names.sourceKind != nil {
                if statJobs { entry.fingerprint = fingerprint(of: names) } else { entry.sourceIsUnstatted = true }
            }
            snapshot.entries[rel] = entry
        }
        for sub in listing.subdirectories {
            walk(sub.path, relative: sub.relative, depth: depth + 1, now: now, into: &snapshot)
        }
    }

    /// How deep the walk goes below the inbox.
    static let maximumDepth = 64

    /// The source's fingerprint now (nil when it is gone), following an allowed symlink.
    func fingerprint(of names: DirectoryListing.JobNames) -> Fingerprint? {
        try? Fingerprint.of(names.entry.job.path, followSymlinks: names.sourceKind == UInt8(DT_LNK))
    }

    /// One directory's names classified as jobs, markers, temps, subfolders or noise,
    /// from readdir alone (an lstat only where the filesystem gives no d_type, and for
    /// our own temp files). Nil when the directory cannot be read.
    func list(_ dir: FilePath, relative: String, now: Double) -> DirectoryListing? {
        guard let names = try? Syscall.readDirectory(dir) else { return nil }
        var listing = DirectoryListing()
        // Markers of names too long for `name.processing` carry a hashed stem: map it back.
        var longNames: [String: String] = [:]
        for e in names where Job.needsMarkerStem(e.name) { longNames[Job.markerStem(forName: e.name)] = e.name }
        let jobNames = Set(names.lazy.map(\.name))
        func rel(_ name: String) -> String { relative.isEmpty ? name : relative + "/" + name }
        func namesOf(_ jobRel: String) -> DirectoryListing.JobNames {
            listing.jobs[jobRel] ?? DirectoryListing.JobNames(entry: FolderSnapshot.Entry(job: layout.job(relativePath: jobRel), markers: []))
        }
        for e in names {
            // Built only where needed: most names are markers and job files, which need no path here.
            var path: FilePath { dir.appending(e.name) }
            guard e.isUTF8 else {
                listing.skipped.append((path, "its name is not valid UTF-8 (shown repaired); rename it to have it transcribed"))
                continue
            }
            var kind = e.type
            if kind == UInt8(DT_UNKNOWN), let st = try? Syscall.lstat(path) {
                kind = Self.direntType(st.st_mode)
            }
            // A directory named like a marker of a file beside it is a (broken) marker, not a folder.
            let isMarkerDirectory = kind == UInt8(DT_DIR)
                && JobState.parse(markerName: e.name).map { jobNames.contains(longNames[$0.job] ?? $0.job) } == true
            if kind == UInt8(DT_DIR), !isMarkerDirectory {
                if layout.recursive, !e.name.hasPrefix("."), !layout.excludedDirectories.contains(path) {
                    listing.subdirectories.append((path, rel(e.name)))
                }
                continue
            }
            if e.name.hasPrefix(AtomicFile.tempPrefix) {
                if let st = try? Syscall.lstat(path), AtomicFile.isStaleTemp(name: e.name, age: now - Double(st.st_mtim.tv_sec)) {
                    listing.staleTempFiles.append(path)
                }
                continue
            }
            if let (stem, state) = JobState.parse(markerName: e.name) {
                let jobRel = rel(longNames[stem] ?? stem)
                var job = namesOf(jobRel)
                job.entry.markers.insert(state)
                job.markerInodes[state] = e.inode
                if let odd = FileKind(direntType: kind) { job.entry.irregularMarkers[state] = odd }
                listing.jobs[jobRel] = job
                continue
            }
            guard layout.rules.isJob(e.name) else { continue }
            if kind == UInt8(DT_LNK) {
                if let reason = layout.symlinkProblem(path) {
                    listing.skipped.append((path, reason))
                    continue
                }
            } else if kind != UInt8(DT_REG) {
                let what = FileKind(direntType: kind)?.rawValue ?? "not a regular file"
                listing.skipped.append((path, "it is a \(what), not a file that can be transcribed"))
                continue
            }
            var job = namesOf(rel(e.name))
            job.sourceKind = kind
            job.sourceInode = e.inode
            listing.jobs[rel(e.name)] = job
        }
        return listing
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

/// What `dropscribe status` needs of an inbox: the counts per state and the jobs that are
/// not done, without an entry kept per finished job, so a history of a million stays cheap.
public struct FolderCensus: Sendable {
    public var jobs: [JobState: Int] = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
    /// Files without a marker yet.
    public var unmarked = 0
    /// Every job not done (and any with a marker that is no file), in path order.
    public var unfinished: [(relativePath: String, entry: FolderSnapshot.Entry)] = []
    /// The done jobs, in path order, only when asked for (`census(now:listingDone:)`).
    public var done: [String] = []
    var listingDone = false

    public var total: Int { jobs.values.reduce(unmarked, +) }
}

extension FolderScanner {
    /// Counts the inbox folder by folder, keeping only the jobs that are not done (no stat of
    /// sources); the subtrees of the inbox's top folder are counted side by side on the cores.
    public func census(now: Double, listingDone: Bool = false) -> FolderCensus {
        var census = FolderCensus()
        census.listingDone = listingDone
        guard let top = list(layout.root, relative: "", now: now) else { return census }
        census.add(top)
        let subtrees = top.subdirectories.map { Subtree(path: $0.path, relative: $0.relative) }
        let parts = Mutex<[FolderCensus]>([])
        DispatchQueue.concurrentPerform(iterations: subtrees.count) { i in
            let part = self.census(of: subtrees[i], now: now, listingDone: listingDone)
            parts.withLock { $0.append(part) }
        }
        for part in parts.withLock({ $0 }) { census.merge(part) }
        census.unfinished.sort { $0.relativePath < $1.relativePath }
        census.done.sort()
        return census
    }

    /// A folder below the inbox and everything under it.
    private struct Subtree: Sendable {
        var path: FilePath
        var relative: String
    }

    private func census(of subtree: Subtree, now: Double, listingDone: Bool) -> FolderCensus {
        var census = FolderCensus()
        census.listingDone = listingDone
        var toVisit: [(path: FilePath, relative: String, depth: Int)] = [(subtree.path, subtree.relative, 1)]
        while let dir = toVisit.popLast() {
            guard dir.depth < Self.maximumDepth, let listing = list(dir.path, relative: dir.relative, now: now) else { continue }
            census.add(listing)
            toVisit += listing.subdirectories.map { ($0.path, $0.relative, dir.depth + 1) }
        }
        return census
    }
}

extension FolderCensus {
    mutating func add(_ listing: DirectoryListing) {
        for (rel, names) in listing.jobs {
            var entry = names.entry
            entry.sourceIsUnstatted = names.sourceKind != nil
            guard let state = entry.state else { unmarked += 1; continue }
            jobs[state, default: 0] += 1
            if state != .done || !entry.irregularMarkers.isEmpty { unfinished.append((rel, entry)) } else if listingDone { done.append(rel) }
        }
    }

    mutating func merge(_ other: FolderCensus) {
        for (state, n) in other.jobs { jobs[state, default: 0] += n }
        unmarked += other.unmarked
        unfinished += other.unfinished
        done += other.done
    }
}
