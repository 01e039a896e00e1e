import CKernels

/// A weight matrix packed for the CKernels products: int8 with one scale per row, or
/// bfloat16, in blocks of 16 rows (Sources/CKernels/include/CKernels.h), with the
/// kernel level chosen at load.
///
/// Exists for the int8 and bfloat16 compute types: packing once at load lets every
/// product stream the weights in the order the kernels consume them, and the level
/// travels with the weights so a forced `DROPSCRIBE_CPU` applies to every product.
struct PackedMatrix: Sendable {
    enum Values: Sendable {
        /// Packed int8 rows, each row's sum of values (for the unsigned shift) and
        /// scales (row o is values / scales[o], `Int8RowMatrix`'s); sums and scales padded
        /// to 16 rows.
        case int8(values: [Int8], sums: [Int32], scales: [Float])
        /// Packed bfloat16 bit patterns.
        case bf16([UInt16])
    }

    let rows: Int
    let cols: Int
    let level: KernelLevel
    let values: Values

    /// k rounded up to the kernel's step (4 int8 or 2 bf16 values).
    var paddedCols: Int {
        switch values {
        case .int8: return (cols + 3) / 4 * 4
        case .bf16: return (cols + 1) / 2 * 2
        }
    }

    var blocks: Int { (rows + 15) / 16 }

    /// int8, quantised per row as `Int8RowMatrix` does (scale = 127/max|w|).
    init(int8 q: Int8RowMatrix, level: KernelLevel) {
        rows = q.rows
        cols = q.cols
        self.level = level
        let padded = (q.rows + 15) / 16 * 16, kp = (q.cols + 3) / 4 * 4
        var sums = [Int32](repeating: 0, count: padded)
        // Blocks of 16 rows are packed independently, so the threads take shares of them
        // (ds_i8_pack writes every byte of its blocks, padding included).
        let packed = [Int8](unsafeUninitializedCapacity: padded * kp) { p, initialized in
            let parts = q.rows * q.cols >= 1 << 18 ? BLAS.threads : 1
            if padded * kp > 0 {
                q.values.withUnsafeBufferPointer { v in
                    sums.withUnsafeMutableBufferPointer { s in
                        let (vs, ps, ss) = (SharedPointer(v.baseAddress!), SharedPointer(p.baseAddress!), SharedPointer(s.baseAddress!))
                        Parallel.split(parts) { part in
                            let rows = Parallel.range(part, of: parts, count: q.rows, align: 16)
                            guard !rows.isEmpty else { return }
                            ds_i8_pack(vs.raw + rows.lowerBound * q.cols, Int32(rows.count), Int32(q.cols),
                                       ps.raw + rows.lowerBound * kp, ss.raw + rows.lowerBound)
                        }
                    }
                }
            }
            initialized = padded * kp
        }
        values = .int8(values: packed, sums: sums, scales: q.scales + [Float](repeating: 1, count: padded - q.rows))
    }

    /// bfloat16, each weight rounded to nearest (ties to even).
    init(bf16 m: Matrix, level: KernelLevel) {
        rows = m.rows
        cols = m.cols
        self.level = level
        // ds_bf16_pack writes every value of its blocks, padding included: no zero-fill first.
        let packed = [UInt16](unsafeUninitializedCapacity: Int(ds_bf16_packed_count(Int32(m.rows), Int32(m.cols)))) { p, initialized in
            if p.count > 0 { m.storage.withUnsafeBufferPointer { ds_bf16_pack($0.baseAddress!, Int32(m.rows), Int32(m.cols), p.baseAddress!) } }
            initialized = p.count
        }
        values = .bf16(packed)
    }

