import Foundation
import PatchFleetSimulator

/// A random value to encode, shaped to reach every path of an encoder:
/// objects whose keys come unsorted, repeated, escaped or non-ASCII; arrays;
/// every integer width at its extremes; floats from their bit patterns and
/// from the integral values whose descriptions end in ".0"; strings with
/// every control character, quotes, slashes and multi-byte characters.
indirect enum RandomJSON: Encodable {
    case object([(String, RandomJSON)])
    case array([RandomJSON])
    /// A keyed container asked for twice by one value (a subclass and its
    /// superclass): both halves land in one object.
    case splitObject([(String, RandomJSON)], [(String, RandomJSON)])
    case string(String)
    case bool(Bool)
    case null
    case int(Int), int8(Int8), int16(Int16), int32(Int32), int64(Int64)
    case uint(UInt), uint8(UInt8), uint16(UInt16), uint32(UInt32), uint64(UInt64)
    case double(Double), float(Float)
    /// Written through a single-value container (the generic path).
    case wrapped(RandomJSON)
    /// An optional member left out (`encodeIfPresent` with nil).
    case absent

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: Encoder) throws {
        switch self {
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            try Self.encode(members, into: &container)
        case .splitObject(let first, let second):
            var container = encoder.container(keyedBy: Key.self)
            try Self.encode(first, into: &container)
            var again = encoder.container(keyedBy: Key.self)
            try Self.encode(second, into: &again)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements {
                // Scalars through the unkeyed container's own overloads, the rest generically.
                switch element {
                case .string(let value): try container.encode(value)
                case .int8(let value): try container.encode(value)
                case .uint64(let value): try container.encode(value)
                case .double(let value): try container.encode(value)
                case .float(let value): try container.encode(value)
                case .null: try container.encodeNil()
                default: try container.encode(element)
                }
            }
        case .wrapped(let inner):
            var container = encoder.singleValueContainer()
            try container.encode(inner)
        case .string(let value): try single(encoder) { try $0.encode(value) }
        case .bool(let value): try single(encoder) { try $0.encode(value) }
        case .null, .absent: try single(encoder) { try $0.encodeNil() }
        case .int(let value): try single(encoder) { try $0.encode(value) }
        case .int8(let value): try single(encoder) { try $0.encode(value) }
        case .int16(let value): try single(encoder) { try $0.encode(value) }
        case .int32(let value): try single(encoder) { try $0.encode(value) }
        case .int64(let value): try single(encoder) { try $0.encode(value) }
        case .uint(let value): try single(encoder) { try $0.encode(value) }
        case .uint8(let value): try single(encoder) { try $0.encode(value) }
        case .uint16(let value): try single(encoder) { try $0.encode(value) }
        case .uint32(let value): try single(encoder) { try $0.encode(value) }
        case .uint64(let value): try single(encoder) { try $0.encode(value) }
        case .double(let value): try single(encoder) { try $0.encode(value) }
        case .float(let value): try single(encoder) { try $0.encode(value) }
        }
    }

    private func single(_ encoder: Encoder, _ write: (inout SingleValueEncodingContainer) throws -> Void) throws {
        var container = encoder.singleValueContainer()
        try write(&container)
    }

    private static func encode(_ members: [(String, RandomJSON)], into container: inout KeyedEncodingContainer<Key>) throws {
        for (name, value) in members {
            let key = Key(name)
            // Scalars through the keyed container's own overloads, the rest generically.
            switch value {
            case .string(let value): try container.encode(value, forKey: key)
            case .bool(let value): try container.encode(value, forKey: key)
            case .int(let value): try container.encode(value, forKey: key)
            case .int16(let value): try container.encode(value, forKey: key)
            case .uint32(let value): try container.encode(value, forKey: key)
            case .double(let value): try container.encode(value, forKey: key)
            case .null: try container.encodeNil(forKey: key)
            case .absent: try container.encodeIfPresent(String?.none, forKey: key)
            default: try container.encode(value, forKey: key)
            }
        }
    }
}

