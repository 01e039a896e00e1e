import Testing
@testable import Transcripts

@Suite struct TimestampTests {
    // (seconds, VTT form, SRT form, TSV milliseconds) — from openai-whisper's format_timestamp.
    static let cases: [(Double, String, String, Int64)] = [
        (0, "00:00.000", "00:00:00,000", 0),
        (0.0004, "00:00.000", "00:00:00,000", 0),
        (0.0005, "00:00.000", "00:00:00,000", 0),  // 0.5 → 0 (half to even)
        (0.0015, "00:00.002", "00:00:00,002", 2),  // 1.5 → 2
        (0.0025, "00:00.002", "00:00:00,002", 2),  // 2.5 → 2
        (0.001, "00:00.001", "00:00:00,001", 1),
        (1.0, "00:01.000", "00:00:01,000", 1000),
        (1.1, "00:01.100", "00:00:01,100", 1100),
        (2.675, "00:02.675", "00:00:02,675", 2675),
        (59.999, "00:59.999", "00:00:59,999", 59999),
        (59.9995, "01:00.000", "00:01:00,000", 60000),  // carries into the minute
        (3599.9995, "01:00:00.000", "01:00:00,000", 3_600_000),  // and into the hour
        (3600, "01:00:00.000", "01:00:00,000", 3_600_000),
        (3661.001, "01:01:01.001", "01:01:01,001", 3_661_001),
        (360000, "100:00:00.000", "100:00:00,000", 360_000_000),
        (360000.5, "100:00:00.500", "100:00:00,500", 360_000_500),
    ]

    @Test(arguments: cases.indices)
    func matchesWhisper(_ i: Int) {
        let (seconds, vtt, srt, ms) = Self.cases[i]
        #expect(formatTimestamp(seconds) == vtt)
        #expect(formatTimestamp(seconds, alwaysIncludeHours: true, decimalMarker: ",") == srt)
        #expect(timestampMilliseconds(seconds) == ms)
    }

    @Test func negativeAndNaNClampToZero() {
        for s in [-0.0, -0.0004, -1.0, -3600.0, -Double.infinity, Double.nan] {
            #expect(timestampMilliseconds(s) == 0)
            #expect(formatTimestamp(s) == "00:00.000")
            #expect(formatTimestamp(s, alwaysIncludeHours: true, decimalMarker: ",") == "00:00:00,000")
        }
    }

    @Test func hugeValuesClamp() {
        #expect(timestampMilliseconds(.infinity) == maximumTimestampMilliseconds)
        #expect(timestampMilliseconds(1e300) == maximumTimestampMilliseconds)
        #expect(formatTimestamp(.infinity) == "277777777777:46:40.000")
        // Just below the cap is exact.
        #expect(timestampMilliseconds(1e14) == 100_000_000_000_000_000)
    }

    @Test func alwaysIncludeHoursWithDotMarker() {
        #expect(formatTimestamp(5.25, alwaysIncludeHours: true) == "00:00:05.250")
        #expect(formatTimestamp(7325.5, decimalMarker: ",") == "02:02:05,500")
    }
}
