import SystemPackage

/// Where jobs live and where their outputs go: the static shape of one watched folder.
public struct InboxLayout: Sendable, Equatable {
    /// The watched folder, absolute and without symlinks.
    public var root: FilePath
    /// Outputs beside each job when nil; else under this folder with the job's relative path.
    public var outputDirectory: FilePath?
    /// Finished sources are moved here (same relative path) when set.
    public var archiveDirectory: FilePath?
    public var recursive: Bool
    public var followSymlinks: Bool
    public var rules: IgnoreRules
    /// Output and archive folders of the config's folder rules: never scanned either.
    public var ruleFolders: [FilePath] = []

    public init(root: FilePath, outputDirectory: FilePath? = nil, archiveDirectory: FilePath? = nil,
                recursive: Bool = true, followSymlinks: Bool = false, rules: IgnoreRules = IgnoreRules()) {
        self.root = root
        self.outputDirectory = outputDirectory
        self.archiveDirectory = archiveDirectory
        self.recursive = recursive
        self.followSymlinks = followSymlinks
        self.rules = rules
    }

    /// Why the symlink at `path` in the inbox must not be followed, or nil when it may be:
    /// the one rule for the folder listing and for the files inotify names between listings.
    public func symlinkProblem(_ path: FilePath) -> String? {
        guard let target = Syscall.realpath(path) else { return "dangling symlink" }
        if followSymlinks { return nil }
        if target.starts(with: root) { return nil }
        return "symlink to \(target) outside the inbox (set queue.follow_symlinks = true to allow)"
    }

    /// The job for a path relative to the root ("a/b/talk.mp3").
    public func job(relativePath: String) -> Job { Job(root: root, relativePath: relativePath) }

    /// Folders the scan must not descend into (outputs and archive when they lie inside the inbox).
    public var excludedDirectories: [FilePath] {
        ([outputDirectory, archiveDirectory].compactMap { $0 } + ruleFolders).filter { $0.starts(with: root) && $0 != root }
    }

    /// The folder `job`'s outputs are written into, and the components below it.
    public func outputLocation(for job: Job) -> (folder: ContainedFolder, components: [String]) {
        (ContainedFolder(root: outputDirectory ?? root), job.relativeDirectoryComponents)
    }

    /// The folder `job`'s source is archived into, and the components below it (nil without an archive).
    public func archiveLocation(for job: Job) -> (folder: ContainedFolder, components: [String])? {
        archiveDirectory.map { (ContainedFolder(root: $0), job.relativeDirectoryComponents) }
    }
}

/// One file in the inbox that is (or may become) a transcription job.
public struct Job: Hashable, Sendable, CustomStringConvertible {
    public let root: FilePath
    /// Path relative to the inbox root, "/"-separated.
    public let relativePath: String

    public init(root: FilePath, relativePath: String) {
        self.root = root
        self.relativePath = relativePath
    }

    public var path: FilePath {
        var p = root
        for c in relativePath.split(separator: "/", omittingEmptySubsequences: true) { p.append(String(c)) }
        return p
    }

    public var name: String { String(relativePath.split(separator: "/").last ?? Substring(relativePath)) }

    var relativeDirectoryComponents: [String] {
        relativePath.split(separator: "/").dropLast().map(String.init)
    }

    public func marker(_ state: JobState) -> FilePath {
        path.removingLastComponent().appending(Self.markerStem(forName: name) + state.suffix)
    }

    /// The 64-bit FNV-1a hash of a string's UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The longest marker suffix (".processing").
    static let longestMarkerSuffix = JobState.allCases.map { $0.suffix.utf8.count }.max() ?? 11

    /// What a job's markers are named after: its name, or, when `name.processing`
    /// would exceed NAME_MAX (255 bytes), `PREFIX~HHHHHHHHHHHHHHHH`: the longest
    /// start of the name that fits (never cut inside a UTF-8 character) and the
    /// 64-bit FNV-1a hash of the whole name, as the transcripts' names do. One
    /// stem for all four markers, so they stay together; the scanner maps it back.
    /// A name that already ends like a stem (`~` and 16 hex digits) gets one of its
    /// own (its start and the hash of the whole name), so a file named like another
    /// file's stem cannot share that file's markers.
    public static func markerStem(forName name: String) -> String {
        guard needsMarkerStem(name) else { return name }
        let bytes = Array(name.utf8)
        let limit = 255 - longestMarkerSuffix
        let hex = String(fnv1a(name), radix: 16)
        let tag = "~" + String(repeating: "0", count: 16 - hex.count) + hex
        var cut = min(limit, bytes.count) - tag.utf8.count
        var backed = 0
        while cut > 0, backed < 3, bytes[cut] & 0b1100_0000 == 0b1000_0000 {
            cut -= 1
            backed += 1
        }
        return String(decoding: bytes[..<cut], as: UTF8.self) + tag
    }

    /// Whether `name`'s markers use a hashed stem: it is too long, or it ends like a stem.
    static func needsMarkerStem(_ name: String) -> Bool {
        name.utf8.count > 255 - longestMarkerSuffix || endsLikeStem(name.utf8)
    }

    /// Whether a name ends in `~` and 16 lowercase hex digits, the tag of a hashed stem.
    static func endsLikeStem(_ name: String.UTF8View) -> Bool {
        let tail = name.suffix(17)
        guard tail.count == 17, tail.first == UInt8(ascii: "~") else { return false }
        return tail.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    public var description: String { relativePath }
}
