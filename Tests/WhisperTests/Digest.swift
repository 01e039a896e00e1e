import Crypto

/// Corpus files and generated models are checked against the sha256 their goldens recorded; a hex digest names the
/// file's bytes in error messages and golden records alike.
enum CorpusDigest {
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
