import Foundation
@testable import Whisper

/// Paths and fixtures shared by the Whisper tests.
enum Fixtures {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var modelsDir: String { ProcessInfo.processInfo.environment["DROPSCRIBE_MODELS"] ?? repoRoot + "/models" }
    static var corpusDir: String { ProcessInfo.processInfo.environment["DROPSCRIBE_CORPUS"] ?? repoRoot + "/.corpus" }
    static var goldenDir: String { repoRoot + "/Tests/WhisperTests/Golden" }

    static func modelPath(_ name: String) -> String { modelsDir + "/" + name }
    static func hasModel(_ name: String) -> Bool { FileManager.default.fileExists(atPath: modelPath(name) + "/model.bin") }

    nonisolated(unsafe) private static var cache: [String: WhisperModel] = [:]
    private static let lock = NSLock()

    /// Loads (once per process) a model from the models directory.
    static func model(_ name: String) throws -> WhisperModel {
        lock.lock(); defer { lock.unlock() }
        if let m = cache[name] { return m }
        let m = try WhisperModel.load(directory: modelPath(name), threads: 0)
        cache[name] = m
        return m
    }
}

/// Minimal 16-bit PCM WAV reader (mono or first channel), samples / 32768.
enum WAV {
    struct Audio { var sampleRate: Int; var channels: Int; var samples: [Float] }

    static func read(_ path: String) throws -> Audio {
        let d = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ o: Int) -> Int { Int(d[o]) | Int(d[o + 1]) << 8 | Int(d[o + 2]) << 16 | Int(d[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(d[o]) | Int(d[o + 1]) << 8 }
        guard d.count >= 12, String(decoding: d[0..<4], as: UTF8.self) == "RIFF",
              String(decoding: d[8..<12], as: UTF8.self) == "WAVE" else { throw WAVError.notWAV(path) }
        var o = 12, rate = 0, ch = 0, bits = 0
        while o + 8 <= d.count {
            let id = String(decoding: d[o..<o + 4], as: UTF8.self), size = u32(o + 4)
            if id == "fmt " { ch = u16(o + 10); rate = u32(o + 12); bits = u16(o + 22) }
            if id == "data" {
                guard bits == 16, ch >= 1 else { throw WAVError.unsupported(path) }
                let end = min(d.count, o + 8 + size)
                let frames = (end - o - 8) / (2 * ch)
                var s = [Float](repeating: 0, count: frames)
                for i in 0..<frames {
                    let p = o + 8 + i * 2 * ch
                    s[i] = Float(Int16(bitPattern: UInt16(d[p]) | UInt16(d[p + 1]) << 8)) / 32768
                }
                return Audio(sampleRate: rate, channels: ch, samples: s)
            }
            o += 8 + size + (size & 1)
        }
        throw WAVError.notWAV(path)
    }

    enum WAVError: Error { case notWAV(String), unsupported(String) }
}

extension ModelBinary {
    /// Parses `data` as model.bin, through a mapping of a temporary file holding it (the
    /// file is gone once mapped; the mapping keeps its pages).
    static func parse(_ data: [UInt8], path: String) throws(WhisperError) -> ModelBinary {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString).bin")
        do { try Data(data).write(to: file) } catch { throw .unreadable(path: file.path, reason: "\(error)") }
        defer { try? FileManager.default.removeItem(at: file) }
        return try ModelBinary.parse(MappedFile(path: file.path), path: path)
    }

    /// The values of variable `name` as Float (empty when there is none).
    func values(_ name: String) -> [Float] {
        variables[name].map { floats($0, level: .portable) } ?? []
    }
}
