import ArgumentParser
import DropscribeCore
import Foundation
import HotFolder
import SystemPackage
import Logging
import ServiceLifecycle
import UnixSignals

/// `dropscribe watch`: the daemon.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a folder and transcribe every complete file dropped into it (the daemon).",
        discussion: """
            Runs until SIGTERM or SIGINT, which stop new claims, let running jobs reach their next \
            checkpoint (queue.shutdown_grace_seconds), hand them back to pending and exit 0. \
            SIGHUP reloads the configuration file. Several daemons, on one or several hosts, may \
            watch the same folder: each job is claimed by exactly one of them.
            """)

    @Argument(help: ArgumentHelp("The inbox folder (default: `inbox` from the config, ./inbox).", valueName: "dir"))
    var directory: String?

    @OptionGroup var options: ConfigOptions

    @Option(help: "Jobs transcribed at once, each in its own worker process (overrides `workers`).")
    var workers: Int?

    @Flag(name: .customLong("no-inotify"), help: "Find new files by the periodic rescan only (for NFS/SMB shares).")
    var noInotify = false

    @Flag(name: .customLong("test-transcriber"), help: .hidden)
    var testTranscriber = false

    func run() async throws {
        try await reporting {
            var config = try options.load()
            if let directory { config.inbox = FileManager.default.currentDirectoryPath.appendingPath(directory) }
            if let workers {
                guard (1...64).contains(workers) else { throw CommandFailure.usage("--workers must be between 1 and 64") }
                config.workers = workers
            }
            if noInotify { config.watch.inotify = false }
            let layout: InboxLayout
            do { layout = try config.layout() } catch { throw CommandFailure.config("\(error)") }
            if !testTranscriber {
                do { try config.checkModels() } catch { throw CommandFailure.config("\(error)") }
            }
            do {
                _ = try JournalKey.load(path: config.journalKeyPath, creating: true, outside: layout.root.string)
            } catch { throw CommandFailure.config("\(error)") }
            let logger = Logs.bootstrap(level: config.logLevel)
            logger.info("engine", metadata: ["blas": "\(BLASCore.summary)"])
            var workerArgs: [String] = []
            if let file = options.file { workerArgs.append("--config=\(file)") }
            if testTranscriber { workerArgs.append("--test-transcriber") }
            let daemon = Daemon(configuration: config, configFile: options.file, layout: layout,
                                worker: WorkerCommand(executable: Self.executablePath(), arguments: workerArgs), logger: logger)
            let group = ServiceGroup(configuration: .init(
                services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    /// This binary's own path, for spawning workers.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

extension String {
    /// Resolves a relative path against this folder.
    func appendingPath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (self as NSString).appendingPathComponent(path)
    }
}
