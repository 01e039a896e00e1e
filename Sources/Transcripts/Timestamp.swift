/// Largest millisecond count the writers print (about 31.7 million years);
/// larger values and +infinity are clamped to it so integer arithmetic cannot trap.
public let maximumTimestampMilliseconds: Int64 = 1_000_000_000_000_000_000

/// Seconds → whole milliseconds the way openai-whisper does it:
/// `round(seconds * 1000.0)` with Python's `round` (half to even on the
/// product's exact binary value, so 59.9995 s → 59999.5 → 60000 ms).
///
/// openai-whisper asserts `seconds >= 0`; here negative values (and NaN) clamp
/// to 0 instead of failing, and values beyond `maximumTimestampMilliseconds`
/// clamp to it.
public func timestampMilliseconds(_ seconds: Double) -> Int64 {
    let ms = (seconds * 1000.0).rounded(.toNearestOrEven)
    guard ms > 0 else { return 0 }  // negatives, -0 and NaN
    guard ms < Double(maximumTimestampMilliseconds) else { return maximumTimestampMilliseconds }
    return Int64(ms)
}

/// openai-whisper's `format_timestamp`: `[HH:]MM:SS<marker>mmm`.
///
/// Hours are printed (at least two digits, more when ≥ 100 h) when
/// `alwaysIncludeHours` is set or the time is at least one hour. SRT uses
/// `alwaysIncludeHours: true, decimalMarker: ","`; VTT uses the defaults.
/// Rounding and clamping: see `timestampMilliseconds(_:)`.
public func formatTimestamp(
    _ seconds: Double, alwaysIncludeHours: Bool = false, decimalMarker: String = "."
) -> String {
    var ms = timestampMilliseconds(seconds)
    let hours = ms / 3_600_000
    ms -= hours * 3_600_000
    let minutes = ms / 60_000
    ms -= minutes * 60_000
    let secs = ms / 1_000
    ms -= secs * 1_000
    let hoursMarker = alwaysIncludeHours || hours > 0 ? zeroPadded(hours, width: 2) + ":" : ""
    return hoursMarker + zeroPadded(minutes, width: 2) + ":" + zeroPadded(secs, width: 2)
        + decimalMarker + zeroPadded(ms, width: 3)
}
