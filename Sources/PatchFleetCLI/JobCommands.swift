import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire

/// `patchfleet cancel|pause|resume JOB`: a job-control message to the coordinator.
struct ControlOptions: ParsableArguments {
    @Argument(help: "The job id.")
    var job: String
    @Option(help: "Why (recorded with the job and in its event).")
    var reason: String?
    @OptionGroup var fleet: FleetOptions

    func send(_ action: JobControlRequest.Action) async throws {
        let request = JobControlRequest(jobId: job, action: action, reason: reason,
                                        requestedBy: ProcessInfo.processInfo.environment["USER"])
        let settings = try fleet.settings()
        let configuration = try fleet.amqpConfiguration(settings)
        let connection = try await AMQPConnection.connect(configuration, recovery: .disabled)
        let topology = try fleet.topology(settings)
        var message = try WireEncoder.encode(request)
        message.properties.userId = configuration.user  // checked by RabbitMQ, authorized by the coordinator
        let publication = topology.control(request, message)
        try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                     mandatory: true)
        await connection.close()
        print("\(action.rawValue) sent for job \(job); follow it with the job's events (a refusal is dead-lettered with its reason)")
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job: hosts not started are skipped, hosts in flight are brought back to a safe state.",
        discussion: """
            The coordinator answers with the job's events (job.<id>.cancelling, then its end); a refusal
            (no such job, already ended, not allowed) is dead-lettered with its reason.
            Examples:
              patchfleet cancel nov-2026-wave1 --reason "change window closed"
              patchfleet cancel nov-2026-wave1 --url amqps://ops@broker.example:5671/patchfleet
              patchfleet dead-letters list                      # if the job did not move: why it was refused
            """)
    @OptionGroup var options: ControlOptions
    func run() async throws { try await options.send(.cancel) }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a job: each host finishes its current step and waits.",
        discussion: """
            Hosts in flight finish the step they are in and wait; no new host starts. Resume with
            `patchfleet resume`.
            Examples:
              patchfleet pause nov-2026-wave1 --reason "incident INC0815 on the SAN"
              patchfleet status nov-2026-wave1                  # hosts stay where they are
            """)
    @OptionGroup var options: ControlOptions
    func run() async throws { try await options.send(.pause) }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused job.",
        discussion: """
            Each waiting host takes its next step; a job being cancelled cannot be resumed.
            Examples:
              patchfleet resume nov-2026-wave1
              patchfleet resume nov-2026-wave1 --reason "SAN incident closed"
            """)
    @OptionGroup var options: ControlOptions
    func run() async throws { try await options.send(.resume) }
}

/// `patchfleet jobs` and `patchfleet status JOB`: asked of the running
/// coordinator over the broker (from any machine), or with `--store` read
/// straight from its SQLite file (WAL mode allows a reader beside it), for
/// when the coordinator is down.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List recent jobs.",
        discussion: """
            Examples:
              patchfleet jobs
              patchfleet jobs --store /var/lib/patchfleet/coordinator.sqlite   # coordinator down
            """)
    @Option(help: "Read this coordinator store file instead of asking the coordinator.")
    var store: String?
    @Option(help: "How many jobs, newest first.")
    var limit = 20
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        try await Self.list(store: store, limit: limit, fleet: fleet)
    }

    /// Also `patchfleet status` without a job.
    static func list(store: String?, limit: Int, fleet: FleetOptions) async throws {
        let jobs: [JobSummary]
        if let store {
            jobs = try await openStore(store).jobs(limit: limit).map(CoordinatorEngine.summary)
        } else {
            let client = try await FleetClient.connect(fleet)
            let reply = try await client.ask(JobQuery(limit: limit))
            await client.close()
            if let problem = reply.problem { throw ValidationError(problem) }
            jobs = reply.jobs
        }
        if jobs.isEmpty { print("no jobs") }
        for job in jobs { print(JobLines.summary(job)) }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a job and where each of its hosts stands (without a job: list recent jobs).",
        discussion: """
            Exit status: 0 the job exists (whatever its state); 1 there is no such job.
            Without JOB, lists the recent jobs like `patchfleet jobs`.
            Examples:
              patchfleet status nov-2026-wave1
              patchfleet status nov-2026-wave1 --store /var/lib/patchfleet/coordinator.sqlite
              patchfleet status                                 # the recent jobs
            """)
    @Argument(help: "The job id (omit it to list the recent jobs).")
    var job: String?
    @Option(help: "Read this coordinator store file instead of asking the coordinator.")
    var store: String?
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        guard let job else { return try await JobsCommand.list(store: store, limit: 20, fleet: fleet) }
        let reply: JobStatusReply
        if let store {
            let sagaStore = try openStore(store)
            if let record = try await sagaStore.job(id: job) {
                reply = JobStatusReply(jobs: [CoordinatorEngine.summary(record)],
                                       hosts: try await sagaStore.sagas(jobId: job).map { HostStateChange(saga: $0.state) })
            } else {
                reply = JobStatusReply(jobs: [], problem: "there is no job '\(job)' in \(store)")
            }
        } else {
            let client = try await FleetClient.connect(fleet)
            reply = try await client.ask(JobQuery(jobId: job))
            await client.close()
        }
        guard let summary = reply.jobs.first else {
            print(reply.problem ?? "there is no job '\(job)'")
            throw ExitCode(1)
        }
        print(JobLines.summary(summary))
        for host in reply.hosts { print(JobLines.host(host)) }
    }
}

/// One line per job and per host, the same in `jobs`, `status` and `watch`.
enum JobLines {
    static func summary(_ job: JobSummary) -> String {
        let outcomes = job.outcomes.map { counts in
            HostOutcome.Kind.allCases.map { "\($0.rawValue) \(counts[$0.rawValue] ?? 0)" }.joined(separator: ", ")
        }
        return "\(job.id.padding(toLength: 28, withPad: " ", startingAt: 0)) \(job.state.padding(toLength: 11, withPad: " ", startingAt: 0)) "
            + "submitted \(job.submittedAt)\(job.reason.map { "  (\($0))" } ?? "")\(outcomes.map { "  \($0)" } ?? "")"
    }

    static func host(_ host: HostStateChange) -> String {
        let where_ = host.outcome.map { "\($0.kind.rawValue)\($0.reason.map { ": \($0)" } ?? "")" } ?? host.phase.rawValue
        return "  \((host.cluster ?? "(standalone)").padding(toLength: 14, withPad: " ", startingAt: 0))"
            + "\(host.host.padding(toLength: 14, withPad: " ", startingAt: 0))\(where_)"
    }
}

/// Opens a coordinator store file read side (status, jobs, report).
func openStore(_ path: String) throws -> SQLiteSagaStore {
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no store at \(path)") }
    do { return try SQLiteSagaStore(path: path) } catch { throw ValidationError("cannot open the store \(path): \(error)") }
}
