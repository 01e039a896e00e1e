import CKernels
import Foundation
import Testing
@testable import Whisper

/// What each compute type keeps of a model.bin (docs/engine.md §9): the choice per layer
/// (a pure function), the float16 widening the mapped weights go through at every
/// product, and the forms a loaded random model's layers actually take.
@Suite struct LeanWeightsTests {
    static var levels: [KernelLevel] { KernelLevel.allCases.filter { $0 <= KernelLevel.detected } }

    /// Every half-precision bit pattern, from an odd address and with a ragged tail, at
    /// every level this CPU has: the same floats as the exact Swift conversion.
    @Test func float16WideningIsExactAtEveryLevel() {
        var bytes = [UInt8](repeating: 0, count: 1 + 2 * 65536)
        for h in 0..<65536 { bytes[1 + 2 * h] = UInt8(h & 0xff); bytes[2 + 2 * h] = UInt8(h >> 8) }
        for level in Self.levels {
            for count in [65536, 65536 - 13] {
                var out = [Float](repeating: 0, count: count)
                bytes.withUnsafeBytes { raw in
                    out.withUnsafeMutableBufferPointer { ds_f16_to_f32(level.cValue, raw.baseAddress! + 1, $0.baseAddress!, count) }
                }
                let wrong = (0..<count).filter { h in
                    let want = halfToFloat(UInt16(h))
                    return want.isNaN ? !out[h].isNaN : out[h].bitPattern != want.bitPattern
                }
                #expect(wrong.isEmpty, "\(level), \(count) values: \(wrong.prefix(5).map { String($0, radix: 16) })")
            }
        }
    }

    @Test func eachComputeTypeKeepsWhatItMultipliesWith() {
        typealias F = WeightForm
        // float32: a float16 file stays float16; a float32 file is read where it lies
        // when aligned; int8 files are dequantised.
        #expect(LinearWeights.form(stored: .f16, compute: .float32, aligned: false) == F.mapped)
        #expect(LinearWeights.form(stored: .f16, compute: .float32, aligned: true) == F.mapped)
        #expect(LinearWeights.form(stored: .f32, compute: .float32, aligned: true) == F.mapped)
        #expect(LinearWeights.form(stored: .f32, compute: .float32, aligned: false) == F.widened)
        #expect(LinearWeights.form(stored: .i8, compute: .float32, aligned: true) == F.widened)
        // int8 and bfloat16 convert every layer, each into its packed form only.
        for stored in [ModelVariable.DType.f32, .f16, .i8] {
            #expect(LinearWeights.form(stored: stored, compute: .int8, aligned: true) == F.int8)
            #expect(LinearWeights.form(stored: stored, compute: .bfloat16, aligned: true) == F.bf16)
        }
    }

