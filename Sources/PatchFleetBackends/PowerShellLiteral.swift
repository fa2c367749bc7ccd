/// The one way a value enters a generated script: as a PowerShell
/// single-quoted (verbatim) string literal.
///
/// Inside '...' PowerShell expands nothing (`$()`, backticks, `;` and
/// newlines are plain characters); the only special character is the quote
/// itself, written twice. PowerShell's tokenizer accepts four quote
/// characters as "single quote" — ' (U+0027) and the typographic ‘ ’ ‚ ‛
/// (U+2018...U+201B) — and any of them ends the literal, so every one of them
/// is doubled. Builders never interpolate a Swift string any other way.
public enum PowerShellLiteral {
    static let singleQuotes: Set<Character> = ["'", "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}"]

    /// `O'Brien` -> `'O''Brien'`.
    public static func quote(_ value: String) -> String {
        var out = "'"
        out.reserveCapacity(value.count + 2)
        // Walk Unicode scalars, not Characters: a quote followed by a
        // combining mark is one Character but still a quote to PowerShell.
        for scalar in value.unicodeScalars {
            out.unicodeScalars.append(scalar)
            if singleQuotes.contains(Character(scalar)) { out.unicodeScalars.append(scalar) }
        }
        out += "'"
        return out
    }

    /// `@('a','b')`: always an array, even with one or no element.
    public static func array(_ values: [String]) -> String {
        "@(" + values.map(quote).joined(separator: ",") + ")"
    }

    /// `$true` / `$false`.
    public static func bool(_ value: Bool) -> String { value ? "$true" : "$false" }

    /// An integer literal (no quoting needed: digits and '-' only).
    public static func int(_ value: Int) -> String { String(value) }
}
