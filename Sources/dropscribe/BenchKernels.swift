import ArgumentParser
import Foundation
import Whisper

/// `dropscribe bench-kernels`: the encoder's GFLOP/s (GOP/s in int8) against its kernel's peak (hidden; used by `make bench`).
struct BenchKernels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "Print the model's load time, the encoder's achieved GFLOP/s, OpenBLAS sgemm's peak and the int8 and bfloat16 products' rates on one encoder layer on this machine, as JSON.",
        shouldDisplay: false)

    @Option(help: ArgumentHelp("Model folder.", valueName: "dir"))
    var model: String

    @Option(help: "BLAS threads (default: all cores).")
    var threads: Int = 0

    @Option(help: "Timed repetitions of each measurement.")
    var repeats: Int = 5

    @Option(name: .customLong("compute-type"), help: "float32, int8 or bfloat16: the encoder's compute type.")
    var computeType: String = "float32"

    func run() async throws {
        guard let type = ComputeType(rawValue: computeType) else {
            throw ValidationError("--compute-type \(computeType): expected \(ComputeType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let started = Date()
        let m = try WhisperModel.load(directory: model, threads: threads, computeType: type)
        let load = Date().timeIntervalSince(started)
        let report = KernelProbe().run(model: m, repeats: max(1, repeats))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var object = try JSONSerialization.jsonObject(with: try encoder.encode(report)) as? [String: Any] ?? [:]
        object["modelLoadSeconds"] = load
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}
