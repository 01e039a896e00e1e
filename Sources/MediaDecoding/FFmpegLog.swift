import CFFmpeg
import Logging

/// libav's own log, routed through swift-log (label "dropscribe.ffmpeg") instead of stderr.
///
/// libav's log callback and level are process-global C state; this wrapper adds none of
/// its own: the callback is a plain C-convention function and the logger is an immutable
/// global created on first use (after the executable has bootstrapped logging).
public enum FFmpegLog {
    public enum Level: Sendable {
        /// errors and warnings (the default)
        case warning
        /// errors only
        case error
        /// nothing
        case quiet
    }

    /// The least severe libav message that is passed on. Sets libav's global level.
    public static func setLevel(_ level: Level) {
        install()
        switch level {
        case .warning: av_log_set_level(AV_LOG_WARNING)
        case .error: av_log_set_level(AV_LOG_ERROR)
        case .quiet: av_log_set_level(AV_LOG_QUIET)
        }
    }

    /// Installs the callback (idempotent; `AudioDecoder` calls it).
    static func install() { _ = installed }

    private static let installed: Bool = {
        if av_log_get_level() > AV_LOG_WARNING { av_log_set_level(AV_LOG_WARNING) }
        av_log_set_callback(ffmpegLogCallback)
        return true
    }()
}

private let ffmpegLogger = Logger(label: "dropscribe.ffmpeg")

private func ffmpegLogCallback(
    _ avcl: UnsafeMutableRawPointer?, _ level: Int32, _ format: UnsafePointer<CChar>?, _ args: CVaListPointer?
) {
    guard let format, let args, level <= av_log_get_level(), level <= AV_LOG_WARNING else { return }
    var printPrefix: Int32 = 1
    let text: String = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1024) { buffer in
        buffer.initialize(repeating: 0)
        _ = av_log_format_line2(avcl, level, format, args, buffer.baseAddress, 1024, &printPrefix)
        return String(cString: buffer.baseAddress!)
    }
    let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !line.isEmpty else { return }
    ffmpegLogger.log(level: level <= AV_LOG_ERROR ? .error : .warning, "\(line)")
}

extension String {
    func trimmingCharacters(in _: TrimSet) -> Substring.SubSequence {
        var s = Substring(self)
        while let c = s.last, c.isWhitespace || c.isNewline { s.removeLast() }
        while let c = s.first, c.isWhitespace || c.isNewline { s.removeFirst() }
        return s
    }
    enum TrimSet { case whitespacesAndNewlines }
}
