import CBLASCore
import Foundation
import Testing

/// OpenBLAS's kernels: the binary replaces a pre-AVX2 fallback on a CPU that has AVX2 or AVX-512,
/// and leaves every other choice (and a user's OPENBLAS_CORETYPE) alone.
@Suite struct BLASCoreTests {
    func upgrade(_ core: String, avx2: Bool, avx512: Bool) -> String? {
        dropscribe_blas_core_upgrade(core, avx2 ? 1 : 0, avx512 ? 1 : 0).map { String(cString: $0) }
    }

    @Test func onlyAFallbackWithoutAVX2IsReplacedAndOnlyByWhatTheCPUCanRun() {
        #expect(upgrade("Prescott", avx2: true, avx512: true) == "SkylakeX")
        #expect(upgrade("prescott", avx2: true, avx512: false) == "Haswell")
        #expect(upgrade("Sandybridge", avx2: true, avx512: false) == "Haswell")
        #expect(upgrade("Prescott", avx2: false, avx512: false) == nil)
        for chosen in ["Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen", "Excavator"] {
            #expect(upgrade(chosen, avx2: true, avx512: true) == nil, "\(chosen) was OpenBLAS's own good choice")
        }
    }

    @Test func theBinarySaysWhichCoreItRunsAndRespectsTheUsersChoice() throws {
        let (status, out, _) = try Binary.run(["--version"])
        #expect(status == 0)
        let line = out.split(separator: "\n").first { $0.hasPrefix("OpenBLAS core ") }.map(String.init) ?? ""
        #expect(line.hasPrefix("OpenBLAS core "), "\(out)")
        if let replacedRange = line.range(of: "OpenBLAS took this CPU for ") {
            let replaced = String(line[replacedRange.upperBound...].dropLast())
            let chosen = line.dropFirst("OpenBLAS core ".count).split(separator: " ").first.map(String.init) ?? ""
            #expect(["SkylakeX", "Haswell"].contains(chosen), "\(line)")
            #expect(upgrade(replaced, avx2: true, avx512: chosen == "SkylakeX") == chosen, "\(line)")
        }
        let (_, forced, _) = try Binary.run(["--version"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(forced.split(separator: "\n").contains("OpenBLAS core Prescott (set by OPENBLAS_CORETYPE in the environment)"),
                "\(forced)")
    }
}
