import ArgumentParser
import DropscribeCore
import Foundation

/// `dropscribe health`: exit 0 when the daemon's heartbeat is fresh (for probes).
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the daemon is alive: its heartbeat record (health_file) is fresh.",
        discussion: """
            The daemon rewrites health_file every 2 seconds while it watches. Exit status 0 when \
            the record says the daemon is watching, was written at most --max-age seconds ago and \
            (on the same host) its process exists; 1 otherwise, with the reason on stderr; 2 for a \
            usage or configuration error. Made for exec probes (Kubernetes liveness/readiness) and \
            monitoring scripts.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("The heartbeat record (default: health_file from the config).", valueName: "file"))
    var file: String?

    @Option(name: .customLong("max-age"), help: ArgumentHelp("Oldest acceptable heartbeat, in seconds.", valueName: "seconds"))
    var maxAge: Double = 60

    @Flag(help: "Print nothing when healthy.")
    var quiet = false

    func run() async throws {
        try await reporting {
            guard maxAge > 0 else { throw CommandFailure.usage("--max-age must be more than 0") }
            let path: String
            if let file {
                path = FileManager.default.currentDirectoryPath.appendingPath(file)
            } else {
                let config = try options.load()
                guard !config.healthFile.isEmpty else {
                    throw CommandFailure.usage("no heartbeat file: set health_file in the config (--config FILE) or pass --file")
                }
                path = config.resolve(config.healthFile)
            }
            do {
                let record = try HealthRecord.check(file: path, maxAge: maxAge)
                if !quiet {
                    let age = Date().timeIntervalSince1970 - record.updated
                    print("healthy: pid \(record.pid) on \(record.host) watching \(record.inbox), "
                          + "\(record.workersRunning) running, heartbeat \(String(format: "%.1f", age)) s ago")
                }
            } catch {
                throw CommandFailure.unhealthy("\(error)")
            }
        }
    }
}
