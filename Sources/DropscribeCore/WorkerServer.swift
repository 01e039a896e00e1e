import Foundation
import Glibc
import HotFolder
import Logging

/// One job for a serving worker: a JSON line on its standard input.
public struct WorkerRequest: Codable, Sendable, Equatable {
    /// The job's path relative to the inbox.
    public var job: String
    /// The config text the job was claimed with (nil: the worker reads its config as given).
    public var config: String?

    public init(job: String, config: String?) {
        self.job = job
        self.config = config
    }
}

/// `dropscribe worker --serve`: a worker process that takes job after job from its
/// standard input and answers each with one outcome line, keeping the loaded model.
///
/// It exists because loading a model per job costs seconds with a large model;
/// the process boundary stays, so a crash or an OOM kill still costs one job.
public struct WorkerServer {
    public var inbox: String
    public var ownerPID: Int32
    /// The job's configuration from a request's config text (the job's rule not applied yet).
    public var loadConfiguration: (String?) throws -> Configuration
    /// Called once, with the first job's configuration.
    public var makeLogger: (Configuration) -> Logger
    /// The transcriber for a job, and whether its model was already loaded.
    public var transcriber: (Configuration, Logger) throws -> (any Transcriber, reused: Bool)

    public init(inbox: String, ownerPID: Int32, loadConfiguration: @escaping (String?) throws -> Configuration,
                makeLogger: @escaping (Configuration) -> Logger,
                transcriber: @escaping (Configuration, Logger) throws -> (any Transcriber, reused: Bool)) {
        self.inbox = inbox
        self.ownerPID = ownerPID
        self.loadConfiguration = loadConfiguration
        self.makeLogger = makeLogger
        self.transcriber = transcriber
    }

    /// Serves until its input ends or it was asked to stop (SIGTERM) during a job.
    /// A configuration or model that cannot be loaded ends the process with the error,
    /// as a one-job worker does: the daemon counts it as a crash of that job.
    public func serve() throws {
        let stop = StopFlag.installingSignalHandler()
        var logger: Logger?
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        while let line = readLine() {
            guard !line.isEmpty else { continue }
            let request = try JSONDecoder().decode(WorkerRequest.self, from: Data(line.utf8))
            var config = try loadConfiguration(request.config)
            config.inbox = inbox
            config = config.forJob(request.job)
            let log = logger ?? makeLogger(config)
            logger = log
            let layout = try config.layout()
            let (transcriber, reused) = try transcriber(config, log)
            let key = try JournalKey.load(path: config.journalKeyPath, creating: false)
            let runner = WorkerRunner(configuration: config, layout: layout, transcriber: transcriber, journalKey: key, logger: log)
            var outcome = runner.run(relativePath: request.job, ownerPID: ownerPID, stop: stop)
            outcome.summary?.workerPID = getpid()
            outcome.summary?.modelReused = reused
            outcome.workerRSSBytes = ProcessMemory.currentRSS()
            FileHandle.standardOutput.write(try encoder.encode(outcome) + Data("\n".utf8))
            if stop.isSet { return }
        }
    }
}
