import Foundation
import Testing
import VoiceActivity

enum Paths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var models: String { ProcessInfo.processInfo.environment["DROPSCRIBE_MODELS"] ?? repoRoot + "/models" }
    static var corpus: String {
        let env = ProcessInfo.processInfo.environment["DROPSCRIBE_CORPUS"] ?? ""
        return env.isEmpty ? repoRoot + "/.corpus" : env
    }
    static var vadModel: String { models + "/silero_vad_v6.onnx" }
    static var goldens: String { repoRoot + "/Tests/VoiceActivityTests/Golden/vad-goldens.json" }
}

/// The weights, loaded once per test process (`make models` fetches the file).
enum Model {
    static let weights: Result<SileroWeights, VADError> = Result { () throws(VADError) in try SileroWeights(path: Paths.vadModel) }
}

/// Golden/vad-goldens.json, written by make-vad-goldens.py.
struct Goldens: Decodable {
    struct Input: Decodable {
        let name: String
        let file: String?
        let samples: Int
        let probabilities: [Float]
        let timestamps: [String: [[Int]]]
    }
    let option_sets: [String: [String: Double]]
    let inputs: [Input]

    static func load() throws -> Goldens {
        try JSONDecoder().decode(Goldens.self, from: Data(contentsOf: URL(fileURLWithPath: Paths.goldens)))
    }

    /// An option set of the script as `VADOptions`.
    func options(_ key: String) throws -> VADOptions {
        var o = VADOptions()
        for (name, value) in try #require(option_sets[key]) {
            switch name {
            case "threshold": o.threshold = value
            case "neg_threshold": o.negThreshold = value
            case "min_speech_duration_ms": o.minSpeechDurationMs = Int(value)
            case "max_speech_duration_s": o.maxSpeechDurationS = value
            case "min_silence_duration_ms": o.minSilenceDurationMs = Int(value)
            case "speech_pad_ms": o.speechPadMs = Int(value)
            default: Issue.record("unknown VAD option \(name) in the goldens")
            }
        }
        return o
    }
}

/// The samples of a golden input, made exactly as the script makes them.
func samples(of input: Goldens.Input) throws -> [Float] {
    guard let file = input.file else {
        return input.name.hasPrefix("silence") ? [Float](repeating: 0, count: input.samples) : xorshiftNoise(input.samples)
    }
    let ffmpeg = Process()
    ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    ffmpeg.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-i", Paths.corpus + "/" + file, "-ac", "1", "-ar", "16000", "-f", "f32le", "-"]
    ffmpeg.standardError = FileHandle.nullDevice
    let pipe = Pipe()
    ffmpeg.standardOutput = pipe
    try ffmpeg.run()
    let data = try pipe.fileHandleForReading.readToEnd() ?? Data()
    ffmpeg.waitUntilExit()
    try #require(ffmpeg.terminationStatus == 0, "ffmpeg could not decode \(file)")
    let all = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return Array(all.prefix(input.samples))
}

/// The script's xorshift32 noise in [-0.1, 0.1).
func xorshiftNoise(_ n: Int, seed: UInt32 = 12345) -> [Float] {
    var x = seed
    return (0..<n).map { _ in
        x ^= x << 13
        x ^= x >> 17
        x ^= x << 5
        return Float((Double(x) / 4294967296.0 - 0.5) * 0.2)
    }
}

func pairs(_ chunks: [SpeechChunk]) -> [[Int]] { chunks.map { [$0.start, $0.end] } }
