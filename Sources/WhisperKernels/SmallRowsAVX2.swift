/// The decoder's small-batch x · Wᵀ compiled for AVX2 + FMA (this module alone is
/// built with `-target-cpu haswell`).
///
/// Exists apart from the Whisper module so the rest of the engine stays baseline
/// x86-64: the Whisper module calls in here only after checking that the CPU has
/// AVX2 and FMA, and never inlines it (`@inline(never)`), so no AVX instruction
/// runs on a CPU without them.
public enum SmallRowsAVX2 {
    /// y[r·outs + o] (+)= Σᵢ x[r·k + i] · w[o·k + i] for r < rows (≤ 8), o in `range`.
    @inline(never)
    public static func apply(x: UnsafePointer<Float>, rows: Int, k: Int, w: UnsafePointer<Float>,
                             outs: Int, range: Range<Int>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let vectorEnd = k & ~15
        for o in range {
            let wRow = w + o * k
            for r in 0..<rows {
                let xRow = x + r * k
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
                var i = 0
                while i < vectorEnd {
                    let w0 = UnsafeRawPointer(wRow + i).loadUnaligned(as: SIMD8<Float>.self)
                    let w1 = UnsafeRawPointer(wRow + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                    a0 = a0.addingProduct(w0, UnsafeRawPointer(xRow + i).loadUnaligned(as: SIMD8<Float>.self))
                    a1 = a1.addingProduct(w1, UnsafeRawPointer(xRow + i + 8).loadUnaligned(as: SIMD8<Float>.self))
                    i += 16
                }
                var sum = (a0 + a1).sum()
                while i < k {
                    sum += wRow[i] * xRow[i]
                    i += 1
                }
                let dst = y + r * outs + o
                dst.pointee = accumulate ? dst.pointee + sum : sum
            }
        }
    }
}
