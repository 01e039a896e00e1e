import HotFolder
import Testing
@testable import DropscribeCore

/// `[limits]` as pure policy: how long an attempt may run, and when a source is too long.
@Suite struct JobLimitsTests {
    static var limits: JobLimits {
        var l = JobLimits()
        l.maxAudioSeconds = 3600
        l.jobTimeoutFactor = 4
        l.jobTimeoutMinSeconds = 300
        return l
    }

    @Test func theTimeoutIsTheFactorTimesTheAudioWithAFloor() {
        let l = Self.limits
        #expect(l.timeout(audioSeconds: nil) == 300, "unknown length: the floor")
        #expect(l.timeout(audioSeconds: 10) == 300, "short file: the floor")
        #expect(l.timeout(audioSeconds: 600) == 2400)
        #expect(l.timeout(audioSeconds: 1e300) == 4 * 3600, "a false length cannot buy more than the longest allowed source")
        #expect(l.timeout(audioSeconds: .nan) == 300 && l.timeout(audioSeconds: -5) == 300)
    }

    @Test func aSourcePastTheMaximumIsTooLongAndSaysSo() {
        let l = Self.limits
        #expect(!l.isTooLong(audioSeconds: 3600) && l.isTooLong(audioSeconds: 3600.5))
        let failure = l.tooLong("talk.wav", audioSeconds: 144_000, declared: true)
        #expect(failure.kind == .tooLong && failure.kind.isPermanent)
        #expect(failure.message == "talk.wav: declares 144000 s of audio, more than [limits] max_audio_seconds (3600)")
    }

    @Test func theDeadlineMovesWithTheReportedLengthAndExpiresOnce() {
        let d = AttemptDeadline(limits: Self.limits, started: 1000)
        #expect(!d.expire(now: 1299))
        d.observe(workerOutput: #"{"audio_seconds":100}"# + "\n" + #"{"audio_seconds":1000}"# + "\n" + #"{"audio_secon"#)
        #expect(!d.expire(now: 1301), "1000 s of audio: 4000 s allowed")
        d.observe(workerOutput: #"{"audio_seconds":10}"# + "\n")
        #expect(!d.expire(now: 4999), "a smaller report does not shorten the deadline")
        #expect(d.expiredAfter == nil)
        #expect(d.expire(now: 5001))
        #expect(!d.expire(now: 6000), "killed once")
        #expect(d.expiredAfter == 4000)
    }

    /// A pooled worker's stdout reaches the deadline one whole line at a time, newline
    /// included: that single line must move it (it once was dropped as if unfinished,
    /// and every job was cut off at job_timeout_min_seconds).
    @Test func aSingleWholeLineMovesTheDeadline() {
        let d = AttemptDeadline(limits: Self.limits, started: 1000)
        d.observe(workerOutput: #"{"audio_seconds":1000}"# + "\n")
        #expect(!d.expire(now: 1301), "1000 s of audio: 4000 s allowed, not the 300-s floor")
        #expect(d.expire(now: 5001))
        let partial = AttemptDeadline(limits: Self.limits, started: 1000)
        partial.observe(workerOutput: #"{"audio_seconds":10"#)
        #expect(partial.expire(now: 1301), "an unfinished line is not a report")
    }
}
