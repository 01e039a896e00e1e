/// One field of a protobuf message: its number and its payload.
struct ProtobufField {
    enum Payload {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// The byte range of a length-delimited payload (a message, string, bytes or packed values).
        case bytes(Range<Int>)
    }
    let number: Int
    let payload: Payload
    /// Where the field starts, for error messages.
    let offset: Int
}

/// The protobuf wire format, just enough of it to walk an ONNX file's messages.
///
/// Exists so the VAD needs no generated code: the few ONNX fields it reads are picked
/// out by number. Every length is checked against the enclosing message, so a truncated
/// or hostile file is a `VADError.malformed` naming the file and the byte, never a trap.
struct ProtobufReader {
    let path: String
    let bytes: [UInt8]

    /// The fields of the message stored in `range`, in file order.
    func fields(in range: Range<Int>) throws(VADError) -> [ProtobufField] {
        var out: [ProtobufField] = []
        var at = range.lowerBound
        while at < range.upperBound {
            let start = at
            let key = try varint(&at, end: range.upperBound)
            let number = Int(truncatingIfNeeded: key >> 3)
            guard number > 0 else { throw .malformed(path: path, offset: start, reason: "field number 0") }
            let payload: ProtobufField.Payload
            switch key & 7 {
            case 0: payload = .varint(try varint(&at, end: range.upperBound))
            case 1: payload = .fixed64(try fixed(&at, end: range.upperBound, width: 8))
            case 5: payload = .fixed32(UInt32(truncatingIfNeeded: try fixed(&at, end: range.upperBound, width: 4)))
            case 2:
                let length = try varint(&at, end: range.upperBound)
                guard length <= UInt64(range.upperBound - at) else {
                    throw .malformed(path: path, offset: start, reason: "field \(number) runs \(length) bytes past its message")
                }
                let end = at + Int(length)
                payload = .bytes(at..<end)
                at = end
            default:
                throw .malformed(path: path, offset: start, reason: "field \(number) has wire type \(key & 7), which ONNX does not use")
            }
            out.append(ProtobufField(number: number, payload: payload, offset: start))
        }
        return out
    }

    /// A length-delimited field's bytes as UTF-8 text.
    func string(_ field: ProtobufField) throws(VADError) -> String {
        guard case let .bytes(r) = field.payload else {
            throw .malformed(path: path, offset: field.offset, reason: "field \(field.number) is not a string")
        }
        return String(decoding: bytes[r], as: UTF8.self)
    }

    /// The integers of a repeated int field, packed or not.
    func integers(_ field: ProtobufField) throws(VADError) -> [Int64] {
        switch field.payload {
        case let .varint(v): return [Int64(bitPattern: v)]
        case let .bytes(r):
            var at = r.lowerBound
            var out: [Int64] = []
            while at < r.upperBound { out.append(Int64(bitPattern: try varint(&at, end: r.upperBound))) }
            return out
        default: throw .malformed(path: path, offset: field.offset, reason: "field \(field.number) is not an integer")
        }
    }

    /// Little-endian float32 values from a byte range (raw_data or packed float_data).
    func floats(_ range: Range<Int>, offset: Int) throws(VADError) -> [Float] {
        guard range.count % 4 == 0 else {
            throw .malformed(path: path, offset: offset, reason: "\(range.count) bytes of float32 data is not a multiple of 4")
        }
        var out = [Float]()
        out.reserveCapacity(range.count / 4)
        var at = range.lowerBound
        while at < range.upperBound {
            let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            out.append(Float(bitPattern: bits))
            at += 4
        }
        return out
    }

    private func varint(_ at: inout Int, end: Int) throws(VADError) -> UInt64 {
        let start = at
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while at < end {
            let b = bytes[at]
            at += 1
            guard shift < 64 else { break }
            value |= UInt64(b & 0x7f) &<< shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
        throw .malformed(path: path, offset: start, reason: "unterminated varint")
    }

    private func fixed(_ at: inout Int, end: Int, width: Int) throws(VADError) -> UInt64 {
        guard end - at >= width else { throw .malformed(path: path, offset: at, reason: "truncated \(width * 8)-bit value") }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[at + i]) &<< UInt64(8 * i) }
        at += width
        return value
    }
}
