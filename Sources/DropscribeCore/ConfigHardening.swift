import TOMLKit

extension Configuration {
    /// `[journal]`: the key that authenticates checkpoint journals.
    ///
    /// A section of its own because the key is a secret kept outside the inbox, unlike
    /// everything in `[queue]`, which describes the folder.
    public struct JournalSection: Sendable, Equatable {
        /// The key file (relative to the config file's folder); created with mode 0600 on
        /// the daemon's first start. Replicas sharing an inbox share this file (a Kubernetes Secret).
        public var keyFile: String = "journal.key"
    }

    /// The journal key file's absolute path.
    public var journalKeyPath: String { resolve(journal.keyFile) }

    /// Reads the sections of the inbox-hardening keys (`[journal]`, `[limits]`).
    mutating func readHardening(_ key: String, _ value: any TOMLValueConvertible, _ r: Reader) throws(ConfigError) {
        try r.read(r.table(key, value), prefix: key + ".") { k, v, r throws(ConfigError) in
            switch k {
            case "journal.key_file": journal.keyFile = try r.string(k, v, nonEmpty: true)
            case "limits.max_audio_seconds": limits.maxAudioSeconds = try r.double(k, v, in: 1...31_536_000)
            case "limits.job_timeout_factor": limits.jobTimeoutFactor = try r.double(k, v, in: 0.1...1000)
            case "limits.job_timeout_min_seconds": limits.jobTimeoutMinSeconds = try r.double(k, v, in: 1...604_800)
            default: throw r.unknown(k, v)
            }
        }
    }
}
