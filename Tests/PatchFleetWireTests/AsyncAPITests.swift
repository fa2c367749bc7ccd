import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
@testable import PatchFleetWire
import Testing

/// docs/asyncapi.yaml against the code: its exchanges are the topology's, every
/// message the code publishes (with its routing key, type, headers and body)
/// fits a channel and a message of the document, every schema and version
/// the decoder reads is there, and nothing it lists is something the code
/// no longer does.
@Suite("docs/asyncapi.yaml")
struct AsyncAPITests {
    let library: SchemaLibrary
    let document: JSONValue
    let topology = FleetTopology()

    init() throws {
        library = try PublishedSchemas.library()
        document = try PublishedSchemas.asyncAPI()
    }

    var base: String { PublishedSchemas.asyncAPIPath }
    var channels: [String: JSONValue] { document["channels"]?.objectValue ?? [:] }
    var messages: [String: JSONValue] { document["components"]?["messages"]?.objectValue ?? [:] }

    @Test func isAsyncAPI3AndEveryReferenceResolves() throws {
        #expect(document["asyncapi"] == .string("3.0.0"))
        var refs: [String] = []
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if case .string(let ref)? = members["$ref"] { refs.append(ref) }
                members.values.forEach(collect)
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        collect(document)
        #expect(refs.count > 40)
        for ref in refs {
            #expect(throws: Never.self, "\(ref)") { _ = try library.location(ref, from: base) }
        }
        // And inside the schema files.
        for (path, schema) in library.documents where path != URL(fileURLWithPath: base).standardizedFileURL.path {
            refs = []
            collect(schema)
            for ref in refs {
                #expect(throws: Never.self, "\(ref) in \(path)") { _ = try library.location(ref, from: path) }
            }
        }
    }

    @Test func theExchangesAndQueuesAreTheTopologys() throws {
        for (name, channel) in channels {
            let binding = try #require(channel["bindings"]?["amqp"], "\(name) has no AMQP binding")
            switch binding["is"]?.stringValue {
            case "routingKey":
                let exchange = try #require(binding["exchange"])
                if exchange["name"] == .string("") {
                    #expect(exchange["type"] == .string("default"), "\(name)")
                    continue
                }
                let declared = topology.exchanges.first { .string($0.name) == exchange["name"] }
                #expect(declared != nil, "\(name): exchange \(String(describing: exchange["name"])) is not in the topology")
                if let declared {
                    #expect(exchange["type"] == .string(declared.kind.rawValue), "\(name): exchange type")
                    #expect(exchange["durable"] == .bool(declared.durable), "\(name): durable")
                }
            case "queue":
                let queue = try #require(binding["queue"]?["name"]?.stringValue)
                #expect(topology.queues.contains { $0.name == queue }, "\(name): queue \(queue) is not in the topology")
            default:
                Issue.record("\(name): binding is neither routingKey nor queue")
            }
        }
        #expect(channels["deadLetters"]?["bindings"]?["amqp"]?["queue"]?["name"] == .string(topology.deadQueue))
    }

