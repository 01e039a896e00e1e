import Testing
@testable import DropscribeCore

/// Which pooled worker takes a job and when one is retired (pure policy).
@Suite struct WorkerPoolPolicyTests {
    let tiny = ModelSettings(folder: "/m/tiny.en", computeType: "float32", threads: 2)
    let base = ModelSettings(folder: "/m/base", computeType: "float32", threads: 2)

    @Test func anIdleWorkerWithTheModelIsPreferred() {
        let idle = [WorkerPoolPolicy.Idle(id: 1, model: base), .init(id: 2, model: tiny)]
        #expect(WorkerPoolPolicy.choose(idle: idle, total: 2, capacity: 2, want: tiny, memoryShort: false) == .reuse(2))
        #expect(WorkerPoolPolicy.choose(idle: idle, total: 3, capacity: 4, want: tiny, memoryShort: true) == .reuse(2))
    }

    @Test func anotherModelGetsItsOwnWorkerWhileThePoolHasRoom() {
        let idle = [WorkerPoolPolicy.Idle(id: 1, model: base)]
        #expect(WorkerPoolPolicy.choose(idle: idle, total: 1, capacity: 2, want: tiny, memoryShort: false) == .spawn)
        // Full pool, or memory short: the idle worker reloads in place.
        #expect(WorkerPoolPolicy.choose(idle: idle, total: 2, capacity: 2, want: tiny, memoryShort: false) == .reuse(1))
        #expect(WorkerPoolPolicy.choose(idle: idle, total: 1, capacity: 2, want: tiny, memoryShort: true) == .reuse(1))
        #expect(WorkerPoolPolicy.choose(idle: [], total: 1, capacity: 2, want: tiny, memoryShort: false) == .spawn)
    }

    @Test func aSettingThatChangesTheLoadedModelIsADifferentModel() {
        var other = tiny
        other.threads = 1
        #expect(other != tiny)
        other = tiny
        other.computeType = "int8"
        #expect(other != tiny)
    }

    @Test func workersAreRetiredAfterMaxJobsGrownMemoryOrAShrunkPool() {
        let gib: Int64 = 1 << 30
        func retire(_ served: Int, max: Int = 200, rss: Int64? = gib, total: Int = 1, capacity: Int = 1) -> WorkerPoolPolicy.Retirement? {
            WorkerPoolPolicy.retirement(jobsServed: served, maxJobs: max, rssBytes: rss, expectedBytes: gib, total: total, capacity: capacity)
        }
        #expect(retire(1) == nil)
        #expect(retire(1, max: 1) == .maxJobs, "worker_max_jobs = 1: a fresh process per job")
        #expect(retire(200) == .maxJobs)
        #expect(retire(3, rss: gib * 3 / 2) == nil, "up to 50 % over the model's footprint")
        #expect(retire(3, rss: gib * 3 / 2 + 1) == .memoryGrown)
        #expect(retire(3, rss: nil) == nil)
        #expect(retire(3, total: 3, capacity: 2) == .poolShrunk)
    }
}
