/// A minimal PowerShell lexer for the injection tests: splits a script into
/// its code skeleton (every single-quoted literal replaced by `'?'`) and the
/// literals' values. If a hostile name leaves the skeleton unchanged, it
/// stayed data: PowerShell expands nothing inside single quotes.
///
/// It follows PowerShell's tokenizer on the points that matter here: the four
/// single-quote characters (' ‘ ’ ‚ ‛) open and close verbatim strings and
/// any two in a row stand for one; double-quoted strings (with backtick
/// escapes and "" ) and # comments are skipped so quotes inside them are
/// not mistaken for literals.
enum PowerShellLexer {
    static let singleQuotes: Set<Character> = ["'", "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}"]
    static let doubleQuotes: Set<Character> = ["\"", "\u{201C}", "\u{201D}", "\u{201E}"]

    static func split(_ script: String) -> (skeleton: String, literals: [String]) {
        let chars = Array(script.unicodeScalars.map(Character.init))
        var skeleton = "", literals: [String] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            // A verbatim here-string: @' at a line's end, up to '@ at a line's start.
            if c == "@", i + 2 < chars.count, singleQuotes.contains(chars[i + 1]), chars[i + 2] == "\n" {
                var j = i + 3, value = ""
                while j < chars.count && !(chars[j - 1] == "\n" && singleQuotes.contains(chars[j]) && j + 1 < chars.count && chars[j + 1] == "@") {
                    value.append(chars[j])
                    j += 1
                }
                // Never closed: an open quote in the skeleton, which `balanced` refuses.
                guard j < chars.count else { return (skeleton + "@\"", literals) }
                literals.append(String(value.dropLast()))
                skeleton += "@'?'@"
                i = j + 2
                continue
            }
            if singleQuotes.contains(c) {
                var value = ""
                i += 1
                while i < chars.count {
                    if singleQuotes.contains(chars[i]) {
                        if i + 1 < chars.count && singleQuotes.contains(chars[i + 1]) {
                            value.append(chars[i + 1])
                            i += 2
                            continue
                        }
                        break
                    }
                    value.append(chars[i])
                    i += 1
                }
                i += 1
                literals.append(value)
                skeleton += "'?'"
            } else if doubleQuotes.contains(c) {
                skeleton.append(c)
                i += 1
                while i < chars.count {
                    if chars[i] == "`" { skeleton.append(chars[i]); i += 1 }
                    else if doubleQuotes.contains(chars[i]) {
                        if i + 1 < chars.count && doubleQuotes.contains(chars[i + 1]) { skeleton += "\"\""; i += 2; continue }
                        break
                    }
                    if i < chars.count { skeleton.append(chars[i]); i += 1 }
                }
                if i < chars.count { skeleton.append(chars[i]); i += 1 }
            } else if c == "#" {
                while i < chars.count && chars[i] != "\n" { skeleton.append(chars[i]); i += 1 }
            } else {
                skeleton.append(c)
                i += 1
            }
        }
        return (skeleton, literals)
    }

    /// Parentheses, braces and brackets close in order outside string
    /// literals, and every string is closed: a script that at least parses
    /// as far as nesting goes (no PowerShell runs on this machine).
    static func balanced(_ script: String) -> Bool {
        let skeleton = Array(split(script).skeleton)
        let closing: [Character: Character] = [")": "(", "}": "{", "]": "["]
        var open: [Character] = []
        var i = 0
        while i < skeleton.count {
            let c = skeleton[i]
            if doubleQuotes.contains(c) {
                i += 1
                while i < skeleton.count && !doubleQuotes.contains(skeleton[i]) { i += skeleton[i] == "`" ? 2 : 1 }
                guard i < skeleton.count else { return false }
            } else if "({[".contains(c) {
                open.append(c)
            } else if let opener = closing[c] {
                guard open.popLast() == opener else { return false }
            }
            i += 1
        }
        return open.isEmpty
    }
}
