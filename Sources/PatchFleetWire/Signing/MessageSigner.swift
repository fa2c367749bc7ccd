import AMQP
import Crypto
import Foundation

/// HMAC-SHA256 signatures on the messages that make the fleet act: tasks
/// (coordinator to workers) and results (workers to coordinator). The
/// signature covers the body and every header that says what to do to
/// what (job, host, step, saga version, attempt, idempotency key, deadline)
/// plus the AMQP properties that name the message, so a signed task cannot
/// be re-aimed at another host or replayed past its deadline without the key.
///
/// Keys carry an id (`x-pf-key-id`) so they can rotate: every key in the
/// keyring that is not retired verifies; `current` signs. A message signed
/// with a retired or unknown key, unsigned, or whose signature does not
/// match is refused with the reason.
public struct MessageSigner: Sendable {
    public static let keyIdHeader = "x-pf-key-id"
    public static let signatureHeader = "x-pf-signature"
    /// The scheme tag in the signature header, so a later scheme can coexist.
    static let scheme = "hmac-sha256-v1"

    public struct Key: Sendable {
        public var id: String
        let secret: SymmetricKey
        /// Still known (so its messages are named as retired) but refused.
        public var retired: Bool

        public init(id: String, secret: Data, retired: Bool = false) throws(SigningError) {
            guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw SigningError("key id '\(id)' must be letters, digits, '-', '_' or '.'")
            }
            guard secret.count >= 32 else {
                throw SigningError("key '\(id)' has \(secret.count) bytes of secret; at least 32 are needed for HMAC-SHA256")
            }
            self.id = id
            self.secret = SymmetricKey(data: secret)
            self.retired = retired
        }
    }

    public let signingKeyId: String
    private let keys: [String: Key]

    public init(keys: [Key], signingKeyId: String) throws(SigningError) {
        var byId: [String: Key] = [:]
        for key in keys {
            guard byId[key.id] == nil else { throw SigningError("key id '\(key.id)' appears twice") }
            byId[key.id] = key
        }
        guard let signing = byId[signingKeyId] else { throw SigningError("the signing key '\(signingKeyId)' is not in the keyring") }
        guard !signing.retired else { throw SigningError("the signing key '\(signingKeyId)' is retired") }
        self.keys = byId
        self.signingKeyId = signingKeyId
    }

    /// Adds the key id and the signature to `message` (replacing any).
    public func sign(_ message: inout AMQPMessage) {
        var headers = message.properties.headers ?? AMQPFieldTable()
        headers[Self.keyIdHeader] = .string(signingKeyId)
        headers[Self.signatureHeader] = nil
        message.properties.headers = headers
        let key = keys[signingKeyId]!.secret  // init checked it is there
        let mac = HMAC<SHA256>.authenticationCode(for: Self.canonical(message.properties, body: message.body), using: key)
        headers[Self.signatureHeader] = .string("\(Self.scheme)=\(Data(mac).base64EncodedString())")
        message.properties.headers = headers
    }

    public func signed(_ message: AMQPMessage) -> AMQPMessage {
        var copy = message
        sign(&copy)
        return copy
    }

    /// Checks the signature of a received message; the error says why not.
    public func verify(_ properties: AMQPProperties, body: Data) throws(SigningError) {
        let headers = properties.headers ?? AMQPFieldTable()
        guard case .string(let keyId)? = headers[Self.keyIdHeader], case .string(let signature)? = headers[Self.signatureHeader] else {
            throw SigningError("unsigned: no \(Self.keyIdHeader) / \(Self.signatureHeader) header")
        }
        guard let key = keys[keyId] else { throw SigningError("signed with an unknown key '\(keyId)'") }
        guard !key.retired else { throw SigningError("signed with the retired key '\(keyId)'") }
        let prefix = "\(Self.scheme)="
        guard signature.hasPrefix(prefix), let mac = Data(base64Encoded: String(signature.dropFirst(prefix.count))) else {
            throw SigningError("the signature is not \(Self.scheme)=<base64>")
        }
        var unsigned = properties
        var stripped = headers
        stripped[Self.signatureHeader] = nil
        unsigned.headers = stripped
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.canonical(unsigned, body: body), using: key.secret) else {
            throw SigningError("the signature does not match (forged, altered in transit, or signed with another secret under key id '\(keyId)')")
        }
    }

    /// The headers a signature covers (every x-pf- header PatchFleet sets but
    /// the delay routing, which the broker's delay path may rewrite).
    static let coveredHeaders = [
        EnvelopeHeader.schemaVersion, EnvelopeHeader.messageId, EnvelopeHeader.causationId, EnvelopeHeader.jobId,
        EnvelopeHeader.cluster, EnvelopeHeader.host, EnvelopeHeader.step, EnvelopeHeader.sagaVersion, EnvelopeHeader.attempt,
        EnvelopeHeader.idempotencyKey, EnvelopeHeader.deadline, EnvelopeHeader.notBefore, EnvelopeHeader.traceparent, keyIdHeader,
    ]

    /// One line per covered field, then the body's SHA-256: unambiguous
    /// (names are fixed, values cannot contain the newline that ends them:
    /// they are rendered with their type and newlines escaped).
    static func canonical(_ properties: AMQPProperties, body: Data) -> Data {
        // Built byte by byte: this runs for every task and result on both
        // ends, and Foundation's `replacingOccurrences` and
        // `String(format:)` per digest byte were most of its cost.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        bytes.append(contentsOf: "patchfleet-signature-v1".utf8)
        func add(_ name: String, _ value: String?) {
            bytes.append(UInt8(ascii: "\n"))
            bytes.append(contentsOf: name.utf8)
            bytes.append(UInt8(ascii: "="))
            guard let value else {
                bytes.append(UInt8(ascii: "-"))
                return
            }
            bytes.append(UInt8(ascii: "+"))
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                default: bytes.append(byte)
                }
            }
        }
        add("message_id", properties.messageId)
        add("correlation_id", properties.correlationId)
        add("type", properties.type)
        add("content_type", properties.contentType)
        add("reply_to", properties.replyTo)
        let headers = properties.headers ?? AMQPFieldTable()
        for name in coveredHeaders { add(name, headers[name].map(render)) }
        bytes.append(contentsOf: "\nbody-sha256=".utf8)
        for byte in SHA256.hash(data: body) {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0f)])
        }
        return Data(bytes)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A header value with its type, so `"5"` and `5` never sign alike.
    static func render(_ value: AMQPFieldValue) -> String {
        switch value {
        case .string(let s): "s:\(s)"
        case .int8(let v): "i:\(v)"
        case .uint8(let v): "i:\(v)"
        case .int16(let v): "i:\(v)"
        case .uint16(let v): "i:\(v)"
        case .int32(let v): "i:\(v)"
        case .uint32(let v): "i:\(v)"
        case .int64(let v): "i:\(v)"
        case .double(let v): "d:\(v.bitPattern)"
        case .float(let v): "f:\(v.bitPattern)"
        case .bool(let v): "b:\(v)"
        case .timestamp(let v): "t:\(v)"
        default: "x:\(value)"
        }
    }
}

public struct SigningError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
