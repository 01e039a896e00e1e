import Foundation
import Testing

/// The daemon admits a job by the memory its model takes under the job's compute type
/// (`MemoryFootprint`, from model.bin's header), not by a multiple of the file's size.
/// Decided from the markers and the metrics file; the memory "available" is simulated.
@Suite(.serialized, .hangGuard, .enabled(if: Assets.available, "needs models/tiny.en and .corpus"))
struct AdmissionTests {
    /// tiny.en needs 300 MiB in int8 and 336 MiB in float32; with 320 MiB available the
    /// int8 job runs and the float32 one (a rule's) waits. Twice model.bin plus 256 MiB,
    /// the estimate before, is 405 MiB: it refused both.
    @Test func anInt8JobFitsWhereItsFloat32TwinWaits() throws {
        let config = RealModel.config(DaemonCounters.config, model: "compute_type = \"int8\"") + """

            [[rule]]
            match = "wide/**"
            compute_type = "float32"
            """
        let ws = Workspace(config: config)
        try FileManager.default.createDirectory(atPath: ws.inbox + "/wide", withIntermediateDirectories: true)
        for job in ["small.wav", "wide/big.wav"] {
            try FileManager.default.copyItem(atPath: Assets.corpus + "/clips/clip-28.wav", toPath: ws.inbox + "/" + job)
        }
        let daemon = try ws.startRealDaemon(environment: ["DROPSCRIBE_MEMAVAILABLE_MB": "320"])
        #expect(waitUntil(seconds: 300) { FileManager.default.fileExists(atPath: ws.inbox + "/small.wav.done") },
                "\(ws.names())\n\(daemon.log.suffix(3000))")
        // Each pass offers the waiting job again; two more of them and it still waits.
        ws.awaitTwoRescans(by: daemon)
        #expect(FileManager.default.fileExists(atPath: ws.inbox + "/wide/big.wav.pending"), "\(ws.names())")
        #expect(!FileManager.default.fileExists(atPath: ws.inbox + "/wide/big.wav.done"))
        // The metrics say why it waits: one job held back for memory (not for a worker).
        #expect(waitUntil(seconds: 60) { DaemonCounters.value("dropscribe_jobs_waiting_for_memory", in: ws.metricsFile) == 1 },
                "\((try? String(contentsOfFile: ws.metricsFile, encoding: .utf8)) ?? "no metrics")")
        #expect(daemon.terminate() == 0)
        #expect(daemon.log.contains("too little memory available"))
    }
}
