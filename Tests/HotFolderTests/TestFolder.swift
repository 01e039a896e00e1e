import Foundation
import SystemPackage
@testable import HotFolder

/// A fresh temporary folder per test, removed at the end.
final class TestFolder {
    let path: String
    var filePath: FilePath { FilePath(path) }

    init() {
        var template = Array("/tmp/dropscribe-test-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String = "audio") -> String {
        let full = path + "/" + name
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        return full
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    var layout: InboxLayout { InboxLayout(root: FilePath(path)) }
}

extension OwnerIdentity {
    static func fake(host: String = "other-host", pid: Int32 = 999_999) -> OwnerIdentity {
        OwnerIdentity(host: host, pid: pid, pidStart: 1, bootID: "boot-\(host)")
    }
}
