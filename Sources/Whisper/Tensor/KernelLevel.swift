import CKernels
import Foundation

/// Which instruction set the engine's kernels use, lowest first.
///
/// Exists so the matrix products are chosen at run time from the CPU's features
/// (one binary for every x86-64 server), and so `DROPSCRIBE_CPU` can force a lower
/// level: the tests run every path, the portable one included, on one machine.
public enum KernelLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Baseline x86-64 (SSE2): plain loops.
    case portable = 0
    /// AVX2, FMA and F16C: the float kernels of WhisperKernels, int8 by 16-bit pair sums,
    /// float16 widened by vcvtph2ps.
    case avx2 = 1
    /// AVX-512 F/BW/VL: as AVX2 for the products, AVX-512 activation quantisation.
    case avx512 = 2
    /// AVX512-VNNI: int8 products by 4-wide dot products (vpdpbusd).
    case avx512VNNI = 3
    /// AVX512-BF16: bfloat16 products with float32 sums (vdpbf16ps).
    case avx512BF16 = 4

    /// The name `DROPSCRIBE_CPU` takes and the logs print.
    public var description: String {
        switch self {
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        case .avx512VNNI: return "avx512-vnni"
        case .avx512BF16: return "avx512-bf16"
        }
    }

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

    /// The highest level this CPU and its OS support (cpuid, xgetbv).
    public static let detected: KernelLevel = KernelLevel(rawValue: Int(ds_cpu_level())) ?? .portable

    /// Whether the CPU offers AMX tiles (int8 and bf16). No kernel uses them yet; printed
    /// so a benchmark table says what the machine had.
    public static let hasAMX: Bool = ds_cpu_has_amx() != 0

    /// The level to use: the detected one, or `override` (DROPSCRIBE_CPU) when it names a
    /// level; an override above what the CPU has is capped at the CPU's level, since
    /// running an instruction the CPU lacks would kill the process.
    public static func resolve(detected: KernelLevel, override: String?) throws(WhisperError) -> KernelLevel {
        guard let name = override?.trimmingCharacters(in: .whitespaces).lowercased(), !name.isEmpty else { return detected }
        guard let asked = allCases.first(where: { $0.description == name }) else {
            throw .invalidInput("DROPSCRIBE_CPU=\(name) is not one of \(allCases.map(\.description).joined(separator: ", "))")
        }
        return min(asked, detected)
    }

    /// The level for this process: detected, lowered by `DROPSCRIBE_CPU`.
    public static func fromEnvironment() throws(WhisperError) -> KernelLevel {
        try resolve(detected: detected, override: ProcessInfo.processInfo.environment["DROPSCRIBE_CPU"])
    }

    /// One line for logs and `--version`: the level in use and what the CPU has.
    public static func summary(_ level: KernelLevel) -> String {
        "kernels \(level) (cpu: \(detected)\(hasAMX ? ", amx present but unused" : ""))"
    }

    var cValue: Int32 { Int32(rawValue) }
}
