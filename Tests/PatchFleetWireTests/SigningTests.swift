import AMQP
import Crypto
import Foundation
import PatchFleetCore
import PatchFleetWire
import Testing

/// The signature scheme on its own: what it covers, how keys rotate, and
/// how a keyring file is read.
@Suite("Signed tasks and results")
struct SigningTests {
    static let k1 = Data(repeating: 0x11, count: 32)
    static let k2 = Data(repeating: 0x22, count: 32)

    static func task() throws -> AMQPMessage {
        let task = Fixtures.taskMessage(.enterMaintenance(MaintenanceRequest(host: "hv01")))
        return try WireEncoder.encode(task, messageId: "task-1", deadline: Instant(secondsSinceEpoch: 1_900_000_000))
    }

    @Test func aSignedMessageVerifiesAndAnyChangeToWhatItSaysBreaksIt() throws {
        let signer = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1)], signingKeyId: "k1")
        let signed = signer.signed(try Self.task())
        #expect(throws: Never.self) { try signer.verify(signed.properties, body: signed.body) }

        var body = signed
        body.body.append(contentsOf: Array(" ".utf8))
        var host = signed
        host.properties.headers?[EnvelopeHeader.host] = .string("hv02")
        var typed = signed
        // The same digits as a string are another value: types are signed too.
        if case .int64(let version)? = typed.properties.headers?[EnvelopeHeader.sagaVersion] {
            typed.properties.headers?[EnvelopeHeader.sagaVersion] = .string(String(version))
        }
        var deadline = signed
        deadline.properties.headers?[EnvelopeHeader.deadline] = .double(1_999_999_999)
        var messageId = signed
        messageId.properties.messageId = "task-2"
        for (what, altered) in [("body", body), ("host", host), ("header type", typed), ("deadline", deadline), ("message id", messageId)] {
            #expect(throws: SigningError.self, "altered \(what) must not verify") { try signer.verify(altered.properties, body: altered.body) }
        }
        #expect(typed.properties.headers?[EnvelopeHeader.sagaVersion] != signed.properties.headers?[EnvelopeHeader.sagaVersion],
                "the fixture has a saga version to re-type")
    }

    /// The signed form is a wire contract: a coordinator and workers of
    /// different builds (a rolling upgrade) must sign alike. This rebuilds
    /// it the plain way, from the scheme's description, escapes included.
    /// (Only a value with a newline or backslash right before a combining
    /// mark signs differently from the build before 2026-11-29; such a
    /// message fails closed, dead-lettered as not matching.)
    @Test func theSignedFormIsTheDocumentedOneEscapesIncluded() throws {
        let signer = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1)], signingKeyId: "k1")
        var message = try Self.task()
        // A newline before a combining mark too: the escaping is literal (byte
        // for byte), unlike Foundation's default search, which the build
        // before 2026-11-29 used and which left that newline unescaped.
        message.properties.replyTo = "back\\slash\nnewline\n\u{301}"
        message.properties.correlationId = nil
        let signed = signer.signed(message)
        let headers = signed.properties.headers ?? AMQPFieldTable()
        func line(_ name: String, _ value: String?) -> String {
            let escaped = value.map {
                $0.replacingOccurrences(of: "\\", with: "\\\\", options: .literal)
                    .replacingOccurrences(of: "\n", with: "\\n", options: .literal)
            }
            return "\(name)=\(escaped.map { "+\($0)" } ?? "-")"
        }
        func rendered(_ value: AMQPFieldValue) -> String {
            switch value {
            case .string(let s): "s:\(s)"
            case .int64(let v): "i:\(v)"
            case .int32(let v): "i:\(v)"
            case .double(let v): "d:\(v.bitPattern)"
            default: "unexpected \(value)"
            }
        }
        let covered = [EnvelopeHeader.schemaVersion, EnvelopeHeader.messageId, EnvelopeHeader.causationId, EnvelopeHeader.jobId,
                       EnvelopeHeader.cluster, EnvelopeHeader.host, EnvelopeHeader.step, EnvelopeHeader.sagaVersion,
                       EnvelopeHeader.attempt, EnvelopeHeader.idempotencyKey, EnvelopeHeader.deadline, EnvelopeHeader.notBefore,
                       EnvelopeHeader.traceparent, MessageSigner.keyIdHeader]
        let lines = ["patchfleet-signature-v1",
                     line("message_id", signed.properties.messageId), line("correlation_id", nil),
                     line("type", signed.properties.type), line("content_type", signed.properties.contentType),
                     line("reply_to", "back\\slash\nnewline\n\u{301}")]
            + covered.map { line($0, headers[$0].map(rendered)) }
            + ["body-sha256=" + SHA256.hash(data: signed.body).map { String(format: "%02x", $0) }.joined()]
        let expected = HMAC<SHA256>.authenticationCode(for: Data(lines.joined(separator: "\n").utf8), using: SymmetricKey(data: Self.k1))
        #expect(headers[MessageSigner.signatureHeader] == .string("hmac-sha256-v1=\(Data(expected).base64EncodedString())"))
        #expect(!lines.contains { $0.contains("unexpected") }, "every covered header of the fixture has a rendered type")
    }

    @Test func keysRotateWithoutAStopAndRetiredKeysAreRefused() throws {
        let before = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1)], signingKeyId: "k1")
        // Step 1: k2 added everywhere, k1 still signs. Step 2: k2 signs, k1 still verifies.
        let during = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1), try .init(id: "k2", secret: Self.k2)], signingKeyId: "k2")
        // Step 3: k1 retired.
        let after = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1, retired: true), try .init(id: "k2", secret: Self.k2)],
                                      signingKeyId: "k2")
        let old = before.signed(try Self.task())
        let new = during.signed(try Self.task())
        #expect(throws: Never.self) { try during.verify(old.properties, body: old.body) }
        #expect(throws: Never.self) { try after.verify(new.properties, body: new.body) }
        #expect(throws: SigningError("signed with the retired key 'k1'")) { try after.verify(old.properties, body: old.body) }
        #expect(throws: SigningError("signed with an unknown key 'k2'")) { try before.verify(new.properties, body: new.body) }
        let unsigned = try Self.task()
        #expect(throws: SigningError.self) { try after.verify(unsigned.properties, body: unsigned.body) }
        #expect(throws: SigningError.self, "a retired key may not sign") {
            _ = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1, retired: true)], signingKeyId: "k1")
        }
        #expect(throws: SigningError.self, "16 bytes is too short for HMAC-SHA256") { _ = try MessageSigner.Key(id: "k", secret: Data(count: 16)) }
    }

    @Test func aKeyringFileNamesItsSecretFilesAndItsMistakes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyring-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ text: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        _ = try write("k1.key", Self.k1.base64EncodedString() + "\n")
        _ = try write("k2.key", Keyring.newSecret())
        let ring = try write("keyring.yaml", """
            signing: k2
            keys:
              - id: k2
                secretFile: k2.key
              - id: k1
                secretFile: k1.key
                retired: true
            """)
        let signer = try Keyring.load(path: ring)
        #expect(signer.signingKeyId == "k2")
        let fromK1 = try MessageSigner(keys: [try .init(id: "k1", secret: Self.k1)], signingKeyId: "k1").signed(try Self.task())
        #expect(throws: SigningError("signed with the retired key 'k1'")) { try signer.verify(fromK1.properties, body: fromK1.body) }

        let missing = try write("missing.yaml", "signing: k3\nkeys:\n  - id: k3\n    secretFile: nope.key\n")
        #expect { try Keyring.load(path: missing) } throws: { "\($0)".contains("cannot read the secret of key 'k3'") }
        _ = try write("short.key", Data(count: 8).base64EncodedString())
        let short = try write("short.yaml", "signing: k4\nkeys:\n  - id: k4\n    secretFile: short.key\n")
        #expect { try Keyring.load(path: short) } throws: { "\($0)".contains("at least 32") }
        let wrongSigner = try write("wrong.yaml", "signing: k9\nkeys:\n  - id: k2\n    secretFile: k2.key\n")
        #expect { try Keyring.load(path: wrongSigner) } throws: { "\($0)".contains("'k9' is not in the keyring") }
    }
}
