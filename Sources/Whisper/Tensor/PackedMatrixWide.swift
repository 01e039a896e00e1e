import CKernels

/// The int8 output projection's product and the int8 embedding's rows, both read from one
/// packed copy of the int8 rows (docs/engine.md §9).
///
/// Exists because the output projection is the one product whose activations do not take
/// CTranslate2's 8-bit form: quantised to 8 bits they cost tiny.en about a WER point, kept
/// Float they made every step multiply widened int8 weights in float (a sixth of a
/// large-v3-turbo int8 run). Quantised per row to 16 bits they run on the same VNNI
/// instructions as the other int8 products (two passes, one per byte) with about 1/32767
/// of the row's largest value as the step, 258 times finer than 8 bits.
extension PackedMatrix {
    /// y = x · Wᵀ (+ bias) with x quantised per row to 16 bits (`ds_i16_quantize_rows`),
    /// the sums exact, split over `threads` by weight blocks (a few rows) or by rows.
    func applyWide(_ x: Matrix, bias: [Float]?, threads: Int) -> Matrix {
        precondition(x.cols == cols, "packed linear: x.cols \(x.cols) != w.cols \(cols)")
        guard case let .int8(values, sums, scales) = values else {
            preconditionFailure("16-bit activations need int8 weights")
        }
        let m = x.rows, kp = paddedCols
        var y = biasRows(bias, rows: m, outs: rows)
        guard m > 0 else { return Matrix(rows: 0, cols: rows, storage: y) }
        let parts = m * rows * cols >= 1 << 20 ? max(1, threads) : 1
        var v = [Int16](repeating: 0, count: m * kp)
        var hi = [UInt8](repeating: 0, count: m * kp), lo = hi
        var aScales = [Float](repeating: 0, count: m)
        x.storage.withUnsafeBufferPointer { xp in
            ds_i16_quantize_rows(xp.baseAddress!, Int32(m), Int32(cols), Int32(cols), &v, &hi, &lo, Int32(kp), &aScales)
        }
        let (n, blockCount, lv, accumulate) = (Int32(rows), blocks, level.cValue, Int32(bias == nil ? 0 : 1))
        y.withUnsafeMutableBufferPointer { yp in
            v.withUnsafeBufferPointer { vp in
                hi.withUnsafeBufferPointer { hp in
                    lo.withUnsafeBufferPointer { lp in
                        aScales.withUnsafeBufferPointer { ap in
                            values.withUnsafeBufferPointer { wp in
                                sums.withUnsafeBufferPointer { sp in
                                    scales.withUnsafeBufferPointer { cp in
                                        let (vs, hs, ls, as_) = (SharedPointer(vp.baseAddress!), SharedPointer(hp.baseAddress!),
                                                                 SharedPointer(lp.baseAddress!), SharedPointer(ap.baseAddress!))
                                        let (w, s, c, ys) = (SharedPointer(wp.baseAddress!), SharedPointer(sp.baseAddress!),
                                                             SharedPointer(cp.baseAddress!), SharedPointer(yp.baseAddress!))
                                        Self.split(parts: parts, byRows: m >= 16 * parts, m: m, blocks: blockCount) { r, b in
                                            let at = r.lowerBound * kp
                                            ds_i8_gemm_wide(lv, vs.raw + at, hs.raw + at, ls.raw + at, Int32(r.count), Int32(kp),
                                                            as_.raw + r.lowerBound, w.raw, s.raw, c.raw, n, Int32(b.lowerBound),
                                                            Int32(b.upperBound), ys.raw + r.lowerBound * rows, n, accumulate)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Matrix(rows: m, cols: rows, storage: y)
    }

    /// Row o of the int8 weights dequantised as CTranslate2 gathers an int8 embedding:
    /// q · (1/s) (`Int8RowMatrix`'s scale), into `out` (cols Floats).
    func dequantizedRow(_ o: Int, into out: UnsafeMutablePointer<Float>) {
        guard case let .int8(values, _, scales) = values else { preconditionFailure("int8 rows only") }
        let kp = paddedCols, inverse = 1 / scales[o]
        values.withUnsafeBufferPointer { p in
            let block = p.baseAddress! + (o / 16) * kp * 16 + (o % 16) * 4
            for i in 0..<cols { out[i] = Float(block[(i / 4) * 64 + i % 4]) * inverse }
        }
    }
}
