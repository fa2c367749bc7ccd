import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire

/// `patchfleet cancel|pause|resume JOB`: a job-control message to the coordinator.
struct ControlOptions: ParsableArguments {
    @Argument(help: "The job id.")
    var job: String
    @Option(help: "Why (recorded with the job and in its event).")
    var reason: String?
    @Option(help: "Name prefix of the fleet's exchanges and queues.")
    var prefix = "patchfleet"
    @Option(help: "Broker URL. Default: $PATCHFLEET_AMQP_URL or the private broker.")
    var url: String = defaultBrokerURL

    func send(_ action: JobControlRequest.Action) async throws {
        let request = JobControlRequest(jobId: job, action: action, reason: reason,
                                        requestedBy: ProcessInfo.processInfo.environment["USER"])
        let connection = try await AMQPConnection.connect(try AMQPConfiguration(url: url), recovery: .disabled)
        let topology = FleetTopology(prefix: prefix)
        let publication = topology.control(request, try WireEncoder.encode(request))
        try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                                     mandatory: true)
        await connection.close()
        print("\(action.rawValue) sent for job \(job); follow it with the job's events (a refusal is dead-lettered with its reason)")
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job: hosts not started are skipped, hosts in flight are brought back to a safe state.")
    @OptionGroup var options: ControlOptions
    func run() async throws { try await options.send(.cancel) }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a job: each host finishes its current step and waits.")
    @OptionGroup var options: ControlOptions
    func run() async throws { try await options.send(.pause) }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused job.")
    @OptionGroup var options: ControlOptions
    func run() async throws { try await options.send(.resume) }
}

/// `patchfleet jobs` and `patchfleet status JOB`: read the coordinator's
/// store (SQLite in WAL mode allows a reader beside the running coordinator).
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List recent jobs from the coordinator's store.")
    @Option(help: "The coordinator's SQLite store.")
    var store: String
    @Option(help: "How many jobs, newest first.")
    var limit = 20

    func run() async throws {
        let sagaStore = try openStore(store)
        for job in try await sagaStore.jobs(limit: limit) {
            let summary = job.report.map { r in HostOutcome.Kind.allCases.map { "\($0.rawValue) \(r.count($0))" }.joined(separator: ", ") }
            print("\(job.id.padding(toLength: 28, withPad: " ", startingAt: 0)) \(job.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) "
                  + "submitted \(job.submittedAt)\(summary.map { "  \($0)" } ?? "")")
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a job's hosts from the coordinator's store.")
    @Argument(help: "The job id.")
    var job: String
    @Option(help: "The coordinator's SQLite store.")
    var store: String

    func run() async throws {
        let sagaStore = try openStore(store)
        guard let record = try await sagaStore.job(id: job) else { throw ValidationError("there is no job '\(job)' in \(store)") }
        print("job \(record.id): \(record.state.rawValue)\(record.reason.map { " (\($0))" } ?? "")")
        for saga in try await sagaStore.sagas(jobId: job) {
            let s = saga.state
            let outcome = s.outcome.map { "\($0.kind.rawValue)\($0.reason.map { ": \($0)" } ?? "")" } ?? s.phase.rawValue
            print("  \((s.cluster ?? "(none)").padding(toLength: 10, withPad: " ", startingAt: 0))"
                  + "\(s.host.padding(toLength: 11, withPad: " ", startingAt: 0))\(outcome)")
        }
    }
}

private func openStore(_ path: String) throws -> SQLiteSagaStore {
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no store at \(path)") }
    do { return try SQLiteSagaStore(path: path) } catch { throw ValidationError("cannot open the store \(path): \(error)") }
}
