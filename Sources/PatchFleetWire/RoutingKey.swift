/// Topic routing keys built from names people chose.
///
/// In a topic exchange `.` separates words and `*`/`#` are wildcards in
/// bindings, so a cluster called `dc1.prod` or a host called `web*` would
/// break or widen subscriptions if used raw. The rule (also in
/// docs/messages.md):
///
/// - each name becomes exactly one word;
/// - the bytes `A-Z a-z 0-9 _ -` are kept; every other byte of the name's
///   UTF-8, including `.`, `*`, `#`, `%`, `~` and space, becomes `%XX`
///   (uppercase hex), so the mapping is reversible and never collides;
/// - an absent or empty name (a standalone host's cluster) is the word `~`,
///   which no sanitized name can be.
public enum RoutingKey {
    public static let absent = "~"
    /// AMQP's limit on a routing key (a short string).
    public static let maxBytes = 255

    public static func word(_ name: String?) -> String {
        guard let name, !name.isEmpty else { return absent }
        var out = ""
        for byte in name.utf8 {
            if Self.kept(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// The name a word came from; nil for `~` or a malformed word.
    public static func name(fromWord word: String) -> String? {
        guard word != absent else { return nil }
        var bytes: [UInt8] = []
        var iterator = Array(word.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let hi = iterator.next(), let lo = iterator.next(),
                      let value = UInt8(String(decoding: [hi, lo], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                guard kept(byte) else { return nil }
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func join(_ words: [String]) -> String { words.joined(separator: ".") }

    private static func kept(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
