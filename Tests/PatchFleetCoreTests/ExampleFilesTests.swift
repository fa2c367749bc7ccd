import Foundation
import Testing
@testable import PatchFleetCore

/// The files shipped in docs/examples load and validate.
@Suite struct ExampleFilesTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples")

    @Test func exampleJobYAMLAndJSONLoadAndAgree() throws {
        let yaml = try JobSpecLoader.load(contentsOf: Self.examples.appendingPathComponent("job.yaml"))
        let json = try JobSpecLoader.load(contentsOf: Self.examples.appendingPathComponent("job.json"))
        #expect(yaml == json)
        #expect(yaml.policy.vmOverrides.first?.tag == "sql")
    }

    @Test func exampleInventoryHasWhatTheDemoNeeds() throws {
        let inventory = try InventoryLoader.load(contentsOf: Self.examples.appendingPathComponent("inventory.yaml"))
        #expect(inventory.clusters.count >= 3)
        for cluster in inventory.clusters {
            #expect((3...4).contains(inventory.hosts(inCluster: cluster.name).count))
        }
        #expect(inventory.hosts.contains { $0.isStandalone })
        #expect(inventory.vms.contains { $0.power == .running && !$0.highlyAvailable && inventory.host(named: $0.host)?.cluster != nil })
        #expect(inventory.vms.contains { $0.power == .stopped && $0.highlyAvailable })
    }

    @Test func exampleJobValidatesAgainstExampleInventory() throws {
        let inventory = try InventoryLoader.load(contentsOf: Self.examples.appendingPathComponent("inventory.yaml"))
        let job = try JobSpecLoader.load(contentsOf: Self.examples.appendingPathComponent("job.yaml"))
        #expect(JobSpecValidator.validate(job, against: inventory).isEmpty)
        #expect(TargetResolver.resolve(job, in: inventory).count == inventory.hosts.count)
        let plan = DryRunPlanner.plan(job, inventory: inventory, startingAt: Instant(secondsSinceEpoch: 0))
        #expect(plan.hosts.first { $0.host == "DUB-H2" }?.action == .hold)
        #expect(plan.hosts.first { $0.host == "BRANCH-01" }?.action == .hold)
    }
}
