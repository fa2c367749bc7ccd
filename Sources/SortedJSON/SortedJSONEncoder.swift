import Foundation

/// JSON with sorted keys: byte for byte what Foundation's `JSONEncoder` with
/// `outputFormatting = [.sortedKeys]` writes, at a fraction of its cost.
///
/// Why it exists: the coordinator writes every saga's whole state as JSON at
/// every step, and signs and publishes every task, result and event as JSON;
/// `perf` put Foundation's encoder at 40 % of the `scale` bench's CPU. Its
/// cost is in building a tree of boxed values (a dictionary per object,
/// dynamic casts per value) and then walking it. This encoder writes each
/// value straight into one byte buffer and sorts an object's members once,
/// when the object is complete, by moving byte ranges.
///
/// Same bytes, so nothing that reads, stores, signs or compares them changes
/// (`SortedJSONEncoderTests` compares both encoders on the domain's types and
/// on random values). What this writer does not do itself, it hands to
/// Foundation whole, so the answer is always Foundation's:
/// - `Date`, `Data`, `URL` and `Decimal` (Foundation's own strategies);
/// - non-finite floating point values (Foundation's error);
/// - `nestedContainer`, `nestedUnkeyedContainer` and `superEncoder` (their
///   writes may interleave with the parent's, which a stream cannot follow);
/// - a top-level value that encodes nothing, or two values into one
///   single-value container (Foundation's error or trap).
public enum SortedJSONEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        do {
            let sink = ByteSink()
            try sink.writeTopLevel(value)
            return Data(sink.bytes)
        } catch is HandToFoundation {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(value)
        }
    }
}

/// Thrown inside the writer for what it leaves to Foundation; never escapes.
struct HandToFoundation: Error {}

/// The output and the scratch space objects are reordered in.
final class ByteSink {
    var bytes: [UInt8] = []
    private var scratch: [UInt8] = []

    init() {
        bytes.reserveCapacity(512)
    }

    /// Set when a value asked for what this writer leaves to Foundation.
    var handToFoundation = false
    /// The first misuse of the `Encoder` protocol (Foundation traps on these;
    /// here the encode throws it instead).
    private(set) var misuseError: Error?

    func misuse(_ error: Error) {
        if misuseError == nil { misuseError = error }
    }

    func writeTopLevel<T: Encodable>(_ value: T) throws {
        if try writePrimitive(value) { return }
        let encoder = StreamingEncoder(sink: self, parent: nil, position: .root)
        try value.encode(to: encoder)
        if handToFoundation { throw HandToFoundation() }
        if let misuseError { throw misuseError }
        guard encoder.finish(topLevel: true) else { throw HandToFoundation() }
    }

    /// Writes any value in place: primitives directly, everything else
    /// through an encoder of its own that is finished when `encode(to:)` returns.
    func write<T: Encodable>(_ value: T, parent: StreamingEncoder?, position: StreamingEncoder.Position) throws {
        if try writePrimitive(value) { return }
        let encoder = StreamingEncoder(sink: self, parent: parent, position: position)
        try value.encode(to: encoder)
        _ = encoder.finish(topLevel: false)
    }

    /// The standard library's scalars by their type's identity (cheaper than
    /// a dynamic cast per value); Foundation's specially treated types go to
    /// Foundation.
    private func writePrimitive<T: Encodable>(_ value: T) throws -> Bool {
        let type = T.self
        if type == String.self {
            writeString(value as! String)
        } else if type == Int.self {
            writeInteger(value as! Int)
        } else if type == Bool.self {
            writeBool(value as! Bool)
        } else if type == Double.self {
            try writeDouble(value as! Double)
        } else if type == Date.self || type == Data.self || type == URL.self || type == Decimal.self {
            throw HandToFoundation()
        } else {
            return false
        }
        return true
    }

    // MARK: Scalars

    @inline(__always)
    func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    func writeBool(_ value: Bool) {
        append(value ? "true" : "false")
    }

    func writeNull() {
        append("null")
    }

