import Crypto
import HotFolder

/// Signs and checks the checkpoints of one job's journal.
///
/// It exists so that a resumed job trusts only checkpoints a worker wrote: the MAC binds
/// each entry to the job's path and the size and mtime of the content it was made from,
/// so a checkpoint cannot be forged, nor moved to another job or to rewritten content.
public struct JournalSeal: Sendable {
    public let key: JournalKey
    /// The job's path relative to the inbox.
    public let job: String
    public let size: Int64
    public let mtimeNanoseconds: Int64

    public init(key: JournalKey, job: String, fingerprint: Fingerprint) {
        self.key = key
        self.job = job
        self.size = fingerprint.size
        self.mtimeNanoseconds = fingerprint.mtimeNanoseconds
    }

    /// The entry with its MAC set.
    public func sealed(_ entry: JournalEntry) -> JournalEntry {
        var e = entry
        e.mac = mac(of: entry)
        return e
    }

    public func isAuthentic(_ entry: JournalEntry) -> Bool {
        guard let mac = entry.mac else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(Self.bytes(hex: mac) ?? [], authenticating: message(entry), using: key.symmetricKey)
    }

    /// The journal to resume from: all of it when every entry is authentic; otherwise
    /// none (the job starts from the beginning), with the index of the first entry refused.
    public func trusted(_ journal: [JournalEntry]) -> (journal: [JournalEntry], refused: Int?) {
        guard let bad = journal.firstIndex(where: { !isAuthentic($0) }) else { return (journal, nil) }
        return ([], bad)
    }

    func mac(of entry: JournalEntry) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: message(entry), using: key.symmetricKey)
        return code.map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// What is signed: every field of the entry and what binds it to its job, NUL-separated
    /// (a path cannot hold a NUL), with the doubles in their round-tripping text form. A
    /// progress line's phase is signed after the state (a checkpoint's message is unchanged).
    func message(_ entry: JournalEntry) -> [UInt8] {
        let fields = ["dropscribe-journal-v1", job, "\(size)", "\(mtimeNanoseconds)", "\(entry.window)",
                      "\(entry.progress)", "\(entry.time)", entry.state] + (entry.phase.map { ["phase", $0.rawValue] } ?? [])
        return Array(fields.joined(separator: "\0").utf8)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ d: UInt8) -> UInt8? {
            switch d {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let hi = value(digits[i]), let lo = value(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}
