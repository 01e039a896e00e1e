import Crypto
import Foundation
import MediaDecoding
import Testing

/// Golden/pyav-decode.json, written by make-pyav-goldens.py: faster-whisper's own
/// `decode_audio` (PyAV, with the FFmpeg its wheel bundles) of every file of the corpus's
/// formats/ and resampled/, as int16.
struct PyAVGoldens: Decodable {
    struct File: Decodable {
        let file: String
        let sha256: String
        let samples: Int
        let s16_sha256: String
        let sum_squares: Int64
        let sampled: [Int16]
        /// The CPU whose corpus run wrote the file this golden was made from.
        let made_on: String?
    }
    let ffmpeg: String
    let cpu_flags: [String]
    let sampled_per_file: Int
    let files: [File]

    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/pyav-decode.json").path
    static let loaded: PyAVGoldens? = try? JSONDecoder().decode(PyAVGoldens.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
}

/// How close dropscribe's decode (Debian's FFmpeg 5.1) must be to PyAV's (8.1) for a file,
/// from what was measured over the whole files (see docs/engine.md §3).
enum PyAVTolerance: Equatable {
    /// The same int16 samples (sha256 of the stream).
    case exact
    /// At most `lsb` apart at the golden's sampled positions, with their RMS difference at
    /// most `rms` (in units of full scale) and the sums of squares within `energy` (relative).
    case within(lsb: Int, rms: Double, energy: Double)

    static func of(codec: String, sampleRate: Int, sameFloatKernels: Bool) -> PyAVTolerance {
        // 5.1's MPEG-2 layer III long-block bands 17 and 18 at 24 kHz are 52 and 64 lines
        // wide, 8.1's 54 and 62: up to 75 LSB on 16-21% of the samples, RMS 1.6e-4.
        if codec == "mp3" && sampleRate == 24000 { return .within(lsb: 96, rms: 3e-4, energy: 2e-4) }
        // Float decoders whose arithmetic changed between the releases: 1 LSB on at most
        // 0.01% of the samples.
        if ["aac", "vorbis", "wmav2", "opus"].contains(codec) { return .within(lsb: 1, rms: 1e-5, energy: 1e-6) }
        // libswresample's float kernels differ without FMA3/AVX2 by 1 LSB on a few samples.
        return sameFloatKernels ? .exact : .within(lsb: 1, rms: 1e-5, energy: 1e-6)
    }
}

@Suite(.enabled(if: Corpus.available && PyAVGoldens.loaded != nil, "corpus or Golden/pyav-decode.json missing"))
struct PyAVGoldenTests {
    static let names = Array(Set(PyAVGoldens.loaded?.files.map(\.file) ?? [])).sorted()

    /// The golden made from this very file, if any machine's corpus run wrote these bytes.
    /// libopus encodes the same input to other bytes on other CPUs, so a file may have one
    /// golden per machine kind the goldens were made on (make-pyav-goldens.py).
    static func golden(for name: String, bytes: Data, in goldens: PyAVGoldens) -> PyAVGoldens.File? {
        let digest = hex(SHA256.hash(data: bytes))
        return goldens.files.first { $0.file == name && $0.sha256 == digest }
    }

    /// This machine's /proc/cpuinfo (empty where there is none).
    static let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""

