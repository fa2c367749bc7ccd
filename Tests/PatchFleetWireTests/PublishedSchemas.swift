import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
@testable import PatchFleetWire
import Testing
import Yams

/// The published contract: docs/schemas/*.schema.json and docs/asyncapi.yaml.
enum PublishedSchemas {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")
    static let directory = docs.appendingPathComponent("schemas")
    static let asyncAPIPath = docs.appendingPathComponent("asyncapi.yaml").path

    /// The public body schemas; tasks and results are PatchFleet's own business.
    static func file(for schema: MessageSchema) -> String? {
        switch schema {
        case .jobSubmit: "job-submission.schema.json"
        case .jobControl: "job-control.schema.json"
        case .event: "event.schema.json"
        case .jobQuery: "job-query.schema.json"
        case .jobStatus: "job-status.schema.json"
        case .task, .result: nil
        }
    }

    static let jobSpecFile = "job-spec.schema.json"

    /// Every schema file, plus docs/asyncapi.yaml (whose inline schemas and
    /// `$ref`s to the files resolve like the files' own).
    static func library() throws -> SchemaLibrary {
        var library = try SchemaLibrary(directory: directory)
        library.add(try asyncAPI(), path: asyncAPIPath)
        return library
    }

    static func asyncAPI() throws -> JSONValue {
        try JSONValue(yaml: try Yams.load(yaml: String(contentsOfFile: asyncAPIPath, encoding: .utf8)))
    }

    static func root(_ file: String, _ library: SchemaLibrary) throws -> SchemaLocation {
        try library.root(directory.appendingPathComponent(file).path)
    }
}

/// Messages built by the Swift code with every optional field set and every
/// case of every enum used somewhere, so a schema that lacks a field or a
/// value the code writes, or declares one the code no longer writes, fails.
enum FullExamples {
    static let at = Instant(secondsSinceEpoch: 1_795_000_100.5)

    static func cycle<E: CaseIterable>(_ type: E.Type, _ index: Int) -> E {
        let cases = Array(E.allCases)
        return cases[index % cases.count]
    }

    /// Enough variants for every case of the policy's enums and every kind of target.
    static var variants: Int {
        [NonHighlyAvailableVMPolicy.allCases.count, StoppedHighlyAvailableVMPolicy.allCases.count,
         FailbackPolicy.allCases.count, StandaloneHostPolicy.allCases.count, FailurePolicy.allCases.count, 3].max()!
    }

    static func policy(_ index: Int) -> Policy {
        var policy = Policy()
        policy.maxUnavailablePerCluster = 2
        policy.maxParallelClusters = 3
        policy.nonHighlyAvailableVMs = cycle(NonHighlyAvailableVMPolicy.self, index)
        policy.stoppedHighlyAvailableVMs = cycle(StoppedHighlyAvailableVMPolicy.self, index)
        policy.failback = cycle(FailbackPolicy.self, index)
        policy.standaloneHosts = cycle(StandaloneHostPolicy.self, index)
        policy.onFailure = cycle(FailurePolicy.self, index)
        policy.maxFailedHosts = 2
        policy.maxRetriesPerHost = 1
        policy.retryBackoffSeconds = 30
        policy.maxRebootsPerHost = 2
        policy.rebootTimeoutSeconds = 1200
        policy.installTimeoutSeconds = 5400
        policy.drainTimeoutSeconds = 2400
        policy.vmMigrationTimeoutSeconds = 600
        policy.pollIntervalSeconds = 30
        // Every drain method, holdHost last (the only place it may be).
        policy.migrationFallback = DrainMethod.allCases.filter { $0 != .holdHost } + [.holdHost]
        policy.vmOverrides = [VMOverride(name: "sql-legacy", fallback: [.liveMigrate, .shutDown, .holdHost]),
                              VMOverride(tag: "web", fallback: [.quickMigrate, .saveState])]
        policy.capacityHeadroomPercent = 20
        policy.settleDelaySeconds = 120
        policy.maintenanceWindow = MaintenanceWindow(start: Instant(secondsSinceEpoch: 1_795_000_000),
                                                     end: Instant(secondsSinceEpoch: 1_795_028_800))
        policy.dryRun = index % 2 == 1
        policy.estimates = DurationEstimates(liveMigrationMBPerSecond: 500, perVMOverheadSeconds: 10, installSeconds: 1800,
                                             rebootSeconds: 300, healthCheckSeconds: 30)
        return policy
    }