    /// bfloat16 from `rowCount` rows of float16 or float32 values at `base` (the mapped
    /// model.bin), widened 16 rows (one packed block) at a time into a buffer per thread, the
    /// blocks split over the engine's threads: no Float copy of the whole matrix. The same
    /// packing as `init(bf16:)`.
    init(bf16Rows rowCount: Int, cols k: Int, mapped base: UnsafeRawPointer, dtype: ModelVariable.DType, level: KernelLevel) {
        rows = rowCount
        cols = k
        self.level = level
        let kp = (k + 1) / 2 * 2, blockCount = (rowCount + 15) / 16
        let (source, size) = (SharedPointer(base.assumingMemoryBound(to: UInt8.self)), dtype.itemSize)
        let parts = rowCount * k >= 1 << 18 ? BLAS.threads : 1
        // Each block's ds_bf16_pack writes all of its 16 × kp values: no zero-fill first.
        let packed = [UInt16](unsafeUninitializedCapacity: Int(ds_bf16_packed_count(Int32(rowCount), Int32(k)))) { p, initialized in
            if p.count > 0 {
                let ps = SharedPointer(p.baseAddress!)
                Parallel.split(parts) { part in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 16 * k)
                    defer { scratch.deallocate() }
                    for block in Parallel.range(part, of: parts, count: blockCount) {
                        let first = block * 16, n = min(16, rowCount - first)
                        for r in 0..<n {
                            ModelBinary.widen(UnsafeRawPointer(source.raw + (first + r) * k * size), dtype: dtype, count: k,
                                              into: scratch + r * k, level: level)
                        }
                        ds_bf16_pack(scratch, Int32(n), Int32(k), ps.raw + block * 16 * kp)
                    }
                }
            }
            initialized = p.count
        }
        values = .bf16(packed)
    }

    /// y = x · Wᵀ (+ bias): the activations quantised per row (int8, as CTranslate2's u8·s8
    /// products take them: `ds_i8_quantize_rows`) or rounded (bf16), then the product, split over `threads` by rows (many rows) or by 16-row weight
    /// blocks (a few rows: a decoding step).
    func apply(_ x: Matrix, bias: [Float]?, threads: Int) -> Matrix {
        precondition(x.cols == cols, "packed linear: x.cols \(x.cols) != w.cols \(cols)")
        let m = x.rows, kp = paddedCols
        var y = biasRows(bias, rows: m, outs: rows)
        guard m > 0 else { return Matrix(rows: 0, cols: rows, storage: y) }
        let work = m * rows * cols
        let parts = work >= 1 << 20 ? max(1, threads) : 1
        let byRows = m >= 16 * parts
        let accumulate: Int32 = bias == nil ? 0 : 1
        let (n, blockCount, lv) = (Int32(rows), blocks, level.cValue)
        y.withUnsafeMutableBufferPointer { yp in
            x.storage.withUnsafeBufferPointer { xp in
                let (xs, ys) = (SharedPointer(xp.baseAddress!), SharedPointer(yp.baseAddress!))
                switch values {
                case let .int8(values, sums, scales):
                    var q = [Int8](repeating: 0, count: m * kp)
                    var aScales = [Float](repeating: 0, count: m)
                    let form = Int32(ds_i8_wants_shift(lv) != 0 ? DS_I8_UNSIGNED : DS_I8_SIGNED)
                    q.withUnsafeMutableBufferPointer { qp in
                        aScales.withUnsafeMutableBufferPointer { ap in
                            let (qs, as_) = (SharedPointer(qp.baseAddress!), SharedPointer(ap.baseAddress!))
                            Parallel.split(m >= 64 ? parts : 1) { p in
                                let r = Parallel.range(p, of: m >= 64 ? parts : 1, count: m)
                                guard !r.isEmpty else { return }
                                ds_i8_quantize_rows(lv, xs.raw + r.lowerBound * cols, Int32(r.count), Int32(cols), Int32(cols),
                                                    qs.raw + r.lowerBound * kp, Int32(kp), as_.raw + r.lowerBound, form)
                            }
                            values.withUnsafeBufferPointer { vp in
                                sums.withUnsafeBufferPointer { sp in
                                    scales.withUnsafeBufferPointer { wp in
                                        let (v, s, w) = (SharedPointer(vp.baseAddress!), SharedPointer(sp.baseAddress!),
                                                         SharedPointer(wp.baseAddress!))
                                        Self.split(parts: parts, byRows: byRows, m: m, blocks: blockCount) { r, b in
                                            ds_i8_gemm(lv, qs.raw + r.lowerBound * kp, Int32(r.count), Int32(kp), as_.raw + r.lowerBound,
                                                       v.raw, s.raw, w.raw, n, Int32(b.lowerBound), Int32(b.upperBound),
                                                       ys.raw + r.lowerBound * rows, n, accumulate)
                                        }
                                    }
                                }
                            }
                        }
                    }
                case let .bf16(values):
                    var a = [UInt16](repeating: 0, count: m * kp)
                    a.withUnsafeMutableBufferPointer { ap in
                        let az = SharedPointer(ap.baseAddress!)
                        Parallel.split(m >= 64 ? parts : 1) { p in
                            let r = Parallel.range(p, of: m >= 64 ? parts : 1, count: m)
                            guard !r.isEmpty else { return }
                            ds_bf16_convert_rows(xs.raw + r.lowerBound * cols, Int32(r.count), Int32(cols), Int32(cols),
                                                 az.raw + r.lowerBound * kp, Int32(kp))
                        }
                        values.withUnsafeBufferPointer { vp in
                            let v = SharedPointer(vp.baseAddress!)
                            Self.split(parts: parts, byRows: byRows, m: m, blocks: blockCount) { r, b in
                                ds_bf16_gemm(lv, az.raw + r.lowerBound * kp, Int32(r.count), Int32(kp), v.raw, n,
                                             Int32(b.lowerBound), Int32(b.upperBound), ys.raw + r.lowerBound * rows, n, accumulate)
                            }
                        }
                    }
                }
            }
        }
        return Matrix(rows: m, cols: rows, storage: y)
    }

    /// Runs `body(rows, blocks)` on `parts` disjoint pieces: rows in multiples of 16, or
    /// all rows and a share of the weight blocks.
    static func split(parts: Int, byRows: Bool, m: Int, blocks: Int,
                              _ body: @Sendable (Range<Int>, Range<Int>) -> Void) {
        Parallel.split(parts) { p in
            if byRows {
                let r = Parallel.range(p, of: parts, count: m, align: 16)
                if !r.isEmpty { body(r, 0..<blocks) }
            } else {
                let b = Parallel.range(p, of: parts, count: blocks)
                if !b.isEmpty { body(0..<m, b) }
            }
        }
    }
}