    func writeInteger<I: FixedWidthInteger>(_ value: I) {
        if value == 0 {
            append(UInt8(ascii: "0"))
            return
        }
        // Digits of the magnitude, least significant first, into a small
        // stack buffer (a UInt64 has at most 20), then copied in order.
        var magnitude = value.magnitude
        if value < 0 { append(UInt8(ascii: "-")) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var count = 0
            while magnitude != 0 {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                digits[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                count += 1
                magnitude = quotient
            }
            while count > 0 {
                count -= 1
                bytes.append(digits[count])
            }
        }
    }

    /// Foundation writes a float's shortest round-trip `description` without
    /// a trailing ".0" (`1.0` -> `1`, `1e+20` stays); non-finite values are
    /// its error to raise.
    func writeDouble(_ value: Double) throws {
        guard value.isFinite else { throw HandToFoundation() }
        if value == value.rounded(.towardZero), value.magnitude < 1e15 {
            // Integral and short: the description would be "<digits>.0".
            if value == 0 {
                append(value.sign == .minus ? "-0" : "0")
            } else {
                writeInteger(Int64(value))
            }
            return
        }
        writeFloatDescription(value.description)
    }

    func writeFloat(_ value: Float) throws {
        guard value.isFinite else { throw HandToFoundation() }
        writeFloatDescription(value.description)
    }

    private func writeFloatDescription(_ description: String) {
        var text = description
        text.withUTF8 { utf8 in
            if utf8.count >= 2, utf8[utf8.count - 2] == UInt8(ascii: "."), utf8[utf8.count - 1] == UInt8(ascii: "0") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[0 ..< utf8.count - 2]))
            } else {
                bytes.append(contentsOf: utf8)
            }
        }
    }

    /// Foundation's escapes: quote, backslash, slash, the short forms for
    /// backspace, form feed, newline, return and tab, `\u00xx` (lower-case
    /// hex) for the other control characters; everything else as UTF-8.
    func writeString(_ value: String) {
        append(UInt8(ascii: "\""))
        var text = value
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0 ..< utf8.count {
                let byte = utf8[index]
                let escape: (UInt8, UInt8)?
                switch byte {
                case UInt8(ascii: "\""): escape = (UInt8(ascii: "\\"), UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "/"))
                case 0x08: escape = (UInt8(ascii: "\\"), UInt8(ascii: "b"))
                case 0x0C: escape = (UInt8(ascii: "\\"), UInt8(ascii: "f"))
                case 0x0A: escape = (UInt8(ascii: "\\"), UInt8(ascii: "n"))
                case 0x0D: escape = (UInt8(ascii: "\\"), UInt8(ascii: "r"))
                case 0x09: escape = (UInt8(ascii: "\\"), UInt8(ascii: "t"))
                case 0x00 ..< 0x20: escape = nil
                default: continue
                }
                if index > runStart {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart ..< index]))
                }
                runStart = index + 1
                if let (first, second) = escape {
                    bytes.append(first)
                    bytes.append(second)
                } else {
                    append("\\u00")
                    bytes.append(Self.hexDigit(byte >> 4))
                    bytes.append(Self.hexDigit(byte & 0x0F))
                }
            }
            if utf8.count > runStart {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart ..< utf8.count]))
            }
        }
        append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }

    // MARK: Objects

    /// Puts an object's members in Foundation's order once the object is
    /// complete. Members were written after the `{` at `start`, comma
    /// separated, in the order they were encoded (`members` says where).
    /// Keys compare by their UTF-8 bytes; of two members with one key the
    /// later wins (Foundation's dictionary keeps the last value). Already in
    /// order, nothing moves: the common case for a type whose coding keys are
    /// declared alphabetically, and for every one-member object.
    func closeObject(start: Int, members: [ObjectMember]) {
        if Self.isStrictlySorted(members) {
            append(UInt8(ascii: "}"))
            return
        }
        var order = Array(members.indices)
        order.sort { left, right in
            let a = members[left].key.utf8, b = members[right].key.utf8
            if a.elementsEqual(b) { return left < right }
            return a.lexicographicallyPrecedes(b)
        }
        // Of equal keys (now adjacent, in encoding order) keep the last.
        var kept: [Int] = []
        kept.reserveCapacity(order.count)
        for index in order {
            if let last = kept.last, members[last].key == members[index].key {
                kept[kept.count - 1] = index
            } else {
                kept.append(index)
            }
        }
        let bodyStart = start + 1
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: bytes[bodyStart...])
        bytes.removeSubrange(bodyStart...)
        for (position, index) in kept.enumerated() {
            if position > 0 { append(UInt8(ascii: ",")) }
            let member = members[index]
            bytes.append(contentsOf: scratch[(member.start - bodyStart) ..< (member.end - bodyStart)])
        }
        append(UInt8(ascii: "}"))
    }

    private static func isStrictlySorted(_ members: [ObjectMember]) -> Bool {
        guard members.count > 1 else { return true }
        for index in 1 ..< members.count
        where !members[index - 1].key.utf8.lexicographicallyPrecedes(members[index].key.utf8) {
            return false
        }
        return true
    }
}

/// One `"key":value` of an object being written: where its bytes are.
struct ObjectMember {
    let key: String
    let start: Int
    let end: Int
}
