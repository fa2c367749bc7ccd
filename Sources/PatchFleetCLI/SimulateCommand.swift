import ArgumentParser
import Foundation
import PatchFleetCore
import PatchFleetSimulator

/// `patchfleet simulate`: runs a job against the simulated datacenter in this
/// process, on a virtual clock (saga core + scheduler + simulator, no broker),
/// then plays the run back at a watchable pace and checks every invariant.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a patch job on the simulated datacenter (in-process, virtual clock) and show it.",
        discussion: """
            The job is validated against the inventory first; every problem is listed with its path.
            Examples:
              patchfleet simulate --inventory docs/examples/inventory.yaml --job docs/examples/job.yaml
              patchfleet simulate --inventory lab.yaml --job job.json --replay-seconds 0 --history-json run.json
            """)

    @Option(help: "The lab: inventory plus simulator faults and durations (YAML or JSON).")
    var inventory: String
    @Option(help: "The job spec (YAML or JSON).")
    var job: String
    @Option(help: "Wall-clock seconds over which the run is played back (0: print at once).")
    var replaySeconds: Double = 12
    @Option(help: "Write the datacenter's final state and history as JSON to this file.")
    var historyJSON: String?

    func run() async throws {
        let lab: LabConfiguration
        let spec: JobSpec
        do { lab = try LabConfiguration.load(contentsOf: URL(fileURLWithPath: inventory)) } catch {
            throw ValidationError("cannot load the inventory \(inventory): \(error)")
        }
        do { spec = try JobSpecLoader.load(contentsOf: URL(fileURLWithPath: job)) } catch {
            throw ValidationError("cannot load the job \(job): \(error)")
        }
        let problems = JobSpecValidator.validate(spec) + JobSpecValidator.validate(spec, against: lab.inventory)
        guard problems.isEmpty else {
            throw ValidationError("the job is not valid:\n" + problems.map { "  - \($0)" }.joined(separator: "\n"))
        }

        let run = SimulationDriver(scenario: SimulationScenario(seed: lab.seed, lab: lab, job: spec)).run()
        let clusters = Set(lab.inventory.hosts.compactMap(\.cluster)).count
        print("""
            Simulated patch run of job '\(spec.id)': \(run.report.hosts.count) hosts, \(clusters) clusters, \
            \(lab.inventory.vms.count) VMs, \(lab.faults.count) injected fault(s).
            In-process on a virtual clock (saga core + scheduler + simulated datacenter); \
            virtual time is shown as +h:mm:ss.

            """)
        try await playBack(run)
        printSummary(run)
        if let path = historyJSON {
            let data = try JSONEncoder.pretty.encode(SimulationDump(report: run.report, history: run.history))
            try data.write(to: URL(fileURLWithPath: path))
            print("history written to \(path)")
        }
        let violations = InvariantChecker(policy: spec.policy).check(run)
        if violations.isEmpty {
            print("invariants: all hold (checked from the simulator's history of \(run.history.count) changes)")
        } else {
            for v in violations { print("VIOLATION: \(v)") }
            throw ExitCode(2)
        }
        if !run.report.isComplete { throw ExitCode(1) }
    }

    /// Prints the history in virtual-time order, pacing it over `replaySeconds`.
    private func playBack(_ run: SimulationRun) async throws {
        let span = max(1, run.endedAt.seconds(since: run.startedAt))
        let lines = timeline(run)
        let wallStart = Date()
        for (at, text) in lines {
            let offset = at.seconds(since: run.startedAt)
            let due = replaySeconds * offset / span
            let wait = due - Date().timeIntervalSince(wallStart)
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            print("  \(Self.clock(offset))  \(text)")
        }
        print("")
    }

    private func timeline(_ run: SimulationRun) -> [(Instant, String)] {
        var lines: [(Instant, String)] = []
        func pad(_ s: String) -> String { s.padding(toLength: 10, withPad: " ", startingAt: 0) }
        for record in run.history where record.actor == .patchfleet || record.actor == .datacenter {
            let text: String?
            switch record.change {
            case let .hostStatus(host, from, to): text = "\(pad(host)) \(from.rawValue) -> \(to.rawValue)"
            case let .vmMoved(vm, from, to, method): text = "\(pad(from)) \(vm) moved to \(to) (\(method))"
            case let .migrationFailed(vm, to, message): text = "           \(vm) could not move to \(to): \(message)"
            case let .vmPower(vm, host, from, to): text = "\(pad(host)) \(vm) \(from.rawValue) -> \(to.rawValue)"
            case let .installStarted(host, ids): text = "\(pad(host)) installing \(ids.joined(separator: ", "))"
            case let .installFinished(host, installed, failed):
                text = failed.isEmpty ? "\(pad(host)) installed \(installed.joined(separator: ", "))"
                    : "\(pad(host)) install FAILED for \(failed.joined(separator: ", "))"
            case let .pendingReboot(host, pending): text = pending ? "\(pad(host)) reboot pending" : nil
            case let .rebootRequested(host, _): text = "\(pad(host)) reboot"
            case .vmDeleted, .migrationRequested, .addedToCollection: text = nil
            }
            if let text { lines.append((record.at, text)) }
        }
        for saga in run.sagas {
            if let outcome = saga.outcome, let at = saga.finishedAt {
                lines.append((at, "\(pad(saga.host)) \(outcome.kind.rawValue.uppercased())\(outcome.reason.map { ": \($0)" } ?? "")"))
            }
        }
        return lines.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
    }

    private func printSummary(_ run: SimulationRun) {
        print("Per-host outcome (makespan \(Self.clock(run.endedAt.seconds(since: run.startedAt)))):")
        print("  " + "cluster".padding(toLength: 10, withPad: " ", startingAt: 0) + "host".padding(toLength: 11, withPad: " ", startingAt: 0)
              + "outcome".padding(toLength: 9, withPad: " ", startingAt: 0) + "reason / notes")
        for host in run.report.hosts {
            let outcome = host.outcome?.kind.rawValue ?? "UNFINISHED"
            var detail = host.outcome?.reason ?? ""
            if host.outcome?.inMaintenance == true { detail += " [left in maintenance for a person]" }
            print("  " + (host.cluster ?? "(none)").padding(toLength: 10, withPad: " ", startingAt: 0)
                  + host.host.padding(toLength: 11, withPad: " ", startingAt: 0)
                  + outcome.padding(toLength: 9, withPad: " ", startingAt: 0) + detail)
            for note in host.notes { print(String(repeating: " ", count: 32) + "- " + note.message) }
        }
        let kinds = HostOutcome.Kind.allCases.map { "\($0.rawValue) \(run.report.count($0))" }.joined(separator: ", ")
        print("Totals: \(kinds)\n")
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "+%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
    }
}

struct SimulationDump: Encodable {
    let report: JobReport
    let history: [HistoryRecord]
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
