import AMQP
import PatchFleetCore
@testable import PatchFleetWire
import Testing

@Suite("Envelope and traceparent")
struct EnvelopeTests {
    static let full = Envelope(
        schema: SchemaID(.task), messageId: "m-1", correlationId: "job-1:hv01", causationId: "m-0", jobId: "job-1",
        cluster: "dc1", host: "hv01", step: "rebootHost", sagaVersion: 12, attempt: 2,
        idempotencyKey: "job-1:hv01:rebootHost:12", deadline: Instant(secondsSinceEpoch: 1_790_000_600.5),
        notBefore: Instant(secondsSinceEpoch: 1_790_000_060), traceparent: .random(), timestamp: 1_790_000_000,
        replyTo: "amq.rabbitmq.reply-to")

    @Test func roundTripsThroughProperties() throws {
        let properties = Self.full.amqpProperties
        #expect(properties.contentType == "application/json")
        #expect(properties.deliveryMode == .persistent)
        #expect(properties.type == "patchfleet.task")
        #expect(properties.messageId == "m-1")
        #expect(properties.correlationId == "job-1:hv01")
        #expect(properties.timestamp == 1_790_000_000)
        #expect(properties.headers?["x-pf-saga-version"]?.intValue == 12)
        #expect(properties.headers?["traceparent"]?.stringValue == Self.full.traceparent?.description)
        let decoded = try Envelope(properties: properties, requiring: Set(EnvelopeField.allCases))
        #expect(decoded == Self.full)
    }

    @Test func minimalEnvelopeRoundTrips() throws {
        let minimal = Envelope(schema: SchemaID(.jobSubmit), messageId: "s-1", jobId: "job-9")
        #expect(try Envelope(properties: minimal.amqpProperties) == minimal)
    }

    @Test func readsNumbersAndTimesSentAsStrings() throws {
        // What `amqp-publish -H` produces: every header a string.
        var properties = Self.full.amqpProperties
        properties.headers?["x-pf-saga-version"] = .string("12")
        properties.headers?["x-pf-attempt"] = .int8(2)
        properties.headers?["x-pf-deadline"] = .string("2026-09-21T14:03:20Z")
        let decoded = try Envelope(properties: properties)
        #expect(decoded.sagaVersion == 12)
        #expect(decoded.attempt == 2)
        #expect(decoded.deadline == Instant.parseISO8601("2026-09-21T14:03:20Z"))
    }

    @Test func missingRequiredHeaderIsNamed() {
        var properties = Self.full.amqpProperties
        properties.headers?["x-pf-saga-version"] = nil
        #expect(throws: WireError.missingHeader("x-pf-saga-version")) {
            try Envelope(properties: properties, requiring: [.sagaVersion])
        }
        #expect("\(WireError.missingHeader("x-pf-saga-version"))" == "header x-pf-saga-version is missing")
    }

    @Test func messageIdMayComeFromAHeader() throws {
        var properties = Self.full.amqpProperties
        properties.messageId = nil
        #expect(throws: WireError.missingProperty("message_id (or header x-pf-message-id)")) {
            try Envelope(properties: properties)
        }
        properties.headers?["x-pf-message-id"] = .string("from-header")
        #expect(try Envelope(properties: properties).messageId == "from-header")
    }

    @Test func unsupportedVersionIsRefusedWithTheSupportedList() {
        var properties = Self.full.amqpProperties
        properties.headers?["x-pf-schema-version"] = .int32(7)
        let error = WireError.unsupportedVersion(schema: "patchfleet.task", version: 7, supported: [1])
        #expect(throws: error) { try Envelope(properties: properties) }
        #expect(error.description == "schema patchfleet.task version 7 is not supported (supported: 1)")
    }

    @Test func headerContradictingTheBodyIsRefused() {
        let properties = Self.full.amqpProperties
        let facts = EnvelopeFacts(schema: SchemaID(.task), jobId: "job-1", host: "hv02")
        #expect(throws: WireError.mismatch(what: "x-pf-host and the body", expected: "hv02", found: "hv01")) {
            try Envelope(properties: properties, body: facts)
        }
    }

    @Test func generatedTraceparentsAreValidW3C() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<1_000 {
            let trace = Traceparent.random(using: &generator)
            let text = trace.description
            #expect(text.count == 55)
            #expect(text.hasPrefix("00-") && text.hasSuffix("-01"))
            #expect(try Traceparent(parsing: text) == trace)
            let child = trace.child(using: &generator)
            #expect(child.traceId == trace.traceId)
            #expect(child.parentId != trace.parentId)
        }
    }

    /// Ids are drawn eight bytes at a time; an all-zero draw (invalid by the
    /// standard) is drawn again, and the hex is the bytes, low byte first.
    @Test func allZeroIdsAreDrawnAgain() throws {
        struct Scripted: RandomNumberGenerator {
            var words: [UInt64]
            mutating func next() -> UInt64 { words.removeFirst() }
        }
        var generator = Scripted(words: [0, 0, 0x0807_0605_0403_0201, 0x100f_0e0d_0c0b_0a09, 0, 0xff])
        let trace = Traceparent.random(using: &generator)
        #expect(trace.traceId == "0102030405060708090a0b0c0d0e0f10")
        #expect(trace.parentId == "ff00000000000000")
        #expect(generator.words.isEmpty)
    }

    @Test(arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "must be version-traceid-parentid-flags"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "only 00 is supported"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "trace id must be 32 lowercase hex digits"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "trace id is all zeros"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "parent id is all zeros"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", "flags must be 2 lowercase hex digits"),
    ])
    func invalidTraceparentsAreExplained(text: String, expected: String) {
        do {
            _ = try Traceparent(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains("header traceparent"))
            #expect(error.description.contains(expected), "\(error)")
        }
    }
}
