import Foundation

/// The weights of Silero VAD v6's 16 kHz graph, laid out for the Swift network.
///
/// Exists to check every shape once, at load, against the graph faster-whisper ships
/// (a wrong file is a `VADError` naming it, not a wrong probability), and to reorder the
/// convolution kernels from ONNX's [out][in][tap] to [out][tap][in], so a convolution is
/// one matrix product over rows that are three consecutive time steps side by side.
public struct SileroWeights: Sendable {
    /// One 1-D convolution, kernel 3, padding 1: `weight` is (outputs × 3·inputs), taps outermost.
    struct Conv: Sendable {
        let inputs: Int, outputs: Int, stride: Int
        let weight: [Float]
        let bias: [Float]
    }

    static let hidden = 128
    /// STFT basis as a (258 × 256) matrix: 129 real rows, then 129 imaginary rows.
    private(set) var basis: [Float]
    /// The analysis window when `basis` is a windowed DFT (`dftWindow(of:)`): the encoder then
    /// takes the spectrum by FFT; nil: by the product with `basis`.
    private(set) var window: [Float]?
    let convs: [Conv]
    /// LSTM input and recurrent weights (512 × 128 each, gates in ONNX's order i, o, f, c) and the two biases summed.
    let lstmInput: [Float], lstmRecurrent: [Float], lstmBias: [Float]
    /// The final 1×1 convolution from 128 channels to one logit.
    let head: [Float], headBias: Float

    /// Reads the weights from the ONNX file at `path`.
    public init(path: String) throws(VADError) {
        try self.init(graph: ONNXGraph(path: path))
    }

    public init(graph: ONNXGraph) throws(VADError) {
        basis = try graph.tensor("encoder.feature_extractor.forward_basis_buffer", dims: [258, 1, 256])
        window = Self.dftWindow(of: basis)
        let layers: [(inputs: Int, outputs: Int, stride: Int)] = [(129, 128, 1), (128, 64, 2), (64, 64, 2), (64, 128, 1)]
        var convs: [Conv] = []
        for (i, l) in layers.enumerated() {
            let w = try graph.tensor("encoder.conv_layers.\(i).weight", dims: [l.outputs, l.inputs, 3])
            let b = try graph.tensor("encoder.conv_layers.\(i).bias", dims: [l.outputs])
            var reordered = [Float](repeating: 0, count: w.count)
            for o in 0..<l.outputs {
                for c in 0..<l.inputs {
                    for k in 0..<3 { reordered[(o * 3 + k) * l.inputs + c] = w[(o * l.inputs + c) * 3 + k] }
                }
            }
            convs.append(Conv(inputs: l.inputs, outputs: l.outputs, stride: l.stride, weight: reordered, bias: b))
        }
        self.convs = convs
        // The LSTM's weights carry export-generated names: take them from the LSTM node.
        guard let lstm = graph.nodes.first(where: { $0.opType == "LSTM" }), lstm.inputs.count >= 4 else {
            throw .missingTensor(path: graph.path, name: "the LSTM node")
        }
        let h = Self.hidden
        lstmInput = try graph.tensor(lstm.inputs[1], dims: [1, 4 * h, h])
        lstmRecurrent = try graph.tensor(lstm.inputs[2], dims: [1, 4 * h, h])
        let b = try graph.tensor(lstm.inputs[3], dims: [1, 8 * h])
        lstmBias = (0..<(4 * h)).map { b[$0] + b[4 * h + $0] }
        head = try graph.tensor("decoder.conv1d.weight", dims: [1, h, 1])
        headBias = try graph.tensor("decoder.conv1d.bias", dims: [1])[0]
    }

    /// The same weights with another STFT basis (tests: one not of the windowed-DFT form).
    func replacingBasis(_ basis: [Float]) -> SileroWeights {
        var copy = self
        copy.basis = basis
        copy.window = Self.dftWindow(of: basis)
        return copy
    }

    /// Row 0 of `basis` as the window w when every row k < 129 is w[n]·cos(2πkn/256) and every
    /// row 129 + k is −w[n]·sin(2πkn/256) (Silero's windowed DFT; its w is a periodic Hann),
    /// each entry within 1e-6·max|w| (float rounding of the stored values is below 1e-7);
    /// nil when any entry is not (or is not finite).
    static func dftWindow(of basis: [Float]) -> [Float]? {
        let n = 256, bins = n / 2 + 1
        guard basis.count == 2 * bins * n else { return nil }
        let window = Array(basis[0..<n])
        let largest = window.reduce(Float(0)) { max($0, abs($1)) }
        guard largest > 0, largest.isFinite else { return nil }
        let tolerance = 1e-6 * Double(largest)
        for k in 0..<bins {
            for j in 0..<n {
                let angle = 2 * Double.pi * Double((k * j) % n) / Double(n), w = Double(window[j])
                let re = abs(Double(basis[k * n + j]) - w * cos(angle))
                let im = abs(Double(basis[(bins + k) * n + j]) + w * sin(angle))
                guard re <= tolerance, im <= tolerance else { return nil }
            }
        }
        return window
    }
}