/// Draws `RandomJSON` values from the simulator's seeded generator, so a
/// failure names the seed that reproduces it.
struct RandomJSONGenerator {
    private var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func value(depth: Int = 0) -> RandomJSON {
        let containers = depth < 4
        switch below(containers ? 22 : 18) {
        case 0: return .string(string())
        case 1: return .bool(below(2) == 0)
        case 2: return .null
        case 3: return .int(extreme(Int.self))
        case 4: return .int8(extreme(Int8.self))
        case 5: return .int16(extreme(Int16.self))
        case 6: return .int32(extreme(Int32.self))
        case 7: return .int64(extreme(Int64.self))
        case 8: return .uint(extreme(UInt.self))
        case 9: return .uint8(extreme(UInt8.self))
        case 10: return .uint16(extreme(UInt16.self))
        case 11: return .uint32(extreme(UInt32.self))
        case 12: return .uint64(extreme(UInt64.self))
        case 13, 14: return .double(double())
        case 15: return .float(float())
        case 16: return .absent
        case 17: return .string(String(repeating: "x", count: below(3)))
        case 18: return .object(members(depth: depth))
        case 19: return .array((0 ..< below(6)).map { _ in value(depth: depth + 1) })
        case 20: return .splitObject(members(depth: depth), members(depth: depth))
        default: return .wrapped(value(depth: depth + 1))
        }
    }

    private mutating func members(depth: Int) -> [(String, RandomJSON)] {
        var keys: [String] = []
        return (0 ..< below(7)).map { _ in
            // Some keys repeat within an object: the later value must win.
            let key = !keys.isEmpty && below(6) == 0 ? keys[below(keys.count)] : self.key()
            keys.append(key)
            return (key, value(depth: depth + 1))
        }
    }

    /// Plain ASCII keys most of the time (what the streaming path sorts
    /// itself); now and then one that sends the value to Foundation
    /// (escaped, or not ASCII: Foundation merges "é" and "e\u{301}").
    private mutating func key() -> String {
        let plain = ["id", "a", "B", "b", "aa", "ab", "a b", "zebra", "Zebra", "_x", "1", "10", "2", "kind", "", "~", "a.b", "A1"]
        let special = ["a/b", "a\"b", "é", "e\u{301}", "ü", "日本", "\u{212A}", "K"]
        switch below(40) {
        case 0: return special[below(special.count)]
        case 1: return string()
        default: return plain[below(plain.count)]
        }
    }

    private mutating func string() -> String {
        let pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{00}", "\u{01}", "\u{1F}", "\u{7F}",
                      "é", "e\u{301}", "日本", "🙂", "\u{2028}", "<", "&", "0", "-", "."]
        return (0 ..< below(9)).map { _ in pieces[below(pieces.count)] }.joined()
    }

    private mutating func extreme<I: FixedWidthInteger>(_ type: I.Type) -> I {
        switch below(5) {
        case 0: return .min
        case 1: return .max
        case 2: return 0
        case 3: return I(truncatingIfNeeded: below(100)) - (I.isSigned ? 50 : 0)
        default: return I(truncatingIfNeeded: next())
        }
    }

    private mutating func double() -> Double {
        switch below(8) {
        case 0: return Double(below(2_000_001)) - 1_000_000          // integral: "<digits>.0"
        case 1: return Double(sign: below(2) == 0 ? .plus : .minus, exponent: below(120) - 60, significand: 1)
        case 2: return [0.0, -0.0, 0.1, 1e15, 1e16, 999_999_999_999_999, 1e15 - 1, 9_007_199_254_740_994, .leastNonzeroMagnitude,
                        1.7976931348623157e308, 1e-7, 123.456][below(12)]
        case 3: return Double(below(1000)) / 8                       // short binary fractions
        case 4: return Double(Int64(truncatingIfNeeded: next()))      // large integral values
        default:
            let value = Double(bitPattern: next())
            return value.isFinite ? value : 0.5
        }
    }

    private mutating func float() -> Float {
        switch below(3) {
        case 0: return Float(below(20001)) - 10000
        case 1: return [0, -0.0, 0.1, 1e20, 3.4e38, 16_777_218, .leastNonzeroMagnitude][below(7)]
        default:
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: next()))
            return value.isFinite ? value : 0.25
        }
    }
}
