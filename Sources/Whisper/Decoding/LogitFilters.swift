import Foundation
import WhisperKernels

/// The logit processing of each decoding step (docs/engine.md §6.4), as small
/// pure functions over one row of logits.
///
/// Exists so each rule can be unit-tested on its own and applied in CT2's order:
/// suppress list, blank at step 0, then the timestamp rules.
public enum LogitFilters {
    /// Value of a disabled logit (CT2 uses the lowest finite float).
    public static let disabled: Float = -Float.greatestFiniteMagnitude

    /// Disables every id in `ids` (out-of-range ids are ignored).
    public static func suppress(_ logits: inout [Float], ids: [Int]) {
        for i in ids where i >= 0 && i < logits.count { logits[i] = disabled }
    }

    /// Parameters of the timestamp rules for one vocabulary.
    public struct TimestampRules: Sendable, Equatable {
        public var eot: Int
        public var noTimestamps: Int
        public var timestampBegin: Int
        /// Largest timestamp index allowed at the first step (round(max_initial_timestamp / 0.02)), nil = no limit.
        public var maxInitialTimestampIndex: Int?

        public init(eot: Int, noTimestamps: Int, timestampBegin: Int, maxInitialTimestampIndex: Int?) {
            self.eot = eot
            self.noTimestamps = noTimestamps
            self.timestampBegin = timestampBegin
            self.maxInitialTimestampIndex = maxInitialTimestampIndex
        }
    }

    /// Applies the timestamp rules to `logits` given the tokens generated so far
    /// (`generated` excludes the prompt). Call after the suppress/blank filters.
    public static func applyTimestampRules(_ logits: inout [Float], generated: [Int], rules: TimestampRules) {
        let t0 = rules.timestampBegin, v = logits.count
        if rules.noTimestamps < v { logits[rules.noTimestamps] = disabled }
        if generated.isEmpty {
            for i in 0..<min(t0, v) { logits[i] = disabled }
            if let m = rules.maxInitialTimestampIndex {
                let last = t0 + m
                if last + 1 < v { for i in (last + 1)..<v { logits[i] = disabled } }
            }
            return
        }
        let a = generated[generated.count - 1]
        let b = generated.count >= 2 ? generated[generated.count - 2] : a
        if a >= t0 && b >= t0 {
            for i in t0..<v { logits[i] = disabled }
            return
        }
        if a >= t0 {
            for i in 0..<min(rules.eot, v) { logits[i] = disabled }
            for i in t0..<min(a, v) { logits[i] = disabled }
        } else if let tm = generated.last(where: { $0 >= t0 }) {
            for i in t0...min(tm, v - 1) { logits[i] = disabled }
        }
        // If the total probability of timestamps beats every text token, force a timestamp.
        // In log-softmax terms both sides carry the same −lse, so it cancels.
        let maxText = maximum(logits, 0..<min(t0, v))
        let tsLSE = logSumExp(logits, t0..<v)
        if tsLSE > maxText {
            for i in 0..<min(t0, v) { logits[i] = disabled }
        }
    }

    /// log_softmax over the whole row, in Float.
    public static func logSoftmax(_ x: [Float]) -> [Float] {
        let lse = logSumExp(x, 0..<x.count)
        return x.map { $0 - lse }
    }

    /// Largest of x[r] (−∞ when empty).
    static func maximum(_ x: [Float], _ r: Range<Int>) -> Float {
        guard !r.isEmpty else { return -Float.infinity }
        if CPUFeatures.avx2FMA {
            return x.withUnsafeBufferPointer { VectorKernelsAVX2.maximum($0.baseAddress! + r.lowerBound, count: r.count) }
        }
        var m = -Float.infinity
        for i in r where x[i] > m { m = x[i] }
        return m
    }

    static func logSumExp(_ x: [Float], _ r: Range<Int>) -> Float {
        let m = maximum(x, r)
        if m == -Float.infinity { return m }
        if CPUFeatures.avx2FMA {
            return x.withUnsafeBufferPointer { p in
                m + logf(VectorKernelsAVX2.sumExp(p.baseAddress! + r.lowerBound, count: r.count, shift: m))
            }
        }
        var s: Float = 0
        for i in r { s += expf(x[i] - m) }
        return m + logf(s)
    }
}