    /// A float16 random model loaded for float32 reads every linear layer and the
    /// embedding from the file; loaded for int8 it keeps no Float copy of any of them.
    @Test(.enabled(if: Fixtures.hasModel("base"), "needs the base vocabulary"))
    func aFloat16ModelKeepsItsEncoderInTheFile() throws {
        try withRandomModel(RandomModelWriter(shape: .multilingual, storage: .float16)) { dir, _ in
            let f32 = try WhisperModel.load(directory: dir, threads: 1)
            for layer in f32.encoder.layers {
                for w in [layer.attn.qkv, layer.attn.out, layer.ffn.up, layer.ffn.down] {
                    #expect(w.mapped?.element == .float16 && w.w.storage.isEmpty)
                }
            }
            for layer in f32.decoder.layers {
                #expect(layer.cross.kv.mapped?.element == .float16 && layer.ffn.up.mapped?.element == .float16)
            }
            #expect(f32.decoder.embedding.storage.isEmpty && f32.decoder.mappedEmbedding?.element == .float16)
            #expect(f32.decoder.output.mapped?.element == .float16)
            let int8 = try WhisperModel.load(directory: dir, threads: 1, computeType: .int8)
            let packed = int8.encoder.layers.flatMap { [$0.attn.qkv, $0.attn.out, $0.ffn.up, $0.ffn.down] }
                + int8.decoder.layers.flatMap { [$0.attn.qkv, $0.attn.out, $0.cross.q, $0.cross.kv, $0.cross.out, $0.ffn.up, $0.ffn.down] }
            #expect(packed.allSatisfy { $0.w.storage.isEmpty && $0.mapped == nil && $0.packed != nil }, "one packed int8 copy of each layer")
            #expect(int8.decoder.embedding.storage.isEmpty && int8.decoder.quantizedEmbedding != nil)
            #expect(int8.decoder.output.packed != nil && int8.decoder.output.wideActivations && int8.decoder.output.w.storage.isEmpty)
            // Quantised straight from the file's float16 rows: the same packed bytes, sums and
            // scales as quantising a Float copy of the matrix.
            let pairs = [(f32.encoder.layers[0].attn.qkv, int8.encoder.layers[0].attn.qkv),
                         (f32.decoder.layers[0].ffn.down, int8.decoder.layers[0].ffn.down)]
            for (float, packed) in pairs {
                let m = float.mapped!
                let reference = m.withFloats(threads: 1) { w in
                    PackedMatrix(int8: Int8RowMatrix(Matrix(rows: m.rows, cols: m.cols, storage: Array(UnsafeBufferPointer(start: w, count: m.rows * m.cols)))),
                                 level: int8.kernelLevel)
                }
                guard case let .int8(v0, s0, c0) = reference.values, case let .int8(v1, s1, c1)? = packed.packed?.values else {
                    Issue.record("not int8")
                    continue
                }
                #expect(v0 == v1 && s0 == s1 && c0 == c1)
            }
            let embedding = f32.decoder.mappedEmbedding!.withFloats(threads: 1) { w in
                Int8RowMatrix(Matrix(rows: f32.decoder.mappedEmbedding!.rows, cols: f32.decoder.mappedEmbedding!.cols,
                                     storage: Array(UnsafeBufferPointer(start: w, count: f32.decoder.mappedEmbedding!.rows * f32.decoder.mappedEmbedding!.cols))))
            }
            guard case let .int8(v0, s0, c0) = PackedMatrix(int8: embedding, level: int8.kernelLevel).values,
                  case let .int8(v1, s1, c1)? = int8.decoder.quantizedEmbedding?.values,
                  case let .int8(v2, _, _)? = int8.decoder.output.packed?.values else {
                Issue.record("the int8 embedding or projection is not packed int8")
                return
            }
            #expect(v0 == v1 && s0 == s1 && c0 == c1)
            #expect(v2 == v1, "the tied projection shares the embedding's rows")
            // A gathered embedding row is q · (1/s), the row-major matrix's.
            var row = [Float](repeating: 0, count: embedding.cols)
            for token in [0, 1, embedding.rows - 1] {
                row.withUnsafeMutableBufferPointer { int8.decoder.quantizedEmbedding!.dequantizedRow(token, into: $0.baseAddress!) }
                let inverse = 1 / embedding.scales[token]
                #expect(row == (0..<embedding.cols).map { Float(embedding.values[token * embedding.cols + $0]) * inverse })
            }
        }
    }

    /// bfloat16 layers packed straight from a float16 file's rows are the packing of a Float
    /// copy of each matrix (the last 16-row block ragged, the blocks split over 2 threads),
    /// the tied projection packs the embedding, and the embedding itself is read from the
    /// file, not held as V × D Floats. Packing needs no bfloat16 instructions, so the
    /// weights are built at this CPU's level whatever it has.
    @Test(.enabled(if: Fixtures.hasModel("base"), "needs the base vocabulary"))
    func bfloat16PacksFromTheFileAndReadsTheEmbeddingThere() throws {
        try withRandomModel(RandomModelWriter(shape: .multilingual, storage: .float16)) { dir, _ in
            let f32 = try WhisperModel.load(directory: dir, threads: 2)
            let path = dir + "/model.bin"
            let bin = try ModelBinary.parse(try MappedFile(path: path), path: path)
            let (_, encoder, decoder) = try WeightBuilder(bin: bin, path: path, computeType: .bfloat16, level: f32.kernelLevel).build()
            #expect(decoder.embedding.storage.isEmpty && decoder.mappedEmbedding?.element == .float16)
            #expect(decoder.output.w.storage.isEmpty && decoder.output.mapped == nil && decoder.output.packed != nil)
            let pairs = [(f32.encoder.layers[0].attn.qkv.mapped!, encoder.layers[0].attn.qkv.packed),
                         (f32.decoder.layers[0].ffn.down.mapped!, decoder.layers[0].ffn.down.packed),
                         (f32.decoder.mappedEmbedding!, decoder.output.packed)]
            #expect(pairs[2].0.rows % 16 != 0, "the embedding ends in a ragged block")
            for (float, packed) in pairs {
                let reference = float.withFloats(threads: 1) { w in
                    PackedMatrix(bf16: Matrix(rows: float.rows, cols: float.cols,
                                              storage: Array(UnsafeBufferPointer(start: w, count: float.rows * float.cols))),
                                 level: f32.kernelLevel)
                }
                guard case let .bf16(want) = reference.values, case let .bf16(got)? = packed?.values else {
                    Issue.record("not packed bfloat16")
                    continue
                }
                let differing = zip(want, got).filter { $0 != $1 }.count
                #expect(want.count == got.count && differing == 0, "\(float.rows) × \(float.cols): \(differing) values differ")
            }
        }
    }
}
