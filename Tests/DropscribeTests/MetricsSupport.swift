import Foundation
import Testing

/// A metrics file read by Prometheus' own parser: Debian's python3-prometheus-client
/// (`prometheus_client.parser.text_string_to_metric_families`), run as a subprocess,
/// plus the format rules that parser lets pass (HELP and TYPE before every family).
struct ParsedMetrics {
    /// Sample name with its labels as written (`dropscribe_jobs{state="done"}`) → value.
    var samples: [String: Double]
    /// Family name → type.
    var types: [String: String]

    subscript(_ key: String) -> Double? { samples[key] }

    /// The system python (not a pyenv shim on PATH), where the Debian package lives.
    static let python = "/usr/bin/python3"

    static let script = #"""
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        text = open(sys.argv[1], encoding="utf-8").read()
        assert text.endswith("\n"), "no final newline"
        samples, types = {}, {}
        for fam in text_string_to_metric_families(text):
            types[fam.name] = fam.type
            for s in fam.samples:
                labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
                key = s.name + ("{%s}" % labels if labels else "")
                assert key not in samples, "duplicate sample " + key
                samples[key] = s.value
        # Every family announced before its samples, exactly once.
        seen_help, seen_type = set(), set()
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name = line.split()[2]; assert name not in seen_help, "HELP twice: " + name; seen_help.add(name)
            elif line.startswith("# TYPE "):
                name = line.split()[2]; assert name in seen_help, "TYPE before HELP: " + name; seen_type.add(name)
            elif line and not line.startswith("#"):
                name = line.split("{")[0].split()[0]
                assert name in seen_type, "sample before its TYPE: " + line
        print(json.dumps({"samples": samples, "types": types}))
        """#

    /// Parses `file`; records an issue (with the parser's complaint) and returns nil when it cannot.
    static func parse(_ file: String, sourceLocation: SourceLocation = #_sourceLocation) -> ParsedMetrics? {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("\(python) missing (make deps installs python3-prometheus-client)", sourceLocation: sourceLocation)
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, file]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch {
            Issue.record("cannot run \(python): \(error)", sourceLocation: sourceLocation)
            return nil
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let json = try? JSONSerialization.jsonObject(with: o) as? [String: Any],
              let samples = json["samples"] as? [String: Double], let types = json["types"] as? [String: String]
        else {
            Issue.record("""
                \(file) is not valid Prometheus text (is python3-prometheus-client installed? make deps):
                \(String(decoding: e, as: UTF8.self))
                \((try? String(contentsOfFile: file, encoding: .utf8)) ?? "(unreadable)")
                """, sourceLocation: sourceLocation)
            return nil
        }
        return ParsedMetrics(samples: samples, types: types)
    }

    /// Like `parse`, without recording issues (for polling until a condition holds).
    static func tryParse(_ file: String) -> ParsedMetrics? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, file]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: o) as? [String: Any],
              let samples = json["samples"] as? [String: Double], let types = json["types"] as? [String: String] else { return nil }
        return ParsedMetrics(samples: samples, types: types)
    }
}
