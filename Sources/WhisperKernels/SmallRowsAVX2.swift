import CPrefetch

/// The decoder's small-batch products compiled for AVX2 + FMA (this module alone is
/// built with `-target-cpu haswell`): x · Wᵀ for a few rows x (projections,
/// attention scores) and P · V for a few rows P (attention mixing).
///
/// Exists apart from the Whisper module so the rest of the engine stays baseline
/// x86-64: the Whisper module calls in here only after checking that the CPU has
/// AVX2 and FMA, and never inlines it (`@inline(never)`), so no AVX instruction
/// runs on a CPU without them.
///
/// Both products are register-blocked: four input rows against two weight rows
/// (eight accumulators) share each load, so a step is bound by reading W once
/// from memory rather than by loads from L1 (the unblocked loop issued two loads
/// per multiply-add).
public enum SmallRowsAVX2 {
    private typealias V = SIMD8<Float>

    /// Asks for the 64-byte lines of `bytes` bytes at p ahead of use.
    @inline(__always)
    private static func prefetch(_ p: UnsafeRawPointer, bytes: Int) {
        var i = 0
        while i < bytes { dropscribe_prefetch(p + i); i += 64 }
    }

    /// y[r·outs + o] (+)= Σᵢ x[r·k + i] · w[o·k + i] for r < rows, o in `range`.
    @inline(never)
    public static func apply(x: UnsafePointer<Float>, rows: Int, k: Int, w: UnsafePointer<Float>,
                             outs: Int, range: Range<Int>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        dots(x: x, ldx: k, rows: rows, w: w, ldw: k, k: k, range: range, y: y, ldy: outs, scale: 1, accumulate: accumulate)
    }

    /// y[r·ldy + o] (+)= scale · Σᵢ<k x[r·ldx + i] · w[o·ldw + i] for r < rows, o in `range`.
    @inline(never)
    public static func dots(x: UnsafePointer<Float>, ldx: Int, rows: Int, w: UnsafePointer<Float>, ldw: Int, k: Int,
                            range: Range<Int>, y: UnsafeMutablePointer<Float>, ldy: Int, scale: Float, accumulate: Bool) {
        blockedDots(x: x, ldx: ldx, rows: rows, w: w, ldw: ldw, k: k, range: range, y: y, ldy: ldy,
                    scale: scale, accumulate: accumulate, widen: { vectorLoad($0) }, widenOne: { $0 })
    }

    /// The same product over float16 weight rows (a model.bin kept in its own precision):
    /// each chunk is widened exactly (vcvtph2ps) before the same multiply-adds, so the sums
    /// are the ones Float copies of the weights give.
    @inline(never)
    public static func dotsFloat16(x: UnsafePointer<Float>, ldx: Int, rows: Int, w: UnsafePointer<Float16>, ldw: Int, k: Int,
                                   range: Range<Int>, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        blockedDots(x: x, ldx: ldx, rows: rows, w: w, ldw: ldw, k: k, range: range, y: y, ldy: ldy,
                    scale: 1, accumulate: accumulate,
                    widen: { V(UnsafeRawPointer($0).loadUnaligned(as: SIMD8<Float16>.self)) }, widenOne: { Float($0) })
    }

