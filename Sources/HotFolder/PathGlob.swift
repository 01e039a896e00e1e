import Glibc

/// Shell-glob matching of a job's path relative to the inbox, with `**` for any
/// number of folders ("de/**", "**/*.mp4", "talks/**/raw/*.wav").
///
/// It exists because folder rules pick a job by where it lies, and fnmatch alone
/// has no `**`: each other path segment is matched by fnmatch (so `*`, `?` and
/// `[...]` never cross a `/`), and `**`, a whole segment, stands for zero or more
/// segments. Pure: no file is looked at.
public enum PathGlob {
    /// Why a pattern cannot be used, or nil when it can.
    public static func problem(_ pattern: String) -> String? {
        if pattern.isEmpty { return "an empty pattern matches nothing" }
        if pattern.hasPrefix("/") { return "must be relative to the inbox (no leading /)" }
        for segment in pattern.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { return "has an empty path segment (//, or a trailing /)" }
            if segment == "." || segment == ".." { return "may not contain . or .. segments" }
            if segment != "**", segment.contains("**") { return "** must be a whole path segment (\"a/**/b\", not \"a**\")" }
        }
        return nil
    }

    /// Whether `path` ("de/interviews/a.mp3") matches `pattern`.
    public static func matches(_ pattern: String, _ path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let s = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // reach[j]: the first i pattern segments can match the first j path segments.
        var reach = [Bool](repeating: false, count: s.count + 1)
        reach[0] = true
        for segment in p {
            var next = [Bool](repeating: false, count: s.count + 1)
            if segment == "**" {
                var any = false
                for j in 0...s.count {
                    any = any || reach[j]
                    next[j] = any
                }
            } else {
                for j in 0..<s.count where reach[j] && fnmatch(segment, s[j], 0) == 0 {
                    next[j + 1] = true
                }
            }
            reach = next
        }
        return reach[s.count]
    }
}
