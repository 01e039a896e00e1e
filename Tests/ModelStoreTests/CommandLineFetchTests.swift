import Foundation
import Testing

/// `dropscribe models fetch`, `models list`, `--model NAME` and `[model] name` on the real binary,
/// against a loopback server in the Hub's layout (HF_ENDPOINT), then a real transcription with the
/// fetched model.
@Suite struct CommandLineFetchTests {
    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent + "/dropscribe"
    }

    static var corpus: String {
        ProcessInfo.processInfo.environment["DROPSCRIBE_CORPUS"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/.corpus"
    }

    func run(_ args: [String], env: [String: String] = [:], cwd: String) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test(.timeLimit(.minutes(30))) func aModelFetchedByNameTranscribesByName() throws {
        let hub = try HubFixture.tinyEn(from: ModelFetchTests.modelsSource)
        defer { hub.remove() }
        let server = try HubFolderServer(root: hub.root)
        defer { server.stop() }
        let work = NSTemporaryDirectory() + "cli-fetch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let env = ["HF_ENDPOINT": server.endpoint]

        let fetched = try run(["models", "fetch", "tiny.en", "--dir", "store"], env: env, cwd: work)
        #expect(fetched.status == 0, "\(fetched.err)")
        #expect(fetched.out == "tiny.en: ready in \(work)/store/tiny.en\n")
        #expect(fetched.err.contains("model.bin: 75.5 MB, hash checked"))
        let listed = try run(["models", "list", "--dir", "store"], cwd: work)
        #expect(listed.out.contains("tiny.en") && listed.out.contains("Systran/faster-whisper-tiny.en@\(HubFixture.commit.prefix(12))"))

        let clip = Self.corpus + "/clips/clip-01.wav"
        try "[model]\nmodels_dir = \"store\"\n".write(toFile: work + "/by-flag.toml", atomically: true, encoding: .utf8)
        let byFlag = try run(["transcribe", "--config", "by-flag.toml", "--model", "tiny.en", clip], cwd: work)
        #expect(byFlag.status == 0, "\(byFlag.err)")
        #expect(byFlag.out.split(separator: " ").count >= 3, "no transcript: \(byFlag.out)")
        try "[model]\nname = \"tiny.en\"\nmodels_dir = \"store\"\n".write(toFile: work + "/by-name.toml", atomically: true, encoding: .utf8)
        let byName = try run(["transcribe", "--config", "by-name.toml", clip], cwd: work)
        #expect(byName.status == 0, "\(byName.err)")
        #expect(byName.out == byFlag.out)

        let offline = try run(["models", "fetch", "base", "--dir", "store"], env: env.merging(["HF_HUB_OFFLINE": "1"]) { $1 }, cwd: work)
        #expect(offline.status == 1)
        #expect(offline.err.contains("model 'base' is not installed in \(work)/store/base and HF_HUB_OFFLINE is set"))
        try "[model]\nname = \"small\"\nmodels_dir = \"store\"\n".write(toFile: work + "/missing.toml", atomically: true, encoding: .utf8)
        let missing = try run(["transcribe", "--config", "missing.toml", clip], cwd: work)
        #expect(missing.status == 2)
        #expect(missing.err.contains("model.name") && missing.err.contains("dropscribe models fetch small"))
        try "[model]\nname = \"huge\"\n".write(toFile: work + "/unknown.toml", atomically: true, encoding: .utf8)
        let unknown = try run(["transcribe", "--config", "unknown.toml", clip], cwd: work)
        #expect(unknown.status == 2)
        #expect(unknown.err.contains("model.name") && unknown.err.contains("is not a model name"))
    }
}
