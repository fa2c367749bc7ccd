import Foundation

/// A JSON document as PowerShell's ConvertTo-Json writes it. Decoded into a
/// tree first (not straight into Codable structs) because PowerShell's output
/// varies by version: enums as numbers or strings, dates as `/Date(ms)/` or
/// ISO 8601, one-element arrays as bare objects. The accessors absorb that.
public enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Member lookup, case-insensitive like PowerShell property names.
    public subscript(key: String) -> JSONValue {
        guard case .object(let members) = self else { return .null }
        if let exact = members[key] { return exact }
        return members.first { $0.key.caseInsensitiveCompare(key) == .orderedSame }?.value ?? .null
    }

    public var isNull: Bool { self == .null }

    public var string: String? {
        switch self {
        case .string(let s): s
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): b ? "True" : "False"
        default: nil
        }
    }

    public var int: Int? {
        switch self {
        case .number(let n): n.isFinite && abs(n) < 9e18 ? Int(n) : nil
        case .string(let s): Int(s.trimmingCharacters(in: .whitespaces))
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    public var bool: Bool? {
        switch self {
        case .bool(let b): b
        case .number(let n): n != 0
        case .string(let s):
            switch s.lowercased() {
            case "true", "1", "yes": true
            case "false", "0", "no", "": false
            default: nil
            }
        default: nil
        }
    }

    /// Zero or more elements: null is empty, a lone object is one element,
    /// and Windows PowerShell 5.1's `{"value":[...],"Count":n}` wrapper
    /// (arrays carrying the ETS Count property) is unwrapped.
    public var elements: [JSONValue] {
        switch self {
        case .null: []
        case .array(let items): items
        case .object(let members) where members.count == 2 && members["value"] != nil && members["Count"] != nil:
            members["value"]!.elements
        default: [self]
        }
    }
}
