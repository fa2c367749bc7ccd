import Foundation

/// One value in an AMQP field table or array, with the wire type made explicit
/// so that a header survives a round trip through the broker unchanged.
public indirect enum AMQPFieldValue: Sendable, Equatable, Hashable {
    case bool(Bool)
    case int8(Int8)
    case uint8(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case float(Float)
    case double(Double)
    /// A decimal value: `value / 10^decimals`.
    case decimal(decimals: UInt8, value: UInt32)
    /// A long string (UTF-8 text).
    case string(String)
    /// A byte array (binary data, not text).
    case bytes([UInt8])
    /// Seconds since the Unix epoch.
    case timestamp(UInt64)
    case array([AMQPFieldValue])
    case table(AMQPFieldTable)
    case void

    /// The text of a `.string` (or UTF-8 `.bytes`) value; nil for other types.
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(bytes: b, encoding: .utf8)
        default: return nil
        }
    }

    /// The value of any integer case, widened; nil for other types.
    public var intValue: Int64? {
        switch self {
        case .int8(let v): return Int64(v)
        case .uint8(let v): return Int64(v)
        case .int16(let v): return Int64(v)
        case .uint16(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .uint32(let v): return Int64(v)
        case .int64(let v): return v
        default: return nil
        }
    }
}

/// An AMQP field table: ordered key/value pairs. Order is kept because it is
/// what travels on the wire; lookups by key are linear, tables are small.
public struct AMQPFieldTable: Sendable, Equatable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: AMQPFieldValue)]

    public init() { entries = [] }

    public init(_ entries: [(key: String, value: AMQPFieldValue)]) { self.entries = entries }

    public init(dictionaryLiteral elements: (String, AMQPFieldValue)...) {
        entries = elements.map { (key: $0.0, value: $0.1) }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Reads or replaces the value for `key`; assigning nil removes it.
    public subscript(key: String) -> AMQPFieldValue? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key: key, value: newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: AMQPFieldValue)]> {
        entries.makeIterator()
    }

    public static func == (lhs: AMQPFieldTable, rhs: AMQPFieldTable) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for (k, v) in entries { hasher.combine(k); hasher.combine(v) }
    }
}

extension AMQPFieldTable {
    /// About how many bytes the table takes on the wire (each key with its
    /// length byte and type tag, each value with its length prefix): to tell
    /// whether a table fits in a frame before it is sent.
    public var approximateEncodedSize: Int {
        reduce(4) { $0 + 2 + $1.key.utf8.count + $1.value.approximateEncodedSize }
    }
}

extension AMQPFieldValue {
    var approximateEncodedSize: Int {
        switch self {
        case .string(let s): 4 + s.utf8.count
        case .bytes(let b): 4 + b.count
        case .table(let t): t.approximateEncodedSize
        case .array(let items): items.reduce(4) { $0 + 1 + $1.approximateEncodedSize }
        default: 9
        }
    }
}
