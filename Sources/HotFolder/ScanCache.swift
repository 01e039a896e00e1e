import Glibc
import SystemPackage

/// What earlier rescans learned about the inbox, so that a history of finished
/// jobs costs next to nothing to watch.
///
/// It exists because a hot folder accumulates finished jobs (a share used for a
/// year holds hundreds of thousands), and re-stating every source and re-reading
/// every `.done` marker on every rescan made an idle daemon's cost grow with its
/// history, on every replica and, over NFS, on the file server. Per directory it
/// keeps the directory's identity (inode, mtime, ctime) and, per finished job, the
/// inodes of the source and the marker and what the marker recorded. A directory
/// whose identity is unchanged is not listed again; a finished job whose names
/// still carry the same inodes is neither stat'ed nor read. Only jobs that are not
/// finished (few) are looked at in full on every rescan.
///
/// Where that is not sound, and what covers it:
/// - A file rewritten in place (`cp new.wav old.wav` keeps the inode) changes no
///   directory. inotify reports it (the daemon then calls `invalidate`); without
///   inotify, every finished job is verified again (an lstat of its source and its
///   marker) once per `recheckSeconds`, spread over time in buckets rather than in one burst.
/// - A directory's mtime has a filesystem's granularity (one second on some), so a
///   directory changed within `racyWindowSeconds` of being listed is listed again
///   next time (as git does for racily clean files).
/// - NFS clients cache a directory's attributes (acdirmin/acdirmax, 30–60 s by
///   default), so a file another host adds may be seen up to that much later than
///   with a full listing; `lookupcache`/`actimeo` mount options shorten it.
public struct ScanCache: Sendable {
    /// How often each finished job is verified again even though nothing told us it changed.
    public var recheckSeconds: Double
    var directories: [String: DirectoryRecord] = [:]
    /// Jobs to look at in full on the next rescan (inotify saw a write to a finished job's source).
    var invalidated: Set<String> = []
    /// The pass under way, if a slice stopped at its deadline.
    var pass: Pass?

    /// A pass over the inbox: the directories still to visit and those visited.
    struct Pass: Sendable {
        var toVisit: [String]
        var visited: Set<String>
    }

    /// True between the slice that starts a pass and the one that ends it.
    public var passInProgress: Bool { pass != nil }

    /// How far the pass under way got: folders visited, and folders known still to visit
    /// (their subfolders are found as they are listed). Nil when no pass is under way.
    public var passProgress: (visited: Int, toVisit: Int)? {
        pass.map { ($0.visited.count, $0.toVisit.count) }
    }

    public init(recheckSeconds: Double) {
        self.recheckSeconds = recheckSeconds
    }

    /// A directory changed within this many seconds of its listing is listed again.
    static let racyWindowSeconds: Double = 2
    /// The most finished jobs verified together: a directory's jobs are split into
    /// buckets of at most this many, each with its own time.
    static let bucketSize = 256

    /// Looks at this job in full on the next rescan (its source was written to in place).
    public mutating func invalidate(_ relativePath: String) {
        invalidated.insert(relativePath)
    }

    /// Jobs per state over the whole inbox as of the last pass (every state, zero or not),
    /// and files without a marker yet: the same shape as `FolderSnapshot.stateCounts`.
    public var stateCounts: (jobs: [JobState: Int], unmarked: Int) {
        var jobs: [JobState: Int] = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
        var unmarked = 0
        for record in directories.values {
            for (state, n) in record.counts {
                if let state { jobs[state, default: 0] += n } else { unmarked += n }
            }
        }
        return (jobs, unmarked)
    }

    /// Finished jobs remembered (for tests and the debug log).
    public var finishedJobs: Int { directories.values.reduce(0) { $0 + $1.finished.count } }
}

/// A directory's identity: when it is unchanged, so is the list of its names.
struct DirectoryIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var mtimeNanoseconds: Int64
    var ctimeNanoseconds: Int64

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        mtimeNanoseconds = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctimeNanoseconds = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }

    /// Changed so recently before `listedAt` that a later change could share its timestamp.
    func isRacy(listedAt: Double) -> Bool {
        Double(max(mtimeNanoseconds, ctimeNanoseconds)) / 1e9 > listedAt - ScanCache.racyWindowSeconds
    }
}

/// What the cache keeps of one directory.
struct DirectoryRecord: Sendable {
    var identity: DirectoryIdentity
    /// False when the directory changed too close to its listing to trust its mtime.
    var trusted: Bool
    var subdirectories: [String]
    /// Jobs that are not finished, looked at in full on every rescan.
    var live: [DirectoryListing.JobNames]
    /// Finished jobs, in buckets verified again in turn.
    var finished: [FinishedJob]
    var bucketDue: [Double]
    var counts: [JobState?: Int]
}

/// A finished job as the cache remembers it: enough to tell, from a listing or an
/// lstat, that nothing about it changed.
struct FinishedJob: Sendable {
    var name: String
    var state: JobState
    /// The source's inode as readdir gave it (compared with later listings); nil when only the
    /// marker is left (the source was removed after it finished).
    var sourceInode: UInt64?
    /// The source's inode as stat gives it (compared with later lstats). Some filesystems (FUSE
    /// without use_ino, overlayfs) report other numbers in readdir than in stat, so each is
    /// compared only with its own kind.
    var sourceStatInode: UInt64?
    /// The source is a symlink (allowed by the layout): verified by following it.
    var sourceIsSymlink: Bool
    /// The marker's inode as readdir gave it, and as lstat gives it.
    var markerInode: UInt64
    var markerStatInode: UInt64
    var markerSize: Int64
    var markerMtimeNanoseconds: Int64
    /// The source's size and mtime the marker recorded (what "unchanged" is measured against).
    var recorded: Fingerprint?
}
