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
/// - `nestedContainer`, `nestedUnkeyedContainer` and `superEncoder` (their
///   writes may interleave with the parent's, which a stream cannot follow);
/// - a key that needs escaping or is not ASCII (escaped bytes do not sort
///   like the key's UTF-8, and Foundation merges keys that are equal as
///   Swift strings, "é" and "e\u{301}"; no key of PatchFleet's is either);
/// - a value nested deeper than 256 levels (Foundation refuses past 512);
/// - a top-level value that encodes nothing (Foundation's error);
/// - any of the above even when a value's own `encode(to:)` catches the
///   hand-off and goes on (Foundation, running `encode(to:)` again, throws
///   nothing there for the value to catch).
/// A non-finite float is Foundation's error (`EncodingError.invalidValue`),
/// thrown here directly. Misuses of the `Encoder` protocol Foundation traps
/// on (two values in one single-value container, a keyed and an unkeyed
/// container for one value, encoding on after catching an error thrown
/// while a nested value or a non-finite float was written: Foundation's
/// containers are then half-built) throw an `EncodingError` here instead, so
/// a process that meets one is not killed. Writes to a container after its
/// value is complete (Foundation drops them) throw one too.
public enum SortedJSONEncoder {
    /// Handing a value to Foundation runs its `encode(to:)` a second time;
    /// an `encode(to:)` with side effects has them twice.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        if let streamed = try streamed(value) { return streamed }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }

