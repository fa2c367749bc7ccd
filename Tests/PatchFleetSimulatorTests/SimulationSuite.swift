import Foundation
import PatchFleetCore
import PatchFleetSimulator

/// Shared plumbing of the seeded simulation suite.
enum SimulationSuite {
    /// Seeds 1...scenarioCount, split into chunks so Swift Testing can run
    /// them in parallel. `PATCHFLEET_SCENARIOS=<n>` runs more (a nightly soak).
    static let scenarioCount: UInt64 = max(1000, ProcessInfo.processInfo.environment["PATCHFLEET_SCENARIOS"].flatMap { UInt64($0) } ?? 1000)
    static let chunkCount = 8

    /// `PATCHFLEET_SEED=<n> swift test --filter SimulationSuiteTests` replays one seed.
    static var replaySeed: UInt64? {
        ProcessInfo.processInfo.environment["PATCHFLEET_SEED"].flatMap { UInt64($0) }
    }

    static func seeds(chunk: Int) -> [UInt64] {
        if let replaySeed { return chunk == 0 ? [replaySeed] : [] }
        return (1...scenarioCount).filter { Int($0 % UInt64(chunkCount)) == chunk }
    }

    static func run(seed: UInt64, scheduler: any SchedulingStrategy = Scheduler()) -> (SimulationRun, [InvariantViolation]) {
        let scenario = ScenarioGenerator.scenario(seed: seed)
        let run = SimulationDriver(scenario: scenario, scheduler: scheduler).run()
        // The checker judges against the job's real policy, whatever the scheduler believed.
        return (run, InvariantChecker(policy: scenario.job.policy).check(run))
    }

    /// Everything a person needs to reproduce and understand a failing seed.
    static func describeFailure(seed: UInt64, run: SimulationRun, violations: [InvariantViolation]) -> String {
        var lines = [violations.isEmpty
            ? "seed \(seed) kept every invariant"
            : "seed \(seed) broke \(violations.count) invariant(s); replay with PATCHFLEET_SEED=\(seed) swift test --filter SimulationSuiteTests"]
        lines += violations.prefix(10).map { "  - \($0)" }
        lines.append("  policy: \(run.scenario.job.policy)")
        lines.append("  faults: \(run.scenario.lab.faults)")
        for host in run.report.hosts {
            lines.append("  \(host.host): \(host.outcome?.kind.rawValue ?? "unfinished") \(host.outcome?.reason ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// The deliberately broken schedulers: real decorators around the real
/// scheduler that lie to it about one policy field.
struct IgnoresUnavailabilityLimit: SchedulingStrategy {
    var base: any SchedulingStrategy = Scheduler()
    func decide(_ input: SchedulingInput) -> SchedulingDecision {
        var lie = input
        lie.policy.maxUnavailablePerCluster = 1000
        return base.decide(lie)
    }
}

struct IgnoresSettleDelay: SchedulingStrategy {
    var base: any SchedulingStrategy = Scheduler()
    func decide(_ input: SchedulingInput) -> SchedulingDecision {
        var lie = input
        lie.policy.settleDelaySeconds = 0
        return base.decide(lie)
    }
}
