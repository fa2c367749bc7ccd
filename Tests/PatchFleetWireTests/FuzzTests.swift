import AMQP
import Foundation
import PatchFleetCore
@testable import PatchFleetWire
import Testing

/// Property-style: whatever arrives, the decoder answers with a message or a
/// `WireError`, and never crashes or hangs. Seeded, so a failure reproduces.
@Suite("Decoder under random input")
struct FuzzTests {
    let decoder = WireDecoder()

    /// Valid messages of every schema, to mutate.
    static func seeds() throws -> [AMQPMessage] {
        let command = Fixtures.command(.deployUpdates(DeployRequest(host: "hv01", collection: "c", updateIds: ["KB1"])))
        let task = TaskMessage(command)
        let result = ResultMessage(answering: command, taskMessageId: "t", at: Fixtures.now, .updatesDeployed)
        let submission = JobSubmission(job: Fixtures.job, requestedBy: "me")
        let control = JobControlRequest(jobId: "job-1", action: .pause)
        return [
            try WireEncoder.encode(task, envelope: task.envelope(messageId: "t")),
            try WireEncoder.encode(result, envelope: result.envelope(messageId: "r", traceparent: .random())),
            try WireEncoder.encode(submission, envelope: submission.envelope(messageId: "s")),
            try WireEncoder.encode(control, envelope: control.envelope(messageId: "c")),
        ] + (try Fixtures.events.map { try WireEncoder.encode($0, envelope: $0.envelope(messageId: "e")) })
    }

    @Test func randomBytesAreAlwaysRefused() throws {
        var rng = SeededGenerator(seed: 0x5EED)
        let properties = try Fixtures.encodedTask().properties
        for i in 0..<5_000 {
            let count = Int.random(in: 0...600, using: &rng)
            let bytes = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
            // Alternate between a task's real properties and none at all.
            let props = i.isMultiple(of: 2) ? properties : AMQPProperties()
            #expect(throws: WireError.self) { try decoder.decode(body: bytes, properties: props) }
        }
    }

    @Test func mutatedMessagesDecodeOrFailCleanly() throws {
        var rng = SeededGenerator(seed: 0xC0FFEE)
        let seeds = try Self.seeds()
        var accepted = 0, refused = 0
        for _ in 0..<5_000 {
            var message = seeds.randomElement(using: &rng)!
            var bytes = [UInt8](message.body)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:  // flip a few bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:  // truncate
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 2:  // splice in a JSON token
                let tokens = ["null", "[]", "{}", "\"\"", "-1", "1e999", "true", "\"\\u0000\"", ",", ":"]
                let at = Int.random(in: 0...bytes.count, using: &rng)
                bytes.insert(contentsOf: Array(tokens.randomElement(using: &rng)!.utf8), at: at)
            default:  // break a header
                let names = ["x-pf-saga-version", "x-pf-job-id", "traceparent", "x-pf-attempt", "x-pf-deadline", "x-pf-schema-version"]
                let values: [AMQPFieldValue] = [.void, .bool(true), .string(""), .int64(-1), .double(.nan), .array([]),
                                                .string("00-zz"), .int64(.max)]
                message.properties.headers?[names.randomElement(using: &rng)!] = values.randomElement(using: &rng)!
            }
            do {
                _ = try decoder.decode(body: Data(bytes), properties: message.properties)
                accepted += 1
            } catch {
                #expect(!error.description.isEmpty)
                refused += 1
            }
        }
        #expect(accepted + refused == 5_000)
        #expect(refused > 2_500)
    }

    @Test func deepNestingIsRefusedNotACrash() throws {
        let properties = try Fixtures.encodedTask().properties
        let deep = Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        #expect(throws: WireError.self) { try decoder.decode(body: deep, properties: properties) }
        let deepObject = Data((#"{"schema":"patchfleet.task","schemaVersion":1,"command":"#
            + String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_001)).utf8)
        #expect(throws: WireError.self) { try decoder.decode(body: deepObject, properties: properties) }
    }
}