    /// Horizontal sum as a tree (three vector adds; `sum()` adds the lanes one by one).
    @inline(__always)
    private static func total(_ v: V) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    @inline(__always)
    private static func blockedDots<W>(x: UnsafePointer<Float>, ldx: Int, rows: Int, w: UnsafePointer<W>, ldw: Int,
                                       k: Int, range: Range<Int>,
                                       y: UnsafeMutablePointer<Float>, ldy: Int, scale: Float, accumulate: Bool,
                                       widen: (UnsafePointer<W>) -> V, widenOne: (W) -> Float) {
        let vectorEnd = k & ~7
        let bytesPerRow = k * MemoryLayout<W>.stride
        @inline(__always) func finish(_ acc: V, _ r: Int, _ o: Int) {
            var sum = total(acc)
            let xr = x + r * ldx, wo = w + o * ldw
            for i in vectorEnd..<k { sum += xr[i] * widenOne(wo[i]) }
            sum *= scale
            let dst = y + r * ldy + o
            dst.pointee = accumulate ? dst.pointee + sum : sum
        }
        // Weight rows are requested about 1.5 KB (at least two rows) ahead: with the
        // hardware prefetcher alone a step ran at half the memory bandwidth (measured).
        let ahead = Swift.max(2, 1536 / Swift.max(bytesPerRow, 1))
        // Rows go in blocks of five (a beam of 5) or four, then one by one. A block's rows
        // are interleaved by 8-float chunks first, so its inner loop walks one input
        // pointer: with five row pointers the compiler ran out of general registers and
        // reloaded them from the stack in the loop, which cost more than the block saved.
        let fives = (5...7).contains(rows) ? 1 : 0
        let blocked = fives * 5 + (rows - fives * 5) / 4 * 4
        let chunks = vectorEnd / 8
        // (A heap buffer: inside withUnsafeTemporaryAllocation's closure `widen` was no longer inlined.)
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, blocked * vectorEnd))
        defer { packed.deallocate() }
        var r0 = 0
        while r0 < blocked {
            let size = r0 < fives * 5 ? 5 : 4
            for c in 0..<chunks {
                for j in 0..<size {
                    vectorStore(vectorLoad(x + (r0 + j) * ldx + c * 8), packed + r0 * vectorEnd + (c * size + j) * 8)
                }
            }
            r0 += size
        }
        var o = range.lowerBound
        while o < range.upperBound {
            let pair = o + 1 < range.upperBound
            let w0 = w + o * ldw, w1 = pair ? w0 + ldw : w0
            if o + ahead + 1 < range.upperBound {
                prefetch(UnsafeRawPointer(w0 + ahead * ldw), bytes: bytesPerRow)
                prefetch(UnsafeRawPointer(w0 + (ahead + 1) * ldw), bytes: bytesPerRow)
            }
            var r = 0
            if fives == 1 {
                var a00 = V(), a01 = V(), a10 = V(), a11 = V(), a20 = V(), a21 = V(), a30 = V(), a31 = V()
                var a40 = V(), a41 = V()
                var chunk = UnsafePointer(packed)
                var i = 0
                while i < vectorEnd {
                    let u = widen(w0 + i), v = widen(w1 + i)
                    var b = vectorLoad(chunk)
                    a00 = a00.addingProduct(b, u); a01 = a01.addingProduct(b, v)
                    b = vectorLoad(chunk + 8)
                    a10 = a10.addingProduct(b, u); a11 = a11.addingProduct(b, v)
                    b = vectorLoad(chunk + 16)
                    a20 = a20.addingProduct(b, u); a21 = a21.addingProduct(b, v)
                    b = vectorLoad(chunk + 24)
                    a30 = a30.addingProduct(b, u); a31 = a31.addingProduct(b, v)
                    b = vectorLoad(chunk + 32)
                    a40 = a40.addingProduct(b, u); a41 = a41.addingProduct(b, v)
                    chunk += 40
                    i += 8
                }
                finish(a00, 0, o); finish(a10, 1, o); finish(a20, 2, o); finish(a30, 3, o); finish(a40, 4, o)
                if pair {
                    finish(a01, 0, o + 1); finish(a11, 1, o + 1); finish(a21, 2, o + 1); finish(a31, 3, o + 1)
                    finish(a41, 4, o + 1)
                }
                r = 5
            }
            while r < blocked {
                var a00 = V(), a01 = V(), a10 = V(), a11 = V(), a20 = V(), a21 = V(), a30 = V(), a31 = V()
                var chunk = UnsafePointer(packed + r * vectorEnd)
                var i = 0
                while i < vectorEnd {
                    let u = widen(w0 + i), v = widen(w1 + i)
                    let b0 = vectorLoad(chunk), b1 = vectorLoad(chunk + 8), b2 = vectorLoad(chunk + 16)
                    let b3 = vectorLoad(chunk + 24)
                    a00 = a00.addingProduct(b0, u); a01 = a01.addingProduct(b0, v)
                    a10 = a10.addingProduct(b1, u); a11 = a11.addingProduct(b1, v)
                    a20 = a20.addingProduct(b2, u); a21 = a21.addingProduct(b2, v)
                    a30 = a30.addingProduct(b3, u); a31 = a31.addingProduct(b3, v)
                    chunk += 32
                    i += 8
                }
                finish(a00, r, o); finish(a10, r + 1, o); finish(a20, r + 2, o); finish(a30, r + 3, o)
                if pair { finish(a01, r, o + 1); finish(a11, r + 1, o + 1); finish(a21, r + 2, o + 1); finish(a31, r + 3, o + 1) }
                r += 4
            }
            while r < rows {
                let xr = x + r * ldx
                var a0 = V(), a1 = V(), b0 = V(), b1 = V()
                var i = 0
                while i + 16 <= vectorEnd {
                    let p = vectorLoad(xr + i), q = vectorLoad(xr + i + 8)
                    a0 = a0.addingProduct(p, widen(w0 + i)); a1 = a1.addingProduct(q, widen(w0 + i + 8))
                    b0 = b0.addingProduct(p, widen(w1 + i)); b1 = b1.addingProduct(q, widen(w1 + i + 8))
                    i += 16
                }
                if i < vectorEnd {
                    let p = vectorLoad(xr + i)
                    a0 = a0.addingProduct(p, widen(w0 + i))
                    b0 = b0.addingProduct(p, widen(w1 + i))
                }
                finish(a0 + a1, r, o)
                if pair { finish(b0 + b1, r, o + 1) }
                r += 1
            }
            o += pair ? 2 : 1
        }
    }

    /// out[r·ldo + c] = Σⱼ<keys p[r·ldp + j] · v[j·ldv + c] for r < rows, c < width
    /// (width a multiple of 8).
    @inline(never)
    public static func mix(p: UnsafePointer<Float>, ldp: Int, rows: Int, keys n: Int,
                           v: UnsafePointer<Float>, ldv: Int, width: Int,
                           out: UnsafeMutablePointer<Float>, ldo: Int) {
        var r = 0
        // Five rows (a beam of 5) in one pass over the keys: ten accumulators, two value
        // vectors and a broadcast fit the sixteen registers. As four rows and one, each
        // value line was fetched one and a half times as often, and the loop waits on those.
        if (5...7).contains(rows) {
            let p0 = p, p1 = p0 + ldp, p2 = p1 + ldp, p3 = p2 + ldp, p4 = p3 + ldp
            var c = 0
            while c < width {
                let two = c + 16 <= width
                var a00 = V(), a01 = V(), a10 = V(), a11 = V(), a20 = V(), a21 = V(), a30 = V(), a31 = V()
                var a40 = V(), a41 = V()
                for j in 0..<n {
                    let row = v + j * ldv + c
                    if j + 8 < n { dropscribe_prefetch(row + 8 * ldv) }
                    let u = vectorLoad(row), s = two ? vectorLoad(row + 8) : V()
                    var b = V(repeating: p0[j])
                    a00 = a00.addingProduct(b, u); a01 = a01.addingProduct(b, s)
                    b = V(repeating: p1[j])
                    a10 = a10.addingProduct(b, u); a11 = a11.addingProduct(b, s)
                    b = V(repeating: p2[j])
                    a20 = a20.addingProduct(b, u); a21 = a21.addingProduct(b, s)
                    b = V(repeating: p3[j])
                    a30 = a30.addingProduct(b, u); a31 = a31.addingProduct(b, s)
                    b = V(repeating: p4[j])
                    a40 = a40.addingProduct(b, u); a41 = a41.addingProduct(b, s)
                }
                let o = out + c
                vectorStore(a00, o); vectorStore(a10, o + ldo); vectorStore(a20, o + 2 * ldo); vectorStore(a30, o + 3 * ldo)
                vectorStore(a40, o + 4 * ldo)
                if two {
                    vectorStore(a01, o + 8); vectorStore(a11, o + ldo + 8); vectorStore(a21, o + 2 * ldo + 8)
                    vectorStore(a31, o + 3 * ldo + 8); vectorStore(a41, o + 4 * ldo + 8)
                }
                c += two ? 16 : 8
            }
            r = 5
        }
        while r + 4 <= rows {
            let p0 = p + r * ldp, p1 = p0 + ldp, p2 = p1 + ldp, p3 = p2 + ldp
            var c = 0
            while c < width {
                let two = c + 16 <= width
                var a00 = V(), a01 = V(), a10 = V(), a11 = V(), a20 = V(), a21 = V(), a30 = V(), a31 = V()
                for j in 0..<n {
                    let row = v + j * ldv + c
                    if j + 8 < n { dropscribe_prefetch(row + 8 * ldv) }
                    let u = vectorLoad(row), s = two ? vectorLoad(row + 8) : V()
                    let w0 = V(repeating: p0[j]), w1 = V(repeating: p1[j])
                    let w2 = V(repeating: p2[j]), w3 = V(repeating: p3[j])
                    a00 = a00.addingProduct(w0, u); a01 = a01.addingProduct(w0, s)
                    a10 = a10.addingProduct(w1, u); a11 = a11.addingProduct(w1, s)
                    a20 = a20.addingProduct(w2, u); a21 = a21.addingProduct(w2, s)
                    a30 = a30.addingProduct(w3, u); a31 = a31.addingProduct(w3, s)
                }
                let o = out + r * ldo + c
                vectorStore(a00, o); vectorStore(a10, o + ldo); vectorStore(a20, o + 2 * ldo); vectorStore(a30, o + 3 * ldo)
                if two { vectorStore(a01, o + 8); vectorStore(a11, o + ldo + 8); vectorStore(a21, o + 2 * ldo + 8); vectorStore(a31, o + 3 * ldo + 8) }
                c += two ? 16 : 8
            }
            r += 4
        }
        while r < rows {
            let pr = p + r * ldp
            var c = 0
            while c < width {
                let four = c + 32 <= width
                var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                for j in 0..<n {
                    let row = v + j * ldv + c, w = V(repeating: pr[j])
                    if j + 8 < n { dropscribe_prefetch(row + 8 * ldv) }
                    a0 = a0.addingProduct(w, vectorLoad(row))
                    if four {
                        a1 = a1.addingProduct(w, vectorLoad(row + 8))
                        a2 = a2.addingProduct(w, vectorLoad(row + 16))
                        a3 = a3.addingProduct(w, vectorLoad(row + 24))
                    }
                }
                let o = out + r * ldo + c
                vectorStore(a0, o)
                if four { vectorStore(a1, o + 8); vectorStore(a2, o + 16); vectorStore(a3, o + 24) }
                c += four ? 32 : 8
            }
            r += 1
        }
    }
}
