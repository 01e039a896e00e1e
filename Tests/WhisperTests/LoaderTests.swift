import Foundation
import Testing
@testable import Whisper

/// Builds CTranslate2 model.bin bytes for tests.
struct ModelBinWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
    mutating func string(_ s: String) { let b = Array(s.utf8); u16(UInt16(b.count + 1)); bytes += b; bytes.append(0) }
    mutating func variable(_ name: String, shape: [Int], dtype: UInt8, data: [UInt8]) {
        string(name); u8(UInt8(shape.count)); for d in shape { u32(UInt32(d)) }
        u8(dtype); u32(UInt32(data.count)); bytes += data
    }
    static func f32(_ v: [Float]) -> [UInt8] { v.flatMap { f in (0..<4).map { UInt8((f.bitPattern >> (8 * UInt32($0))) & 0xff) } } }
}

func syntheticModelBin(version: UInt32 = 6) -> [UInt8] {
    var w = ModelBinWriter()
    w.u32(version); w.string("WhisperSpec"); w.u32(3)
    w.u32(6)
    w.variable("a/f32", shape: [2, 2], dtype: 0, data: ModelBinWriter.f32([1, -2, 3.5, 0]))
    // f16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001
    w.variable("b/f16", shape: [4], dtype: 4, data: [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00])
    // bf16: 1.5 = 0x3fc0
    w.variable("c/bf16", shape: [1], dtype: 5, data: [0xc0, 0x3f])
    w.variable("d/i8", shape: [2, 2], dtype: 1, data: [127, 0xff, 2, 0x80])
    w.variable("d/i8_scale", shape: [2], dtype: 0, data: ModelBinWriter.f32([127, 2]))
    w.variable("e/num_heads", shape: [], dtype: 2, data: [6, 0])
    w.u32(1); w.string("z/alias"); w.string("d/i8")
    return w.bytes
}

