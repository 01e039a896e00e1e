import Foundation
import Testing
@testable import Whisper

/// Damaged `model.bin` files: every one must give a typed error naming the file, or a
/// model, never a trap (overflowing arithmetic, a bad index) or a huge allocation.
///
/// The mutants are made from tiny.en's own header and tensor table (148 variables, the
/// alias table) with every dimension cut to at most 3, so a mutant is a few kB and is
/// parsed whole: damage lands in the structure, not in 75 MB of weights.
/// `DROPSCRIBE_FUZZ_COUNT` (default 1000) and `DROPSCRIBE_FUZZ_SEED` (default 1), as the media mutants.
@Suite(.enabled(if: Fixtures.hasModel("tiny.en"), "needs the tiny.en model"))
struct ModelMutationTests {
    static let count = Int(ProcessInfo.processInfo.environment["DROPSCRIBE_FUZZ_COUNT"] ?? "") ?? 1000
    static let seed = UInt64(ProcessInfo.processInfo.environment["DROPSCRIBE_FUZZ_SEED"] ?? "") ?? 1
    static let path = "/damaged/model.bin"

    /// tiny.en's model.bin with the same version, spec, names, ranks, dtypes and aliases,
    /// each tensor cut to its first ≤ 3 entries per dimension.
    static func skeleton() throws -> [UInt8] {
        let source = Fixtures.modelPath("tiny.en") + "/model.bin"
        let file = try MappedFile(path: source)
        var r = ByteReader(bytes: file.bytes, path: source)
        var w = ModelBinWriter()
        w.u32(try r.u32()); w.string(try r.string()); w.u32(try r.u32())
        let count = try r.u32()
        w.u32(count)
        for _ in 0..<count {
            let name = try r.string()
            var shape: [Int] = []
            for _ in 0..<(try r.u8()) { shape.append(Int(try r.u32())) }
            let dtype = try r.u8()
            let nbytes = Int(try r.u32())
            let itemSize = try #require(ModelVariable.DType(rawValue: dtype)).itemSize
            let cut = shape.map { min($0, 3) }
            let kept = cut.reduce(1, *) * itemSize
            w.variable(name, shape: cut, dtype: dtype, data: Array(r.bytes[r.offset ..< r.offset + kept]))
            r.offset += nbytes
        }
        w.bytes += r.bytes[r.offset...]  // the alias table
        return w.bytes
    }

    @Test func theSkeletonParsesAndKeepsTinyEnsTable() throws {
        let bin = try ModelBinary.parse(try Self.skeleton(), path: Self.path)
        #expect(bin.binaryVersion == 6 && bin.specName == "WhisperSpec")
        #expect(bin.variables.count == 149, "148 variables and one alias")
        #expect(bin.variables["decoder/embeddings/weight"]?.shape == [3, 3])
        // Its shapes are not Whisper's: the builder refuses it with a typed error.
        #expect(throws: WhisperError.self) { try WeightBuilder(bin: bin, path: Self.path).build() }
    }

    // A hang guard only: Swift Testing counts a test's time from when it is scheduled, and
    // under `--parallel` on 2 cores the model suites can hold both threads for minutes first.
    @Test(.timeLimit(.minutes(30)))
    func damagedCopiesGiveAnErrorOrAModel() throws {
        let original = try Self.skeleton()
        var errors = 0, parsed = 0
        for i in 0..<Self.count {
            var rng = WhisperRNG(seed: Self.seed &* 1_000_003 &+ UInt64(i))
            let (bytes, what) = Self.mutate(original, &rng)
            do {
                let bin = try ModelBinary.parse(bytes, path: Self.path)
                parsed += 1
                let values = bin.variables.values.reduce(0) { $0 + $1.count }
                #expect(values <= 2 * bytes.count, "#\(i) \(what): \(values) values from \(bytes.count) bytes")
                do { _ = try WeightBuilder(bin: bin, path: Self.path).build() } catch {
                    #expect(error.description.contains(Self.path), "#\(i) \(what): \(error)")
                }
            } catch {
                errors += 1
                #expect(error.description.contains(Self.path), "#\(i) \(what): \(error)")
            }
        }
        print("model.bin mutants: \(Self.count), \(errors) errors, \(parsed) parsed")
        #expect(errors + parsed == Self.count)
        #expect(errors > Self.count / 2, "most damage to the table is detected: \(errors) of \(Self.count)")
    }

