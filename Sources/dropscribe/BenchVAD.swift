import ArgumentParser
import Foundation
import MediaDecoding
import VoiceActivity
import Whisper

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

    @Option(help: ArgumentHelp("Threads (default: all cores), as `transcribe --threads`.", valueName: "n"))
    var threads = 0

    func run() async throws {
        BLAS.setThreads(threads)
        let weights = try SileroWeights(path: model)
        let decoder = try AudioDecoder(path: file)
        // The decoder's chunks, fed to the VAD one by one as the job's VAD pass feeds them.
        var chunks: [[Float]] = []
        while let chunk = try decoder.next() { chunks.append(chunk) }
        let count = chunks.reduce(0) { $0 + $1.count }
        let cpuStart = KernelProbe.cpuSeconds()
        let started = Date()
        var vad = VoiceActivityDetector(weights: weights)
        var probabilities: [Float] = []
        for chunk in chunks { probabilities += vad.append(chunk) }
        probabilities += vad.finish()
        let speech = SpeechTimestamps.chunks(probabilities: probabilities, sampleCount: count, options: VADOptions())
        let wall = Date().timeIntervalSince(started)
        let cpuSeconds = KernelProbe.cpuSeconds() - cpuStart
        let report: [String: Any] = [
            "audioSeconds": Double(count) / 16000, "vadSeconds": wall,
            "vadCPUSeconds": cpuSeconds,
            "windows": probabilities.count, "chunks": speech.count,
            "speechSeconds": Double(speech.reduce(0) { $0 + $1.end - $1.start }) / 16000, "threads": BLAS.threads,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
    }
}
