/// Text that came from the inbox (file names, marker strings), made safe to print.
///
/// It exists because a name or a marker message may hold a newline (forging a
/// log line or a status line), terminal escapes, or a megabyte of text.
public enum UntrustedText {
    /// `text` with control characters escaped (`\n`, `\x1b`...) and cut to
    /// `limit` characters (marked with "…").
    public static func printable(_ text: String, limit: Int = 1024) -> String {
        let escapeBackslashes = needsEscaping(text)
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\" where escapeBackslashes: out += "\\\\"
            default:
                if isControl(scalar) {
                    let hex = String(scalar.value, radix: 16)
                    out += scalar.value < 0x100 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Whether printing `text` as is could break a line or drive the terminal.
    public static func needsEscaping(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: isControl)
    }

    /// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7f...0x9f).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
    }
}
