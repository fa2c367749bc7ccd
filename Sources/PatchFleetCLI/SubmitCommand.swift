import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
import PatchFleetWire

/// `patchfleet submit FILE`: validates a job locally, submits it over AMQP and
/// (unless --detach) follows it live from the event stream until it ends.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a patch job and follow it until it ends.",
        discussion: """
            Exit status: 0 the job succeeded; 1 it ended failed or cancelled; 2 it was rejected (the problems are
            listed with their paths); 3 it did not end within --timeout.
            Example:
              patchfleet submit docs/examples/job.yaml
            """)

    @Argument(help: "The job spec (YAML or JSON).")
    var file: String
    @Flag(help: "Submit and return at once, without following the job.")
    var detach = false
    @Option(help: "Give up following after this many seconds.")
    var timeout: Double = 3600
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        bootstrapClientLogging()
        let spec: JobSpec
        do { spec = try JobSpecLoader.load(contentsOf: URL(fileURLWithPath: file)) } catch {
            print("cannot load \(file): \(error)")
            throw ExitCode(2)
        }
        let problems = JobSpecValidator.validate(spec)
        guard problems.isEmpty else {
            print("job \(spec.id) is not valid:")
            for p in problems { print("  - \(p)") }
            throw ExitCode(2)
        }
        let settings = try fleet.settings()
        let topology = try fleet.topology(settings)
        let configuration = try fleet.amqpConfiguration(settings)
        let connection = try await AMQPConnection.connect(configuration, recovery: .default)
        let status = try await JobSubmitter(connection: connection, topology: topology, user: configuration.user)
            .submit(spec, follow: !detach, timeout: timeout)
        await connection.close()
        if status != 0 { throw ExitCode(status) }
    }
}

/// Submits a job and follows it: `patchfleet submit` and `patchfleet demo`.
struct JobSubmitter {
    let connection: AMQPConnection
    let topology: FleetTopology
    /// The broker user the connection logged in as: sent as `user_id`, which
    /// RabbitMQ checks, so the coordinator knows who submitted.
    let user: String

    /// Returns the exit status: 0 succeeded; 1 failed or cancelled; 2
    /// rejected; 3 not ended within `timeout` (0 when not following).
    func submit(_ spec: JobSpec, follow: Bool, timeout: Double) async throws -> Int32 {
        // Listen before submitting, so no event is missed.
        let listen = "\(topology.prefix).submit.\(UUID().uuidString.prefix(8).lowercased())"
        try await connection.declare(QueueSpec(listen, durable: false, exclusive: true, autoDelete: true))
        try await connection.bind(QueueBinding(queue: listen, exchange: topology.eventsExchange, routingKey: "job.#"))
        try await connection.bind(QueueBinding(queue: listen, exchange: topology.eventsExchange, routingKey: "host.#"))
        let messageId = UUID().uuidString
        let submission = JobSubmission(job: spec, requestedBy: ProcessInfo.processInfo.environment["USER"])
        let envelope = submission.envelope(messageId: messageId, timestamp: UInt64(Date().timeIntervalSince1970), replyTo: listen)
        var message = try WireEncoder.encode(submission, envelope: envelope)
        message.properties.userId = user
        let publication = topology.submission(message)
        try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                     mandatory: true)
        print("job \(spec.id) submitted (message \(messageId))")
        guard follow else { return 0 }
        return try await self.follow(spec.id, queue: listen, timeout: timeout)
    }

    /// Prints the job's progress; returns the exit status.
    private func follow(_ jobId: String, queue: String, timeout: Double) async throws -> Int32 {
        let consumer = try await connection.consume(queue: queue, prefetch: 200)
        let outcome = try await firstResult(within: .seconds(timeout)) { () async throws -> Int32? in
            var progress = ProgressPrinter(jobId: jobId)
            for try await delivery in consumer {
                delivery.ack()
                guard case .event(let event, _) = try? WireDecoder().decode(delivery) else { continue }
                if let status = progress.handle(event) { return status }
            }
            return nil
        }
        await consumer.cancel()
        guard let outcome else {
            print("job \(jobId) did not end within \(Int(timeout)) s (it keeps running; follow it with `patchfleet watch \(jobId)`)")
            return 3
        }
        return outcome
    }
}

/// Turns the event stream into lines a person can follow and, at the end, a
/// per-host summary. Plain lines, one per change, so it reads the same in a
/// terminal, a pipe or a CI log.
struct ProgressPrinter {
    /// Nil: every job (watch without a job), never ending on its own.
    let jobId: String?
    var started = Date()
    var hosts: [String: HostStateChange] = [:]

    init(jobId: String?) { self.jobId = jobId }

    func concerns(_ id: String?) -> Bool { jobId == nil || id == jobId }

    mutating func remember(_ host: HostStateChange) { hosts[host.host] = host }

    mutating func handle(_ event: FleetEvent) -> Int32? {
        let elapsed = String(format: "%6.1fs", Date().timeIntervalSince(started))
        switch event.event {
        case .host(let change) where concerns(change.jobId):
            hosts[change.host] = change
            let outcome = change.outcome.map { " -> \($0.kind.rawValue.uppercased())\($0.reason.map { ": \($0)" } ?? "")" } ?? ""
            let job = jobId == nil ? "\(change.jobId)  " : ""
            print("\(elapsed)  \(job)\((change.cluster ?? "(standalone)").padding(toLength: 10, withPad: " ", startingAt: 0)) "
                  + "\(change.host.padding(toLength: 11, withPad: " ", startingAt: 0)) \(change.phase.rawValue)\(outcome)")
        case .job(let change) where concerns(change.jobId):
            print("\(elapsed)  job \(change.jobId) \(change.state.rawValue)\(change.reason.map { ": \($0)" } ?? "")")
            guard jobId != nil else { return nil }
            switch change.state {
            case .succeeded: printSummary(); return 0
            case .failed, .cancelled: printSummary(); return 1
            default: return nil
            }
        case .jobRejected(let rejection) where concerns(rejection.jobId):
            print("job \(rejection.jobId ?? "(unnamed)") was rejected:")
            for p in rejection.problems { print("  - \(p)") }
            return jobId == nil ? nil : 2
        default:
            break
        }
        return nil
    }

    func printSummary() {
        print("\nPer-host outcome:")
        for change in hosts.values.sorted(by: { ($0.cluster ?? "~", $0.host) < ($1.cluster ?? "~", $1.host) }) {
            let outcome = change.outcome?.kind.rawValue ?? change.phase.rawValue
            let held = change.outcome?.inMaintenance == true ? " [left in maintenance for a person]" : ""
            print("  \((change.cluster ?? "(none)").padding(toLength: 10, withPad: " ", startingAt: 0))"
                  + "\(change.host.padding(toLength: 11, withPad: " ", startingAt: 0))"
                  + "\(outcome.padding(toLength: 9, withPad: " ", startingAt: 0))\(change.reason ?? "")\(held)")
        }
    }
}
