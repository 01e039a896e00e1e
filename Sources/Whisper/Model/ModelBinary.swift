import CKernels
import Foundation

/// One variable of a CTranslate2 `model.bin`: where its values lie in the file.
///
/// Exists so the loader can index weights by name and check shapes before anything is
/// read: each tensor is then read in place or converted once, as its compute type needs.
struct ModelVariable: Sendable, Equatable {
    enum DType: UInt8, Sendable { case f32 = 0, i8 = 1, i16 = 2, i32 = 3, f16 = 4, bf16 = 5 }
    var shape: [Int]
    var dtype: DType
    /// Byte offset of the first value in the file.
    var offset: Int
    /// Number of values (the product of `shape`).
    var count: Int

    /// The bytes of the values in the file.
    var byteRange: Range<Int> { offset ..< offset + count * dtype.itemSize }
}

/// A parsed CTranslate2 `model.bin` (format in docs/engine.md §2.1) over its mapping.
///
/// Exists to separate the binary format from the Whisper architecture: it knows
/// strings, dtypes and aliases, nothing about layers.
struct ModelBinary: Sendable {
    var binaryVersion: UInt32
    var specName: String
    var specRevision: UInt32
    var variables: [String: ModelVariable]
    /// The mapped file the variables point into.
    let file: MappedFile

    /// Parses the mapped `file`; `path` names it in errors.
    static func parse(_ file: MappedFile, path: String) throws(WhisperError) -> ModelBinary {
        var r = ByteReader(bytes: file.bytes, path: path)
        let version = try r.u32()
        guard (1...6).contains(version) else { throw .unsupportedBinaryVersion(path: path, version: version) }
        var specName = "", specRevision: UInt32 = 1
        if version >= 2 {
            specName = try r.string()
            specRevision = try r.u32()
        }
        let count = Int(try r.u32())
        // Every variable takes at least `minimumVariableBytes`: a count the rest of the
        // file cannot hold is damage, found before anything is reserved for it.
        // (As a truncation: the file ends before the smallest records it announces would.)
        guard count <= r.remaining / minimumVariableBytes else {
            throw .truncatedModel(path: path, offset: r.offset + count * minimumVariableBytes)
        }
        var vars: [String: ModelVariable] = [:]
        vars.reserveCapacity(count)
        for _ in 0..<count {
            let name = try r.string()
            let shapeOffset = r.offset
            let rank = Int(try r.u8())
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(Int(try r.u32())) }
            // Each dimension is below 2³², so the product is checked after every step.
            var elems = 1
            for dim in shape {
                let (product, overflow) = elems.multipliedReportingOverflow(by: dim)
                guard !overflow, product <= r.bytes.count else {
                    throw .malformedModel(path: path, reason: "variable \(name): shape \(shape) at byte \(shapeOffset) is larger than the file")
                }
                elems = product
            }
            let dtype: ModelVariable.DType
            let nbytes: Int
            if version >= 4 {
                let id = try r.u8()
                guard let d = ModelVariable.DType(rawValue: id) else {
                    throw .malformedModel(path: path, reason: "variable \(name): unknown dtype \(id)")
                }
                dtype = d
                nbytes = Int(try r.u32())
            } else {
                let itemSize = Int(try r.u8())
                let n = Int(try r.u32())
                switch itemSize {
                case 4: dtype = .f32
                case 2: dtype = .f16
                case 1: dtype = .i8
                default: throw .malformedModel(path: path, reason: "variable \(name): item size \(itemSize)")
                }
                nbytes = n * itemSize
            }
            // elems ≤ the file's length, so elems · itemSize (≤ 4) cannot overflow.
            guard nbytes == elems * dtype.itemSize else {
                throw .malformedModel(path: path, reason: "variable \(name) at byte \(shapeOffset): \(nbytes) bytes for shape \(shape) of \(dtype)")
            }
            try r.need(nbytes)
            vars[name] = ModelVariable(shape: shape, dtype: dtype, offset: r.offset, count: elems)
            r.offset += nbytes
        }
        if version >= 3 {
            let na = Int(try r.u32())
            for _ in 0..<na {
                let alias = try r.string()
                let target = try r.string()
                guard let v = vars[target] else {
                    throw .malformedModel(path: path, reason: "alias \(alias) points to unknown \(target)")
                }
                vars[alias] = v
                if let s = vars[target + "_scale"] { vars[alias + "_scale"] = s }
            }
        }
        guard r.offset == file.bytes.count else {
            throw .malformedModel(path: path, reason: "\(file.bytes.count - r.offset) trailing bytes")
        }
        return ModelBinary(binaryVersion: version, specName: specName, specRevision: specRevision, variables: vars, file: file)
    }

    /// The values of `v` as Float (integers as their numeric value, not dequantised).
    func floats(_ v: ModelVariable, level: KernelLevel) -> [Float] {
        [Float](unsafeUninitializedCapacity: v.count) { out, initialized in
            if let base = out.baseAddress { ModelBinary.widen(file.bytes.baseAddress! + v.offset, dtype: v.dtype, count: v.count, into: base, level: level) }
            initialized = v.count
        }
    }

    /// Writes `count` values of `dtype` at `p` (any alignment) as Float into `out`.
    static func widen(_ p: UnsafeRawPointer, dtype: ModelVariable.DType, count: Int, into out: UnsafeMutablePointer<Float>,
                      level: KernelLevel) {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: p, byteCount: 4 * count)
        case .f16:
            ds_f16_to_f32(level.cValue, p, out, count)
        case .bf16:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
        case .i8:
            for i in 0..<count { out[i] = Float(Int8(bitPattern: p.load(fromByteOffset: i, as: UInt8.self))) }
        case .i16:
            for i in 0..<count { out[i] = Float(Int16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)) }
        case .i32:
            for i in 0..<count { out[i] = Float(Int32(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)) }
        }
    }
}

