import DropscribeCore
import Foundation
import Glibc
import HotFolder
import SystemPackage
import Testing

/// `dropscribe status` and the metrics in-process, on folders whose markers the test
/// writes itself with the queue's own API: no daemon, no model, no timing.
@Suite struct StatusAndMetricsTests {
    let now = 1_800_000_000.0

    /// An inbox with one job in each state: a.wav done, b.wav failed (not media),
    /// c.wav pending after one transient failure, d.wav processing at 40% under a lease
    /// of another host, e.wav without a marker.
    func folderWithEveryState() throws -> (Workspace, InboxLayout) {
        let ws = Workspace()
        for name in ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"] {
            _ = FileManager.default.createFile(atPath: ws.inbox + "/" + name, contents: Data("audio".utf8))
        }
        let layout = InboxLayout(root: FilePath(ws.inbox))
        let queue = JobQueue(layout: layout, options: QueueOptions())
        func claimed(_ name: String, by owner: JobQueue = queue) throws -> Claim {
            let job = layout.job(relativePath: name)
            try owner.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
            return try #require(try owner.claim(job, now: now))
        }
        let a = try claimed("a.wav")
        try queue.complete(a, summary: DoneMarker(
            fingerprint: a.lease.fingerprint, audioDuration: 10, wallTime: 2, realTimeFactor: 0.2, peakRSSBytes: 1 << 20,
            model: "tiny.en", outputs: ["a.wav.txt"], finished: now, attempts: 1, host: "here"))
        #expect(try queue.fail(try claimed("b.wav"), kind: .notMedia, message: "b.wav: not a media file", now: now) == .failed)
        #expect(try queue.fail(try claimed("c.wav"), kind: .workerCrashed, message: "worker crashed", now: now) == .pending)
        var remoteIdentity = OwnerIdentity.current()
        remoteIdentity.host = "elsewhere"
        let remote = JobQueue(layout: layout, options: QueueOptions(), identity: remoteIdentity)
        let d = try claimed("d.wav", by: remote)
        let entry = JournalEntry(window: 1, progress: 0.4, time: now + 30, state: "{}")
        let fd = try FileDescriptor.open(d.job.marker(.processing), .writeOnly, options: [.append])
        _ = try fd.writeAll(Array(try JSONEncoder().encode(entry)) + [10])
        try fd.close()
        // The lease was last refreshed 30 s after the claim, whatever the clock says now.
        let refreshed = timespec(tv_sec: Int(now) + 30, tv_nsec: 0)
        #expect([refreshed, refreshed].withUnsafeBufferPointer { utimensat(AT_FDCWD, d.job.marker(.processing).string, $0.baseAddress, 0) } == 0)
        return (ws, layout)
    }

    @Test func statusCountsEveryStateAndReportsProgressAndFailures() throws {
        let (ws, layout) = try folderWithEveryState()
        defer { withExtendedLifetime(ws) {} }
        let report = StatusReport.collect(layout: layout, options: QueueOptions(), now: now + 60)
        #expect(report.counts == ["pending": 1, "processing": 1, "failed": 1, "done": 1])
        #expect(report.unmarked == 1)
        #expect(report.retrying == 1)
        let running = try #require(report.processing.first)
        #expect(report.processing.count == 1)
        #expect(running.job == "d.wav" && running.host == "elsewhere" && running.attempt == 1)
        #expect(running.percent == 40)
        #expect(running.elapsedSeconds == 60)
        #expect(running.remainingSeconds == 90, "60 s for 40% leaves 90 s for the other 60%")
        #expect(!running.stale, "another host's lease refreshed a minute ago is live (timeout 120 s)")
        #expect(report.failed.map(\.job) == ["b.wav"])
        #expect(report.failed.first?.kind == "not-media" && report.failed.first?.message == "b.wav: not a media file")
        let text = report.render()
        #expect(text.contains("pending 1  processing 1  done 1  failed 1  unmarked 1  (1 pending retries)"), "\(text)")
        #expect(text.contains("b.wav  [not-media] b.wav: not a media file"), "\(text)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(json["inbox"] as? String == ws.inbox)
        #expect((json["processing"] as? [[String: Any]])?.first?["remaining_seconds"] as? Double == 90)
    }

    @Test func aJobInItsVADPassShowsThePassAndHowFarItIs() throws {
        let (ws, layout) = try folderWithEveryState()
        defer { withExtendedLifetime(ws) {} }
        _ = FileManager.default.createFile(atPath: ws.inbox + "/f.wav", contents: Data("audio".utf8))
        let queue = JobQueue(layout: layout, options: QueueOptions())
        let job = layout.job(relativePath: "f.wav")
        try queue.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
        _ = try #require(try queue.claim(job, now: now))
        func append(_ entry: JournalEntry) throws {
            let fd = try FileDescriptor.open(job.marker(.processing), .writeOnly, options: [.append])
            _ = try fd.writeAll(Array(try JSONEncoder().encode(entry)) + [10])
            try fd.close()
        }
        func shown() throws -> StatusReport.Running {
            try #require(StatusReport.collect(layout: layout, options: QueueOptions(), now: now + 20).processing.first { $0.job == "f.wav" })
        }
        try append(.progress(.vad, fraction: 0.35, time: now + 10))
        var running = try shown()
        #expect(running.phase == "vad" && running.phasePercent == 35 && running.percent == 0)
        #expect(running.remainingSeconds == nil, "a pass's share of the job is not known: no estimate")
        let report = StatusReport.collect(layout: layout, options: QueueOptions(), now: now + 20)
        #expect(report.render().contains("f.wav    0.0%  VAD pass 35.0%  elapsed 0m20s"), "\(report.render())")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let f = (json["processing"] as? [[String: Any]])?.first { $0["job"] as? String == "f.wav" }
        #expect(f?["phase"] as? String == "vad" && f?["phase_percent"] as? Double == 35)
        try append(.progress(.levels, fraction: 1, time: now + 12))
        running = try shown()
        #expect(running.phase == "levels" && running.phasePercent == 100)
        // The first checkpoint ends the passes: the job's own progress again.
        try append(JournalEntry(window: 0, progress: 0, time: now + 13, state: "{}"))
        try append(JournalEntry(window: 1, progress: 0.25, time: now + 15, state: "{}"))
        running = try shown()
        #expect(running.phase == nil && running.phasePercent == nil && running.percent == 25)
        #expect(running.remainingSeconds == 60)
    }

    @Test func aLeaseWhoseOwnerIsGoneIsShownStale() throws {
        let (ws, layout) = try folderWithEveryState()
        defer { withExtendedLifetime(ws) {} }
        // An hour after the remote lease's last refresh, far past its 120-s timeout.
        let report = StatusReport.collect(layout: layout, options: QueueOptions(), now: now + 3630)
        #expect(report.processing.map(\.stale) == [true])
        #expect(report.render().contains("(owner gone: will be resumed)"))
    }

    @Test func metricsCountTheScanAndWhatTheDaemonRecorded() throws {
        let (ws, layout) = try folderWithEveryState()
        defer { withExtendedLifetime(ws) {} }
        var metrics = DaemonMetrics(startTime: now)
        #expect(!metrics.render().contains("dropscribe_jobs{"), "no job gauges before the first scan")
        metrics.recordScan(FolderScanner(layout: layout).scan(now: now))
        #expect(metrics.jobs == [.pending: 1, .processing: 1, .failed: 1, .done: 1])
        #expect(metrics.unmarked == 1)
        let queue = JobQueue(layout: layout, options: QueueOptions())
        metrics.recordDone(try #require(queue.readDone(layout.job(relativePath: "a.wav"))))
        metrics.recordFailure(next: .failed, kind: .notMedia)
        metrics.recordFailure(next: .pending, kind: .outOfMemory)
        metrics.recordFailure(next: .pending, kind: .outOfMemory)
        metrics.recordScan(FolderScanner(layout: layout).scan(now: now))  // each pass is counted
        let text = metrics.render()
        for line in [
            "dropscribe_jobs{state=\"pending\"} 1", "dropscribe_jobs{state=\"done\"} 1", "dropscribe_files_unmarked 1",
            "dropscribe_jobs_done_total 1", "dropscribe_jobs_failed_total 1", "dropscribe_jobs_retried_total 2",
            "dropscribe_audio_seconds_total 10", "dropscribe_transcription_wall_seconds_total 2",
            "dropscribe_real_time_factor_last 0.2", "dropscribe_real_time_factor_average 0.2",
            "dropscribe_worker_peak_rss_bytes 1048576", "dropscribe_start_time_seconds 1800000000", "dropscribe_up 1",
            "dropscribe_attempt_failures_total{kind=\"not-media\"} 1", "dropscribe_attempt_failures_total{kind=\"out-of-memory\"} 2",
            "dropscribe_rescans_total 2", "dropscribe_config_reloads_total{result=\"refused\"} 0",
            "dropscribe_hooks_running 0", "dropscribe_hooks_waiting 0", "dropscribe_jobs_waiting_for_memory 0",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "missing \(line) in:\n\(text)")
        }
        #expect(text.hasSuffix("\n"))
    }

    /// A folder with many failures prints the first ones and how many more; `--all` (no limit) every one.
    @Test func theTextFormCapsTheFailuresUnlessAskedForAll() throws {
        let ws = Workspace()
        let layout = InboxLayout(root: FilePath(ws.inbox))
        let queue = JobQueue(layout: layout, options: QueueOptions())
        let total = StatusReport.failuresShown + 7
        for i in 0..<total {
            let job = layout.job(relativePath: String(format: "bad-%03d.mp3", i))
            _ = FileManager.default.createFile(atPath: job.path.string, contents: Data("x".utf8))
            try queue.markPending(job, fingerprint: try Fingerprint.of(job.path), now: now)
            let claim = try #require(try queue.claim(job, now: now))
            #expect(try queue.fail(claim, kind: .notMedia, message: "not a media file", now: now) == .failed)
        }
        let report = StatusReport.collect(layout: layout, options: QueueOptions(), now: now)
        let capped = report.render().split(separator: "\n")
        #expect(capped.filter { $0.contains("[not-media]") }.count == StatusReport.failuresShown)
        #expect(capped.last?.contains("and 7 more") == true)
        let all = report.render(failureLimit: nil).split(separator: "\n")
        #expect(all.filter { $0.contains("[not-media]") }.count == total)
        #expect(!all.contains { $0.contains("more (dropscribe status --all") })
    }
}