    /// The streamed bytes, or nil where the value goes to Foundation (the
    /// tests check which way a value went).
    static func streamed<T: Encodable>(_ value: T) throws -> Data? {
        let sink = ByteSink()
        do {
            try sink.writeTopLevel(value)
        } catch is HandToFoundation {
            return nil
        }
        return Data(sink.bytes)
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

    /// The error that sends the whole value to Foundation, noted on the sink
    /// too: a value's `encode(to:)` may catch it and go on writing.
    func handOff() -> HandToFoundation {
        handToFoundation = true
        return HandToFoundation()
    }

    func writeTopLevel<T: Encodable>(_ value: T) throws {
        if try writePrimitive(value) { return }
        let encoder = StreamingEncoder(sink: self, parent: nil, position: .root)
        try value.encode(to: encoder)
        if let misuseError { throw misuseError }
        if handToFoundation { throw HandToFoundation() }
        guard encoder.finish(topLevel: true) else { throw HandToFoundation() }
    }

    /// Nesting past this goes to Foundation (which refuses 512 levels of
    /// containers; single-value wrappers count here, not there).
    static let maximumDepth = 256

    /// Writes any value in place: primitives directly, everything else
    /// through an encoder of its own that is finished when `encode(to:)` returns.
    func write<T: Encodable>(_ value: T, parent: StreamingEncoder?, position: StreamingEncoder.Position) throws {
        if try writePrimitive(value) { return }
        let encoder = StreamingEncoder(sink: self, parent: parent, position: position)
        if encoder.depth > Self.maximumDepth { throw handOff() }
        do {
            try value.encode(to: encoder)
        } catch let error as HandToFoundation {
            throw error  // noted on the sink where it was thrown
        } catch {
            // Whatever was written of this value is unusable. If a caller
            // catches the error and goes on, the encode fails with this
            // (Foundation traps there: its stack of containers is left half-built).
            misuse(EncodingError.invalidValue("\(T.self)", .init(codingPath: encoder.codingPath,
                debugDescription: "encoding went on after an error thrown while encoding this value: \(error)")))
            throw error
        }
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
            throw handOff()
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
        guard value.isFinite else { throw nonFinite(value) }
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
        guard value.isFinite else { throw nonFinite(value) }
        writeFloatDescription(value.description)
    }

    /// Foundation's error for a float JSON cannot hold. Its member or element
    /// is half-written by now: encoding on after catching it is a misuse.
    private func nonFinite<F: BinaryFloatingPoint>(_ value: F) -> EncodingError {
        let error = EncodingError.invalidValue(value, .init(codingPath: [],
            debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        misuse(error)
        return error
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

    /// Writes an object's key; false if it is not plain ASCII (a byte that
    /// needs escaping, or one past 0x7F): such values go to Foundation, so
    /// the bytes written for it then do not matter.
    func writeKey(_ key: String) -> Bool {
        append(UInt8(ascii: "\""))
        var text = key
        let plain = text.withUTF8 { utf8 -> Bool in
            bytes.append(contentsOf: utf8)
            return !utf8.contains { Self.needsEscape($0) || $0 >= 0x80 }
        }
        append(UInt8(ascii: "\""))
        return plain
    }

    /// Foundation's escapes: quote, backslash, slash, the short forms for
    /// backspace, form feed, newline, return and tab, `\u00xx` (lower-case
    /// hex) for the other control characters; everything else as UTF-8.
    func writeString(_ value: String) {
        append(UInt8(ascii: "\""))
        var text = value
        text.withUTF8 { utf8 in
            guard let first = utf8.firstIndex(where: Self.needsEscape) else {
                bytes.append(contentsOf: utf8)
                return
            }
            var runStart = 0
            for index in first ..< utf8.count {
                let byte = utf8[index]
                guard Self.needsEscape(byte) else { continue }
                if index > runStart {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart ..< index]))
                }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
                case 0x08: append("\\b")
                case 0x0C: append("\\f")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                default:
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

    /// The bytes `writeString` escapes: control characters, quote, backslash, slash.
    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/")
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }

    // MARK: Objects

    /// The members of every object still being written, innermost last: an
    /// object's members are `memberStack[base...]` (a member is pushed after
    /// its value is complete, so nested objects push and pop above it).
    var memberStack: [ObjectMember] = []
    /// Puts an object's members in Foundation's order once the object is
    /// complete, and pops them. Members were written after the `{` at
    /// `start`, comma separated, in the order they were encoded. Keys compare
    /// by their UTF-8 bytes (here: by the bytes written, which are the UTF-8
    /// for plain ASCII keys, and the writer hands a value with any other key
    /// to Foundation); of two members with one key the later wins
    /// (Foundation's dictionary keeps the last value). Already in order,
    /// nothing moves: every one-member object, and every type whose coding
    /// keys are declared alphabetically.
    func closeObject(start: Int, membersFrom base: Int) {
        defer { memberStack.removeSubrange(base...) }
        let count = memberStack.count - base
        if count < 2 || isStrictlySorted(from: base) {
            append(UInt8(ascii: "}"))
            return
        }
        var order = Array(base ..< memberStack.count)
        order.sort { left, right in
            let comparison = compareKeys(memberStack[left], memberStack[right])
            return comparison == 0 ? left < right : comparison < 0
        }
        // Of equal keys (now adjacent, in encoding order) keep the last.
        var kept: [Int] = []
        kept.reserveCapacity(order.count)
        for index in order {
            if let last = kept.last, compareKeys(memberStack[last], memberStack[index]) == 0 {
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
            let member = memberStack[index]
            bytes.append(contentsOf: scratch[(member.start - bodyStart) ..< (member.end - bodyStart)])
        }
        append(UInt8(ascii: "}"))
    }

    private func isStrictlySorted(from base: Int) -> Bool {
        for index in (base + 1) ..< memberStack.count where compareKeys(memberStack[index - 1], memberStack[index]) >= 0 {
            return false
        }
        return true
    }

    /// Negative, zero or positive as `a`'s key sorts before, with or after `b`'s.
    private func compareKeys(_ a: ObjectMember, _ b: ObjectMember) -> Int {
        // The key's bytes sit after the member's opening quote.
        return bytes.withUnsafeBufferPointer { buffer in
            let common = min(a.keyLength, b.keyLength)
            let order = memcmp(buffer.baseAddress! + a.start + 1, buffer.baseAddress! + b.start + 1, common)
            if order != 0 { return Int(order) }
            return a.keyLength - b.keyLength
        }
    }
}

/// One `"key":value` of an object being written: where its bytes are.
struct ObjectMember {
    /// The opening quote of the key.
    let start: Int
    /// The key's bytes as written (escaped), between its quotes.
    let keyLength: Int
    /// Just past the value.
    let end: Int
}
