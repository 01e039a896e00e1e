import Foundation
import Glibc
import Testing

/// What a running daemon has done, read from the counters it publishes in its metrics
/// file, so that a test decides "nothing happened" from state instead of a sleep.
///
/// The daemon writes `dropscribe_rescans_total` as each full pass over the inbox ends,
/// before the next pass begins. So if a test reads the count N after an event, pass N+1
/// may have begun before the event, but passes N+2 and N+3 began after it: once the count
/// reaches N+3, the daemon has looked at the folder twice since the event, whatever the
/// machine's speed, and a test can assert that it did nothing.
enum DaemonCounters {
    /// The config line that makes a daemon publish its counters where `Workspace.metricsFile` reads them.
    static let config = "metrics_file = \"metrics.prom\""

    /// The value of an unlabelled (or exactly labelled) sample in a metrics file; nil
    /// while the file is absent (no publish yet) or the sample missing.
    static func value(_ sample: String, in file: String) -> Double? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }
}

extension Workspace {
    /// The metrics file of a daemon started with `DaemonCounters.config`.
    var metricsFile: String { root + "/metrics.prom" }

    /// Full passes over the inbox the daemon has published (0 before its first).
    func rescansPublished(_ file: String? = nil) -> Int {
        Int(DaemonCounters.value("dropscribe_rescans_total", in: file ?? metricsFile) ?? 0)
    }

    /// Waits until `daemon` has completed two full passes over the inbox that began
    /// after this call (see `DaemonCounters`), while it keeps running. A hang guard
    /// bounds the wait; it is no verdict: the passes always come on a live daemon.
    func awaitTwoRescans(by daemon: DaemonProcess, metrics file: String? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        let seen = rescansPublished(file)
        let passed = waitUntil(seconds: 300, poll: 0.05) {
            rescansPublished(file) >= seen + 3 || !daemon.process.isRunning
        }
        #expect(passed && daemon.process.isRunning,
                "no two rescans after pass \(seen) (now \(rescansPublished(file))): \(daemon.log.suffix(2000))",
                sourceLocation: sourceLocation)
    }
}
