import ArgumentParser
import Foundation
import MediaDecoding
import VoiceActivity

/// `dropscribe bench-vad`: what the VAD pass costs on a file, apart from decoding (hidden; used by `make bench`).
struct BenchVAD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-vad",
        abstract: "Decode a file, then time Silero VAD and the speech timestamps on its samples; print JSON.",
        shouldDisplay: false)

    @Argument(help: ArgumentHelp("Audio file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("silero_vad_v6.onnx.", valueName: "file"))
    var model: String

    func run() async throws {
        let weights = try SileroWeights(path: model)
        let decoder = try AudioDecoder(path: file)
        var samples: [Float] = []
        while let chunk = try decoder.next() { samples += chunk }
        var cpu = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
        let cpuStart = Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9
        let started = Date()
        let probabilities = VoiceActivityDetector.probabilities(samples, weights: weights)
        let chunks = SpeechTimestamps.chunks(probabilities: probabilities, sampleCount: samples.count, options: VADOptions())
        let wall = Date().timeIntervalSince(started)
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
        let report: [String: Any] = [
            "audioSeconds": Double(samples.count) / 16000, "vadSeconds": wall,
            "vadCPUSeconds": Double(cpu.tv_sec) + Double(cpu.tv_nsec) / 1e9 - cpuStart,
            "windows": probabilities.count, "chunks": chunks.count,
            "speechSeconds": Double(chunks.reduce(0) { $0 + $1.end - $1.start }) / 16000,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
    }
}