@Suite struct ModelBinaryTests {
    @Test func parsesStringsDtypesAndAliases() throws {
        let m = try ModelBinary.parse(syntheticModelBin(), path: "x")
        #expect(m.binaryVersion == 6 && m.specName == "WhisperSpec" && m.specRevision == 3)
        #expect(m.values("a/f32") == [1, -2, 3.5, 0])
        #expect(m.variables["a/f32"]?.shape == [2, 2])
        #expect(m.values("b/f16") == [1, -2, 65504, 5.9604645e-08])
        #expect(m.values("c/bf16") == [1.5])
        #expect(m.values("d/i8") == [127, -1, 2, -128])
        #expect(m.values("e/num_heads") == [6])
        #expect(m.variables["e/num_heads"]?.shape == [])
        #expect(m.variables["z/alias"] == m.variables["d/i8"])
        #expect(m.variables["z/alias_scale"] == m.variables["d/i8_scale"])
        // dequantisation: row scale 127 and 2
        let b = WeightBuilder(bin: m, path: "x")
        #expect(try b.floats("d/i8", shape: [2, 2]) == [1, -1 / 127, 1, -64])
        #expect(throws: WhisperError.badShape(path: "x", name: "a/f32", expected: [4], found: [2, 2])) {
            try b.floats("a/f32", shape: [4])
        }
        #expect(throws: WhisperError.missingTensor(path: "x", name: "nope")) { try b.floats("nope", shape: [1]) }
    }

    @Test func halfConversionEdgeCases() {
        #expect(halfToFloat(0x0000) == 0)
        #expect(halfToFloat(0x8000).sign == .minus)
        #expect(halfToFloat(0x7c00) == .infinity)
        #expect(halfToFloat(0x7e00).isNaN)
        #expect(halfToFloat(0x3555) == 0.33325195)
        #expect(halfToFloat(0x03ff) == 6.097555e-05)
    }

    @Test func truncatedFileIsReported() {
        let full = syntheticModelBin()
        for cut in [0, 3, 10, 40, full.count - 1] {
            #expect(throws: WhisperError.self) { try ModelBinary.parse(Array(full.prefix(cut)), path: "m.bin") }
            do { _ = try ModelBinary.parse(Array(full.prefix(cut)), path: "m.bin") } catch {
                guard case .truncatedModel(let p, _) = error else { Issue.record("cut \(cut): \(error)"); continue }
                #expect(p == "m.bin")
            }
        }
    }

    @Test func unknownVersionIsReported() {
        #expect(throws: WhisperError.unsupportedBinaryVersion(path: "m", version: 99)) {
            try ModelBinary.parse(syntheticModelBin(version: 99), path: "m")
        }
    }

    @Test func trailingBytesAreRejected() {
        #expect(throws: WhisperError.self) { try ModelBinary.parse(syntheticModelBin() + [0], path: "m") }
    }

    @Test func notAModelDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID())").path
        #expect(throws: WhisperError.notAModelDirectory(path: dir, missing: ["model.bin", "config.json", "vocabulary.txt"])) {
            try WhisperModel.load(directory: dir)
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(syntheticModelBin()).write(to: URL(fileURLWithPath: dir + "/model.bin"))
        #expect(throws: WhisperError.notAModelDirectory(path: dir, missing: ["config.json", "vocabulary.txt"])) {
            try WhisperModel.load(directory: dir)
        }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        try Data("a\nb\n".utf8).write(to: URL(fileURLWithPath: dir + "/vocabulary.txt"))
        // All files present, but the synthetic model lacks the Whisper tensors.
        #expect(throws: WhisperError.missingTensor(path: dir + "/model.bin", name: "encoder/conv1/weight")) {
            try WhisperModel.load(directory: dir)
        }
        let e = WhisperError.notAModelDirectory(path: dir, missing: ["model.bin"])
        #expect(e.description.contains(dir))
    }

    @Test(.enabled(if: Fixtures.hasModel("tiny.en"))) func loadsTinyEn() throws {
        let m = try Fixtures.model("tiny.en")
        #expect(m.dimensions == ModelDimensions(nMels: 80, dModel: 384, encoderHeads: 6, decoderHeads: 6, encoderLayers: 4,
                                                decoderLayers: 4, ffn: 1536, vocabSize: 51864, audioContext: 1500, textContext: 448))
        #expect(m.config.suppressIdsBegin == [220, 50256])
        #expect(m.config.suppressIds.count == 90)
        #expect(m.config.alignmentHeads.count == 8)
    }

    @Test(.enabled(if: Fixtures.hasModel("base"))) func loadsBase() throws {
        let m = try Fixtures.model("base")
        #expect(m.dimensions == ModelDimensions(nMels: 80, dModel: 512, encoderHeads: 8, decoderHeads: 8, encoderLayers: 6,
                                                decoderLayers: 6, ffn: 2048, vocabSize: 51865, audioContext: 1500, textContext: 448))
        #expect(m.config.suppressIdsBegin == [220, 50257])
        #expect(m.config.suppressIds.count == 88)
        #expect(m.config.langIds.count == 99)
        #expect(m.tokenizer.vocabulary[50256] == "")
    }

    @Test(.enabled(if: Fixtures.hasModel("tiny.en"))) func badShapeInRealModelIsReported() throws {
        let path = Fixtures.modelPath("tiny.en") + "/model.bin"
        var bin = try ModelBinary.parse(MappedFile(path: path), path: path)
        bin.variables["encoder/layer_2/ffn/linear_1/bias"]?.shape = [383]
        #expect(throws: WhisperError.badShape(path: path, name: "encoder/layer_2/ffn/linear_1/bias", expected: [384], found: [383])) {
            try WeightBuilder(bin: bin, path: path).build()
        }
        bin.variables["decoder/layer_3/attention/linear_1/weight"] = nil
        #expect(throws: WhisperError.self) { try WeightBuilder(bin: bin, path: path).build() }
    }
}
