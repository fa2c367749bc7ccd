import ArgumentParser
import Foundation

@main
struct PatchFleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchfleet",
        abstract: "Patch virtualization clusters host by host without taking their workloads down.",
        discussion: """
            Examples:
              patchfleet simulate --inventory docs/examples/inventory.yaml --job docs/examples/job.yaml
              patchfleet selfcheck --url amqp://guest:guest@127.0.0.1:5682/%2f
            """,
        subcommands: [DemoCommand.self, SubmitCommand.self, WatchCommand.self, JobsCommand.self, StatusCommand.self, ReportCommand.self, DeadLettersCommand.self, CancelCommand.self, PauseCommand.self, ResumeCommand.self, CoordinatorCommand.self, WorkerCommand.self, LabCommand.self, LabReportCommand.self, SimulateCommand.self, SelfCheckCommand.self, ConfigCommand.self, KeygenCommand.self, ChaosCommand.self])
}
