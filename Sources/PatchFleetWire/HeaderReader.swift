import AMQP
import Foundation
import PatchFleetCore

/// Reads typed values from AMQP headers, leniently about representation and
/// strictly about meaning: other clients send numbers as any integer width or
/// as strings (`amqp-publish -H` can only send strings), so both are read, but
/// a value that means nothing is an error naming the header, never a default.
struct HeaderReader {
    let headers: AMQPFieldTable

    init(_ properties: AMQPProperties) {
        headers = properties.headers ?? AMQPFieldTable()
    }

    func string(_ name: String) throws(WireError) -> String? {
        guard let value = headers[name] else { return nil }
        if case .void = value { return nil }
        guard let text = value.stringValue else {
            throw .invalidHeader(name: name, reason: "must be a string, found \(Self.typeName(value))")
        }
        guard !text.isEmpty else { throw .invalidHeader(name: name, reason: "is empty") }
        return text
    }

    func int(_ name: String) throws(WireError) -> Int? {
        guard let value = headers[name] else { return nil }
        if case .void = value { return nil }
        if let n = value.intValue {
            guard let int = Int(exactly: n) else { throw .invalidHeader(name: name, reason: "is out of range") }
            return int
        }
        if let text = value.stringValue {
            guard let int = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw .invalidHeader(name: name, reason: "must be an integer, found '\(text.prefix(40))'")
            }
            return int
        }
        throw .invalidHeader(name: name, reason: "must be an integer, found \(Self.typeName(value))")
    }

    /// Seconds since the epoch (any number type, or a string of one) or an ISO 8601 string.
    func instant(_ name: String) throws(WireError) -> Instant? {
        guard let value = headers[name] else { return nil }
        let seconds: Double?
        switch value {
        case .void: return nil
        case .double(let d): seconds = d
        case .float(let f): seconds = Double(f)
        case .timestamp(let t): seconds = Double(t)
        default:
            if let n = value.intValue {
                seconds = Double(n)
            } else if let text = value.stringValue {
                if let d = Double(text) {
                    seconds = d
                } else if let parsed = Instant.parseISO8601(text) {
                    seconds = parsed.secondsSinceEpoch
                } else {
                    throw .invalidHeader(name: name, reason: "must be seconds since the epoch or an ISO 8601 time, found '\(text.prefix(40))'")
                }
            } else {
                throw .invalidHeader(name: name, reason: "must be a time, found \(Self.typeName(value))")
            }
        }
        guard let seconds, seconds.isFinite else { throw .invalidHeader(name: name, reason: "is not a finite time") }
        return Instant(secondsSinceEpoch: seconds)
    }

    static func typeName(_ value: AMQPFieldValue) -> String {
        switch value {
        case .bool: "a boolean"
        case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64: "an integer"
        case .float, .double, .decimal: "a number"
        case .string: "a string"
        case .bytes: "bytes"
        case .timestamp: "a timestamp"
        case .array: "an array"
        case .table: "a table"
        case .void: "void"
        }
    }
}
