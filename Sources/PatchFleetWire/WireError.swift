/// Why a message could not be encoded or decoded. Every case renders as one
/// sentence that names the exact property, header or body field at fault, so
/// the text can go straight into a dead-letter reason or a `job.rejected` event.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body is larger than the decoder accepts.
    case tooLarge(size: Int, limit: Int)
    /// The body is not JSON, or not a JSON object.
    case notJSON(detail: String)
    /// The schema is not one PatchFleet speaks.
    case unknownSchema(String)
    /// The schema is known but not in this version: never guessed at.
    case unsupportedVersion(schema: String, version: Int, supported: [Int])
    /// A message property (`message_id`, `type`, ...) is absent.
    case missingProperty(String)
    /// A property is present but unusable.
    case invalidProperty(name: String, reason: String)
    case missingHeader(String)
    case invalidHeader(name: String, reason: String)
    /// A body field is absent; `path` is dotted, e.g. `command.body.host`.
    case missingField(path: String)
    case invalidField(path: String, reason: String)
    /// Two places that must say the same thing do not (a header and the body).
    case mismatch(what: String, expected: String, found: String)
    /// A routing key that the broker would refuse (over 255 bytes).
    case routingKeyTooLong(String)
    /// Encoding a value failed (a non-finite number, for instance).
    case encodingFailed(String)

    public var description: String {
        switch self {
        case let .tooLarge(size, limit):
            "message body is \(size) bytes, over the limit of \(limit) bytes"
        case let .notJSON(detail):
            "message body is not a JSON object: \(detail)"
        case let .unknownSchema(name):
            "schema \(name) is not known (known: \(MessageSchema.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupportedVersion(schema, version, supported):
            "schema \(schema) version \(version) is not supported (supported: \(supported.map(String.init).joined(separator: ", ")))"
        case let .missingProperty(name):
            "property \(name) is missing"
        case let .invalidProperty(name, reason):
            "property \(name) \(reason)"
        case let .missingHeader(name):
            "header \(name) is missing"
        case let .invalidHeader(name, reason):
            "header \(name) \(reason)"
        case let .missingField(path):
            "body field \(path) is missing"
        case let .invalidField(path, reason):
            "body field \(path) \(reason)"
        case let .mismatch(what, expected, found):
            "\(what) disagree: expected '\(expected)', found '\(found)'"
        case let .routingKeyTooLong(key):
            "routing key is \(key.utf8.count) bytes, over AMQP's 255: \(key.prefix(60))..."
        case let .encodingFailed(detail):
            "cannot encode message: \(detail)"
        }
    }
}