/// The smallest variable record: an empty name (a 2-byte length and the NUL), a rank
/// byte, a dtype or item-size byte and a 4-byte size, with no data (a zero dimension).
let minimumVariableBytes = 3 + 1 + 1 + 4

extension ModelVariable.DType {
    var itemSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .i16, .f16, .bf16: return 2
        case .i8: return 1
        }
    }
}

/// Sequential little-endian reader with unaligned loads.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    /// Bytes not read yet.
    var remaining: Int { bytes.count - offset }

    /// Throws unless `n` more bytes are there (`n` ≥ 0 and at most the file's length,
    /// which every caller's count is checked against first).
    mutating func need(_ n: Int) throws(WhisperError) {
        if n > remaining { throw .truncatedModel(path: path, offset: offset + n) }
    }
    mutating func u8() throws(WhisperError) -> UInt8 {
        try need(1); defer { offset += 1 }; return bytes[offset]
    }
    mutating func u16() throws(WhisperError) -> UInt16 {
        try need(2); defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }
    mutating func u32() throws(WhisperError) -> UInt32 {
        try need(4); defer { offset += 4 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
    mutating func string() throws(WhisperError) -> String {
        let n = Int(try u16())
        guard n >= 1 else { throw .malformedModel(path: path, reason: "empty string at byte \(offset)") }
        try need(n)
        defer { offset += n }
        guard bytes[offset + n - 1] == 0 else {
            throw .malformedModel(path: path, reason: "string at byte \(offset) lacks its NUL")
        }
        return String(decoding: bytes[offset ..< offset + n - 1], as: UTF8.self)
    }
}

/// IEEE half → single, exact (subnormals, inf, NaN included): the reference `ds_f16_to_f32` is tested against.
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1f)
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        // subnormal: mant · 2^-24
        let v = Float(mant) * 5.9604644775390625e-08
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
}
