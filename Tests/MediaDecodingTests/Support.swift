import Foundation
import MediaDecoding
import Testing

enum Corpus {
    /// `$DROPSCRIBE_CORPUS`, else `<repo>/.corpus` (repo root found from this file's path).
    static let root: URL = {
        if let env = ProcessInfo.processInfo.environment["DROPSCRIBE_CORPUS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".corpus")
    }()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static var available: Bool { FileManager.default.fileExists(atPath: path("formats/sample.wav")) }

    static func files(in dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path(dir))) ?? []
        return names.sorted()
    }
}

enum FFmpegCLI {
    /// Runs `ffmpeg -nostdin -v error -i FILE <args> -` and returns its stdout.
    static func run(_ file: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-i", file] + args + ["-"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return data
    }

    /// `ffmpeg -i X -ac 1 -ar 16000 -f f32le -` (+ extra args such as -map).
    static func f32(_ file: String, extra: [String] = []) throws -> [Float] {
        let d = try run(file, extra + ["-ac", "1", "-ar", "16000", "-f", "f32le"])
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// `ffmpeg -i X -ac 1 -ar 16000 -f s16le -` divided by 32768 (close to what PyAV gets, not equal: see PyAVGoldenTests).
    static func s16(_ file: String, extra: [String] = []) throws -> [Float] {
        let d = try run(file, extra + ["-ac", "1", "-ar", "16000", "-f", "s16le"])
        return d.withUnsafeBytes { $0.bindMemory(to: Int16.self).map { Float($0) / 32768 } }
    }
}

func rmsDifference(_ a: [Float], _ b: [Float]) -> Double {
    let n = min(a.count, b.count)
    guard n > 0 else { return a.count == b.count ? 0 : .infinity }
    var sum = 0.0
    for i in 0..<n {
        let d = Double(a[i]) - Double(b[i])
        sum += d * d
    }
    return (sum / Double(n)).squareRoot()
}

func maxAbsDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    var m: Float = 0
    for (x, y) in zip(a, b) { m = max(m, abs(x - y)) }
    return m
}

func decodeAll(_ path: String, _ options: DecoderOptions = .quiet) throws -> [Float] {
    try AudioDecoder(path: path, options: options).readAll()
}
