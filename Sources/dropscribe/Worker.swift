import ArgumentParser
import DropscribeCore
import Foundation
import Glibc
import HotFolder
import Logging

/// `dropscribe worker`: one job (`--job`), or job after job from standard input
/// (`--serve`), in a child process of the daemon (hidden).
struct WorkerCommandLine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one claimed job (started by the daemon; not for direct use).",
        shouldDisplay: false)

    @OptionGroup var options: ConfigOptions
    @Option var inbox: String
    @Option(name: .customLong("owner-pid")) var ownerPID: Int32
    @Option var job: String?
    @Flag var serve = false
    @Flag(name: .customLong("test-transcriber")) var testTranscriber = false
    @Option(name: .customLong("memory-cgroup")) var memoryCgroup: String?

    func run() async throws {
        if serve { return try serveJobs() }
        guard let job else { throw CommandFailure.usage("worker: --job or --serve is needed") }
        // The config text the daemon accepted (the file may have been edited since, even into nonsense).
        var config: Configuration
        if let text = ProcessInfo.processInfo.environment[Configuration.workerConfigVariable], let file = options.file {
            do { config = try Configuration.load(text: text, file: file) } catch { throw CommandFailure.config(error.description) }
        } else {
            config = try options.load()
        }
        config.inbox = inbox
        // The job's folder rule, from the config text the daemon claimed it with.
        config = config.forJob(job)
        let logger = Logs.bootstrap(level: config.logLevel)
        Self.exitWhenOrphaned(parent: ownerPID)
        WorkerMemory.prepare(cgroup: memoryCgroup, logger: logger)
        let layout = try config.layout()
        let transcriber: any Transcriber = testTranscriber ? TestTranscriber() : try Transcribers.whisper(config: config, logger: logger)
        let key: JournalKey
        do { key = try JournalKey.load(path: config.journalKeyPath, creating: false) } catch { throw CommandFailure.config("\(error)") }
        let runner = WorkerRunner(configuration: config, layout: layout, transcriber: transcriber, journalKey: key, logger: logger)
        let outcome = runner.run(relativePath: job, ownerPID: ownerPID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = String(decoding: try encoder.encode(outcome), as: UTF8.self)
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// The daemon's requests, one JSON line each, until it closes our input.
    func serveJobs() throws {
        Self.exitWhenOrphaned(parent: ownerPID)
        WorkerMemory.prepare(cgroup: memoryCgroup, logger: Logger(label: "dropscribe.worker"))
        let cache = LoadedModelCache()
        let server = WorkerServer(
            inbox: inbox, ownerPID: ownerPID,
            loadConfiguration: { text in
                guard let text, let file = options.file else { return try options.load() }
                do { return try Configuration.load(text: text, file: file) } catch { throw CommandFailure.config("\(error)") }
            },
            makeLogger: { Logs.bootstrap(level: $0.logLevel) },
            transcriber: { config, logger in
                testTranscriber ? (TestTranscriber(), false) : try cache.transcriber(config: config, logger: logger)
            })
        do { try server.serve() } catch let error as CommandFailure { throw error } catch {
            throw CommandFailure.config("\(error)")
        }
    }

    /// A worker whose daemon died (kill -9) stops at once: its journal is durable,
    /// and the next daemon resumes the job from it.
    static func exitWhenOrphaned(parent: Int32) {
        Thread.detachNewThread {
            while getppid() == parent { usleep(200_000) }
            _exit(70)
        }
    }
}
