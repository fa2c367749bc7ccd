import Foundation
import Testing
import PatchFleetCore
@testable import PatchFleetSimulator

/// Property/simulation suite: generated datacenters, policies and fault
/// schedules, run through the saga core and scheduler on virtual time, with
/// every invariant checked after every run.
@Suite struct SimulationSuiteTests {
    @Test(arguments: 0..<SimulationSuite.chunkCount)
    func seededScenariosKeepEveryInvariant(chunk: Int) {
        let seeds = SimulationSuite.seeds(chunk: chunk)
        var failing: [UInt64] = []
        for seed in seeds {
            let (run, violations) = SimulationSuite.run(seed: seed)
            if !violations.isEmpty {
                failing.append(seed)
                Issue.record(Comment(rawValue: SimulationSuite.describeFailure(seed: seed, run: run, violations: violations)))
            }
            if SimulationSuite.replaySeed != nil {
                print(SimulationSuite.describeFailure(seed: seed, run: run, violations: violations))
            }
        }
        #expect(failing.isEmpty, "failing seeds: \(failing)")
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
    @Test func brokenSchedulerIgnoringUnavailabilityLimitIsCaught() {
        let caught = (UInt64(1)...200).filter { seed in
            SimulationSuite.run(seed: seed, scheduler: IgnoresUnavailabilityLimit()).1
                .contains { $0.invariant == .clusterUnavailabilityLimit }
        }
        #expect(caught.count >= 10, "the broken scheduler must be caught on many seeds, was on \(caught.count)")
        for seed in caught.prefix(5) {
            #expect(SimulationSuite.run(seed: seed).1.isEmpty, "the real scheduler keeps seed \(seed) clean")
        }
    }

    @Test func brokenSchedulerIgnoringSettleDelayIsCaught() {
        let caught = (UInt64(1)...200).filter { seed in
            SimulationSuite.run(seed: seed, scheduler: IgnoresSettleDelay()).1.contains { $0.invariant == .settleDelay }
        }
        #expect(!caught.isEmpty)
        for seed in caught.prefix(5) {
            #expect(SimulationSuite.run(seed: seed).1.isEmpty)
        }
    }
}
