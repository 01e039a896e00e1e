import DropscribeCore
import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// Hooks, delete_source and config reload on one daemon run (the test transcriber):
/// each job's state is right, hooks that fail, hang or delete the source change
/// nothing, and nothing runs twice. Decided from markers, files and pids.
@Suite struct HookDaemonTests {
    static func rules(_ ws: Workspace, outputFolder: String, extra: String = "") -> String {
        TestConfig.fast(top: """
            workers = 3
            hook_timeout_seconds = 2
            hook_concurrency = 2
            on_done = ["/bin/sh", "\(ws.root)/record.sh"]
            on_failed = ["/bin/sh", "\(ws.root)/record.sh"]
            \(extra)
            [[rule]]
            match = "x/**"
            output_dir = "\(outputFolder)"
            """)
    }

    @Test(.hangGuard) func hooksRunBesideTheQueueAndNeverChangeAJob() throws {
        let ws = Workspace()
        // Records its environment and stdin, named after the job ("rec/a.wav": hook-rec_a.wav).
        try """
            out="\(ws.root)/hook-$(printf %s "$DROPSCRIBE_JOB" | tr / _)"
            env | grep '^DROPSCRIBE_' | grep -v '^DROPSCRIBE_TEST' | sort > "$out.env"
            cat > "$out.tmp" && mv "$out.tmp" "$out.json"
            """.write(toFile: ws.root + "/record.sh", atomically: true, encoding: .utf8)
        ws.writeConfig(Self.rules(ws, outputFolder: "out1"))
        // 300 MiB "available": enough for the default model (not there: 256 MiB of working set),
        // never for base (twice its 139 MiB plus that), which the big/ rule asks for.
        let daemon = try ws.startDaemon(windowMilliseconds: 300, windows: 6, environment: ["DROPSCRIBE_MEMAVAILABLE_MB": "300"])

        // A job claimed before a reload keeps the settings it was claimed with.
        ws.drop("x/first.wav", "first job")
        #expect(waitUntil(seconds: 120) { FileManager.default.fileExists(atPath: ws.inbox + "/x/first.wav.processing") })
        ws.writeConfig(Self.rules(ws, outputFolder: "out2", extra: """
            [[rule]]
            match = "rec/**"
            beam_size = 2
            [[rule]]
            match = "exit1/**"
            on_done = ["/bin/sh", "-c", "echo refusing; exit 1"]
            [[rule]]
            match = "slow/**"
            on_done = ["/bin/sh", "-c", "sleep 300 & echo $! > \(ws.root)/sleeper.pid; wait"]
            [[rule]]
            match = "gone/**"
            on_done = ["/bin/sh", "-c", "rm -- \\"$DROPSCRIBE_SOURCE\\""]
            [[rule]]
            match = "del/**"
            delete_source = true
            on_done = []
            [[rule]]
            match = "crash/**"
            on_done = ["/bin/sh", "-c", "kill -SEGV $$"]
            [[rule]]
            match = "big/**"
            model = "\(Assets.models)/base"
            [[rule]]
            match = "arch/**"
            archive_dir = "store"
            [[rule]]
            match = "missing/**"
            on_done = ["/nonexistent/hook"]
            """))
        kill(daemon.pid, SIGHUP)
        #expect(waitUntil(seconds: 120) { daemon.log.contains("configuration reloaded") })
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/x/first.wav.processing"), "the reload came after the job ended")

        let jobs = ["rec/a.wav", "exit1/c.wav", "slow/d.wav", "gone/e.wav", "del/f.wav", "crash/g.wav", "arch/i.wav", "missing/j.wav",
                    "x/second.wav"]
        ws.drop("big/h.wav", "needs the base model")
        for job in jobs { ws.drop(job, "content of \(job)") }
        ws.drop("rec/bad.wav", "FAIL on purpose")
        let all = jobs + ["x/first.wav"]
        let settled = waitUntil(seconds: 60) {
            all.allSatisfy { ws.finished($0) } && FileManager.default.fileExists(atPath: ws.inbox + "/rec/bad.wav.failed")
                && ["hook-rec_a.wav.json", "hook-rec_bad.wav.json", "hook-arch_i.wav.json", "sleeper.pid"].allSatisfy { FileManager.default.fileExists(atPath: ws.root + "/" + $0) }
        }
        try #require(settled, "not settled: \(ws.names())")
        let queue = JobQueue(layout: InboxLayout(root: FilePath(ws.inbox)), options: QueueOptions())
        func done(_ rel: String) -> DoneMarker? { queue.readDone(queue.layout.job(relativePath: rel)) }

        // Reload: claimed before it, out1 and the old rule 1; after it, out2 and the new rule 6.
        #expect(done("x/first.wav")?.rule == AppliedRule(index: 1, match: ["x/**"]))
        #expect(FileManager.default.fileExists(atPath: ws.root + "/out1/x/first.wav.txt"))
        #expect(done("x/second.wav")?.rule?.index == 10)
        #expect(FileManager.default.fileExists(atPath: ws.root + "/out2/x/second.wav.txt"))

        // The recording hook, field by field, against the markers.
        let env = ws.hookEnvironment("hook-rec_a.wav")
        let a = try #require(done("rec/a.wav"))
        #expect(env["DROPSCRIBE_JOB"] == "rec/a.wav")
        #expect(env["DROPSCRIBE_SOURCE"] == ws.inbox + "/rec/a.wav")
        #expect(env["DROPSCRIBE_OUTPUTS"] == a.outputs.joined(separator: "\n") && a.outputs == [ws.inbox + "/rec/a.wav.txt"])
        #expect(env["DROPSCRIBE_STATE"] == "done" && env["DROPSCRIBE_FAILURE_KIND"] == "" && env["DROPSCRIBE_FAILURE_MESSAGE"] == "")
        #expect(env["DROPSCRIBE_AUDIO_SECONDS"] == String(format: "%.3f", a.audioDuration ?? -1))
        #expect(env["DROPSCRIBE_RULE"] == "1" && env["DROPSCRIBE_RULE_MATCH"] == "rec/**" && env["DROPSCRIBE_SOURCE_DELETED"] == "0")
        let json = try #require(ws.hookInput("hook-rec_a.wav"))
        #expect(json.job == "rec/a.wav" && json.outputs == a.outputs && json.state == "done" && json.attempts == 1)
        #expect(json.audioSeconds == a.audioDuration && json.rule == a.rule && json.failureKind == nil && !json.sourceDeleted)
        let failedEnv = ws.hookEnvironment("hook-rec_bad.wav")
        let failedInput = try #require(ws.hookInput("hook-rec_bad.wav"))
        #expect(failedEnv["DROPSCRIBE_JOB"] == "rec/bad.wav" && failedEnv["DROPSCRIBE_FAILURE_KIND"] == "not-media")
        #expect(failedInput.failureMessage == queue.readFailed(queue.layout.job(relativePath: "rec/bad.wav"))?.message)
        #expect(failedInput.failureKind == "not-media" && failedInput.outputs.isEmpty)

        // An archived source: the hook is told where it went.
        #expect(ws.hookEnvironment("hook-arch_i.wav")["DROPSCRIBE_SOURCE"] == ws.root + "/store/arch/i.wav")
        #expect(FileManager.default.fileExists(atPath: ws.root + "/store/arch/i.wav"))

        // Exit 1, a crash (SIGSEGV), a program that is not there and a hook killed at its time limit
        // (its whole process group) leave the job done.
        #expect(done("exit1/c.wav") != nil && done("slow/d.wav") != nil && done("crash/g.wav") != nil && done("missing/j.wav") != nil)
        let sleeper = try #require(Int32((try? String(contentsOfFile: ws.root + "/sleeper.pid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(waitUntil(seconds: 120) { kill(sleeper, 0) != 0 }, "the timed-out hook's child still runs")

        // delete_source: source and markers gone, the done facts beside the outputs.
        #expect(!FileManager.default.fileExists(atPath: ws.inbox + "/del/f.wav"))
        #expect(!ws.names().contains { $0.hasPrefix("del/f.wav.") && !$0.hasSuffix(".txt") && !$0.hasSuffix(".json") })
        let record = try JSONDecoder().decode(DoneRecord.self, from: Data(contentsOf: URL(fileURLWithPath: ws.inbox + "/del/f.wav.done.json")))
        #expect(record.job == "del/f.wav" && record.done.outputs == [ws.inbox + "/del/f.wav.txt"] && record.done.deleteSource == true)

        // The hook that deleted its source: the job stays done and is not taken up again,
        // even after a later job (claimed after a rescan that saw the deletion) finished.
        #expect(waitUntil(seconds: 120) { !FileManager.default.fileExists(atPath: ws.inbox + "/gone/e.wav") })
        kill(daemon.pid, SIGHUP)  // a reload asks for a full rescan
        ws.drop("late.wav", "after the deletion")
        #expect(waitUntil(seconds: 120) { ws.finished("late.wav") })
        #expect(done("gone/e.wav") != nil)
        #expect(Set(ws.names()).isDisjoint(with: ["gone/e.wav", "gone/e.wav.pending", "gone/e.wav.processing", "gone/e.wav.failed"]))
        // The job for the big model waits, pending, while the others (dropped after it) were done.
        #expect(Set(ws.names().filter { $0.hasPrefix("big/") }) == ["big/h.wav", "big/h.wav.pending"])
        #expect(daemon.terminate() == 0)
        #expect(ws.seen() == Dictionary(uniqueKeysWithValues: (all + ["late.wav"]).map { ($0, 1) }))
        // explain: an inbox-relative path and a file's absolute path, under the reloaded config.
        let (_, gone, _) = try Binary.run(["explain", "--config", ws.configFile, "gone/new.wav"])
        #expect(gone.contains("rule: rule 4 (match \"gone/**\")") && gone.contains("on_done: [\"/bin/sh\", \"-c\""))
        let (_, rec, _) = try Binary.run(["explain", "--config", ws.configFile, ws.inbox + "/rec/a.wav.txt"])
        #expect(rec.contains("path: \"rec/a.wav.txt\"") && rec.contains("rule: rule 1 (match \"rec/**\")")
                && rec.contains("beam_size: 2") && rec.contains("not a job (transcript output)"))
        // status --json names the rule of a failed job, and with --done of each done one.
        struct Listing: Decodable {
            struct Job: Decodable { var job: String; var rule: AppliedRule? }
            var failed: [Job]
            var done: [Job]
        }
        let (_, status, _) = try Binary.run(["status", "--json", "--done", "--config", ws.configFile])
        let listing = try JSONDecoder().decode(Listing.self, from: Data(status.utf8))
        #expect(listing.failed.map(\.job) == ["rec/bad.wav"] && listing.failed.first?.rule == AppliedRule(index: 1, match: ["rec/**"]))
        let rules = Dictionary(uniqueKeysWithValues: listing.done.map { ($0.job, $0.rule?.index ?? 0) })
        #expect(rules == ["x/first.wav": 1, "rec/a.wav": 1, "exit1/c.wav": 2, "slow/d.wav": 3, "gone/e.wav": 4, "crash/g.wav": 6,
                          "arch/i.wav": 8, "missing/j.wav": 9, "x/second.wav": 10, "late.wav": 0])
    }

    @Test(.hangGuard) func noMoreHooksRunAtOnceThanHookConcurrency() throws {
        let ws = Workspace()
        // Each hook takes the lowest free slot (mkdir is atomic) and holds it until `release` exists.
        try """
            for i in 1 2 3; do mkdir "\(ws.root)/slot$i" 2>/dev/null && break; done
            touch "\(ws.root)/held-slot$i"
            while [ ! -e "\(ws.root)/release" ]; do sleep 0.05; done
            rmdir "\(ws.root)/slot$i"
            touch "\(ws.root)/ran-$(basename "$DROPSCRIBE_JOB")"
            """.write(toFile: ws.root + "/slot.sh", atomically: true, encoding: .utf8)
        ws.writeConfig(TestConfig.fast(top: """
            workers = 3
            hook_concurrency = 1
            hook_timeout_seconds = 60
            on_done = ["/bin/sh", "\(ws.root)/slot.sh"]
            \(DaemonCounters.config)
            """))
        let daemon = try ws.startDaemon(windowMilliseconds: 10)
        let jobs = ["1.wav", "2.wav", "3.wav"]
        for job in jobs { ws.drop(job, job) }
        // Every job is done (each asked for its hook), one hook holds a slot, and the daemon
        // says the other two wait for one: they cannot start before the first ends.
        let gauge = { (name: String) in DaemonCounters.value(name, in: ws.metricsFile) }
        #expect(waitUntil(seconds: 60) {
            jobs.allSatisfy { ws.finished($0) } && FileManager.default.fileExists(atPath: ws.root + "/held-slot1")
                && gauge("dropscribe_hooks_running") == 1 && gauge("dropscribe_hooks_waiting") == 2
        }, "hooks running \(gauge("dropscribe_hooks_running") ?? -1), waiting \(gauge("dropscribe_hooks_waiting") ?? -1)")
        #expect(!FileManager.default.fileExists(atPath: ws.root + "/held-slot2"), "two hooks ran at once with hook_concurrency = 1")
        _ = FileManager.default.createFile(atPath: ws.root + "/release", contents: nil)
        #expect(waitUntil(seconds: 60) { jobs.allSatisfy { FileManager.default.fileExists(atPath: ws.root + "/ran-" + $0) } })
        #expect(daemon.terminate() == 0)
        #expect(ws.seen() == ["1.wav": 1, "2.wav": 1, "3.wav": 1])
    }
}

extension Workspace {
    /// Done, or (delete_source) gone with the record left beside its outputs.
    func finished(_ rel: String) -> Bool {
        FileManager.default.fileExists(atPath: inbox + "/" + rel + ".done")
            || (!FileManager.default.fileExists(atPath: inbox + "/" + rel) && FileManager.default.fileExists(atPath: inbox + "/" + rel + ".done.json"))
    }

    /// The DROPSCRIBE_* variables a recording hook wrote to `<name>.env`.
    func hookEnvironment(_ name: String) -> [String: String] {
        let text = (try? String(contentsOfFile: root + "/" + name + ".env", encoding: .utf8)) ?? ""
        var env: [String: String] = [:]
        var last: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let eq = line.firstIndex(of: "="), line.hasPrefix("DROPSCRIBE_") {
                last = String(line[..<eq])
                env[last!] = String(line[line.index(after: eq)...])
            } else if let key = last, !line.isEmpty {
                env[key, default: ""] += "\n" + line  // a multi-line value
            }
        }
        return env
    }

    func hookInput(_ name: String) -> HookEvent? {
        try? JSONDecoder().decode(HookEvent.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/" + name + ".json")))
    }
}

