import Foundation

/// A float32 weight stored in an ONNX file: its name, shape and values (row-major).
public struct ONNXTensor: Sendable, Equatable {
    public let name: String
    public let dims: [Int]
    public let values: [Float]
}

/// The parts of an ONNX file the VAD needs: the float32 initializers by name and
/// each node's operator and input names.
///
/// Exists so the Silero weights can be read without onnxruntime or generated protobuf
/// code: ModelProto.graph (7) → GraphProto.node (1) and .initializer (5) →
/// TensorProto.dims (1), data_type (2), float_data (4), name (8), raw_data (9),
/// data_location (14). Tensors of other types (the graph's int64 shape constants) are
/// skipped, since the Swift network hard-codes the shapes they describe.
public struct ONNXGraph: Sendable {
    /// A graph node: its operator (`Conv`, `LSTM`, ...) and the names of its inputs.
    public struct Node: Sendable, Equatable {
        public let opType: String
        public let inputs: [String]
    }

    public let path: String
    public let initializers: [String: ONNXTensor]
    public let nodes: [Node]

    /// Reads and parses the file at `path`.
    public init(path: String) throws(VADError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(path: path, bytes: [UInt8](data))
    }

    /// Parses ONNX bytes; `path` names them in errors.
    public init(path: String, bytes: [UInt8]) throws(VADError) {
        self.path = path
        let reader = ProtobufReader(path: path, bytes: bytes)
        let model = try reader.fields(in: 0..<bytes.count)
        guard let graphField = model.last(where: { $0.number == 7 }), case let .bytes(graphRange) = graphField.payload else {
            throw .malformed(path: path, offset: 0, reason: "no graph in the model")
        }
        var initializers: [String: ONNXTensor] = [:]
        var nodes: [Node] = []
        for field in try reader.fields(in: graphRange) {
            guard case let .bytes(r) = field.payload else { continue }
            switch field.number {
            case 1: nodes.append(try Self.node(reader, r))
            case 5:
                if let t = try Self.tensor(reader, r, offset: field.offset) { initializers[t.name] = t }
            default: continue
            }
        }
        self.initializers = initializers
        self.nodes = nodes
    }

    /// The float32 initializer `name` with the shape `dims`.
    public func tensor(_ name: String, dims: [Int]) throws(VADError) -> [Float] {
        guard let t = initializers[name] else { throw .missingTensor(path: path, name: name) }
        guard t.dims == dims else { throw .badShape(path: path, name: name, expected: dims, found: t.dims) }
        return t.values
    }

    private static func node(_ reader: ProtobufReader, _ range: Range<Int>) throws(VADError) -> Node {
        var op = "", inputs: [String] = []
        for f in try reader.fields(in: range) {
            switch f.number {
            case 1: inputs.append(try reader.string(f))
            case 4: op = try reader.string(f)
            default: continue
            }
        }
        return Node(opType: op, inputs: inputs)
    }

    /// A float32 tensor, or nil for other element types.
    private static func tensor(_ reader: ProtobufReader, _ range: Range<Int>, offset: Int) throws(VADError) -> ONNXTensor? {
        var dims: [Int] = [], dataType: Int64 = 0, name = "", external = false
        var raw: (Range<Int>, Int)? = nil
        var floats: [Float] = []
        for f in try reader.fields(in: range) {
            switch (f.number, f.payload) {
            case (1, _): dims += try reader.integers(f).map { Int(truncatingIfNeeded: $0) }
            case (2, _): dataType = try reader.integers(f).last ?? 0
            case (4, .fixed32(let bits)): floats.append(Float(bitPattern: bits))
            case (4, .bytes(let r)): floats += try reader.floats(r, offset: f.offset)
            case (8, _): name = try reader.string(f)
            case (9, .bytes(let r)): raw = (r, f.offset)
            case (14, _): external = try reader.integers(f).last == 1
            default: continue
            }
        }
        guard dataType == 1 else { return nil }
        if external { throw .unsupportedTensor(path: reader.path, name: name, reason: "stored in an external file") }
        if let (r, at) = raw { floats = try reader.floats(r, offset: at) }
        guard elementCount(dims) == floats.count else {
            throw .malformed(path: reader.path, offset: offset, reason: "tensor \(name) has \(floats.count) values for shape \(dims)")
        }
        return ONNXTensor(name: name, dims: dims, values: floats)
    }
}

/// The number of elements of a shape, nil for a negative or overflowing one.
func elementCount(_ dims: [Int]) -> Int? {
    var n = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}
