import ArgumentParser
import DropscribeCore
import Foundation
import HotFolder
import Logging
import Whisper

/// The `dropscribe` command: a folder that transcribes what you drop into it.
@main
struct Dropscribe: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dropscribe",
        abstract: "Turn a folder into a transcription service.",
        discussion: """
            Files dropped into the inbox are transcribed by a Whisper model that dropscribe \
            runs itself. Each job's state is a marker file beside it (X.pending, X.processing, \
            X.done, X.failed); outputs (txt, srt, vtt, tsv, json) go beside the job or under \
            output_dir. Exit codes: 0 success, 1 a job failed (or, for health, the daemon is not healthy), 2 usage or configuration error.
            """,
        // Lines two and three: which kernels this machine runs (docs/engine.md §10).
        version: "\(version)\n\(KernelLevel.summary((try? KernelLevel.fromEnvironment()) ?? KernelLevel.detected))\n\(BLASCore.summary)",
        subcommands: [Watch.self, Transcribe.self, Status.self, Explain.self, Retry.self, Reset.self, Health.self, Models.self, WorkerCommandLine.self, BenchKernels.self, BenchDecode.self, BenchVAD.self]
    )
}

/// Options shared by the commands that read a config file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file (TOML); every key is optional.", valueName: "file"))
    var config: String?

    /// The configuration from --config (or $DROPSCRIBE_CONFIG), or the defaults.
    func load() throws -> Configuration {
        if let file = config ?? ProcessInfo.processInfo.environment["DROPSCRIBE_CONFIG"] {
            do {
                return try Configuration.load(file: file)
            } catch {
                throw CommandFailure.config(error.description)
            }
        }
        return Configuration()
    }

    var file: String? { config ?? ProcessInfo.processInfo.environment["DROPSCRIBE_CONFIG"] }
}

/// A failure the CLI reports as one line and an exit code.
enum CommandFailure: Error, CustomStringConvertible {
    case config(String)
    case usage(String)
    case jobFailed(String)
    case unhealthy(String)

    var description: String {
        switch self {
        case .config(let s), .usage(let s), .jobFailed(let s), .unhealthy(let s): s
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .config, .usage: ExitCode(2)
        case .jobFailed, .unhealthy: ExitCode(1)
        }
    }
}

extension AsyncParsableCommand {
    /// Reports a CommandFailure on stderr and exits with its code.
    func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("dropscribe: \(failure.description)\n".utf8))
            throw failure.exitCode
        }
    }
}

enum Logs {
    /// Bootstraps swift-log once, to stderr, at the configured level.
    static func bootstrap(level: String) -> Logger {
        let lvl = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = EscapingLogHandler(inner: StreamLogHandler.standardError(label: label))
            handler.logLevel = lvl
            return handler
        }
        var logger = Logger(label: "dropscribe")
        logger.logLevel = lvl
        return logger
    }
}