    static func job(_ index: Int) -> JobSpec {
        let targets = switch index % 3 {
        case 0: JobTargets(collection: "VM Hosts in Building 44")
        case 1: JobTargets(clusters: ["Seattle", "dc1.prod"])
        default: JobTargets(hosts: ["SEA-H1", "BRANCH-01"])
        }
        return JobSpec(id: "job-\(index)", targets: targets,
                       updates: UpdateSelection(updateList: "2026-11 Cumulative Update", updateIds: ["KB5046613", "KB5046540"],
                                                deploymentCollection: "PatchFleet wave \(index)"),
                       policy: policy(index))
    }

    static var submissions: [JobSubmission] {
        (0..<variants).map { JobSubmission(job: job($0), requestedBy: "change CHG00\($0)") }
    }

    static var controls: [JobControlRequest] {
        JobControlRequest.Action.allCases.map { JobControlRequest(jobId: "job-1", action: $0, reason: "change freeze", requestedBy: "ops") }
    }

    static var events: [FleetEvent] {
        var events = JobState.allCases.map { FleetEvent(at: at, .job(JobStateChange(jobId: "job-1", state: $0, reason: "why"))) }
        for phase in SagaPhase.allCases where phase != .done {
            events.append(FleetEvent(at: at, .host(HostStateChange(jobId: "job-1", host: "hv01", cluster: "dc1.prod", phase: phase))))
        }
        for (index, kind) in HostOutcome.Kind.allCases.enumerated() {
            let outcome = HostOutcome(kind: kind, reason: "because \(kind)", inMaintenance: index % 2 == 0,
                                      countsAsFailure: index % 2 == 1)
            // Standalone hosts too: their cluster is absent.
            events.append(FleetEvent(at: at, .host(HostStateChange(jobId: "job-1", host: "hv0\(index)", cluster: index == 0 ? nil : "dc1.prod",
                                                                   phase: .done, outcome: outcome, reason: outcome.reason))))
        }
        events.append(FleetEvent(at: at, .jobRejected(JobRejection(jobId: "job-2", submissionMessageId: "sub-2", problems: [
            ValidationProblem(path: "targets.clusters[1]", message: "names unknown cluster 'Atlantis'"),
            ValidationProblem(path: "", message: "cannot record the job"),
        ]))))
        return events
    }

    /// Questions: about one job, about all jobs, with and without a limit
    /// (its bounds among them).
    static var queries: [JobQuery] {
        [JobQuery(jobId: "job-1"), JobQuery(), JobQuery(limit: 1), JobQuery(limit: 1000), JobQuery(jobId: "job-1", limit: 10),
         JobQuery(jobId: "job-1", report: true)]
    }

    /// Every phase of a host in progress, then every outcome of a finished
    /// one (a standalone host among them), as the coordinator reports them.
    static var hosts: [HostStateChange] {
        var hosts = SagaPhase.allCases.filter { $0 != .done }.enumerated().map { index, phase in
            HostStateChange(jobId: "job-1", host: "hv\(index)", cluster: "dc1.prod", phase: phase)
        }
        for (index, kind) in HostOutcome.Kind.allCases.enumerated() {
            let outcome = HostOutcome(kind: kind, reason: "because \(kind)", inMaintenance: index % 2 == 0,
                                      countsAsFailure: index % 2 == 1)
            hosts.append(HostStateChange(jobId: "job-1", host: "done\(index)", cluster: index == 0 ? nil : "dc1.prod",
                                         phase: .done, outcome: outcome, reason: outcome.reason))
        }
        return hosts
    }

    /// Answers: one job with its hosts; the newest jobs (a finished one with
    /// its outcomes, one without); a question with no answer.
    static var statuses: [JobStatusReply] {
        let outcomes = Dictionary(uniqueKeysWithValues: HostOutcome.Kind.allCases.enumerated().map { ($1.rawValue, $0 + 1) })
        return [
            JobStatusReply(jobs: [JobSummary(id: "job-1", state: "running", submittedAt: at)], hosts: hosts),
            JobStatusReply(jobs: [
                JobSummary(id: "job-3", state: "finished", submittedAt: at, reason: "change window closed", outcomes: outcomes),
                JobSummary(id: "job-2", state: "paused", submittedAt: Instant(secondsSinceEpoch: 1_795_000_000)),
            ]),
            JobStatusReply(jobs: [], problem: "there is no job 'job-9'"),
            // With the run report asked for: carried as is (PatchFleetReport's JSON).
            JobStatusReply(jobs: [JobSummary(id: "job-1", state: "running", submittedAt: at)], hosts: hosts,
                           report: EmbeddedJSONObject(members: ["jobId": .string("job-1"), "totals": .object(["hosts": .number(3)]),
                                                                "clusters": .array([])])),
        ]
    }

