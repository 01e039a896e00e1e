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
        #expect(LinearWeights.form(role: .encoder, stored: .f16, compute: .float32, aligned: false) == F.mapped)
        #expect(LinearWeights.form(role: .decoderOnce, stored: .f16, compute: .float32, aligned: true) == F.mapped)
        #expect(LinearWeights.form(role: .decoderStep, stored: .f16, compute: .float32, aligned: true) == F.mapped)
        #expect(LinearWeights.form(role: .encoder, stored: .f32, compute: .float32, aligned: true) == F.mapped)
        #expect(LinearWeights.form(role: .decoderStep, stored: .f32, compute: .float32, aligned: true) == F.mapped)
        #expect(LinearWeights.form(role: .encoder, stored: .f32, compute: .float32, aligned: false) == F.widened)
        #expect(LinearWeights.form(role: .encoder, stored: .i8, compute: .float32, aligned: true) == F.widened)
        // int8 and bfloat16 convert every layer; only per-step layers keep the row-major int8 copy.
        for stored in [ModelVariable.DType.f32, .f16, .i8] {
            #expect(LinearWeights.form(role: .encoder, stored: stored, compute: .int8, aligned: true) == F.int8(steps: false))
            #expect(LinearWeights.form(role: .decoderOnce, stored: stored, compute: .int8, aligned: true) == F.int8(steps: false))
            #expect(LinearWeights.form(role: .decoderStep, stored: stored, compute: .int8, aligned: true) == F.int8(steps: true))
            #expect(LinearWeights.form(role: .encoder, stored: stored, compute: .bfloat16, aligned: true) == F.bf16)
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
                + int8.decoder.layers.map(\.cross.kv)
            let steps = int8.decoder.layers.flatMap { [$0.attn.qkv, $0.attn.out, $0.cross.q, $0.cross.out, $0.ffn.up, $0.ffn.down] }
            #expect(packed.allSatisfy { $0.w.storage.isEmpty && $0.mapped == nil && $0.packed != nil && $0.quantized == nil })
            #expect(steps.allSatisfy { $0.w.storage.isEmpty && $0.mapped == nil && $0.packed == nil && $0.quantized != nil },
                    "one int8 copy of each per-step layer")
            #expect(int8.decoder.embedding.storage.isEmpty && int8.decoder.quantizedEmbedding != nil)
        }
    }
}