    /// A channel's `x-patchfleet-queue` is the queue its routing key reaches,
    /// declared as the topology declares it (arguments such as the TTL included).
    @Test func theQueuesNamedAreDeclaredAsTheTopologyDoes() throws {
        var named = 0
        for (name, channel) in channels {
            guard let described = channel["x-patchfleet-queue"] else { continue }
            named += 1
            let queueName = try #require(described["name"]?.stringValue, "\(name)")
            let queue = try #require(topology.queues.first { $0.name == queueName }, "\(name): no queue \(queueName) in the topology")
            #expect(described["durable"] == .bool(queue.durable), "\(name)")
            #expect(described["exclusive"] == .bool(queue.exclusive), "\(name)")
            #expect(described["autoDelete"] == .bool(queue.autoDelete), "\(name)")
            #expect((described["arguments"] ?? .object([:])) == RenderedProperties.json(.table(queue.arguments)), "\(name): arguments")
            let exchange = try #require(channel["bindings"]?["amqp"]?["exchange"]?["name"]?.stringValue)
            let key = try #require(channel["address"]?.stringValue)
            #expect(topology.bindings.contains { $0.queue == queueName && $0.exchange == exchange && $0.routingKey == key },
                    "\(name): \(queueName) is not bound to \(exchange) with \(key)")
        }
        #expect(channels["jobQuery"]?["x-patchfleet-queue"]?["name"] == .string(topology.queriesQueue))
        #expect(named >= 1)
    }

    /// Every channel is some operation's (or an operation's reply's), and
    /// every operation names messages of its own channel.
    @Test func everyChannelHasAnOperation() throws {
        let operations = try #require(document["operations"]?.objectValue)
        var used: Set<String> = []
        for (name, operation) in operations {
            for part in [operation, operation["reply"]].compactMap({ $0 }) {
                let channelRef = try #require(part["channel"]?["$ref"]?.stringValue, "\(name)")
                let channel = String(channelRef.dropFirst("#/channels/".count))
                #expect(channels[channel] != nil, "\(name): \(channelRef)")
                used.insert(channel)
                for case .string(let ref)? in (part["messages"]?.arrayValue ?? []).map({ $0["$ref"] }) {
                    #expect(ref.hasPrefix("#/channels/\(channel)/messages/"), "\(name): \(ref) is not a message of \(channel)")
                    _ = try library.location(ref, from: base)
                }
            }
        }
        #expect(used == Set(channels.keys), "channels no operation uses: \(Set(channels.keys).subtracting(used).sorted())")
        #expect(operations["receiveJobQuery"]?["action"] == .string("receive"))
        #expect(operations["sendQueryAnswer"]?["action"] == .string("send"))
    }

    /// Every schema name and version the decoder reads is a message of the
    /// document whose payload says that name and version (and no other).
    @Test func everySchemaTheDecoderReadsIsThere() throws {
        for schema in MessageSchema.allCases {
            let described = messages.filter { $0.value["bindings"]?["amqp"]?["messageType"] == .string(schema.rawValue) }
            #expect(!described.isEmpty, "no message of type \(schema.rawValue)")
            for (name, message) in described {
                let payload = try #require(message["payload"]?["schema"]?["$ref"]?.stringValue, "\(name) payload")
                #expect(message["payload"]?["schemaFormat"] == .string("application/schema+json;version=draft-07"))
                let values = try library.declarations(from: try library.location(payload, from: base)).values
                func consts(_ field: String) -> Set<String> {
                    Set(values.filter { $0.location.pointer.hasSuffix("/properties/\(field)/const") }.map(\.name))
                }
                #expect(consts("schema") == ["\"\(schema.rawValue)\""], "\(name)")
                #expect(consts("schemaVersion") == Set(schema.supportedVersions.map(String.init)), "\(name)")
                #expect(message["name"] == .string(schema.rawValue), "\(name)")
            }
        }
    }

    /// Every `x-pf-*` header the document names is one PatchFleet reads or
    /// writes; every other name is an AMQP property or `traceparent`.
    @Test func everyHeaderNamedIsReal() throws {
        let full = Envelope(schema: SchemaID(.task), messageId: "m", correlationId: "c", causationId: "c", jobId: "j",
                            cluster: "c", host: "h", step: "s", sagaVersion: 1, attempt: 1, idempotencyKey: "k",
                            deadline: .epoch, notBefore: .epoch, traceparent: .random(), timestamp: 1, replyTo: "r")
        var known = Set((full.amqpProperties.headers ?? AMQPFieldTable()).map(\.key))
        known.formUnion([EnvelopeHeader.messageId, DeadLetterHeader.reason, DeadLetterHeader.queue, DeadLetterHeader.exchange,
                         DeadLetterHeader.routingKey])
        let schemas = try #require(document["components"]?["schemas"]?.objectValue)
        var named = 0
        for (schemaName, schema) in schemas where schemaName.hasSuffix("Headers") {
            for name in (schema["properties"]?.objectValue ?? [:]).keys {
                named += 1
                if name.hasPrefix("x-pf-") {
                    #expect(known.contains(name), "\(schemaName): \(name) is not a PatchFleet header")
                } else {
                    #expect(RenderedProperties.propertyNames.contains(name) || name == EnvelopeHeader.traceparent,
                            "\(schemaName): \(name) is neither an AMQP property nor traceparent")
                }
            }
        }
        #expect(named > 30)
        // The reply address is a property the submission's headers declare, and the one the coordinator answers to.
        let location = try #require(document["operations"]?["receiveJobSubmission"]?["reply"]?["address"]?["location"]?.stringValue)
        #expect(location == "$message.header#/reply_to")
        #expect(schemas["submissionHeaders"]?["properties"]?["reply_to"] != nil)
        // So is a question's, which needs one.
        let queryReply = try #require(document["operations"]?["receiveJobQuery"]?["reply"]?["address"]?["location"]?.stringValue)
        #expect(queryReply == "$message.header#/reply_to")
        #expect(schemas["queryHeaders"]?["required"]?.arrayValue?.contains(.string("reply_to")) == true)
    }

    /// A question about all jobs carries no job id header; one about a job
    /// carries its id; the answer carries one only when it lists exactly one
    /// job. A question without `reply_to`, which the coordinator dead-letters,
    /// is no message of the document.
    @Test func questionsAndAnswersCarryTheirHeaders() throws {
        let query = try library.node(at: try library.location("#/components/messages/jobQuery", from: base))
        for (index, question) in FullExamples.queries.enumerated() {
            let message = try FullExamples.encode(question, index: index, replyTo: "amq.gen-asker")
            #expect(message.properties.headers?[EnvelopeHeader.jobId]?.stringValue == question.jobId, "\(question)")
            #expect(try fitProblems(message, query).isEmpty, "\(question)")
            let unanswerable = try FullExamples.encode(question, index: index)
            let problems = try fitProblems(unanswerable, query)
            #expect(problems.contains { $0.contains("lacks required property reply_to") }, "\(problems)")
        }
        for (index, reply) in FullExamples.statuses.enumerated() {
            let answer = try Self.answer(reply, to: "query-\(index)", topology: topology)
            #expect(answer.message.properties.headers?[EnvelopeHeader.jobId]?.stringValue == (reply.jobs.count == 1 ? reply.jobs[0].id : nil))
            #expect(answer.message.properties.correlationId == "query-\(index)")
            #expect(answer.message.properties.headers?[EnvelopeHeader.causationId]?.stringValue == "query-\(index)")
        }
    }

    /// The answer to a message with `reply_to`, as the coordinator sends it.
    static func answer<M: WireMessage>(_ body: M, to messageId: String, topology: FleetTopology) throws -> AMQPConnection.Publication {
        topology.answer(try WireEncoder.encode(body, causationId: messageId), replyTo: "amq.gen-asker", correlationId: messageId)
    }

    /// Everything the code publishes, as it publishes it: each fits a channel
    /// (exchange, routing key with its parameters) and one of that channel's
    /// messages (type, headers, body). Then every channel and every parameter
    /// value is used by some publication.
    @Test func everyPublicationFitsAChannelAndEveryChannelIsUsed() throws {
        var publications: [(what: String, publication: AMQPConnection.Publication)] = []
        for (index, submission) in FullExamples.submissions.enumerated() {
            publications.append(("submission \(index)", topology.submission(try FullExamples.encode(submission, index: index, replyTo: "answers"))))
        }
        for control in FullExamples.controls {
            publications.append(("control \(control.action)", topology.control(control, try FullExamples.encode(control))))
        }
        for (index, event) in FullExamples.events.enumerated() {
            publications.append(("event \(event.routingKey)", try topology.event(event, try FullExamples.encode(event, index: index))))
            // A rejection is also the answer to the submission's reply_to, as the coordinator sends it.
            if case .jobRejected(let rejection) = event.event {
                publications.append(("answer", try Self.answer(event, to: rejection.submissionMessageId, topology: topology)))
            }
        }
        for (index, query) in FullExamples.queries.enumerated() {
            publications.append(("query \(query)", topology.query(try FullExamples.encode(query, index: index, replyTo: "amq.gen-asker"))))
        }
        for (index, reply) in FullExamples.statuses.enumerated() {
            publications.append(("status answer \(index)", try Self.answer(reply, to: "query-\(index)", topology: topology)))
        }
        for body in Fixtures.commandBodies {
            let task = TaskMessage(Fixtures.command(body))
            let message = try FullExamples.encode(task)
            if case .worker = body.kind.route {
                publications.append(("task \(body.kind)", try topology.task(task, message)))
            }
            let result = ResultMessage(answering: task.command, taskMessageId: "task-1", at: Fixtures.now, Fixtures.answer(to: body.kind))
            publications.append(("result \(body.kind)", topology.result(try FullExamples.encode(result))))
        }

        var channelsUsed: Set<String> = []
        var parameterValuesUsed: Set<String> = []
        for (what, publication) in publications {
            var fits: [String] = []
            var reasons: [String] = []
            for (channelName, channel) in channels {
                guard let exchange = channel["bindings"]?["amqp"]?["exchange"]?["name"],
                      exchange == .string(publication.exchange) else { continue }
                guard let parameters = Self.match(publication.routingKey, channel["address"], channel["parameters"]) else {
                    reasons.append("\(channelName): routing key \(publication.routingKey) does not fit \(String(describing: channel["address"]))")
                    continue
                }
                for (ref, _) in channel["messages"]?.objectValue ?? [:] {
                    let messageRef = try #require(channel["messages"]?[ref]?["$ref"]?.stringValue)
                    let message = try library.node(at: try library.location(messageRef, from: base))
                    let problems = try fitProblems(publication.message, message)
                    if problems.isEmpty {
                        fits.append("\(channelName)/\(ref)")
                        channelsUsed.insert(channelName)
                        for (name, value) in parameters { parameterValuesUsed.insert("\(channelName).\(name)=\(value)") }
                    } else {
                        reasons.append("\(channelName)/\(ref): \(problems.joined(separator: "; "))")
                    }
                }
            }
            #expect(fits.count == 1, "\(what) fits \(fits.isEmpty ? "no" : "\(fits.count)") channel message(s) \(fits):\n\(reasons.joined(separator: "\n"))")
        }

        let unused = Set(channels.keys).subtracting(channelsUsed).subtracting(["deadLetters"])
        #expect(unused.isEmpty, "channels no publication of the code uses: \(unused.sorted())")
        var declaredValues: Set<String> = []
        for (channelName, channel) in channels {
            for (name, parameter) in channel["parameters"]?.objectValue ?? [:] {
                for case .string(let value) in parameter["enum"]?.arrayValue ?? [] { declaredValues.insert("\(channelName).\(name)=\(value)") }
            }
        }
        let neverPublished = declaredValues.subtracting(parameterValuesUsed)
        #expect(neverPublished.isEmpty, "routing-key values the code never publishes: \(neverPublished.sorted())")
        // The control exchange's keys are the ones the coordinator's queue is bound with.
        let controlKeys = parameterValuesUsed.filter { $0.hasPrefix("jobControl.action=") }.map { "job." + $0.dropFirst("jobControl.action=".count) }
        #expect(Set(controlKeys + ["job.submit"]) == Set(FleetTopology.controlRoutingKeys))
    }

    /// Why `message` is not the document's `described` message (empty: it is).
    func fitProblems(_ message: AMQPMessage, _ described: JSONValue) throws -> [String] {
        var problems: [String] = []
        if described["bindings"]?["amqp"]?["messageType"] != message.properties.type.map(JSONValue.string) {
            problems.append("type \(message.properties.type ?? "none")")
            return problems
        }
        if let contentType = described["contentType"] ?? document["defaultContentType"],
           contentType != message.properties.contentType.map(JSONValue.string) {
            problems.append("content type \(message.properties.contentType ?? "none")")
        }
        let payload = try library.location(try #require(described["payload"]?["schema"]?["$ref"]?.stringValue), from: base)
        let body = library.validate(try JSONValue.parse(message.body), against: payload, strict: true)
        problems += body.errors.map { "body: \($0)" }
        if case .string(let ref)? = described["headers"]?["$ref"] {
            // What PatchFleet writes must be declared (strict) for what it
            // sends; what it reads may come with more (other headers are ignored).
            let outbound = [MessageSchema.event, .jobStatus].map(\.rawValue).contains(message.properties.type ?? "")
            let headers = library.validate(RenderedProperties.json(message.properties), against: try library.location(ref, from: base),
                                           strict: outbound)
            problems += headers.errors.map { "headers: \($0)" }
        }
        return problems
    }

    /// The parameters, if `key` fits the channel address (`job.{jobId}.{state}`):
    /// the same number of words, literal words equal, a parameter's word one of
    /// its `enum` if it has one. A null address (a reply queue) fits any key.
    static func match(_ key: String, _ address: JSONValue?, _ parameters: JSONValue?) -> [String: String]? {
        guard case .string(let template)? = address else { return address == .null ? [:] : nil }
        let words = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let pattern = template.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard words.count == pattern.count else { return nil }
        var values: [String: String] = [:]
        for (word, part) in zip(words, pattern) {
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let name = String(part.dropFirst().dropLast())
                guard !word.isEmpty, let parameter = parameters?[name] else { return nil }
                if let allowed = parameter["enum"]?.arrayValue, !allowed.contains(.string(word)) { return nil }
                values[name] = word
            } else if part != word {
                return nil
            }
        }
        return values
    }
}