    /// The x86 flags that pick libswresample's float kernels, as the script records them.
    static let cpuFlags: [String] = {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init)).intersection(["avx", "avx2", "fma"]).sorted()
    }()

    @Test("the default decode gives faster-whisper's samples", arguments: names)
    func decodeMatchesPyAV(name: String) throws {
        let goldens = try #require(PyAVGoldens.loaded)
        let path = Corpus.path(name)
        let bytes = try #require(FileManager.default.contents(atPath: path), "\(name) is missing from the corpus: run `make corpus`")
        guard let golden = Self.golden(for: name, bytes: bytes, in: goldens) else {
            // This CPU's encoder wrote bytes no golden was made from: PyAV's samples for them are
            // unknown here. `enoughFilesHaveTheirGolden` keeps this from passing unnoticed.
            print("pyav \(name): no golden for this CPU's version of the file (run make-pyav-goldens.py here)")
            return
        }

        let decoder = try AudioDecoder(path: path, options: .quiet)
        let ours = try decoder.readAll().map { Int16(($0 * 32768).rounded()) }
        #expect(ours.count == golden.samples, "\(name): \(ours.count) samples, PyAV \(golden.samples)")

        let exact = ours.withUnsafeBytes { Self.hex(SHA256.hash(data: $0)) } == golden.s16_sha256
        let n = ours.count, m = golden.sampled.count
        var worst = 0, squares = 0.0, differing = 0
        for (i, theirs) in golden.sampled.enumerated() {
            let p = (2 * i + 1) * n / (2 * m)
            guard p < n else { break }
            let d = abs(Int(ours[p]) - Int(theirs))
            worst = max(worst, d)
            differing += d > 0 ? 1 : 0
            squares += Double(d * d)
        }
        let rms = (squares / Double(m)).squareRoot() / 32768
        let energy = ours.reduce(Int64(0)) { $0 + Int64($1) * Int64($1) }
        let relativeEnergy = abs(Double(energy - golden.sum_squares)) / max(1, Double(golden.sum_squares))
        print("pyav \(name): \(decoder.info.codec) \(decoder.info.sampleRate) Hz, \(exact ? "exact" : "not exact"), "
              + "sampled max \(worst) LSB, \(differing)/\(m) differ, RMS \(rms), energy \(relativeEnergy)")

        let tolerance = PyAVTolerance.of(codec: decoder.info.codec, sampleRate: decoder.info.sampleRate,
                                         sameFloatKernels: Self.cpuFlags == goldens.cpu_flags)
        switch tolerance {
        case .exact:
            #expect(exact, "\(name): the int16 samples differ from PyAV's (sampled max \(worst) LSB)")
        case let .within(lsb, maxRMS, maxEnergy):
            #expect(worst <= lsb, "\(name): \(worst) LSB from PyAV at a sampled position")
            #expect(rms <= maxRMS, "\(name): RMS \(rms) from PyAV at the sampled positions")
            #expect(relativeEnergy <= maxEnergy, "\(name): energy \(relativeEnergy) from PyAV's")
        }
    }

    /// Every file whose encoder is reproducible across CPUs (all but libopus's) has its golden;
    /// on a machine kind the goldens were made on, every file has.
    @Test func enoughFilesHaveTheirGolden() throws {
        let goldens = try #require(PyAVGoldens.loaded)
        let missing = try Self.names.filter { name in
            let bytes = try #require(FileManager.default.contents(atPath: Corpus.path(name)), "\(name) is missing from the corpus")
            return Self.golden(for: name, bytes: bytes, in: goldens) == nil
        }
        let thisCPU = Self.cpuLabel
        if goldens.files.contains(where: { $0.made_on == thisCPU }) {
            #expect(missing.isEmpty, "goldens were made on \(thisCPU), yet these files have none: \(missing)")
        }
        #expect(missing.allSatisfy { $0.hasSuffix(".opus") || $0.hasSuffix(".webm") || $0.hasSuffix(".mkv") },
                "files without a golden for this CPU's version: \(missing)")
    }

    /// "model name (family F, model M)" from /proc/cpuinfo, as make-pyav-goldens.py labels a golden.
    static let cpuLabel: String = {
        func field(_ key: String) -> String {
            for line in cpuinfo.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2 && parts[0] == key { return parts[1] }
            }
            return "?"
        }
        return "\(field("model name")) (family \(field("cpu family")), model \(field("model")))"
    }()

    @Test func toleranceFollowsTheMeasuredDecoderDifferences() {
        #expect(PyAVTolerance.of(codec: "flac", sampleRate: 48000, sameFloatKernels: true) == .exact)
        #expect(PyAVTolerance.of(codec: "mp3", sampleRate: 22050, sameFloatKernels: true) == .exact)
        #expect(PyAVTolerance.of(codec: "mp3", sampleRate: 24000, sameFloatKernels: true) != .exact)
        #expect(PyAVTolerance.of(codec: "aac", sampleRate: 44100, sameFloatKernels: true) != .exact)
        #expect(PyAVTolerance.of(codec: "pcm_s16le", sampleRate: 8000, sameFloatKernels: false) != .exact)
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