    /// The AMQP message `WireEncoder` makes of `message`, every envelope value set.
    static func encode<M: WireMessage>(_ message: M, index: Int = 0, replyTo: String? = nil) throws -> AMQPMessage {
        try WireEncoder.encode(message, envelope: message.envelope(
            messageId: "\(M.schema.rawValue)-\(index)", traceparent: .random(), timestamp: 1_795_000_100, replyTo: replyTo))
    }

    static func body(_ message: AMQPMessage) throws -> JSONValue { try JSONValue.parse(message.body) }

    /// The bodies, by schema file.
    static func bodies() throws -> [(file: String, bodies: [JSONValue])] {
        [
            ("job-submission.schema.json", try submissions.enumerated().map { try body(encode($1, index: $0, replyTo: "answers")) }),
            ("job-control.schema.json", try controls.enumerated().map { try body(encode($1, index: $0)) }),
            ("event.schema.json", try events.enumerated().map { try body(encode($1, index: $0)) }),
            ("job-query.schema.json", try queries.enumerated().map { try body(encode($1, index: $0, replyTo: "answers")) }),
            ("job-status.schema.json", try statuses.enumerated().map { try body(encode($1, index: $0)) }),
        ]
    }
}

/// What the code makes of a body: accepted as a message PatchFleet acts on,
/// or refused (by the decoder, or, for a submission, by the coordinator's
/// checks that do not need the inventory).
enum CodeVerdict {
    static func accepts(_ file: String, _ body: Data) -> Bool {
        switch file {
        case "job-submission.schema.json":
            decodes(JobSubmission.self, body) && JobSubmission.validationProblems(body: body).isEmpty
        case "job-control.schema.json": decodes(JobControlRequest.self, body)
        case "event.schema.json": decodes(FleetEvent.self, body)
        case "job-query.schema.json": decodes(JobQuery.self, body)
        case "job-status.schema.json": decodes(JobStatusReply.self, body)
        case PublishedSchemas.jobSpecFile: (try? JobSpecLoader.load(String(decoding: body, as: UTF8.self), format: .json)) != nil
        default: false
        }
    }

    /// Decoded by `WireDecoder`, with the headers a correct sender of this body would set.
    static func decodes<M: WireMessage>(_ type: M.Type, _ body: Data) -> Bool {
        guard let message = try? JSONDecoder().decode(M.self, from: body) else { return false }
        let properties = message.envelope(messageId: "verdict", traceparent: .random()).amqpProperties
        return (try? WireDecoder().decode(body: body, properties: properties)) != nil
    }
}

/// AMQP properties and headers as one JSON object (properties by their AMQP
/// names), the shape docs/asyncapi.yaml's header schemas describe.
enum RenderedProperties {
    static let propertyNames: Set<String> = ["content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
                                             "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id"]

    static func json(_ p: AMQPProperties) -> JSONValue {
        var o: [String: JSONValue] = [:]
        func set(_ name: String, _ value: String?) { if let value { o[name] = .string(value) } }
        set("content_type", p.contentType)
        set("content_encoding", p.contentEncoding)
        if let mode = p.deliveryMode { o["delivery_mode"] = .number(Double(mode.rawValue)) }
        if let priority = p.priority { o["priority"] = .number(Double(priority)) }
        set("correlation_id", p.correlationId)
        set("reply_to", p.replyTo)
        set("expiration", p.expiration)
        set("message_id", p.messageId)
        if let timestamp = p.timestamp { o["timestamp"] = .number(Double(timestamp)) }
        set("type", p.type)
        set("user_id", p.userId)
        set("app_id", p.appId)
        for (name, value) in p.headers ?? AMQPFieldTable() { o[name] = json(value) }
        return .object(o)
    }

    static func json(_ value: AMQPFieldValue) -> JSONValue {
        switch value {
        case .bool(let b): .bool(b)
        case .float(let f): .number(Double(f))
        case .double(let d): .number(d)
        case .decimal(let decimals, let v): .number(Double(v) / pow(10, Double(decimals)))
        case .string(let s): .string(s)
        case .bytes(let b): .string(String(decoding: b, as: UTF8.self))
        case .timestamp(let t): .number(Double(t))
        case .array(let a): .array(a.map(json))
        case .table(let t): .object(Dictionary(t.map { ($0.key, json($0.value)) }, uniquingKeysWith: { $1 }))
        case .void: .null
        default: value.intValue.map { .number(Double($0)) } ?? .null
        }
    }
}
