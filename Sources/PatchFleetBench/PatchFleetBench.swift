import ArgumentParser

@main
struct PatchFleetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patchfleet-bench",
        abstract: "PatchFleet benchmarks: figures and ratios side by side, in one run.",
        discussion: """
            Build both products in release mode (`fleet` starts the patchfleet processes found next to this
            one), then run against a broker ($PATCHFLEET_AMQP_URL or --url); each suite ends with its ratio line:
              swift build -c release && deploy/local/broker.sh start
              .build/release/patchfleet-bench fleet      # fleet/raw = R
              .build/release/patchfleet-bench scale      # per-host cost 10000/1000 = X
              .build/release/patchfleet-bench makespan   # makespan/bound = M
              .build/release/patchfleet-bench amqp       # ratio swift/raw ...
              .build/release/patchfleet-bench json       # ratio sorted-json/foundation speed
            """,
        subcommands: [AMQPBenchmark.self, FleetBenchmark.self, JSONBenchmark.self, MakespanBenchmark.self, ScaleBenchmark.self])
}
