import ArgumentParser
import Foundation
import PatchFleetReport
import PatchFleetStore
import PatchFleetWire

/// `patchfleet report JOB`: the run report of a job, from the coordinator's
/// store file (offline) or asked of the running coordinator over AMQP.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The run report of a job: per-host timeline, Gantt chart, VM moves, rules, totals.",
        discussion: """
            HTML is one self-contained page (inline CSS and SVG); JSON is the same report for other tools;
            Markdown suits tickets and chat. A job still running gets its report so far.
            The coordinator also writes <job>.html and <job>.json when a job ends (--reports-dir).
            Exit status: 0 written; 1 there is no such job.
            Examples:
              patchfleet report nov-2026-building-44 --output report.html
              patchfleet report nov-2026-building-44 --format markdown --store /var/lib/patchfleet/coordinator.sqlite
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case html, json, markdown
    }

    @Argument(help: "The job id.")
    var job: String
    @Option(help: "html, json or markdown.")
    var format: Format = .html
    @Option(help: "Write to this file instead of standard output.")
    var output: String?
    @Option(help: "Read this coordinator store file instead of asking the coordinator.")
    var store: String?
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let report: RunReport
        if let store {
            let sagaStore = try openStore(store)
            guard let record = try await sagaStore.job(id: job) else {
                print("there is no job '\(job)' in \(store)")
                throw ExitCode(1)
            }
            report = RunReport(job: record, sagas: try await sagaStore.sagas(jobId: job))
        } else {
            let client = try await FleetClient.connect(fleet)
            let reply = try await client.ask(JobQuery(jobId: job, report: true))
            await client.close()
            guard reply.jobs.first != nil else {
                print(reply.problem ?? "there is no job '\(job)'")
                throw ExitCode(1)
            }
            guard let embedded = reply.report else {
                throw ValidationError(reply.problem ?? "the coordinator did not send the report (is it older than this patchfleet?)")
            }
            report = try RunReport.decode(json: try embedded.json())
        }
        let data: Data = switch format {
        case .html: Data(report.html().utf8)
        case .json: try report.json()
        case .markdown: Data(report.markdown().utf8)
        }
        if let output {
            do { try data.write(to: URL(fileURLWithPath: output)) } catch { throw ValidationError("cannot write \(output): \(error)") }
            print("\(format.rawValue) report of job \(job) written to \(output)")
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}
