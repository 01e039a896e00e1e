/// Element-wise and attention kernels compiled for AVX2 + FMA: exp, softmax,
/// GELU, and the few-query attention the decoder runs at every step.
///
/// Exists because these loops were the engine's serial cost after the GEMMs:
/// glibc's expf and erff are scalar calls (the encoder's attention alone takes
/// 54 million exponentials per window), and sgemm repacks the 1500 cross-attention
/// keys on every decoding step for a product with five rows. Like `SmallRowsAVX2`,
/// callers reach these only after checking the CPU has AVX2 and FMA.
public enum VectorKernelsAVX2 {
    private typealias V = SIMD8<Float>

    /// e^x per lane: Cody–Waite reduction by ln 2 and Cephes' degree-6 polynomial
    /// (about 1 ulp), 2^n put in by the exponent bits; lanes below −87.3 (and −∞) give 0.
    @inline(__always)
    private static func exp(_ x: V) -> V {
        let lo = V(repeating: -87.3), hi = V(repeating: 88.3)
        // (replacing(with:where:) lowers to blends; clamped/pointwiseMax stay generic calls here.)
        let c = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
        let magic = V(repeating: 12_582_912)
        let shifted = magic.addingProduct(c, V(repeating: 1.442_695_040_888_963_4))
        let n = shifted - magic
        var r = c.addingProduct(n, V(repeating: -0.693_359_375))
        r = r.addingProduct(n, V(repeating: 2.121_944_4e-4))
        var p = V(repeating: 1.987_569_150_0e-4)
        p = horner(p, r, 1.398_199_950_7e-3)
        p = horner(p, r, 8.333_451_907_3e-3)
        p = horner(p, r, 4.166_579_589_4e-2)
        p = horner(p, r, 1.666_666_545_9e-1)
        p = horner(p, r, 5.000_000_120_1e-1)
        p = (r + 1).addingProduct(p, r * r)
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127
        let scale = unsafeBitCast(bits &<< 23, to: V.self)
        return (p * scale).replacing(with: 0, where: x .< lo)
    }

    /// p·x + c, fused.
    @inline(__always)
    private static func horner(_ p: V, _ x: V, _ c: Float) -> V {
        V(repeating: c).addingProduct(p, x)
    }

