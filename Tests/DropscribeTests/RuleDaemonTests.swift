import Foundation
import HotFolder
import SystemPackage
import Testing

/// Folder rules on the real binary and the real models: one inbox, three workflows.
/// Every check reads the outputs and the markers, never the log.
@Suite(.serialized) struct RuleDaemonTests {
    static var baseModel: String { Assets.models + "/base" }

    @Test(.hangGuard, .enabled(if: Assets.available && FileManager.default.fileExists(atPath: Self.baseModel + "/model.bin")))
    func eachFolderRunsWithItsRulesSettings() throws {
        let ws = Workspace()
        ws.writeConfig(TestConfig.fast(top: """
            workers = 2
            formats = ["txt", "json"]
            [model]
            path = "\(Assets.tinyEn)"
            [[rule]]
            match = "de/**"
            model = "\(Self.baseModel)"
            language = "de"
            beam_size = 1
            [[rule]]
            match = "en/**"
            model = "\(Assets.tinyEn)"
            language = "en"
            [[rule]]
            match = ["video/**", "**/*.mp4"]
            formats = ["srt"]
            """))
        for dir in ["de", "en", "video"] { try FileManager.default.createDirectory(atPath: ws.inbox + "/" + dir, withIntermediateDirectories: true) }
        // Dropped complete (copied aside, then renamed in), so no job sees a half-written file.
        try FileManager.default.copyItem(atPath: Assets.corpus + "/multilingual/german-weather.wav", toPath: ws.root + "/wetter.wav")
        try FileManager.default.moveItem(atPath: ws.root + "/wetter.wav", toPath: ws.inbox + "/de/wetter.wav")
        try FileManager.default.copyItem(atPath: Assets.corpus + "/clips/clip-01.wav", toPath: ws.root + "/car.wav")
        try FileManager.default.moveItem(atPath: ws.root + "/car.wav", toPath: ws.inbox + "/en/car.wav")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-nostdin", "-loglevel", "error", "-i", Assets.corpus + "/clips/clip-01.wav", "-c:a", "aac", ws.root + "/talk.mp4"]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        try FileManager.default.moveItem(atPath: ws.root + "/talk.mp4", toPath: ws.inbox + "/video/talk.mp4")

        let daemon = try ws.startRealDaemon()
        let jobs = ["de/wetter.wav", "en/car.wav", "video/talk.mp4"]
        let finished = waitUntil(seconds: 600) { jobs.allSatisfy { FileManager.default.fileExists(atPath: ws.inbox + "/" + $0 + ".done") } }
        #expect(daemon.terminate() == 0)
        try #require(finished, "not every job finished: \(ws.names())")

        let queue = JobQueue(layout: InboxLayout(root: FilePath(ws.inbox)), options: QueueOptions())
        func done(_ rel: String) -> DoneMarker? { queue.readDone(queue.layout.job(relativePath: rel)) }
        func text(_ rel: String) -> String { (try? String(contentsOfFile: ws.inbox + "/" + rel, encoding: .utf8)) ?? "" }

        let de = try #require(done("de/wetter.wav"))
        #expect(de.model == "base" && de.rule == AppliedRule(index: 1, match: ["de/**"]))
        #expect(text("de/wetter.wav.json").contains("\"language\": \"de\""))
        // "… gehen am Nachmittag in den Park." (base, greedy, on espeak-ng's German voice).
        #expect(text("de/wetter.wav.txt").lowercased().contains("in den park"), "German text expected: \(text("de/wetter.wav.txt"))")

        let en = try #require(done("en/car.wav"))
        #expect(en.model == "tiny.en" && en.rule?.index == 2)
        #expect(text("en/car.wav.txt").lowercased().contains("parked the car"))

        let video = try #require(done("video/talk.mp4"))
        #expect(video.rule == AppliedRule(index: 3, match: ["video/**", "**/*.mp4"]) && video.model == "tiny.en")
        #expect(video.outputs.map { ($0 as NSString).lastPathComponent } == ["talk.mp4.srt"])
        #expect(!FileManager.default.fileExists(atPath: ws.inbox + "/video/talk.mp4.txt"))
        #expect(text("video/talk.mp4.srt").contains("-->"))
    }
}
