import Foundation
import Glibc
import Logging
import SystemPackage

/// A memory cgroup (v1 `memory` controller or v2 unified), used to give each
/// worker its own memory limit and to tell the kernel's out-of-memory killer
/// apart from any other SIGKILL.
///
/// The OOM killer always sends SIGKILL, whether the limit is a worker's own
/// cgroup (`worker_memory_limit_mb`), the daemon's service (systemd
/// `MemoryMax=`) or a container (Kubernetes `limits.memory`); what tells it
/// from a `kill -9` is the cgroup's `oom_kill` counter, which the kernel
/// raises in the victim's cgroup (and, on v2, in its ancestors).
public struct MemoryCgroup: Sendable, Equatable, CustomStringConvertible {
    /// The cgroup's folder, e.g. /sys/fs/cgroup/memory/system.slice/dropscribe.service.
    public var directory: String
    /// 1: legacy hierarchy (memory.limit_in_bytes, memory.oom_control); 2: unified (memory.max, memory.events).
    public var version: Int

    public var description: String { "\(directory) (cgroup v\(version))" }

    /// Prefix of the per-worker cgroups a daemon creates under its own.
    static let workerPrefix = "dropscribe-worker-"

    /// The memory cgroup of this process, from /proc/self/cgroup, or nil when there is none we can read.
    public static func current(procSelfCgroup: String = "/proc/self/cgroup", mountRoot: String = "/sys/fs/cgroup") -> MemoryCgroup? {
        guard let text = try? String(contentsOfFile: procSelfCgroup, encoding: .utf8) else { return nil }
        var unified: String?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1].split(separator: ",").contains("memory") {
                let dir = mountRoot + "/memory" + (parts[2] == "/" ? "" : String(parts[2]))
                if FileManager.default.fileExists(atPath: dir + "/memory.oom_control") { return MemoryCgroup(directory: dir, version: 1) }
            } else if parts[0] == "0", parts[1].isEmpty {
                unified = parts[2] == "/" ? "" : String(parts[2])
            }
        }
        if let unified {
            for base in [mountRoot, mountRoot + "/unified"] where FileManager.default.fileExists(atPath: base + unified + "/memory.events") {
                return MemoryCgroup(directory: base + unified, version: 2)
            }
        }
        return nil
    }

    /// How many processes of this cgroup the kernel's OOM killer has killed so far.
    public func oomKills() -> Int? {
        let file = directory + (version == 1 ? "/memory.oom_control" : "/memory.events")
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, f[0] == "oom_kill" { return Int(f[1]) }
        }
        return nil
    }

    /// Creates a child cgroup limited to `limitBytes` (no swap where the kernel allows setting it).
    public func makeChild(named name: String, limitBytes: Int64) throws(CgroupError) -> MemoryCgroup {
        let child = MemoryCgroup(directory: directory + "/" + name, version: version)
        if mkdir(child.directory, 0o755) != 0, errno != EEXIST {
            throw CgroupError(path: child.directory, operation: "creating the cgroup", errno: Errno(rawValue: errno))
        }
        do {
            if version == 1 {
                try child.write("\(limitBytes)", to: "memory.limit_in_bytes")
                // Counts memory+swap where swap accounting is on; absent otherwise.
                try? child.write("\(limitBytes)", to: "memory.memsw.limit_in_bytes")
            } else {
                try child.write("\(limitBytes)", to: "memory.max")
                try? child.write("0", to: "memory.swap.max")
            }
        } catch {
            child.remove()
            throw error
        }
        return child
    }

    /// Moves a process (with all its threads) into this cgroup.
    public func add(pid: Int32) throws(CgroupError) {
        try write("\(pid)", to: "cgroup.procs")
    }

    /// Removes this (empty) cgroup.
    public func remove() {
        _ = rmdir(directory)
    }

    /// Removes per-worker cgroups left by daemons that died (kill -9) before removing them.
    public func removeStaleWorkerCgroups() -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(Self.workerPrefix) {
            let owner = name.dropFirst(Self.workerPrefix.count).split(separator: "-").first.flatMap { Int32($0) }
            if let owner, owner != getpid(), kill(owner, 0) == 0 || errno != ESRCH { continue }
            if rmdir(directory + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    func write(_ text: String, to file: String) throws(CgroupError) {
        let path = directory + "/" + file
        do {
            let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.closeOnExec])
            defer { try? fd.close() }
            _ = try fd.writeAll(Array(text.utf8))
        } catch {
            throw CgroupError(path: path, operation: "writing \(text)", errno: error as? Errno)
        }
    }
}

/// A cgroup file that could not be created or written, naming it and the cause.
public struct CgroupError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var errno: Errno?

    public var description: String {
        "\(path): \(operation) failed" + (errno.map { ": \($0)" } ?? "")
    }
}

/// A worker's start: into its memory cgroup before the model is loaded, and
/// the kernel's preferred victim should memory run out for the whole service.
public enum WorkerMemory {
    public static func prepare(cgroup: String?, logger: Logger) {
        // Under a limit shared with the daemon (systemd MemoryMax=, a container) the
        // OOM killer should take a worker (one job, retried), not the daemon.
        if let fd = try? FileDescriptor.open(FilePath("/proc/self/oom_score_adj"), .writeOnly, options: [.closeOnExec]) {
            _ = try? fd.writeAll(Array("500".utf8))
            try? fd.close()
        }
        guard let cgroup else { return }
        do {
            try MemoryCgroup(directory: cgroup, version: 0).add(pid: getpid())
        } catch {
            logger.warning("cannot join the worker's memory cgroup; running without its limit", metadata: ["error": "\(error)"])
        }
    }
}