    /// The last `count` (< 8) lanes from `p`, the rest `fill`.
    @inline(__always)
    private static func loadTail(_ p: UnsafePointer<Float>, _ count: Int, fill: Float) -> V {
        var v = V(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    private static func storeTail(_ v: V, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { p[i] = v[i] }
    }

    /// y[0..<n] += Σᵢ<k x[i] · wt[i·n ..< i·n + n]: a matrix-vector product with the matrix
    /// stored transposed (k × n), 64 outputs at a time in eight accumulators, one broadcast of
    /// x[i] per row of `wt`. `n` is a multiple of 64. (For the VAD's 512 × 128 recurrence, 8192
    /// multiply-adds a window: OpenBLAS's sgemv, or a dot per output, spent more on overhead.)
    @inline(never)
    public static func matvecTransposed(wt: UnsafePointer<Float>, x: UnsafePointer<Float>, k: Int, n: Int,
                                        y: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            var a0 = vectorLoad(y + j), a1 = vectorLoad(y + j + 8), a2 = vectorLoad(y + j + 16), a3 = vectorLoad(y + j + 24)
            var a4 = vectorLoad(y + j + 32), a5 = vectorLoad(y + j + 40), a6 = vectorLoad(y + j + 48), a7 = vectorLoad(y + j + 56)
            var row = wt + j
            for i in 0..<k {
                let b = V(repeating: x[i])
                a0 = a0.addingProduct(b, vectorLoad(row)); a1 = a1.addingProduct(b, vectorLoad(row + 8))
                a2 = a2.addingProduct(b, vectorLoad(row + 16)); a3 = a3.addingProduct(b, vectorLoad(row + 24))
                a4 = a4.addingProduct(b, vectorLoad(row + 32)); a5 = a5.addingProduct(b, vectorLoad(row + 40))
                a6 = a6.addingProduct(b, vectorLoad(row + 48)); a7 = a7.addingProduct(b, vectorLoad(row + 56))
                row += n
            }
            vectorStore(a0, y + j); vectorStore(a1, y + j + 8); vectorStore(a2, y + j + 16); vectorStore(a3, y + j + 24)
            vectorStore(a4, y + j + 32); vectorStore(a5, y + j + 40); vectorStore(a6, y + j + 48); vectorStore(a7, y + j + 56)
            j += 64
        }
    }

    /// One step of an LSTM cell with ONNX's gate order (i, o, f, c blocks of `hidden`
    /// pre-activations in `gates`): c ← σ(f)·c + σ(i)·tanh(g), h ← σ(o)·tanh(c), in place;
    /// returns Σⱼ max(hⱼ, 0)·head[j] (Silero VAD's ReLU and 1×1 head without its bias).
    /// σ(x) = 1/(1 + e⁻ˣ) and tanh(x) = 2σ(2x) − 1 with this file's exp (absolute error about
    /// 1e-7: glibc's scalar tanhf and expf took a fifth of the VAD's time). `hidden` is a
    /// multiple of 8.
    @inline(never)
    public static func lstmCell(gates: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
                                head: UnsafePointer<Float>, hidden: Int) -> Float {
        @inline(__always) func sigmoid(_ x: V) -> V { 1 / (Self.exp(-x) + 1) }
        @inline(__always) func tanh(_ x: V) -> V { 2 / (Self.exp(-2 * x) + 1) - 1 }
        var acc = V()
        var j = 0
        while j < hidden {
            let i = sigmoid(vectorLoad(gates + j)), o = sigmoid(vectorLoad(gates + hidden + j))
            let f = sigmoid(vectorLoad(gates + 2 * hidden + j)), g = tanh(vectorLoad(gates + 3 * hidden + j))
            let cell = (f * vectorLoad(c + j)).addingProduct(i, g)
            vectorStore(cell, c + j)
            let out = o * tanh(cell)
            vectorStore(out, h + j)
            acc = acc.addingProduct(out.replacing(with: 0, where: out .< 0), vectorLoad(head + j))
            j += 8
        }
        return acc.sum()
    }

    /// Largest element of p[0..<count] (−∞ when empty).
    @inline(never)
    public static func maximum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var m = V(repeating: -.infinity)
        var i = 0
        while i + 8 <= count { let v = vectorLoad(p + i); m = m.replacing(with: v, where: v .> m); i += 8 }
        var best = m.max()
        while i < count { best = Swift.max(best, p[i]); i += 1 }
        return best
    }

    /// The first i in [from, count) with (p[i] − subtract) + add > threshold, or count.
    /// The beam search's top-k scan: once its list is full almost no logit beats the
    /// last entry, so eight are ruled out per compare (same Float rounding as one by one).
    @inline(never)
    public static func firstAbove(_ p: UnsafePointer<Float>, from: Int, count: Int,
                                  subtract: Float, add: Float, threshold: Float) -> Int {
        let sub = V(repeating: subtract), plus = V(repeating: add), limit = V(repeating: threshold)
        var i = from
        while i + 8 <= count {
            let above = ((vectorLoad(p + i) - sub) + plus) .> limit
            if any(above) {
                for lane in 0..<8 where above[lane] { return i + lane }
            }
            i += 8
        }
        while i < count {
            if (p[i] - subtract) + add > threshold { return i }
            i += 1
        }
        return count
    }

    /// Σ e^(p[i] − shift) over p[0..<count].
    @inline(never)
    public static func sumExp(_ p: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
        var acc = V(), i = 0
        let s = V(repeating: shift)
        while i + 8 <= count { acc += exp(vectorLoad(p + i) - s); i += 8 }
        if i < count { acc += exp(loadTail(p + i, count - i, fill: -.infinity) - s) }
        return acc.sum()
    }

