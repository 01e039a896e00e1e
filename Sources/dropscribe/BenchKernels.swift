import ArgumentParser
import Foundation
import Whisper

/// `dropscribe bench-kernels`: the encoder's GFLOP/s against sgemm's peak (hidden; used by `make bench`).
struct BenchKernels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Print the model's load time, the encoder's achieved GFLOP/s and OpenBLAS sgemm's peak on this machine, as JSON.",
        shouldDisplay: false)

    @Option(help: ArgumentHelp("Model folder.", valueName: "dir"))
    var model: String

    @Option(help: "BLAS threads (default: all cores).")
    var threads: Int = 0

    @Option(help: "Timed repetitions of each measurement.")
    var repeats: Int = 5

    func run() async throws {
        let started = Date()
        let m = try WhisperModel.load(directory: model, threads: threads)
        let load = Date().timeIntervalSince(started)
        let report = KernelProbe().run(model: m, repeats: max(1, repeats))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var object = try JSONSerialization.jsonObject(with: try encoder.encode(report)) as? [String: Any] ?? [:]
        object["modelLoadSeconds"] = load
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}
