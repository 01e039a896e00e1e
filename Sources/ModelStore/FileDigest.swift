import Crypto
import Foundation
import SystemPackage

/// The hash the Hub lists for a file, computed over a file on disk in chunks.
///
/// Exists so a download is accepted only when its bytes are the repository's bytes: LFS files
/// (model.bin) by SHA-256, small files (config.json, vocabulary) by the git blob SHA-1
/// (`blob <size>\0` + content), which is what the Hub's `blobId` is.
enum FileDigest {
    static func matches(_ path: FilePath, _ digest: HubFile.Digest, size: Int) throws(ModelStoreError) -> (Bool, String) {
        let actual: String
        switch digest {
        case .sha256(let expected):
            var hasher = SHA256()
            try forEachChunk(of: path) { hasher.update(data: $0) }
            actual = hex(hasher.finalize())
            return (actual == expected, actual)
        case .gitBlob(let expected):
            var hasher = Insecure.SHA1()
            hasher.update(data: Data("blob \(size)\0".utf8))
            try forEachChunk(of: path) { hasher.update(data: $0) }
            actual = hex(hasher.finalize())
            return (actual == expected, actual)
        }
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    private static func forEachChunk(of path: FilePath, _ body: (UnsafeRawBufferPointer) -> Void) throws(ModelStoreError) {
        do {
            let fd = try FileDescriptor.open(path, .readOnly, options: [.noFollow])
            defer { try? fd.close() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = try fd.read(into: buffer)
                if n == 0 { break }
                body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        } catch {
            throw .io(path: path.string, problem: "cannot read to check its hash: \(error)")
        }
    }
}
