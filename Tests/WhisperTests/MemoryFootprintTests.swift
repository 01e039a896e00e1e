import Foundation
import Testing
@testable import Whisper

/// The memory a job is admitted with (`MemoryFootprint`): what each compute type holds of
/// each kind of variable, counted once per stored tensor, and the working set's growth
/// with the beam and the batch.
@Suite struct MemoryFootprintTests {
    static let dims = ModelDimensions(nMels: 80, dModel: 8, encoderHeads: 2, decoderHeads: 2, encoderLayers: 1,
                                      decoderLayers: 1, ffn: 32, vocabSize: 10, audioContext: 1500, textContext: 448)

    /// A float16 linear layer, a tied embedding/projection (one tensor, two names), a
    /// convolution and a bias; `stored` is the linear layers' type.
    static func variables(stored: ModelVariable.DType) -> [String: ModelVariable] {
        let size = stored.itemSize
        let embedding = ModelVariable(shape: [10, 8], dtype: stored, offset: 4096, count: 80)
        return [
            "encoder/layer_0/ffn/linear_0/weight": ModelVariable(shape: [32, 8], dtype: stored, offset: 0, count: 256),
            "decoder/embeddings/weight": embedding,
            "decoder/projection/weight": embedding,
            "encoder/conv1/weight": ModelVariable(shape: [8, 80, 3], dtype: stored, offset: 8192, count: 1920),
            "encoder/layer_0/ffn/linear_0/bias": ModelVariable(shape: [32], dtype: stored, offset: 8192 + 1920 * size, count: 32),
        ]
    }

    @Test func eachComputeTypeCountsTheFormItKeeps() {
        func weights(_ stored: ModelVariable.DType, _ compute: ComputeType) -> Int64 {
            MemoryFootprint.of(variables: Self.variables(stored: stored), dimensions: Self.dims, computeType: compute,
                               beamSize: 5, pieces: 1).weightBytes
        }
        let floats: Int64 = (1920 + 32) * 4  // the convolution and the bias, widened once
        // float32 reads a float16 file's matrices where they lie, at 2 bytes a weight; the
        // tied projection is the embedding's bytes, counted once.
        #expect(weights(.f16, .float32) == (256 + 80) * 2 + floats)
        #expect(weights(.f32, .float32) == (256 + 80) * 4 + floats)
        // An int8 file is dequantised for float32: 4 bytes a weight, not the file's 1.
        #expect(weights(.i8, .float32) == (256 + 80) * 4 + floats)
        // int8: a byte a weight plus a scale and a sum per row, whatever the file holds.
        for stored in [ModelVariable.DType.f16, .f32, .i8] {
            #expect(weights(stored, .int8) == 256 + 80 + 8 * (32 + 10) + floats)
            #expect(weights(stored, .bfloat16) == (256 + 80) * 2 + floats)
        }
    }

    @Test func theWorkingSetGrowsWithTheHypothesesAndThePieces() {
        func working(beam: Int, pieces: Int, _ compute: ComputeType = .int8) -> Int64 {
            MemoryFootprint.of(variables: Self.variables(stored: .f16), dimensions: Self.dims, computeType: compute,
                               beamSize: beam, pieces: pieces).workingBytes
        }
        // Per hypothesis: the self-attention cache (1 layer × K and V × 448 positions × 8
        // floats) and two rows of logits; per piece: the cross-attention K/V over 1500 positions.
        let perHypothesis: Int64 = 2 * 448 * 8 * 4 + 2 * 10 * 4
        let perPiece: Int64 = 2 * 1500 * 8 * 4
        #expect(working(beam: 5, pieces: 1) - working(beam: 1, pieces: 1) == 4 * perHypothesis)
        #expect(working(beam: 5, pieces: 8) - working(beam: 5, pieces: 1) == 7 * perPiece + 35 * perHypothesis)
        // float32 also widens the widest float16 matrix (ffn × d) for its product.
        #expect(working(beam: 5, pieces: 1, .float32) - working(beam: 5, pieces: 1) == 32 * 8 * 4)
        #expect(working(beam: 0, pieces: 0) == working(beam: 1, pieces: 1), "at least one hypothesis of one piece")
    }

    /// The positions a hypothesis' cache can reach: all 448 when earlier text may be in the
    /// prompt; otherwise the prompt texts, the start sequence and 224 new tokens, in the
    /// cache's steps of 64.
    @Test func theSelfAttentionCacheIsCountedAtWhatAPromptCanFill() {
        func positions(previousText: Bool, promptBytes: Int, context: Int = 448) -> Int {
            MemoryFootprint.selfAttentionPositions(textContext: context, previousText: previousText, promptTextBytes: promptBytes)
        }
        #expect(positions(previousText: true, promptBytes: 0) == 448)
        #expect(positions(previousText: false, promptBytes: 0) == 256, "4 + 224 positions, in steps of 64")
        #expect(positions(previousText: false, promptBytes: 30) == 320, "sot_prev, two spaces and 30 tokens more: 261")
        #expect(positions(previousText: false, promptBytes: 200) == 448, "never past the context")
        #expect(positions(previousText: false, promptBytes: .max) == 448, "a huge prompt does not trap")
        #expect(positions(previousText: false, promptBytes: 0, context: 0) == 1)
        // The working set follows: five hypotheses × 1 layer × K and V × 8 floats per position.
        func working(_ positions: Int?) -> Int64 {
            MemoryFootprint.of(variables: Self.variables(stored: .f16), dimensions: Self.dims, computeType: .int8,
                               beamSize: 5, pieces: 1, textPositions: positions).workingBytes
        }
        #expect(working(nil) - working(256) == 5 * 2 * (448 - 256) * 8 * 4)
        #expect(working(nil) == working(448) && working(4096) == working(448), "no more than the context")
    }

    /// The base model (float16): int8 below float32 below the old estimate of twice the
    /// file, and the batch's working set above the single window's.
    @Test(.enabled(if: Fixtures.hasModel("base"), "needs the base model"))
    func aRealModelIsEstimatedFromItsHeader() throws {
        let dir = Fixtures.modelPath("base")
        let file = Int64(try FileManager.default.attributesOfItem(atPath: dir + "/model.bin")[.size] as! Int)
        let float32 = try MemoryFootprint.estimate(directory: dir, computeType: .float32, beamSize: 5, pieces: 1)
        let int8 = try MemoryFootprint.estimate(directory: dir, computeType: .int8, beamSize: 5, pieces: 1)
        let batched = try MemoryFootprint.estimate(directory: dir, computeType: .float32, beamSize: 5, pieces: 8)
        #expect(float32.weightBytes > file * 95 / 100 && float32.weightBytes < file * 11 / 10, "float16 weights read in place")
        #expect(int8.weightBytes < float32.weightBytes * 6 / 10)
        #expect(float32.totalBytes < 2 * file + 256 << 20)
        #expect(batched.weightBytes == float32.weightBytes && batched.workingBytes > float32.workingBytes)
        // A batch carries no earlier text: 40 hypotheses' caches at 256 positions, not 448.
        let unconditioned = try MemoryFootprint.estimate(directory: dir, computeType: .float32, beamSize: 5, pieces: 8,
                                                         previousText: false)
        #expect(batched.workingBytes - unconditioned.workingBytes == 40 * 6 * 2 * (448 - 256) * 512 * 4, "base: 6 layers, 512 wide")
        #expect(throws: WhisperError.self) { try MemoryFootprint.estimate(directory: dir + "/missing", computeType: .float32, beamSize: 5, pieces: 1) }
    }
}
