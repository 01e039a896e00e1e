import CLinuxShims
import Foundation
import Glibc

/// Why a readiness message could not be delivered to the service manager.
public struct ServiceNotifyError: Error, CustomStringConvertible, Sendable {
    public var socket: String
    public var message: String
    public var errno: Int32

    public var description: String {
        "$NOTIFY_SOCKET \(socket): cannot send \"\(message)\": \(String(cString: strerror(errno)))"
    }
}

/// The service manager's readiness protocol (systemd's sd_notify, a datagram
/// of "KEY=value" lines to the unix socket named by $NOTIFY_SOCKET).
///
/// It exists so a `Type=notify` unit starts dependants only once the daemon
/// really watches its inbox, and sees a clean shutdown begin. Without
/// $NOTIFY_SOCKET (a terminal, a container, the tests) every call does nothing.
/// The socket work itself is C, in CLinuxShims.
public struct ServiceNotifier: Sendable {
    /// The socket: a path, or an abstract name starting with "@"; nil: not under a service manager.
    public var socket: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let s = environment["NOTIFY_SOCKET"] ?? ""
        socket = s.isEmpty ? nil : s
    }

    /// Sends `state` ("READY=1", "STOPPING=1", "STATUS=…", several lines allowed).
    /// Does nothing when there is no socket.
    public func notify(_ state: String) throws(ServiceNotifyError) {
        guard let socket else { return }
        if dropscribe_notify_socket_send(socket, state) != 0 {
            throw ServiceNotifyError(socket: socket, message: state, errno: Glibc.errno)
        }
    }

    /// The message that the daemon is up and watching.
    public static func ready(status: String) -> String { "READY=1\nSTATUS=\(status)" }
    /// The message that a clean shutdown has begun.
    public static let stopping = "STOPPING=1\nSTATUS=stopping: running jobs go back to pending at their next checkpoint"
}
