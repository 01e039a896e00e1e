import Glibc
import SystemPackage

/// What one slice of a rescan found worth deciding about.
public struct ScanSlice: Sendable {
    /// The jobs looked at in full: every job not finished, and finished jobs that are new,
    /// changed, or were due to be verified again and turned out changed.
    public var observations: [JobObservation] = []
    public var staleTempFiles: [FilePath] = []
    public var skipped: [(path: FilePath, reason: String)] = []
    /// True when this slice ended a pass over the whole inbox.
    public var passComplete = false
    /// True when this slice began a pass.
    public var passStarted = false
    /// Directories listed again (changed) and directories whose cached listing was used.
    public var directoriesListed = 0
    public var directoriesUnchanged = 0
    /// Finished jobs whose source and marker were lstat'ed again on their bucket's turn.
    public var finishedVerified = 0
}

/// A rescan that uses and updates a `ScanCache`, in slices of bounded time.
///
/// It exists so that the daemon's periodic rescan costs about one lstat per
/// directory when nothing changed, however many finished jobs the inbox holds,
/// and so that a long first scan of a huge inbox never holds up claiming: the
/// walk stops at a deadline and the next call goes on where it stopped. (A single
/// directory is listed whole; a flat directory of a million entries is one step.)
public struct IncrementalScanner: Sendable {
    public var scanner: FolderScanner
    public var queue: JobQueue

    public init(scanner: FolderScanner, queue: JobQueue) {
        self.scanner = scanner
        self.queue = queue
    }

    /// Visits directories of the current pass (starting one when none is under way)
    /// until the pass ends or `pastDeadline` says to stop.
    public func scan(_ cache: inout ScanCache, running: Set<String>, now: Double,
                     pastDeadline: () -> Bool = { false }) -> ScanSlice {
        var slice = walk(&cache, running: running, now: now, pastDeadline: pastDeadline)
        // In path order, as a full scan gives them: files found together are marked pending in that order.
        slice.observations.sort { $0.job.relativePath < $1.job.relativePath }
        return slice
    }

    private func walk(_ cache: inout ScanCache, running: Set<String>, now: Double, pastDeadline: () -> Bool) -> ScanSlice {
        var slice = ScanSlice()
        if cache.pass == nil {
            cache.pass = ScanCache.Pass(toVisit: [""], visited: [])
            slice.passStarted = true
        }
        while var pass = cache.pass, let dir = pass.toVisit.popLast() {
            pass.visited.insert(dir)
            cache.pass = pass
            if let subdirectories = visit(dir, cache: &cache, running: running, now: now, into: &slice) {
                let depth = dir.isEmpty ? 0 : dir.split(separator: "/").count
                if depth + 1 < FolderScanner.maximumDepth { cache.pass?.toVisit += subdirectories.reversed() }
            }
            if cache.pass?.toVisit.isEmpty == false, pastDeadline() { return slice }
        }
        if let visited = cache.pass?.visited {
            cache.directories = cache.directories.filter { visited.contains($0.key) }
        }
        cache.invalidated.removeAll()
        cache.pass = nil
        slice.passComplete = true
        return slice
    }

