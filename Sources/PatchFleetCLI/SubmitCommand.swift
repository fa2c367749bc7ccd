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

    /// The job's hosts as the coordinator has them, for the bars' totals
    /// (events only tell of hosts as they change). Without an answer the
    /// bars grow as hosts appear.
    private func learnHosts(_ jobId: String, into progress: inout ProgressPrinter) async {
        guard let reply = try? await FleetClient(connection: connection, topology: topology).ask(JobQuery(jobId: jobId)) else { return }
        for host in reply.hosts { progress.remember(host) }
        progress.redraw()
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
                if progress.wantsHostList, case .job(let change) = event.event, change.jobId == jobId {
                    await learnHosts(jobId, into: &progress)
                }
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
