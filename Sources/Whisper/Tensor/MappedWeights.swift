import CKernels

/// A weight matrix (rows × cols, row-major) read in place from the mapped model.bin.
///
/// Exists so float32 compute does not keep a Float copy of a model stored in float16:
/// the encoder's weights, most of a large model, stay in the file's precision and each
/// matrix is widened (F16C where the CPU has it) into a buffer of its own product just
/// before the sgemm, which then computes exactly what it computed on a copy made at load.
/// A float32 file's weights are used where they lie.
struct MappedWeights: Sendable {
    enum Element: Sendable { case float32, float16 }
    let element: Element
    let rows: Int
    let cols: Int
    /// Byte offset of the first value in `file`.
    let offset: Int
    let file: MappedFile
    /// The instruction set of the widening.
    let level: KernelLevel

    /// The first value's address in the mapping.
    var base: UnsafeRawPointer { file.bytes.baseAddress! + offset }

    /// Row `r` widened into `out` (cols floats): an embedding lookup.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        switch element {
        case .float32: UnsafeMutableRawPointer(out).copyMemory(from: base + 4 * r * cols, byteCount: 4 * cols)
        case .float16: ds_f16_to_f32(level.cValue, base + 2 * r * cols, out, cols)
        }
    }

    /// Runs `body` with the weights as Float: in place for float32, else widened into a
    /// buffer that lives for the call, the widening split over `threads`.
    func withFloats<T>(threads: Int, _ body: (UnsafePointer<Float>) -> T) -> T {
        switch element {
        case .float32:
            return body(base.assumingMemoryBound(to: Float.self))
        case .float16:
            let count = rows * cols
            let parts = count >= 1 << 18 ? max(1, threads) : 1
            let src = SharedPointer(base.assumingMemoryBound(to: UInt8.self)), lv = level.cValue
            let floats = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                let dst = SharedPointer(out.baseAddress!)
                Parallel.split(parts) { p in
                    let r = Parallel.range(p, of: parts, count: count, align: 64)
                    guard !r.isEmpty else { return }
                    ds_f16_to_f32(lv, src.raw + 2 * r.lowerBound, dst.raw + r.lowerBound, r.count)
                }
                initialized = count
            }
            return floats.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}
