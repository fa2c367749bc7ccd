import AMQP
import Foundation
import PatchFleetCore
@testable import PatchFleetWire
import Testing

/// Each broken input must be refused with a message naming what is wrong.
@Suite("Malformed input")
struct MalformedInputTests {
    let decoder = WireDecoder()

    private func error(_ body: Data, _ properties: AMQPProperties) -> WireError? {
        do {
            _ = try decoder.decode(body: body, properties: properties)
            return nil
        } catch {
            return error
        }
    }

    /// The valid task with its JSON body edited by `edit`.
    private func task(_ edit: (inout [String: Any]) -> Void) throws -> (Data, AMQPProperties) {
        let message = try Fixtures.encodedTask()
        var json = try Fixtures.json(message)
        edit(&json)
        return (try Fixtures.data(json), message.properties)
    }

    private func expectError(_ input: (Data, AMQPProperties), _ fragments: String...,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = error(input.0, input.1) else {
            Issue.record("accepted", sourceLocation: sourceLocation)
            return
        }
        for fragment in fragments {
            #expect(error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", sourceLocation: sourceLocation)
        }
    }

    @Test func notJSON() throws {
        let properties = try Fixtures.encodedTask().properties
        expectError((Data("reboot hv01 please".utf8), properties), "message body is not a JSON object")
        expectError((Data("[1,2,3]".utf8), properties), "not a JSON object", "top level must be an object")
        expectError((Data(), properties), "the body is empty")
        expectError((Data(#"{"schema":"patchfleet.task","#.utf8), properties), "not a JSON object")
    }

    @Test func oversized() throws {
        let message = try Fixtures.encodedTask()
        let small = WireDecoder(maxBodyBytes: 64)
        #expect(throws: WireError.tooLarge(size: message.body.count, limit: 64)) { try small.decode(message) }
        let huge = Data(repeating: UInt8(ascii: " "), count: WireDecoder.defaultMaxBodyBytes + 1)
        expectError((huge, message.properties), "message body is 1048577 bytes, over the limit of 1048576 bytes")
    }

    @Test func schemaProblems() throws {
        expectError(try task { $0["schema"] = nil }, "body field schema is missing")
        expectError(try task { $0["schemaVersion"] = nil }, "body field schemaVersion is missing")
        expectError(try task { $0["schema"] = "patchfleet.telepathy" }, "schema patchfleet.telepathy is not known")
        expectError(try task { $0["schemaVersion"] = 7 },
                    "schema patchfleet.task version 7 is not supported (supported: 1)")
        expectError(try task { $0["schemaVersion"] = "1" }, "body field schemaVersion must be an integer")
        expectError(try task { $0["schema"] = "patchfleet.result" },
                    "property type and body field schema disagree", "expected 'patchfleet.result'", "found 'patchfleet.task'")
    }

    @Test func unknownVersionInTheHeaderIsNotGuessed() throws {
        var message = try Fixtures.encodedTask()
        message.properties.headers?["x-pf-schema-version"] = .int64(2)
        expectError((message.body, message.properties), "header x-pf-schema-version and body field schemaVersion disagree")
    }

    @Test func missingFieldsAreNamedByPath() throws {
        expectError(try task { $0["command"] = nil }, "body field command is missing")
        expectError(try task { json in
            var command = json["command"] as! [String: Any]
            var body = command["body"] as! [String: Any]
            body["host"] = nil
            command["body"] = body
            json["command"] = command
        }, "body field command.body.host is missing")
        expectError(try task { json in
            var command = json["command"] as! [String: Any]
            command["body"] = ["kind": "frobnicate", "host": "hv01"]
            json["command"] = command
        }, "body field command.body.kind is invalid", "frobnicate")
    }

    @Test func wrongTypesAreNamedByPath() throws {
        expectError(try task { json in
            var command = json["command"] as! [String: Any]
            command["sagaVersion"] = "seven"
            json["command"] = command
        }, "body field command.sagaVersion must be an integer")
        expectError(try task { json in
            var command = json["command"] as! [String: Any]
            command["body"] = ["kind": "deployUpdates", "host": "hv01", "collection": "c", "updateIds": ["KB1", 2]]
            json["command"] = command
        }, "body field command.body.updateIds[1] must be a string")
        expectError(try task { $0["command"] = [1, 2] }, "body field command must be")
    }

    @Test func inconsistentBodiesAreRefused() throws {
        expectError(try task { json in
            var command = json["command"] as! [String: Any]
            command["idempotencyKey"] = "job-1:hv01:rebootHost:1"
            json["command"] = command
        }, "body field command.idempotencyKey is 'job-1:hv01:rebootHost:1' but sagaId:step:sagaVersion is")
        let command = Fixtures.command(.rebootHost(HostRef(host: "hv01")))
        let wrong = ResultMessage(answering: command, taskMessageId: "t-1", at: Fixtures.now, .updatesDeployed)
        let message = try AMQPMessage(body: WireCoding.encode(SchemaTagged(message: wrong, version: 1)),
                                      properties: wrong.envelope(messageId: "r", traceparent: .random()).amqpProperties)
        expectError((message.body, message.properties),
                    "body field event.kind is updatesDeployed, which does not answer a rebootHost task")
    }

    @Test(arguments: [
        ("x-pf-saga-version", "header x-pf-saga-version is missing"),
        ("x-pf-job-id", "header x-pf-job-id is missing"),
        ("x-pf-idempotency-key", "header x-pf-idempotency-key is missing"),
        ("x-pf-step", "header x-pf-step is missing"),
        ("traceparent", "header traceparent is missing"),
    ])
    func missingHeadersOnATask(header: String, expected: String) throws {
        var message = try Fixtures.encodedTask()
        message.properties.headers?[header] = nil
        expectError((message.body, message.properties), expected)
    }

    @Test func missingAndBadProperties() throws {
        var message = try Fixtures.encodedTask()
        message.properties.correlationId = nil
        expectError((message.body, message.properties), "property correlation_id is missing")
        message = try Fixtures.encodedTask()
        message.properties.messageId = nil
        expectError((message.body, message.properties), "property message_id (or header x-pf-message-id) is missing")
        message = try Fixtures.encodedTask()
        message.properties.headers?["x-pf-saga-version"] = .string("seven")
        expectError((message.body, message.properties), "header x-pf-saga-version must be an integer, found 'seven'")
        message = try Fixtures.encodedTask()
        message.properties.headers?["x-pf-host"] = .string("hv02")
        expectError((message.body, message.properties), "x-pf-host and the body disagree: expected 'hv01', found 'hv02'")
        message = try Fixtures.encodedTask()
        message.properties.headers?["traceparent"] = .string("garbage")
        expectError((message.body, message.properties), "header traceparent 'garbage' must be version-traceid-parentid-flags")
    }

    @Test func foreignContentIsNotGuessedAt() throws {
        var message = try Fixtures.encodedTask()
        message.properties.contentType = "application/xml"
        expectError((message.body, message.properties), "property content_type is 'application/xml'; PatchFleet reads application/json")
        message.properties.contentType = "application/json; charset=utf-8"
        message.properties.contentEncoding = "gzip"
        expectError((message.body, message.properties), "property content_encoding is 'gzip'")
        message.properties.contentEncoding = nil
        message.properties.contentType = nil
        #expect(throws: Never.self) { try decoder.decode(message) }
    }

    @Test func misspeltOptionsInASubmissionAreProblemsNotDefaults() throws {
        let body = Data(#"""
        {"schema":"patchfleet.job.submit","schemaVersion":1,"requestedby":"me",
         "job":{"schemaVersion":1,"id":"job-7","targets":{"hosts":["hv01"]},"updates":{"updateIds":["KB1"]},
                "policy":{"maxUnavailablePerClustr":2,"maxFailedHosts":0}}}
        """#.utf8)
        // Structurally fine: the coordinator answers with job.rejected, not a dead letter.
        #expect(throws: Never.self) { try decoder.decode(body: body, properties: AMQPProperties(messageId: "s")) }
        let problems = JobSubmission.validationProblems(body: body).map(\.description)
        #expect(problems.contains("requestedby is not a known option"), "\(problems)")
        #expect(problems.contains("policy.maxUnavailablePerClustr is not a known option"), "\(problems)")
        #expect(problems.contains { $0.hasPrefix("policy.maxFailedHosts") }, "\(problems)")
    }

    @Test func submissionFromAnotherSystemNeedsOnlyAMessageId() throws {
        let body = Data(#"""
        {"schema":"patchfleet.job.submit","schemaVersion":1,
         "job":{"schemaVersion":1,"id":"job-7","targets":{"hosts":["hv01"]},"updates":{"updateIds":["KB1"]}}}
        """#.utf8)
        expectError((body, AMQPProperties()), "property message_id (or header x-pf-message-id) is missing")
        let decoded = try decoder.decode(body: body, properties: AMQPProperties(headers: ["x-pf-message-id": .string("sub-7")]))
        guard case .jobSubmission(let submission, let envelope) = decoded else {
            Issue.record("not a submission")
            return
        }
        #expect(submission.job.id == "job-7")
        #expect(envelope.jobId == "job-7")
        #expect(envelope.messageId == "sub-7")
        #expect(envelope.traceparent == nil)
        let badJob = Data(String(decoding: body, as: UTF8.self).replacingOccurrences(of: #""schemaVersion":1,"id""#,
                                                                                      with: #""schemaVersion":3,"id""#).utf8)
        expectError((badJob, AMQPProperties(messageId: "s")), "body field job.schemaVersion is 3; supported: 1")
    }
}
