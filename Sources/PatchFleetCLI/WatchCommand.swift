import AMQP
import ArgumentParser
import Foundation
import Logging
import PatchFleetWire

/// `patchfleet watch [JOB]`: follow a job submitted anywhere (another
/// terminal, another system) from the event stream, starting from where it
/// stands now; without a job, every event of the fleet until interrupted.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow a job (or the whole fleet) live from the event stream.",
        discussion: """
            With JOB: prints where each host stands now, then every change until the job ends.
            Exit status as for submit: 0 succeeded; 1 failed or cancelled; 1 also if there is no such job;
            3 it did not end within --timeout. Without JOB: every job and host event until interrupted.
            Examples:
              patchfleet watch nov-2026-wave1
              patchfleet watch
            """)

    @Argument(help: "The job id; omit to follow every job.")
    var job: String?
    @Option(help: "Give up following after this many seconds.")
    var timeout: Double = 86_400
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        bootstrapClientLogging()
        let client = try await FleetClient.connect(fleet)
        // Subscribe before asking, so no change falls between the answer and the stream.
        let events = try await client.subscribeToEvents()
        var progress = ProgressPrinter(jobId: job)
        if let job {
            let reply = try await client.ask(JobQuery(jobId: job))
            guard let summary = reply.jobs.first else {
                print(reply.problem ?? "there is no job '\(job)'")
                await client.close()
                throw ExitCode(1)
            }
            print(JobLines.summary(summary))
            for host in reply.hosts {
                if !progress.showsBars { print(JobLines.host(host)) }
                progress.remember(host)
            }
            progress.redraw()
            if summary.state == "finished", let outcomes = summary.outcomes {
                progress.printSummary()
                await client.close()
                throw ExitCode(Self.exitStatus(outcomes))
            }
        }
        let status = try await follow(events, progress: progress)
        await events.cancel()
        await client.close()
        if status != 0 { throw ExitCode(status) }
    }

    /// A finished job found by `status`: the same rule as its final event.
    static func exitStatus(_ outcomes: [String: Int]) -> Int32 {
        (outcomes["failed"] ?? 0) > 0 || (outcomes["cancelled"] ?? 0) > 0 ? 1 : 0
    }

    private func follow(_ events: AMQPConsumer, progress start: ProgressPrinter) async throws -> Int32 {
        let outcome = try await firstResult(within: .seconds(timeout)) { () async throws -> Int32? in
            var progress = start
            for try await delivery in events {
                delivery.ack()
                guard case .event(let event, _) = try? WireDecoder().decode(delivery) else { continue }
                if let status = progress.handle(event) { return status }
            }
            return nil
        }
        guard let outcome else {
            print("stopped following after \(Int(timeout)) s")
            return 3
        }
        return outcome
    }
}
