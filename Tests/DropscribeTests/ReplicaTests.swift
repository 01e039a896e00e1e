import Foundation
import Glibc
import Testing

/// Several daemons on one shared folder, each with its own config file, the way
/// replicas of a Deployment (or services on several hosts) run: different worker
/// counts, output settings and metrics files, one queue.
@Suite(.serialized, .hangGuard) struct ReplicaTests {
    struct Replica {
        var tag: String
        var workers: Int
        /// Folder (relative to the workspace) the replica writes transcripts under; nil: beside the job.
        var outputDir: String?
        var metrics: String
    }

    @Test func threeDifferentlyConfiguredReplicasProcessEachJobExactlyOnce() throws {
        let replicas = [
            Replica(tag: "r0", workers: 1, outputDir: nil, metrics: "r0.prom"),
            Replica(tag: "r1", workers: 2, outputDir: "out-r1", metrics: "r1.prom"),
            Replica(tag: "r2", workers: 3, outputDir: "out-r2", metrics: "r2.prom"),
        ]
        let ws = Workspace()
        let jobs = (0..<60).map { String(format: "batch%d/j%03d.wav", $0 % 3, $0) }
        let started = Date()
        var daemons: [DaemonProcess] = []
        for r in replicas {
            if let out = r.outputDir { try FileManager.default.createDirectory(atPath: ws.root + "/" + out, withIntermediateDirectories: true) }
            var top = "workers = \(r.workers)\nmetrics_file = \"\(r.metrics)\"\nformats = [\"txt\"]"
            if let out = r.outputDir { top += "\noutput_dir = \"\(out)\"\noutput_permissions = \"0640\"" }
            let config = ws.writeConfig(TestConfig.fast(top: top), to: "\(r.tag).toml")
            daemons.append(try ws.startDaemon(windowMilliseconds: 10, windows: 3, tag: r.tag, config: config))
        }
        // Dropped once all three watch, so that each replica sees every job settle: none can
        // finish the batch before a slower one has started.
        for job in jobs { ws.drop(job, "audio of \(job)") }
        let finished = waitUntil(seconds: 180, poll: 0.25) { ws.count(suffix: ".done") == jobs.count }
        #expect(finished, "done: \(ws.count(suffix: ".done")) of \(jobs.count)")
        // Each daemon writes its metrics as it stops, after its last job's outcome is counted.
        for d in daemons { #expect(d.terminate() == 0, "\(d.log.suffix(2000))") }

        let seen = ws.seen()
        #expect(Set(seen.keys) == Set(jobs), "every job transcribed")
        #expect(seen.values.allSatisfy { $0 == 1 }, "transcribed more than once: \(seen.filter { $0.value > 1 })")
        let names = Set(ws.names())
        #expect(!names.contains { $0.hasSuffix(".pending") || $0.hasSuffix(".processing") || $0.hasSuffix(".failed") })
        #expect(!names.contains { ($0 as NSString).lastPathComponent.hasPrefix(".dropscribe-") }, "temp files left")

        // Each transcript exists in exactly one replica's output place, the one its .done names.
        var perReplica = [Int](repeating: 0, count: replicas.count)
        for job in jobs {
            let places = replicas.enumerated().compactMap { i, r -> (Int, String)? in
                let path = ws.root + "/" + (r.outputDir ?? "inbox") + "/" + job + ".txt"
                return FileManager.default.fileExists(atPath: path) ? (i, path) : nil
            }
            #expect(places.count == 1, "\(job): transcripts at \(places.map(\.1))")
            guard let (i, path) = places.first else { continue }
            perReplica[i] += 1
            let done = try String(contentsOfFile: ws.inbox + "/" + job + ".done", encoding: .utf8)
            #expect(done.contains(path), "\(job).done does not name \(path): \(done)")
            if replicas[i].outputDir != nil {
                let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
                #expect(mode == 0o640, "\(path): output_permissions of its replica")
            }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("\("audio of \(job)".utf8.count) bytes"))
        }
        // Each replica's metrics count what it did; together, every job once.
        var total = 0.0
        for (i, r) in replicas.enumerated() {
            guard let m = ParsedMetrics.parse(ws.root + "/" + r.metrics) else { continue }
            #expect(m["dropscribe_jobs_done_total"] == Double(perReplica[i]), "\(r.tag): metrics vs outputs")
            #expect(m["dropscribe_workers_configured"] == Double(r.workers))
            #expect(m["dropscribe_up"] == 0)
            total += m["dropscribe_jobs_done_total"] ?? 0
        }
        #expect(total == Double(jobs.count))
        #expect(perReplica.allSatisfy { $0 > 0 }, "every replica took part: \(perReplica)")
        print("three replicas: \(jobs.count) jobs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, per replica \(perReplica)")
    }
}
