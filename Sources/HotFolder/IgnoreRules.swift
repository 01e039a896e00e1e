import Glibc

/// Decides which names in the inbox are jobs.
///
/// Partial uploads must never become jobs: each uploader has its own naming
/// for a file still in transit (rsync's `.name.XXXXXX`, browsers' `.crdownload`,
/// Syncthing's `.syncthing.name.tmp`, Resilio's `.!sync`, Office's `~$`…). Our
/// own markers, outputs and temp files are never jobs either.
public struct IgnoreRules: Sendable, Equatable {
    /// Shell globs (fnmatch) a job's name must match; `["*"]` takes everything.
    public var include: [String]
    /// Shell globs that exclude a name even when it is included.
    public var exclude: [String]

    /// Extensions of the transcripts dropscribe writes beside jobs.
    public static let outputExtensions: Set<String> = ["txt", "srt", "vtt", "tsv", "json"]
    static let partialSuffixes = [".part", ".partial", ".tmp", ".crdownload", ".!sync", ".download", ".filepart", ".swp"]

    public init(include: [String] = ["*"], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    /// Why `name` (a file name, not a path) is not a job, or nil when it is one.
    public func reasonToIgnore(_ name: String) -> String? {
        if name.hasPrefix(AtomicFile.tempPrefix) { return "dropscribe temp file" }
        if JobState.parse(markerName: name) != nil { return "marker" }
        if name.hasPrefix(".") { return "hidden or partial upload (dotfile)" }
        if name.hasPrefix("~") { return "editor or office temp file" }
        let lower = name.lowercased()
        for suffix in Self.partialSuffixes where lower.hasSuffix(suffix) { return "partial upload (\(suffix))" }
        if let dot = lower.lastIndex(of: "."), Self.outputExtensions.contains(String(lower[lower.index(after: dot)...])) {
            return "transcript output"
        }
        if !include.contains(where: { Self.matches($0, name) }) { return "not matched by watch.include" }
        if exclude.contains(where: { Self.matches($0, name) }) { return "matched by watch.exclude" }
        return nil
    }

    public func isJob(_ name: String) -> Bool { reasonToIgnore(name) == nil }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
