import ArgumentParser
import Foundation
import PatchFleetCore
import PatchFleetSimulator

/// `patchfleet lab-report`: what happened to the VMs in a lab run, from the
/// snapshot the lab writes on exit: every move PatchFleet made (drains,
/// Rule 2 moves of stopped VMs, Rule 3 moves home) and where each VM ended.
struct LabReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab-report",
        abstract: "Show the VM moves of a lab run (from `patchfleet lab --snapshot`).",
        discussion: """
            Example:
              patchfleet lab --inventory docs/examples/inventory.yaml --time-scale 600 --snapshot /tmp/lab.json &
              ...                                               # run a job, then SIGTERM the lab
              patchfleet lab-report --snapshot /tmp/lab.json
            """)

    @Option(help: "The lab's snapshot file.")
    var snapshot: String

    func run() throws {
        try Self.printReport(snapshot: snapshot)
    }

    static func printReport(snapshot: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: snapshot)) } catch {
            throw ValidationError("cannot read the snapshot \(snapshot): \(error.localizedDescription)")
        }
        let lab = try WireCoding.decode(LabSnapshot.self, from: data)
        var moves: [String: [String]] = [:]
        for record in lab.history where record.actor == .patchfleet {
            if case let .vmMoved(vm, from, to, method) = record.change {
                moves[vm, default: []].append("\(from) -> \(to) (\(method))")
            }
        }
        print("VM moves made by PatchFleet (\(lab.history.count) recorded changes):")
        for vm in lab.inventory.vms.sorted(by: { $0.name < $1.name }) {
            let kind = vm.highlyAvailable ? "HA" : "non-HA"
            let path = moves[vm.name]?.joined(separator: ", ") ?? "not moved"
            print("  \(vm.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(kind.padding(toLength: 7, withPad: " ", startingAt: 0))"
                  + "\(vm.power.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) now on \(vm.host.padding(toLength: 10, withPad: " ", startingAt: 0)) \(path)")
        }
        let inMaintenance = lab.inventory.hosts.filter { $0.status == .maintenance }.map(\.name)
        print("hosts in maintenance now: \(inMaintenance.isEmpty ? "none" : inMaintenance.joined(separator: ", "))")
    }
}
