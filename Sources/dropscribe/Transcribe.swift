import ArgumentParser
import DropscribeCore
import Foundation
import Glibc
import HotFolder
import Logging
import SystemPackage
import Transcripts
import Whisper

/// `dropscribe transcribe`: one-shot transcription of files named on the command line.
struct Transcribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transcribe files given on the command line, with the same engine and outputs as the daemon.",
        discussion: """
            With --format or --output-dir, writes FILE.txt, FILE.srt, … (the source name plus the format's \
            extension) into the output folder (default: beside each file). Without either, prints the \
            transcript to stdout. Shows a progress bar when stderr is a terminal. Exit status 1 if any \
            file failed.
            """)

    @Argument(help: ArgumentHelp("Audio or video files.", valueName: "file"))
    var files: [String]

    @OptionGroup var options: ConfigOptions

    @OptionGroup(title: "Voice activity detection") var vad: VADFlags

    @Option(help: ArgumentHelp("Model folder (faster-whisper/CTranslate2 format), or a model name installed by `dropscribe models fetch` (tiny.en, small, large-v3-turbo, ...).", valueName: "dir|name"))
    var model: String?

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where to write the outputs.", valueName: "dir"))
    var outputDir: String?

    @Option(help: ArgumentHelp("Comma-separated formats: txt,srt,vtt,tsv,json (or all).", valueName: "list"))
    var format: String?

    @Option(name: .customLong("beam-size"), help: "Beam size (1 = greedy).")
    var beamSize: Int?

    @Option(help: ArgumentHelp("Language code (default: detect on multilingual models).", valueName: "code"))
    var language: String?

    @Option(help: ArgumentHelp("transcribe or translate (multilingual models).", valueName: "task"))
    var task: String?

    @Flag(name: .customLong("word-timestamps"), help: "Word-level timestamps (in json; srt/vtt cues then follow the words).")
    var wordTimestamps = false

    @Option(help: ArgumentHelp("Words to bias recognition towards (names, jargon), sent as a prompt in every window.", valueName: "text"))
    var hotwords: String?

    @Option(name: .customLong("initial-prompt"), help: ArgumentHelp("Text to condition the first window on.", valueName: "text"))
    var initialPrompt: String?

    @Option(help: ArgumentHelp("Temperatures for the fallback, comma-separated.", valueName: "list"))
    var temperatures: String?

    @Option(help: "BLAS threads (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("compute-type"),
            help: ArgumentHelp("float32 (exact, the default), int8 (every linear layer in int8: about twice as fast, slightly less accurate) or bfloat16 (bfloat16 products with float32 sums; float32 runs on CPUs without AVX512-BF16).",
                               valueName: "type"))
    var computeType: String?

    func run() async throws {
        try await reporting { try transcribeAll() }
    }

    /// The configuration with the command line's overrides; a refused flag value reads as
    /// the config file's error for the same key would.
    private func configuration() throws -> Configuration {
        var config = try options.load()
        let cwd = FileManager.default.currentDirectoryPath
        if let model { ModelLocation.apply(commandLine: model, cwd: cwd, to: &config) }
        if let beamSize {
            guard (1...64).contains(beamSize) else { throw CommandFailure.usage("--beam-size must be between 1 and 64") }
            config.model.beamSize = beamSize
        }
        if let language { config.model.language = language }
        do throws(ConfigError) {
            if let task { config.model.task = try Configuration.flag("--task", task, ConfigValues.task) }
            if let computeType { config.model.computeType = try Configuration.flag("--compute-type", computeType, ConfigValues.computeType) }
            if let format { config.formats = try Configuration.flag("--format", format, ConfigValues.formats(commaSeparated:)) }
        } catch {
            throw CommandFailure.usage(error.description)
        }
        if wordTimestamps { config.model.wordTimestamps = true }
        if let initialPrompt { config.model.initialPrompt = initialPrompt }
        if let hotwords { config.model.hotwords = hotwords }
        if let temperatures {
            let list = temperatures.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty else { throw CommandFailure.usage("--temperatures must be numbers, comma-separated") }
            config.model.temperatures = list
        }
        if let threads { config.threadsPerWorker = threads }
        try vad.apply(to: &config, cwd: cwd)
        if !writeFiles { config.formats = [.txt] }
        return config
    }

    private var writeFiles: Bool { format != nil || outputDir != nil }

    private func transcribeAll() throws {
        let config = try configuration()
        let cwd = FileManager.default.currentDirectoryPath
        // Quiet at the daemon's default (info): a command's output is its transcript. A
        // config asking for debug or trace shows the engine's lines too (load time, kernels).
        let logger = Logs.bootstrap(level: ["debug", "trace"].contains(config.logLevel) ? config.logLevel : "warning")
        var transcriber = try Transcribers.whisper(config: config, logger: logger)
        let bar = isatty(2) == 1 ? ProgressBar() : nil
        var failures = 0
        for file in files {
            let path = cwd.appendingPath(file)
            let name = (path as NSString).lastPathComponent
            bar?.start(name)
            if let bar {
                transcriber.progress = { @Sendable fraction in bar.update(fraction) }
            }
            let job = TranscriptionJob(source: FilePath(path), displayName: file, journal: [],
                                       checkpoint: { _ in }, shouldStop: { false }, logger: logger, limits: config.limits)
            do {
                let result = try transcriber.transcribe(job)
                bar?.finish()
                if writeFiles {
                    let folder = outputDir.map { cwd.appendingPath($0) } ?? (path as NSString).deletingLastPathComponent
                    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    for (ext, contents) in result.outputs {
                        let format = try OutputFormat(parsing: ext)
                        let target = (folder as NSString).appendingPathComponent(outputFileName(forSource: name, format: format))
                        try AtomicFile.write(contents, to: FilePath(target))
                        FileHandle.standardError.write(Data("wrote \(target)\n".utf8))
                    }
                } else if let text = result.outputs.first?.contents {
                    FileHandle.standardOutput.write(Data(text))
                }
            } catch {
                bar?.finish()
                failures += 1
                FileHandle.standardError.write(Data("dropscribe: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw CommandFailure.jobFailed("\(failures) of \(files.count) file\(files.count == 1 ? "" : "s") failed") }
    }
}

/// A one-line progress bar on stderr, redrawn in place.
final class ProgressBar: @unchecked Sendable {
    // Invariant: used from the transcribing thread only.
    private var name = ""
    private var started = Date()

    func start(_ name: String) {
        self.name = name
        started = Date()
        update(0)
    }

    func update(_ fraction: Double) {
        let width = 30
        let filled = Int((fraction * Double(width)).rounded(.down))
        let elapsed = Date().timeIntervalSince(started)
        let eta = fraction > 0 ? elapsed / fraction * (1 - fraction) : 0
        let line = String(format: "\r%@ [%@%@] %3.0f%%  %.0fs left ", name,
                          String(repeating: "#", count: filled), String(repeating: ".", count: width - filled), fraction * 100, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
