import ArgumentParser

@main
struct PatchFleetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchfleet-bench",
        abstract: "PatchFleet benchmarks: figures and ratios side by side, in one run.",
        discussion: """
            Run in release mode against the private broker:
              deploy/local/broker.sh start
              swift run -c release patchfleet-bench amqp
              swift run -c release patchfleet-bench makespan
            """,
        subcommands: [AMQPBenchmark.self, FleetBenchmark.self, MakespanBenchmark.self, ScaleBenchmark.self])
}
