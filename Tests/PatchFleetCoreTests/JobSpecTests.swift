import Foundation
import Testing
@testable import PatchFleetCore

@Suite struct JobSpecTests {
    @Test func policyDefaultsAreTheDocumentedOnes() throws {
        let policy = try JSONDecoder().decode(Policy.self, from: Data("{}".utf8))
        #expect(policy == Policy())
        #expect(policy.maxUnavailablePerCluster == 1)
        #expect(policy.nonHighlyAvailableVMs == .hold)
        #expect(policy.stoppedHighlyAvailableVMs == .move)
        #expect(policy.failback == .original)
        #expect(policy.standaloneHosts == .hold)
        #expect(policy.onFailure == .hold)
        #expect(policy.migrationFallback == [.liveMigrate, .holdHost])
        #expect(policy.maintenanceWindow == nil)
        #expect(policy.dryRun == false)
    }

    @Test func minimalYAMLJobLoadsWithDefaults() throws {
        let spec = try JobSpecLoader.load("""
            schemaVersion: 1
            id: j1
            targets:
              clusters: [C1]
            updates:
              updateIds: [KB1]
            """)
        #expect(spec.policy == Policy())
        #expect(spec.targets.clusters == ["C1"])
        #expect(spec.deploymentCollectionName == "PatchFleet j1")
    }

    @Test func maintenanceWindowAcceptsISO8601() throws {
        let spec = try JobSpecLoader.load("""
            {"schemaVersion": 1, "id": "j", "targets": {"hosts": ["h"]}, "updates": {"updateIds": ["KB1"]},
             "policy": {"maintenanceWindow": {"start": "2026-11-22T01:00:00Z", "end": "2026-11-22T05:00:00Z"}}}
            """)
        let window = try #require(spec.policy.maintenanceWindow)
        #expect(window.end.seconds(since: window.start) == 4 * 3600)
    }

    @Test func maintenanceWindowInYAMLAcceptsISO8601AndEpochSeconds() throws {
        let spec = try JobSpecLoader.load("""
            schemaVersion: 1
            id: j
            targets: { hosts: [h] }
            updates: { updateIds: [KB1] }
            policy:
              maintenanceWindow:
                start: "2026-11-22T01:00:00Z"
                end: 1795316400
            """)
        let window = try #require(spec.policy.maintenanceWindow)
        #expect(window.start == Instant.parseISO8601("2026-11-22T01:00:00Z"))
        #expect(window.end.secondsSinceEpoch == 1_795_316_400)
    }

    @Test func validationReportsEveryProblemWithItsPath() {
        var policy = Policy()
        policy.maxUnavailablePerCluster = 0
        policy.maxParallelClusters = 0
        policy.drainTimeoutSeconds = 0
        policy.capacityHeadroomPercent = 120
        policy.migrationFallback = [.holdHost, .liveMigrate]
        policy.vmOverrides = [VMOverride(fallback: [])]
        let spec = JobSpec(schemaVersion: 2, id: "", targets: JobTargets(collection: "a", clusters: ["b"]),
                           updates: UpdateSelection(), policy: policy)
        let problems = JobSpecValidator.validate(spec).map(\.description)
        let expected = [
            "schemaVersion must be 1 (this reader does not know version 2)",
            "id must not be empty",
            "targets must name exactly one of collection, clusters or hosts",
            "updates must name an updateList or at least one update id",
            "policy.maxUnavailablePerCluster must be >= 1",
            "policy.maxParallelClusters must be >= 1",
            "policy.drainTimeoutSeconds must be > 0",
            "policy.capacityHeadroomPercent must be between 0 and 90",
            "policy.migrationFallback[0] holdHost must be the last step",
            "policy.vmOverrides[0] must name exactly one of name or tag",
            "policy.vmOverrides[0].fallback must not be empty",
        ]
        for line in expected {
            #expect(problems.contains(line), "missing: \(line)")
        }
        #expect(problems.count == expected.count)
    }

