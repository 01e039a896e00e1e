import ArgumentParser
import DropscribeCore
import Foundation
import ModelStore
import Whisper
import Synchronization

/// `dropscribe models`: install Whisper models by name and see what is installed.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch Whisper models by name from the Hugging Face Hub, and list the installed ones.",
        discussion: """
            Names are faster-whisper's: \(ModelCatalog.names.joined(separator: ", ")); or owner/name of any \
            CTranslate2 Whisper conversion on the Hub. Models go into `[model] models_dir` (default ./models), \
            one folder per model, where `[model] name` and `--model NAME` find them. Honours HF_ENDPOINT \
            (a mirror), HF_HUB_OFFLINE (no network) and HF_TOKEN (gated repositories).
            """,
        subcommands: [Fetch.self, List.self])

    /// Options shared by the subcommands: where models live.
    struct Location: ParsableArguments {
        @OptionGroup var options: ConfigOptions

        @Option(help: ArgumentHelp("Models folder (default: the config's model.models_dir, ./models).", valueName: "dir"))
        var dir: String?

        func directory() throws -> String {
            let cwd = FileManager.default.currentDirectoryPath
            if let dir { return cwd.appendingPath(dir) }
            let config = try options.load()
            return config.resolve(config.model.modelsDir)
        }
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download models by name (resumable; every file checked against the Hub's size and hash).")

        @Argument(help: ArgumentHelp("Model names (e.g. large-v3-turbo) or owner/name.", valueName: "name"))
        var names: [String]

        @OptionGroup var location: Location

        @Option(help: ArgumentHelp("Branch, tag or commit to fetch.", valueName: "rev"))
        var revision: String = "main"

        func run() async throws {
            try await reporting {
                let directory = try location.directory()
                var environment = HubEnvironment.from(ProcessInfo.processInfo.environment)
                environment.revision = revision
                for value in names {
                    guard let name = ModelCatalog.lookUp(value) else {
                        throw CommandFailure.usage(ModelStoreError.unknownName(value).description)
                    }
                    let fetcher = ModelFetcher(environment: environment, modelsDirectory: directory)
                    let printer = ProgressPrinter()
                    do {
                        let folder = try await fetcher.fetch(name) { printer.show($0) }
                        print("\(value): ready in \(folder)")
                    } catch {
                        throw CommandFailure.jobFailed("\(value): \(error)")
                    }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the installed models: size, languages, source, and the memory a job takes.",
            discussion: """
                The memory is what the daemon admits a job with (beam 5, one window at a time): \
                the weights as each compute type keeps them plus the working set, from model.bin's \
                header; a worker grown 50% past it is replaced after its job.
                """)

        @OptionGroup var location: Location

        func run() async throws {
            try await reporting {
                let directory = try location.directory()
                let entries = InstalledModels.list(directory)
                guard !entries.isEmpty else {
                    print("no models in \(directory) (dropscribe models fetch NAME installs one)")
                    return
                }
                print("models in \(directory):")
                for e in entries {
                    let size = String(format: "%.0f MB", Double(e.bytes) / 1_000_000)
                    let languages = e.languages == 0 ? "English only" : "\(e.languages) languages"
                    print("  \(e.folderName.padding(toLength: 20, withPad: " ", startingAt: 0)) \(size.padding(toLength: 9, withPad: " ", startingAt: 0)) \(languages)  \(e.source ?? "(not fetched by dropscribe)")")
                    print("  \("".padding(toLength: 20, withPad: " ", startingAt: 0)) memory a job takes: \(memory(e.path))")
                }
                print("compute types: float32, int8, and bfloat16 on CPUs with AVX512-BF16, for every model (converted at load; see docs/engine.md §9)")
            }
        }
    }
}

/// Each compute type's `MemoryFootprint` of the model in `folder`, or why there is none.
private func memory(_ folder: String) -> String {
    do {
        let types: [ComputeType] = KernelLevel.detected >= .avx512BF16 ? [.float32, .int8, .bfloat16] : [.float32, .int8]
        let footprints = try MemoryFootprint.estimate(directory: folder, computeTypes: types, beamSize: 5, pieces: 1)
        return zip(types, footprints).map { "\($0.rawValue) \($1.totalBytes >> 20) MiB" }.joined(separator: ", ")
    } catch {
        return "unknown (\(error))"
    }
}

/// Prints a fetch's progress: one line per file, and every 10% of a large download.
private final class ProgressPrinter: Sendable {
    private let lastTenth = Mutex<[String: Int]>([:])

    func show(_ step: ModelFetcher.Progress) {
        switch step {
        case .listing(let repository):
            line("listing \(repository)")
        case .upToDate(let file):
            line("  \(file): up to date")
        case .downloading(let file, let resumingAt, let size):
            line("  \(file): downloading \(megabytes(size))" + (resumingAt > 0 ? ", resuming at \(megabytes(resumingAt))" : ""))
        case .received(let file, let bytes, let size):
            guard size >= 10_000_000 else { return }
            let tenth = Int(Double(bytes) / Double(size) * 10)
            let isNew = lastTenth.withLock { seen -> Bool in
                if seen[file] == tenth { return false }
                seen[file] = tenth
                return true
            }
            if isNew, tenth > 0, tenth < 10 { line("  \(file): \(tenth * 10)%") }
        case .installed(let file, let size):
            line("  \(file): \(megabytes(size)), hash checked")
        }
    }

    private func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }

    private func line(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
