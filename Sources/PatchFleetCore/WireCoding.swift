import Foundation
import SortedJSON

/// The one JSON dialect PatchFleet speaks on the wire and on disk.
///
/// Sorted keys make the bytes stable, so identical commands produce identical
/// message bodies (useful for dedupe, signatures and golden tests). They are
/// Foundation's `JSONEncoder` bytes with `.sortedKeys`, written by
/// `SortedJSONEncoder`, which skips Foundation's intermediate tree (the
/// largest cost of a saga step: every step stores the saga's whole state).
public enum WireCoding {
    public static func prettyEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        try SortedJSONEncoder.encode(value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}

/// Coding key for the `kind` discriminator used by every wire enum.
enum KindCodingKey: String, CodingKey {
    case kind
}

extension KeyedDecodingContainer {
    /// Decodes an optional field, falling back to the documented default.
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
