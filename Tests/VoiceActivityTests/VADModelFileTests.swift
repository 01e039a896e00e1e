import Foundation
import Testing
import VoiceActivity

/// A wrong model file is a typed error naming the file, never a trap.
@Suite struct VADModelFileTests {
    @Test func missingTruncatedAndForeignFilesNameTheFile() throws {
        #expect(throws: VADError.self) { try SileroWeights(path: "/nonexistent/silero.onnx") }
        do { _ = try SileroWeights(path: "/nonexistent/silero.onnx") } catch {
            #expect(error.description.contains("/nonexistent/silero.onnx"))
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Paths.vadModel)))
        for cut in [1, 100, 5000, bytes.count / 2, bytes.count - 3] {
            do {
                _ = try SileroWeights(graph: ONNXGraph(path: "cut.onnx", bytes: Array(bytes.prefix(cut))))
                Issue.record("a file cut at \(cut) bytes was accepted")
            } catch {
                #expect(error.description.hasPrefix("cut.onnx: "), "\(error)")
            }
        }
        // Not ONNX at all.
        #expect(throws: VADError.self) { try ONNXGraph(path: "text.onnx", bytes: Array("hello, world".utf8)) }
    }

    @Test func renamedOrReshapedWeightIsNamed() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Paths.vadModel)))
        // Every occurrence (the node's input and the initializer's name) renamed: the weight is missing.
        let name = Array("encoder.conv_layers.2.weight".utf8)
        var renamed = bytes, found = 0
        for at in 0...(bytes.count - name.count) where Array(bytes[at..<(at + name.count)]) == name {
            renamed[at + name.count - 6] = UInt8(ascii: "W")
            found += 1
        }
        #expect(found >= 1)
        do {
            _ = try SileroWeights(graph: ONNXGraph(path: "m.onnx", bytes: renamed))
            Issue.record("a model without encoder.conv_layers.2.weight was accepted")
        } catch {
            #expect(error == .missingTensor(path: "m.onnx", name: "encoder.conv_layers.2.weight"))
        }
        let graph = try ONNXGraph(path: "m.onnx", bytes: bytes)
        #expect(throws: VADError.badShape(path: "m.onnx", name: "decoder.conv1d.bias", expected: [2], found: [1])) {
            try graph.tensor("decoder.conv1d.bias", dims: [2])
        }
    }
}