    /// One directory: its cached listing when unchanged, else a new listing that keeps
    /// what it can of the old. Returns its subdirectories (nil when it is gone).
    private func visit(_ dir: String, cache: inout ScanCache, running: Set<String>, now: Double,
                       into slice: inout ScanSlice) -> [String]? {
        let path = dir.isEmpty ? scanner.layout.root : scanner.layout.job(relativePath: dir).path
        guard let st = try? Syscall.lstat(path), st.st_mode & S_IFMT == S_IFDIR else {
            cache.directories[dir] = nil
            return nil
        }
        let identity = DirectoryIdentity(st)
        if var record = cache.directories[dir], record.trusted, record.identity == identity {
            slice.directoriesUnchanged += 1
            revisit(&record, dir: dir, folder: path, cache: cache, running: running, now: now, into: &slice)
            cache.directories[dir] = record
            return record.subdirectories
        }
        guard let listing = scanner.list(path, relative: dir, now: now) else {
            cache.directories[dir] = nil
            return nil
        }
        slice.directoriesListed += 1
        slice.staleTempFiles += listing.staleTempFiles
        slice.skipped += listing.skipped
        let old = cache.directories[dir]
        var known: [String: FinishedJob] = [:]
        for f in old?.finished ?? [] { known[f.name] = f }
        var record = DirectoryRecord(identity: identity, trusted: !identity.isRacy(listedAt: now),
                                     subdirectories: listing.subdirectories.map(\.relative),
                                     live: [], finished: [], bucketDue: [], counts: [:])
        for (rel, names) in listing.jobs {
            let name = names.entry.job.name
            // The same names with the same inodes, verified by an lstat of each: a file removed and
            // made again (under a changed directory) may get its old inode number back.
            if let f = known[name], f.matches(names), !running.contains(rel), !cache.invalidated.contains(rel) {
                slice.finishedVerified += 1
                if isUnchanged(f, in: path) {
                    record.finished.append(f)
                    continue
                }
            }
            let (observation, finished) = observeInFull(names, running: running)
            slice.observations.append(observation)
            if let finished { record.finished.append(finished) } else { record.live.append(names) }
        }
        record.bucketDue = bucketTimes(count: record.finished.count, directory: dir, now: now,
                                       recheck: cache.recheckSeconds, keeping: old?.bucketDue ?? [])
        record.recount()
        cache.directories[dir] = record
        return record.subdirectories
    }

    /// An unchanged directory: its live jobs in full, and the finished jobs whose turn it is
    /// (or that inotify named) verified with an lstat of source and marker.
    private func revisit(_ record: inout DirectoryRecord, dir: String, folder: FilePath, cache: ScanCache,
                         running: Set<String>, now: Double, into slice: inout ScanSlice) {
        for names in record.live {
            slice.observations.append(observeInFull(names, running: running).0)
        }
        let size = ScanCache.bucketSize
        var changed: [Int] = []
        for (k, due) in record.bucketDue.enumerated() where due <= now {
            let range = (k * size)..<min(record.finished.count, (k + 1) * size)
            for i in range {
                slice.finishedVerified += 1
                if !isUnchanged(record.finished[i], in: folder) { changed.append(i) }
            }
            record.bucketDue[k] = now + cache.recheckSeconds
        }
        if !cache.invalidated.isEmpty {
            for (i, f) in record.finished.enumerated() where cache.invalidated.contains(join(dir, f.name)) {
                changed.append(i)
            }
        }
        guard !changed.isEmpty else { return }
        // Looked at in full from now on, until the directory is listed again.
        for i in Set(changed).sorted(by: >) {
            let names = record.finished.remove(at: i).names(in: dir, layout: scanner.layout)
            slice.observations.append(observeInFull(names, running: running).0)
            record.live.append(names)
        }
        record.trusted = false
        record.bucketDue = bucketTimes(count: record.finished.count, directory: dir, now: now,
                                       recheck: cache.recheckSeconds, keeping: record.bucketDue)
        record.recount()
    }

    /// stat of the source, read of every marker; and what the cache may keep of it
    /// when it is a finished job the reconciler has nothing to do for.
    private func observeInFull(_ names: DirectoryListing.JobNames, running: Set<String>) -> (JobObservation, FinishedJob?) {
        var entry = names.entry
        if names.sourceKind != nil { entry.fingerprint = scanner.fingerprint(of: names) }
        let observation = queue.observe(entry, skipProcessing: running.contains(entry.job.relativePath))
        return (observation, FinishedJob(settled: observation, names: names, redoOnChange: queue.options.redoOnChange))
    }

