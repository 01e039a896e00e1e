/// A value read from a marker that can say whether its numbers make sense.
///
/// It exists because markers are untrusted: `"attempts": 9223372036854775807`
/// decodes as a valid Int, and the first `+ 1` on it would trap. Every marker
/// is checked at decode time; a value out of range makes the marker unreadable.
protocol RangeChecked {
    var isInRange: Bool { get }
}

/// The ranges of the numbers in markers: wide enough for any real value, narrow
/// enough that combining them cannot overflow.
enum MarkerRange {
    /// Attempts and journal windows.
    static let count: ClosedRange<Int> = 0...1_000_000_000
    /// Seconds since the epoch: up to the year 5138.
    static func isTime(_ t: Double) -> Bool { t.isFinite && t >= 0 && t <= 1e11 }
    static func isTime(_ t: Double?) -> Bool { t.map(isTime) ?? true }
    /// Durations in seconds (about 30 years at most).
    static func isDuration(_ d: Double?) -> Bool { d.map { $0.isFinite && $0 >= 0 && $0 <= 1e9 } ?? true }
    static func isSize(_ s: Int64?) -> Bool { s.map { $0 >= 0 } ?? true }
}

extension Fingerprint: RangeChecked {
    var isInRange: Bool { MarkerRange.isSize(size) }
}

extension PendingMarker: RangeChecked {
    var isInRange: Bool {
        MarkerRange.isSize(size) && MarkerRange.isTime(firstSeen) && MarkerRange.count.contains(attempts)
            && MarkerRange.isTime(notBefore) && (journal ?? []).allSatisfy(\.isInRange)
    }
}

extension LeaseHeader: RangeChecked {
    var isInRange: Bool {
        pid > 0 && MarkerRange.isTime(started) && MarkerRange.isTime(firstSeen)
            && MarkerRange.count.contains(attempt) && fingerprint.isInRange
    }
}

extension JournalEntry: RangeChecked {
    var isInRange: Bool {
        MarkerRange.count.contains(window) && progress.isFinite && (0...1).contains(progress) && MarkerRange.isTime(time)
            && (mac?.utf8.count ?? 0) <= 64
    }
}

extension DoneMarker: RangeChecked {
    var isInRange: Bool {
        MarkerRange.isSize(sourceSize) && fingerprint.isInRange && MarkerRange.isDuration(audioDuration)
            && MarkerRange.isDuration(wallTime) && MarkerRange.isDuration(realTimeFactor) && MarkerRange.isSize(peakRSSBytes)
            && MarkerRange.isTime(finished) && MarkerRange.count.contains(attempts)
    }
}

extension FailedMarker: RangeChecked {
    var isInRange: Bool {
        MarkerRange.count.contains(attempts) && MarkerRange.isTime(time) && (fingerprint?.isInRange ?? true)
    }
}

extension FixedWidthInteger where Self: SignedInteger {
    /// `self + other`, held at the bounds instead of trapping: for numbers that came
    /// from a file (range-checked already, but a trap would recur after every restart).
    public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
