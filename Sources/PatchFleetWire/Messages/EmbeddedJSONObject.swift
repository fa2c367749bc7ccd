import Foundation

/// A JSON object carried inside a message as is, for a document the wire
/// does not model itself (the run report in a `JobStatusReply`): the
/// wire checks only that it is an object; its owner decodes the rest.
public struct EmbeddedJSONObject: Codable, Sendable, Hashable {
    public indirect enum Value: Codable, Sendable, Hashable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Value].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Value].self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .null: try c.encodeNil()
            case .bool(let b): try c.encode(b)
            case .number(let n): try c.encode(n)
            case .string(let s): try c.encode(s)
            case .array(let a): try c.encode(a)
            case .object(let o): try c.encode(o)
            }
        }
    }

    public var members: [String: Value]

    public init(members: [String: Value]) { self.members = members }

    /// From a JSON document whose top level is an object (e.g. `RunReport.json()`).
    public init(json: Data) throws {
        members = try JSONDecoder().decode([String: Value].self, from: json)
    }

    /// The object as JSON, for its owner's decoder.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(members)
    }

    public init(from decoder: Decoder) throws {
        members = try decoder.singleValueContainer().decode([String: Value].self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(members)
    }
}