    @Test func loaderThrowsAllProblemsAtOnce() {
        #expect {
            try JobSpecLoader.load("""
                schemaVersion: 1
                id: j
                targets: { hosts: [] }
                updates: { updateIds: [] }
                policy: { maxUnavailablePerCluster: 0, maxFailedHosts: 0 }
                """)
        } throws: { error in
            let problems = (error as? JobSpecError)?.problems.map(\.path) ?? []
            return Set(problems) == ["targets.hosts", "updates", "policy.maxUnavailablePerCluster", "policy.maxFailedHosts"]
        }
    }

    @Test func misspeltOptionIsReportedNotSilentlyDefaulted() {
        #expect {
            try JobSpecLoader.load("""
                schemaVersion: 1
                id: j
                targets: { clusters: [C1] }
                updates: { updateIds: [KB1] }
                policy:
                  maxUnavailablePerClustr: 2
                  vmOverrides: [{ tag: sql, fallback: [liveMigrate], colour: red }]
                """)
        } throws: { error in
            (error as? JobSpecError)?.problems.map(\.description) == [
                "policy.maxUnavailablePerClustr is not a known option",
                "policy.vmOverrides[0].colour is not a known option",
            ]
        }
    }

    @Test func malformedFileNamesThePath() {
        #expect {
            try JobSpecLoader.load(#"{"schemaVersion": 1, "id": "j", "targets": {}, "updates": {}, "policy": {"failback": "sometimes"}}"#)
        } throws: { error in
            (error as? JobSpecError)?.problems.first?.path == "policy.failback"
        }
    }

    @Test func validationAgainstInventoryNamesUnknownTargets() {
        let spec = JobSpec(id: "j", targets: JobTargets(clusters: ["C1", "Nowhere"]), updates: UpdateSelection(updateList: "Dec"))
        let problems = JobSpecValidator.validate(spec, against: Fixtures.cluster()).map(\.description)
        #expect(problems == ["targets.clusters[1] names unknown cluster 'Nowhere'", "updates.updateList names unknown update list 'Dec'"])
    }

    /// A software update group whose updates all expired resolves to an
    /// empty list: a job deploying nothing would report every host patched.
    @Test func anEmptyUpdateListIsRefusedUnlessIdsAreGivenToo() {
        var inventory = Fixtures.cluster()
        inventory.updateLists = [UpdateList(name: "2026-08 Cumulative Update", updateIds: [])]
        var spec = JobSpec(id: "j", targets: JobTargets(clusters: ["C1"]), updates: UpdateSelection(updateList: "2026-08 Cumulative Update"))
        #expect(JobSpecValidator.validate(spec, against: inventory).map(\.description)
            == ["updates.updateList update list '2026-08 Cumulative Update' has no updates to install"])
        spec.updates.updateIds = ["KB5033077"]
        #expect(JobSpecValidator.validate(spec, against: inventory).isEmpty)
        #expect(TargetResolver.updateIds(spec, in: inventory) == ["KB5033077"])
    }

    @Test func targetsResolveFromCollectionClustersOrHosts() {
        var inventory = Fixtures.cluster()
        inventory.hosts.append(Host(name: "S1", cluster: nil, memoryMB: 1024))
        inventory.collections = [DeviceCollection(name: "B44", members: ["S1", "C1-H2"])]
        let byCollection = JobSpec(id: "j", targets: JobTargets(collection: "B44"), updates: UpdateSelection(updateList: "Nov"))
        #expect(TargetResolver.resolve(byCollection, in: inventory).map(\.host) == ["C1-H2", "S1"])
        let byCluster = JobSpec(id: "j", targets: JobTargets(clusters: ["C1"]), updates: UpdateSelection(updateList: "Nov", updateIds: ["KB3", "KB1"]))
        #expect(TargetResolver.resolve(byCluster, in: inventory).map(\.host) == ["C1-H1", "C1-H2", "C1-H3"])
        #expect(TargetResolver.updateIds(byCluster, in: inventory) == ["KB1", "KB2", "KB3"])
    }
}
