import Foundation
import MediaDecoding
import Testing

@Suite(.enabled(if: Corpus.available, "corpus missing: run `make corpus`"))
struct BadFileTests {
    enum Expect: Sendable, CustomStringConvertible {
        case error(MediaError.Code, permanent: Bool)
        case samples(minSeconds: Double, warning: DecodeWarning.Kind?)
        var description: String {
            switch self {
            case .error(let c, _): "error \(c)"
            case .samples(let s, let w): "≥ \(s) s" + (w.map { " with warning \($0)" } ?? "")
            }
        }
    }

    /// What each bad/ file gives (EXPECTED.tsv allows a choice for some; this is ours).
    static let expectations: [(String, Expect)] = [
        ("empty.mp3", .error(.notMediaFile, permanent: true)),
        ("empty.m4a", .error(.notMediaFile, permanent: true)),
        // 30% of the file: the beginning decodes, the warning says where it stopped.
        ("truncated.mp3", .samples(minSeconds: 4, warning: .stoppedEarly)),
        // bad frames are skipped: a gap, as the ffmpeg CLI gives (13.3 s).
        ("corrupt-middle.mp3", .samples(minSeconds: 13, warning: .skippedCorruptData)),
        ("text.mp3", .error(.notMediaFile, permanent: true)),
        ("random.wav", .error(.notMediaFile, permanent: true)),
        ("header-only.wav", .error(.nothingDecodable, permanent: true)),
        ("video-no-audio.mp4", .error(.noAudioStream, permanent: true)),
        ("silence-60s.wav", .samples(minSeconds: 59.9, warning: nil)),
        ("noise-30s.wav", .samples(minSeconds: 29.9, warning: nil)),
        ("tiny-0.1s.wav", .samples(minSeconds: 0.099, warning: nil)),
        ("wav-named-as.mp3", .samples(minSeconds: 7.4, warning: nil)),
        ("name with spaces.wav", .samples(minSeconds: 7.4, warning: nil)),
        ("unicode-ümläut-日本語-✓.wav", .samples(minSeconds: 7.4, warning: nil)),
        ("-leading-dash.wav", .samples(minSeconds: 7.4, warning: nil)),
        ("new\nline.wav", .samples(minSeconds: 7.4, warning: nil)),
        ("- all of it é€\nsecond line.wav", .samples(minSeconds: 7.4, warning: nil)),
    ]

    @Test func everyBadFileIsCovered() {
        let listed = Set(Self.expectations.map(\.0))
        let present = Set(Corpus.files(in: "bad").filter { $0 != "EXPECTED.tsv" && $0 != "README.txt" })
        #expect(listed == present)
    }

    @Test(arguments: Self.expectations.map(\.0))
    func badFile(name: String) throws {
        let expect = Self.expectations.first { $0.0 == name }!.1
        let path = Corpus.path("bad/" + name)
        switch expect {
        case .error(let code, let permanent):
            do {
                let d = try AudioDecoder(path: path, options: .quiet)
                let n = try d.readAll().count
                Issue.record("\(name): expected \(code), got \(n) samples")
            } catch {
                #expect(error.code == code, "\(name): \(error)")
                #expect(error.isPermanent == permanent)
                #expect(error.description.contains(name.debugDescription.dropFirst().dropLast()) || error.description.contains(name),
                        "message must name the file: \(error)")
            }
        case .samples(let minSeconds, let warning):
            let d = try AudioDecoder(path: path, options: .quiet)
            let samples = try d.readAll()
            #expect(Double(samples.count) / 16000 >= minSeconds, "\(name): \(samples.count) samples")
            if let warning {
                #expect(d.warnings.contains { $0.kind == warning }, "\(name): \(d.warnings)")
                #expect(d.warnings.allSatisfy { $0.description.contains(name) })
            } else {
                #expect(d.warnings.isEmpty, "\(name): \(d.warnings)")
            }
        }
    }

    @Test func missingAndUnreadableFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("gone.mp3").path
        #expect { try AudioDecoder(path: missing, options: .quiet) } throws: { error in
            let e = error as! MediaError
            return e.code == .notFound && !e.isPermanent && e.description.contains("gone.mp3")
        }
        #expect { try AudioDecoder(path: dir.path, options: .quiet) } throws: { error in
            (error as! MediaError).code == .notMediaFile
        }
        if getuid() != 0 {  // root reads anything
            let locked = dir.appendingPathComponent("locked.wav").path
            try FileManager.default.copyItem(atPath: Corpus.path("formats/sample.wav"), toPath: locked)
            chmod(locked, 0)
            #expect { try AudioDecoder(path: locked, options: .quiet) } throws: { error in
                (error as! MediaError).code == .permissionDenied
            }
        }
    }
}