    /// One random kind of damage; returns the bytes and what was done (for the failure message).
    static func mutate(_ original: [UInt8], _ rng: inout WhisperRNG) -> ([UInt8], String) {
        var b = original
        let at = Int.random(in: 0..<b.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            let flips = Int.random(in: 1...8, using: &rng)
            for _ in 0..<flips { b[Int.random(in: 0..<b.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng) }
            return (b, "\(flips) bit flips")
        case 1:
            let n = min(Int.random(in: 1...4, using: &rng), b.count - at)
            for k in 0..<n { b[at + k] = UInt8.random(in: 0...255, using: &rng) }
            return (b, "\(n) random bytes at \(at)")
        case 2:
            // A huge 32-bit value where a count, dimension or size may be.
            let v = [UInt32.max, 0x8000_0000, UInt32.random(in: 0...UInt32.max, using: &rng)][Int.random(in: 0..<3, using: &rng)]
            for k in 0..<min(4, b.count - at) { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            return (b, "u32 \(v) at \(at)")
        case 3:
            return (Array(b.prefix(at)), "truncated to \(at)")
        case 4:
            let n = Int.random(in: 1...16, using: &rng)
            b.insert(contentsOf: (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            return (b, "\(n) bytes inserted at \(at)")
        default:
            let n = min(Int.random(in: 1...16, using: &rng), b.count - at)
            b.removeSubrange(at ..< at + n)
            return (b, "\(n) bytes removed at \(at)")
        }
    }
}

/// Hand-made headers whose counts and sizes would overflow or allocate gigabytes.
struct ModelBinarySizeTests {
    func header(count: UInt32) -> ModelBinWriter {
        var w = ModelBinWriter()
        w.u32(6); w.string("WhisperSpec"); w.u32(3); w.u32(count)
        return w
    }

    func reason(_ bytes: [UInt8]) -> String? {
        do { _ = try ModelBinary.parse(bytes, path: "m.bin"); return nil } catch {
            guard case let .malformedModel(path, reason) = error, path == "m.bin" else { return "\(error)" }
            return reason
        }
    }

    @Test func aVariableCountTheFileCannotHoldIsRefusedBeforeAnyAllocation() {
        let bytes = header(count: .max).bytes + [UInt8](repeating: 0, count: 64)
        // 4294967295 records of at least 9 bytes each, after the 26-byte header.
        #expect(throws: WhisperError.truncatedModel(path: "m.bin", offset: 26 + 4_294_967_295 * 9)) {
            try ModelBinary.parse(bytes, path: "m.bin")
        }
    }

    @Test func aShapeWhoseProductOverflowsIsRefusedNamingTheOffset() {
        var w = header(count: 1)
        w.string("x"); w.u8(8)
        for _ in 0..<8 { w.u32(.max) }
        w.u8(0); w.u32(16)
        #expect(reason(w.bytes) == "variable x: shape \(Array(repeating: Int(UInt32.max), count: 8)) at byte 30 is larger than the file")
    }

    @Test func aSizeLargerThanTheFileIsRefused() {
        var w = header(count: 1)
        w.variable("x", shape: [1 << 20, 1 << 10], dtype: 0, data: [])
        #expect(reason(w.bytes)?.hasPrefix("variable x: shape [1048576, 1024] at byte 30") == true)
        // The 32-bit size field itself cannot hold 4 GiB: its mismatch is refused too.
        var v = header(count: 1)
        v.string("y"); v.u8(1); v.u32(1 << 30); v.u8(0); v.u32(0)
        #expect(reason(v.bytes + [UInt8](repeating: 0, count: 1 << 12)) != nil)
    }

    @Test func aNonIntegerHeadCountIsATypedError() throws {
        var w = header(count: 1)
        w.variable("encoder/num_heads", shape: [], dtype: 0, data: ModelBinWriter.f32([.nan]))
        w.u32(0)  // no aliases
        let bin = try ModelBinary.parse(w.bytes, path: "m.bin")
        #expect(throws: WhisperError.malformedModel(path: "m.bin", reason: "encoder/num_heads is nan, not an integer")) {
            try WeightBuilder(bin: bin, path: "m.bin").scalar("encoder/num_heads")
        }
    }
}