    /// An lstat of the marker and of the source (`folder` is the job's folder, made once per folder:
    /// this runs for every finished job on its bucket's turn).
    private func isUnchanged(_ f: FinishedJob, in folder: FilePath) -> Bool {
        guard let marker = try? Syscall.lstat(folder.appending(Job.markerStem(forName: f.name) + f.state.suffix)),
              UInt64(marker.st_ino) == f.markerStatInode, Int64(marker.st_size) == f.markerSize,
              Fingerprint(marker).mtimeNanoseconds == f.markerMtimeNanoseconds else { return false }
        guard f.sourceInode != nil, let inode = f.sourceStatInode else { return true }
        guard let source = try? Fingerprint.of(folder.appending(f.name), followSymlinks: f.sourceIsSymlink) else { return false }
        if !f.sourceIsSymlink, source.inode != inode { return false }
        if queue.options.redoOnChange, let recorded = f.recorded, !recorded.sameContent(as: source) { return false }
        return true
    }

    /// When each bucket of `count` finished jobs is verified next: the old times where
    /// the buckets are the same, else spread over the next `recheckSeconds` from a phase
    /// of the directory's own, so directories and buckets do not fall due together.
    private func bucketTimes(count: Int, directory: String, now: Double, recheck: Double, keeping old: [Double]) -> [Double] {
        let n = (count + ScanCache.bucketSize - 1) / ScanCache.bucketSize
        if old.count == n { return old }
        let phase = Double(Job.fnv1a(directory) % 10_000) / 10_000
        return (0..<n).map { k in
            let f = (phase + Double(k) / Double(n)).truncatingRemainder(dividingBy: 1)
            return now + recheck * (f == 0 ? 1 : f)
        }
    }

    private func join(_ dir: String, _ name: String) -> String { dir.isEmpty ? name : dir + "/" + name }
}

extension FinishedJob {
    /// The cache's record of a job that is finished and has nothing left to decide:
    /// one done or failed marker, read, whose recorded source agrees with the source
    /// (or that the source is gone, or changes are ignored). Nil for anything else.
    init?(settled o: JobObservation, names: DirectoryListing.JobNames, redoOnChange: Bool) {
        guard o.entry.markers.count == 1, let state = o.entry.state, state == .done || state == .failed,
              let markerInode = names.markerInodes[state],
              let marker = try? Syscall.lstat(o.job.marker(state)) else { return nil }
        let recorded: Fingerprint?
        switch state {
        case .done: guard let done = o.done?.value else { return nil }; recorded = done.fingerprint
        default: guard let failed = o.failed?.value else { return nil }; recorded = failed.fingerprint
        }
        if let source = o.entry.fingerprint {
            if redoOnChange, let recorded, !recorded.sameContent(as: source) { return nil }
        } else if names.sourceKind != nil {
            return nil
        }
        self.init(name: o.job.name, state: state, sourceInode: names.sourceInode,
                  sourceStatInode: o.entry.fingerprint?.inode,
                  sourceIsSymlink: names.sourceKind == UInt8(DT_LNK), markerInode: markerInode,
                  markerStatInode: UInt64(marker.st_ino),
                  markerSize: Int64(marker.st_size), markerMtimeNanoseconds: Fingerprint(marker).mtimeNanoseconds,
                  recorded: recorded)
    }

    /// A new listing shows the same job: the same source and marker inodes.
    func matches(_ names: DirectoryListing.JobNames) -> Bool {
        names.entry.markers == [state] && names.markerInodes[state] == markerInode && names.sourceInode == sourceInode
            && (names.sourceKind == UInt8(DT_LNK)) == sourceIsSymlink
    }

    /// The names this job stands for in a listing, to look at it in full again.
    func names(in dir: String, layout: InboxLayout) -> DirectoryListing.JobNames {
        let job = layout.job(relativePath: dir.isEmpty ? name : dir + "/" + name)
        return DirectoryListing.JobNames(entry: FolderSnapshot.Entry(job: job, markers: [state]),
                                         sourceKind: sourceInode == nil ? nil : UInt8(sourceIsSymlink ? DT_LNK : DT_REG),
                                         sourceInode: sourceInode, markerInodes: [state: markerInode])
    }
}

extension DirectoryRecord {
    mutating func recount() {
        var counts: [JobState?: Int] = [:]
        for f in finished { counts[f.state, default: 0] += 1 }
        for names in live { counts[names.entry.state, default: 0] += 1 }
        self.counts = counts
    }
}