    /// softmax of p[0..<count] in place.
    @inline(never)
    public static func softmax(_ p: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        let m = V(repeating: maximum(p, count: count))
        var acc = V(), i = 0
        while i + 8 <= count {
            let e = exp(vectorLoad(p + i) - m)
            vectorStore(e, p + i)
            acc += e
            i += 8
        }
        let tail = count - i
        if tail > 0 {
            let e = exp(loadTail(p + i, tail, fill: -.infinity) - m)
            storeTail(e, p + i, tail)
            acc += e
        }
        let inv = V(repeating: 1 / acc.sum())
        i = 0
        while i + 8 <= count { vectorStore(vectorLoad(p + i) * inv, p + i); i += 8 }
        if tail > 0 { storeTail(loadTail(p + i, tail, fill: 0) * inv, p + i, tail) }
    }

    /// GELU, 0.5·x·(1 + erf(x/√2)), in place. erf comes from erfc(z) = t·e^(P(t) − z²),
    /// t = 1/(1 + z/2) (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7),
    /// which also keeps the negative side, 0.5·x·erfc(|x|/√2), free of cancellation.
    @inline(never)
    public static func gelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        @inline(__always) func apply(_ x: V) -> V {
            let z = x.replacing(with: -x, where: x .< 0) * 0.707_106_781_186_547_5
            let t = 1 / (z * 0.5 + 1)
            var q = V(repeating: 0.170_872_77)
            q = horner(q, t, -0.822_152_23)
            q = horner(q, t, 1.488_515_87)
            q = horner(q, t, -1.135_203_98)
            q = horner(q, t, 0.278_868_07)
            q = horner(q, t, -0.186_288_06)
            q = horner(q, t, 0.096_784_18)
            q = horner(q, t, 0.374_091_96)
            q = horner(q, t, 1.000_023_68)
            q = horner(q, t, -1.265_512_23)
            let erfc = t * Self.exp(q - z * z)
            let half = erfc * 0.5
            return (x - x * half).replacing(with: 0, where: x .< 0) + (x * half).replacing(with: 0, where: x .>= 0)
        }
        var i = 0
        while i + 8 <= count { vectorStore(apply(vectorLoad(p + i)), p + i); i += 8 }
        if i < count { storeTail(apply(loadTail(p + i, count - i, fill: 0)), p + i, count - i) }
    }

    /// Attention for a few query rows against many keys, one head:
    /// out[r·ldo ..< +headDim] = softmax(scale · q_r · Kᵀ) · V over keys j < limit(r),
    /// where limit(r) = min(keys, causalLimit + r + 1) when `causalLimit` ≥ 0, else `keys`.
    /// `scratch` holds at least rows × keys floats. headDim must be a multiple of 8.
    @inline(never)
    public static func attendFewRows(q: UnsafePointer<Float>, ldq: Int, rows: Int,
                                     k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int, keys: Int,
                                     headDim: Int, scale: Float, causalLimit: Int,
                                     out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<Float>) {
        SmallRowsAVX2.dots(x: q, ldx: ldq, rows: rows, w: k, ldw: ldkv, k: headDim, range: 0..<keys,
                           y: scratch, ldy: keys, scale: scale, accumulate: false)
        for r in 0..<rows {
            let row = scratch + r * keys
            let n = causalLimit >= 0 ? Swift.min(keys, causalLimit + r + 1) : keys
            softmax(row, count: n)
            // Masked keys weigh 0 in the mix.
            for j in n..<keys { row[j] = 0 }
        }
        SmallRowsAVX2.mix(p: scratch, ldp: keys, rows: rows, keys: keys, v: v, ldv: ldkv, width: headDim,
                          out: out, ldo: ldo)
    }
}
