/// Decides when a file is complete: its size and mtime unchanged for
/// `settleSeconds` as observed by us, and not held open by a writer as far as
/// the kernel told us (inotify's IN_CLOSE_WRITE).
///
/// Observation-based rather than mtime-based, because on NFS and SMB the
/// server's clock may differ from ours.
public struct SettleTracker: Sendable {
    public var settleSeconds: Double
    private var observations: [String: (fingerprint: Fingerprint, since: Double)] = [:]
    private var openForWrite: Set<String> = []

    public init(settleSeconds: Double) {
        self.settleSeconds = settleSeconds
    }

    /// Records what a stat saw now; returns true once the file has settled.
    public mutating func observe(_ relativePath: String, _ fingerprint: Fingerprint, now: Double) -> Bool {
        if let seen = observations[relativePath], seen.fingerprint.sameContent(as: fingerprint), seen.fingerprint.inode == fingerprint.inode {
            return !openForWrite.contains(relativePath) && now - seen.since >= settleSeconds
        }
        observations[relativePath] = (fingerprint, now)
        return settleSeconds <= 0 && !openForWrite.contains(relativePath)
    }

    /// The kernel says a writer has the file open (IN_CREATE, IN_MODIFY).
    public mutating func noteWriting(_ relativePath: String) {
        openForWrite.insert(relativePath)
        observations[relativePath] = nil
    }

    /// The kernel says the writer closed it or it was moved in complete (IN_CLOSE_WRITE, IN_MOVED_TO).
    public mutating func noteClosed(_ relativePath: String) {
        openForWrite.remove(relativePath)
    }

    public mutating func forget(_ relativePath: String) {
        observations[relativePath] = nil
        openForWrite.remove(relativePath)
    }

    /// Files seen but not yet settled: the ones worth re-checking soon.
    public var settling: [String] { Array(observations.keys) }

    public mutating func retain(only paths: Set<String>) {
        observations = observations.filter { paths.contains($0.key) }
        openForWrite = openForWrite.filter { paths.contains($0) }
    }
}
