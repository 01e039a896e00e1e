import Foundation
import Glibc
import HotFolder

/// The daemon's heartbeat for probes (`health_file`): rewritten every couple of
/// seconds by the main loop, read by `dropscribe health`.
///
/// It exists because a process that is alive is not necessarily working: a
/// stuck loop stops refreshing this file, and a Kubernetes exec probe (or any
/// monitor) sees it go stale.
public struct HealthRecord: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case watching, stopping, stopped
    }

    public var state: State
    public var host: String
    public var pid: Int32
    public var bootID: String
    public var started: Double
    /// When the loop last wrote this record (seconds since the epoch).
    public var updated: Double
    public var workersRunning: Int
    public var inbox: String

    public init(state: State, host: String, pid: Int32, bootID: String, started: Double, updated: Double,
                workersRunning: Int, inbox: String) {
        self.state = state
        self.host = host
        self.pid = pid
        self.bootID = bootID
        self.started = started
        self.updated = updated
        self.workersRunning = workersRunning
        self.inbox = inbox
    }

    enum CodingKeys: String, CodingKey {
        case state, host, pid, started, updated, inbox
        case bootID = "boot_id"
        case workersRunning = "workers_running"
    }

    /// How often the daemon rewrites the record.
    public static let interval: Double = 2

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(((try? encoder.encode(self)) ?? Data("{}".utf8)) + Data("\n".utf8))
    }
}

/// Why `dropscribe health` finds the daemon unhealthy, naming the file and the cause.
public enum HealthError: Error, CustomStringConvertible, Sendable, Equatable {
    case missing(file: String, reason: String)
    case unreadable(file: String)
    case stale(file: String, age: Double, maxAge: Double)
    case notWatching(file: String, state: String)
    case processGone(file: String, pid: Int32)

    public var description: String {
        switch self {
        case .missing(let file, let reason): "\(file): no heartbeat (\(reason)); is the daemon running with health_file set?"
        case .unreadable(let file): "\(file): not a dropscribe heartbeat record"
        case .stale(let file, let age, let maxAge):
            "\(file): heartbeat is \(String(format: "%.1f", age)) s old (more than --max-age \(String(format: "%g", maxAge)) s): the daemon is stuck or gone"
        case .notWatching(let file, let state): "\(file): the daemon is \(state)"
        case .processGone(let file, let pid): "\(file): the daemon (pid \(pid) on this host) is gone"
        }
    }
}

extension HealthRecord {
    /// Reads the record at `file` and checks that its daemon is watching, alive
    /// (when on this host and boot) and wrote it at most `maxAge` seconds ago.
    public static func check(file: String, maxAge: Double, now: Double = Date().timeIntervalSince1970) throws(HealthError) -> HealthRecord {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw .missing(file: file, reason: (error as NSError).localizedDescription)
        }
        guard let record = try? JSONDecoder().decode(HealthRecord.self, from: data) else { throw .unreadable(file: file) }
        if record.state != .watching { throw .notWatching(file: file, state: record.state.rawValue) }
        let me = OwnerIdentity.current()
        if record.host == me.host, record.bootID == me.bootID, kill(record.pid, 0) != 0, errno == ESRCH {
            throw .processGone(file: file, pid: record.pid)
        }
        let age = now - record.updated
        if age > maxAge { throw .stale(file: file, age: age, maxAge: maxAge) }
        return record
    }
}
