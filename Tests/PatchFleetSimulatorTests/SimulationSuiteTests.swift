import Foundation
import Testing
import PatchFleetCore
@testable import PatchFleetSimulator

/// Property/simulation suite: generated datacenters, policies and fault
/// schedules, run through the saga core and scheduler on virtual time, with
/// every invariant checked after every run.
@Suite struct SimulationSuiteTests {
    @Test(arguments: 0..<SimulationSuite.chunkCount)
    func seededScenariosKeepEveryInvariant(chunk: Int) async {
        let seeds = SimulationSuite.seeds(chunk: chunk)
        // Seconds of CPU-bound work: on a thread of its own, so the tests that
        // wait on I/O keep getting the cooperative pool's few threads.
        let results = await offCooperativePool { () -> [(seed: UInt64, broken: Bool, text: String)] in
            var results: [(seed: UInt64, broken: Bool, text: String)] = []
            for seed in seeds {
                let (run, violations) = SimulationSuite.run(seed: seed)
                if !violations.isEmpty || SimulationSuite.replaySeed != nil {
                    results.append((seed, !violations.isEmpty,
                                    SimulationSuite.describeFailure(seed: seed, run: run, violations: violations)))
                }
            }
            return results
        }
        if SimulationSuite.replaySeed != nil { results.forEach { print($0.text) } }
        let failing = results.filter(\.broken)
        for failure in failing { Issue.record(Comment(rawValue: failure.text)) }
        #expect(failing.isEmpty, "failing seeds: \(failing.map(\.seed))")
    }

    @Test func suiteRunsAtLeastAThousandScenarios() {
        let total = (0..<SimulationSuite.chunkCount).reduce(0) { $0 + SimulationSuite.seeds(chunk: $1).count }
        #expect(total >= 1000 || (SimulationSuite.replaySeed != nil && total == 1))
    }

    /// Guards against a vacuous suite: the generated scenarios must reach
    /// every outcome, inject every fault kind and exercise both sides of the rules.
    @Test func generatedScenariosCoverOutcomesFaultsAndPolicies() {
        var outcomes = Set<HostOutcome.Kind>()
        var faults = Set<Fault.Kind>()
        var nonHA = Set<NonHighlyAvailableVMPolicy>()
        var standalone = Set<StandaloneHostPolicy>()
        var notes = Set<String>()
        var ignoredStale = 0
        for seed in UInt64(1)...200 {
            let (run, _) = SimulationSuite.run(seed: seed)
            outcomes.formUnion(run.report.hosts.compactMap { $0.outcome?.kind })
            faults.formUnion(run.scenario.lab.faults.map(\.kind))
            nonHA.insert(run.scenario.job.policy.nonHighlyAvailableVMs)
            standalone.insert(run.scenario.job.policy.standaloneHosts)
            ignoredStale += run.staleAnswersIgnored
            for host in run.report.hosts {
                for note in host.notes {
                    if note.message.hasPrefix("Rule 2") { notes.insert("rule2") }
                    if note.message.hasPrefix("Rule 3") { notes.insert("rule3") }
                    if note.message.contains("compensated") { notes.insert("compensation") }
                }
                if host.outcome?.reason?.hasPrefix("Rule 1") == true { notes.insert("rule1") }
                if host.outcome?.reason?.contains("standalone") == true { notes.insert("standalone") }
                if host.preexistingMaintenance { notes.insert("preexisting") }
            }
        }
        #expect(outcomes == Set(HostOutcome.Kind.allCases))
        #expect(faults == Set(Fault.Kind.allCases))
        #expect(nonHA == Set(NonHighlyAvailableVMPolicy.allCases))
        #expect(standalone == Set(StandaloneHostPolicy.allCases))
        #expect(notes == ["rule1", "rule2", "rule3", "compensation", "standalone", "preexisting"])
        #expect(ignoredStale > 0, "duplicate deliveries happened and were ignored")
    }

    @Test func sameSeedReplaysExactly() throws {
        let first = SimulationDriver(scenario: ScenarioGenerator.scenario(seed: 42)).run()
        let second = SimulationDriver(scenario: ScenarioGenerator.scenario(seed: 42)).run()
        #expect(first.history == second.history)
        #expect(first.report == second.report)
        #expect(first.endedAt == second.endedAt)
    }
}

/// A planted bug must be caught: otherwise the suite proves nothing.
@Suite struct PlantedBugTests {
    @Test func brokenSchedulerIgnoringUnavailabilityLimitIsCaught() async {
        let caught = await offCooperativePool {
            (UInt64(1)...200).filter { seed in
                SimulationSuite.run(seed: seed, scheduler: IgnoresUnavailabilityLimit()).1
                    .contains { $0.invariant == .clusterUnavailabilityLimit }
            }
        }
        #expect(caught.count >= 10, "the broken scheduler must be caught on many seeds, was on \(caught.count)")
        for seed in caught.prefix(5) {
            #expect(SimulationSuite.run(seed: seed).1.isEmpty, "the real scheduler keeps seed \(seed) clean")
        }
    }

    @Test func brokenSchedulerIgnoringSettleDelayIsCaught() async {
        let caught = await offCooperativePool {
            (UInt64(1)...200).filter { seed in
                SimulationSuite.run(seed: seed, scheduler: IgnoresSettleDelay()).1.contains { $0.invariant == .settleDelay }
            }
        }
        #expect(!caught.isEmpty)
        for seed in caught.prefix(5) {
            #expect(SimulationSuite.run(seed: seed).1.isEmpty)
        }
    }
}

/// Runs CPU-bound work on a dedicated thread and awaits its result.
func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
