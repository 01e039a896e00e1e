// Small pieces of Python semantics the writers need to match openai-whisper byte for byte.

/// Python's `str.isspace()` set: what `str.strip()` removes.
/// Differs from Unicode `White_Space` by also containing U+001C–U+001F.
@inline(__always)
func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}

/// Python's `str.strip()` with no argument (works on code points, not graphemes).
func pythonStrip(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !isPythonSpace($0) }) else { return "" }
    let last = scalars.lastIndex(where: { !isPythonSpace($0) })!
    return String(scalars[first...last])
}

/// Python's `len(str)`: the number of code points.
func pythonLength(_ text: String) -> Int {
    text.unicodeScalars.count
}

/// Python's `str.replace(old, new)`: left to right, non-overlapping, on code points
/// (so `"--->"` with `"-->"` → `"->"` gives `"-->"`, as in Python).
func pythonReplace(_ text: String, _ old: String, _ new: String) -> String {
    let hay = Array(text.unicodeScalars)
    let needle = Array(old.unicodeScalars)
    guard !needle.isEmpty, hay.count >= needle.count else { return text }
    var out = String.UnicodeScalarView()
    var i = 0
    while i < hay.count {
        if i + needle.count <= hay.count, hay[i..<(i + needle.count)].elementsEqual(needle) {
            out.append(contentsOf: new.unicodeScalars)
            i += needle.count
        } else {
            out.append(hay[i])
            i += 1
        }
    }
    return String(out)
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for
/// 1e-4 ≤ |x| < 1e16 (always with a `.`), otherwise `d.ddde±XX`.
/// Non-finite values are not handled here (the JSON writer emits `null`).
func pythonFloatRepr(_ value: Double) -> String {
    precondition(value.isFinite)
    let negative = value.sign == .minus
    // Swift's description is shortest round-trip too; take its digits and
    // decimal exponent and lay them out with Python's rules.
    let desc = value.magnitude.description
    var mantissa = Substring(desc)
    var exponent = 0
    if let e = desc.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = desc[..<e]
        exponent = Int(desc[desc.index(after: e)...])!
    }
    let intPart: Substring
    let fracPart: Substring
    if let dot = mantissa.firstIndex(of: ".") {
        intPart = mantissa[..<dot]
        fracPart = mantissa[mantissa.index(after: dot)...]
    } else {
        intPart = mantissa
        fracPart = ""
    }
    var digits = Array(intPart.utf8) + Array(fracPart.utf8)
    // value = 0.DIGITS × 10^decpt
    var decpt = intPart.count + exponent
    while let f = digits.first, f == UInt8(ascii: "0") {
        digits.removeFirst()
        decpt -= 1
    }
    while let l = digits.last, l == UInt8(ascii: "0") { digits.removeLast() }
    let sign = negative ? "-" : ""
    if digits.isEmpty { return sign + "0.0" }
    let d = String(decoding: digits, as: UTF8.self)
    if decpt <= -4 || decpt > 16 {
        let e = decpt - 1
        var m = String(d.first!)
        if d.count > 1 { m += "." + d.dropFirst() }
        let eDigits = String(e.magnitude)
        return sign + m + "e" + (e < 0 ? "-" : "+") + (eDigits.count < 2 ? "0" : "") + eDigits
    }
    if decpt <= 0 {
        return sign + "0." + String(repeating: "0", count: -decpt) + d
    }
    if decpt >= d.count {
        return sign + d + String(repeating: "0", count: decpt - d.count) + ".0"
    }
    let cut = d.index(d.startIndex, offsetBy: decpt)
    return sign + d[..<cut] + "." + d[cut...]
}

/// Zero-padded decimal, like Python's `f"{n:0Nd}"` for non-negative `n`.
func zeroPadded(_ n: Int64, width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
