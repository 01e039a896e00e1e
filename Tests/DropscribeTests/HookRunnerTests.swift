import Foundation
import Glibc
import Logging
import SystemPackage
import Testing
@testable import DropscribeCore

/// The hook runner in process, on real child processes: output and exit status,
/// stdin, a time limit that kills the hook's process group, and the concurrency limit.
@Suite struct HookRunnerTests {
    let runner = HookRunner(logger: Logger(label: "hook-test"))
    let event = HookEvent(job: "a/b.wav", source: "/inbox/a/b.wav", outputs: ["/out/a/b.wav.txt"], state: "done",
                          audioSeconds: 2.5, attempts: 1)

    @Test func theExitStatusAndTheFirstLinesOfOutputAreKept() async {
        let (ending, output) = await runner.execute(["/bin/sh", "-c", "echo one; echo two >&2; seq 3 20; exit 3"], event: event,
                                                    timeout: 60, workingDirectory: FilePath("/"))
        #expect(ending == .exited(3))
        #expect(output == "one\ntwo\n3\n4\n5")
    }

    @Test func theJSONDocumentIsOnStandardInput() async throws {
        let (ending, output) = await runner.execute(["cat"], event: event, timeout: 60, workingDirectory: FilePath("/"))
        #expect(ending == .exited(0))
        let read = try JSONDecoder().decode(HookEvent.self, from: Data(output.utf8))
        #expect(read == event)
    }

    @Test func aMissingProgramIsReportedNotThrown() async {
        let (ending, _) = await runner.execute(["/nonexistent/hook"], event: event, timeout: 60, workingDirectory: FilePath("/"))
        let notStarted = if case .notStarted = ending { true } else { false }
        #expect(notStarted, "\(ending)")
    }

    @Test(.hangGuard) func aHookPastItsLimitIsKilledWithEverythingItStarted() async throws {
        let ws = Workspace()
        let dir = ws.root
        let (ending, _) = await runner.execute(["/bin/sh", "-c", "sleep 300 & echo $! > \(dir)/pid; wait"], event: event,
                                               timeout: 0.5, workingDirectory: FilePath("/"))
        #expect(ending == .timedOut)
        let pid = try #require(Int32((try? String(contentsOfFile: dir + "/pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(waitUntil(seconds: 10) { kill(pid, 0) != 0 }, "the hook's child outlived the timeout")
    }

    @Test(.hangGuard) func noMoreThanTheConfiguredNumberRunAtOnce() async throws {
        let ws = Workspace()
        let dir = ws.root
        var settings = JobEndSettings()
        settings.hookConcurrency = 2
        // Each hook takes the lowest free slot (mkdir is atomic) and holds it until `go` exists;
        // a third hook running beside two others would take slot 3.
        let script = """
            for i in 1 2 3; do mkdir "\(dir)/slot$i" 2>/dev/null && break; done
            touch "\(dir)/started-$DROPSCRIBE_RULE_MATCH$DROPSCRIBE_JOB" "\(dir)/held-slot$i"
            while [ ! -e "\(dir)/go" ]; do sleep 0.05; done
            rmdir "\(dir)/slot$i"
            """
        let limits = settings
        let runner = self.runner
        let event = self.event
        await withTaskGroup(of: Void.self) { group in
            for name in ["h1", "h2", "h3"] {
                var e = event
                e.job = name
                let hookEvent = e
                group.addTask { await runner.run(["/bin/sh", "-c", script], event: hookEvent, settings: limits, workingDirectory: FilePath(dir)) }
            }
            group.addTask {
                #expect(waitUntil(seconds: 60) { Self.started(in: dir) >= 2 })
                // Time for a third hook to start if the limit let it (it never does when it holds).
                try? await Task.sleep(for: .milliseconds(500))
                #expect(Self.started(in: dir) == 2)
                _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil)
            }
        }
        #expect(Self.started(in: dir) == 3)
        #expect(!FileManager.default.fileExists(atPath: dir + "/held-slot3"))
    }

    static func started(in dir: String) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasPrefix("started-") }.count ?? 0
    }
}
