import Foundation
import Glibc
import Testing

/// What operators watch: the Prometheus metrics file, the heartbeat behind
/// `dropscribe health`, and the systemd readiness messages; on real daemons
/// with the test transcriber, like DaemonTests.
@Suite(.serialized, .hangGuard) struct ObservabilityTests {
    @Test func theMetricsFileAgreesWithStatusAndCountsTheWork() throws {
        let ws = Workspace(config: TestConfig.fast(
            top: "metrics_file = \"metrics/dropscribe.prom\"\nworkers = 2", queue: "max_attempts = 1"))
        try FileManager.default.createDirectory(atPath: ws.root + "/metrics", withIntermediateDirectories: true)
        let metricsFile = ws.root + "/metrics/dropscribe.prom"
        let sizes = [3200, 6400, 16000, 32000, 48000]
        for (i, size) in sizes.enumerated() { ws.drop("job\(i).wav", String(repeating: "a", count: size)) }
        ws.drop("broken.mp3", "FAIL: not audio")
        let before = Date().timeIntervalSince1970
        let daemon = try ws.startDaemon()
        #expect(waitUntil(seconds: 120) { ws.count(suffix: ".done") == sizes.count && ws.count(suffix: ".failed") == 1 }, "\(daemon.log)")
        // The gauges follow the next full scan (rescan_seconds = 2).
        let settled = waitUntil(seconds: 120, poll: 0.5) {
            let m = ParsedMetrics.tryParse(metricsFile)
            return m?["dropscribe_jobs{state=\"done\"}"] == Double(sizes.count) && m?["dropscribe_jobs{state=\"failed\"}"] == 1
        }
        #expect(settled, "metrics never caught up: \((try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? "(none)")")
        let m = try #require(ParsedMetrics.parse(metricsFile))
        let (status, out, err) = try Binary.run(["status", ws.inbox, "--json"])
        #expect(status == 0, "\(err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let counts = try #require(json["counts"] as? [String: Int])
        for (state, n) in counts { #expect(m["dropscribe_jobs{state=\"\(state)\"}"] == Double(n), "state \(state)") }
        #expect(m["dropscribe_files_unmarked"] == Double(json["unmarked"] as? Int ?? -1))
        #expect(m["dropscribe_jobs_done_total"] == Double(counts["done"] ?? -1))
        #expect(m["dropscribe_jobs_failed_total"] == Double(counts["failed"] ?? -1))
        #expect(m["dropscribe_jobs_retried_total"] == 0)
        // The test transcriber reports size / 32000 seconds of audio.
        let audio = Double(sizes.reduce(0, +)) / 32000
        #expect(abs((m["dropscribe_audio_seconds_total"] ?? 0) - audio) < 1e-6)
        let wall = try #require(m["dropscribe_transcription_wall_seconds_total"])
        #expect(wall > 0)
        #expect(abs((m["dropscribe_real_time_factor_average"] ?? 0) - wall / audio) < 1e-6)
        #expect((m["dropscribe_real_time_factor_last"] ?? 0) > 0)
        #expect((m["dropscribe_worker_peak_rss_bytes"] ?? 0) > 1_048_576, "a worker's peak RSS is at least a megabyte")
        #expect(m["dropscribe_workers_configured"] == 2)
        #expect(m["dropscribe_workers_running"] == 0)
        #expect(m["dropscribe_up"] == 1)
        let start = try #require(m["dropscribe_start_time_seconds"])
        #expect(start >= before - 1 && start <= Date().timeIntervalSince1970)
        #expect(m.types["dropscribe_jobs"] == "gauge" && m.types["dropscribe_jobs_done"] == "counter"
                && m.types["dropscribe_audio_seconds"] == "counter", "\(m.types)")
        // No temp file is left beside it (node_exporter reads *.prom only, but still).
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root + "/metrics") == ["dropscribe.prom"])
        #expect(daemon.terminate() == 0)
        let final = try #require(ParsedMetrics.parse(metricsFile))
        #expect(final["dropscribe_up"] == 0, "a stopped daemon says so")
    }

    @Test func healthFollowsTheDaemonAndSystemdHearsReadyAndStopping() throws {
        let ws = Workspace(config: TestConfig.fast(top: "health_file = \"run/health.json\""))
        try FileManager.default.createDirectory(atPath: ws.root + "/run", withIntermediateDirectories: true)
        let health = { (maxAge: Int) in try Binary.run(["health", "--config", ws.configFile, "--max-age", "\(maxAge)"]) }
        var (code, _, err) = try health(30)
        #expect(code == 1 && err.contains("no heartbeat"), "\(err)")
        let (usage, _, usageErr) = try Binary.run(["health"])
        #expect(usage == 2, "no health_file configured is a usage error: \(usageErr)")

        let socket = try NotifyListener(path: ws.root + "/notify.sock")
        let daemon = try ws.startDaemon(environment: ["NOTIFY_SOCKET": socket.address])
        #expect(socket.waitFor("READY=1", seconds: 120), "got: \(socket.received)")
        #expect(socket.waitFor("STATUS=0 running; pending 0, processing 0, done 0, failed 0", seconds: 120),
                "systemctl status shows the counts: \(socket.received)")
        #expect(socket.received.last { $0.contains("STATUS=") }?.contains(" running; ") == true,
                "READY's own STATUS must not hide the counts: \(socket.received)")
        #expect(waitUntil(seconds: 120) { (try? health(30))?.0 == 0 }, "\(daemon.log)")
        let (ok, text, _) = try health(30)
        #expect(ok == 0 && text.contains("healthy: pid \(daemon.pid)"), "\(text)")

        // A stuck daemon: its heartbeat goes stale.
        kill(daemon.pid, SIGSTOP)
        #expect(waitUntil(seconds: 120) { (try? health(3))?.0 == 1 }, "the heartbeat of a stopped daemon goes stale")
        (code, _, err) = try health(3)
        #expect(code == 1 && err.contains("old"), "\(err)")
        kill(daemon.pid, SIGCONT)
        #expect(waitUntil(seconds: 120) { (try? health(3))?.0 == 0 })

        #expect(daemon.terminate() == 0)
        #expect(socket.waitFor("STOPPING=1", seconds: 5), "got: \(socket.received)")
        (code, _, err) = try health(30)
        #expect(code == 1 && err.contains("stopped"), "\(err)")

        // A daemon killed outright is gone at once, whatever the heartbeat's age.
        let abstract = try NotifyListener(abstractName: "dropscribe-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let killed = try ws.startDaemon(tag: "d2", environment: ["NOTIFY_SOCKET": abstract.address])
        #expect(abstract.waitFor("READY=1", seconds: 120), "abstract socket: got \(abstract.received)")
        #expect(waitUntil(seconds: 120) { (try? health(30))?.0 == 0 })
        killed.kill9()
        (code, _, err) = try health(30)
        #expect(code == 1 && err.contains("gone"), "\(err)")
    }

    @Test func everyCommandHasHelpAndTheBinaryAVersion() throws {
        let (v, version, _) = try Binary.run(["--version"])
        let firstLine = version.split(separator: "\n").first.map(String.init) ?? ""
        #expect(v == 0 && firstLine.split(separator: ".").count == 3, "\(version)")
        for command in ["watch", "transcribe", "status", "explain", "retry", "reset", "health"] {
            let (code, out, err) = try Binary.run([command, "--help"])
            #expect(code == 0, "\(command) --help: \(err)")
            #expect(out.contains("USAGE: dropscribe \(command)"), "\(command): \(out)")
        }
        let (code, out, _) = try Binary.run(["--help"])
        #expect(code == 0)
        for command in ["watch", "transcribe", "status", "explain", "retry", "reset", "health"] { #expect(out.contains("  \(command) ")) }
    }
}

/// A unix datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    let fd: Int32
    /// What to put in NOTIFY_SOCKET: the path, or "@name" for the abstract namespace.
    let address: String
    private(set) var received: [String] = []

    convenience init(path: String) throws { try self.init(address: path) }
    convenience init(abstractName: String) throws { try self.init(address: "@" + abstractName) }

    private init(address: String) throws {
        self.address = address
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(address.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if address.hasPrefix("@") { raw[0] = 0 }
        }
        let length = MemoryLayout<sa_family_t>.size + bytes.count + (address.hasPrefix("@") ? 0 : 1)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard fd >= 0, rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL) }
    }

    deinit { close(fd) }

    /// Reads datagrams until one contains the line `line`, or the time is up.
    func waitFor(_ line: String, seconds: Double) -> Bool {
        waitUntil(seconds: seconds, poll: 0.05) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received.append(String(decoding: buffer[0..<n], as: UTF8.self))
            }
            return received.contains { $0.split(separator: "\n").contains(Substring(line)) }
        }
    }
}
