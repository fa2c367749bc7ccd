import AMQP
import PatchFleetCore
@testable import PatchFleetWire
import Testing

@Suite("Fleet topology (pure)")
struct TopologyTests {
    let fleet = FleetTopology()

    @Test func namesFollowTheDesign() {
        #expect(fleet.exchanges.map(\.name) == ["patchfleet.control", "patchfleet.tasks", "patchfleet.results",
                                                "patchfleet.dead", "patchfleet.delay", "patchfleet.events", "patchfleet.query"])
        #expect(fleet.exchanges.map(\.kind) == [.topic, .direct, .direct, .fanout, .headers, .topic, .direct])
        #expect(Role.allCases.map(fleet.taskQueue) == ["patchfleet.tasks.drain", "patchfleet.tasks.deploy",
                                                       "patchfleet.tasks.rebalance"])
        // jobs, 3 task queues, results, dead letters, the dashboard's copy of them, queries, 2 x 5 delay buckets
        #expect(fleet.queues.count == 1 + 3 + 1 + 1 + 1 + 1 + 2 * 5)
        let seen = fleet.queues.first { $0.name == "patchfleet.coordinator.dead-seen" }
        #expect(seen?.maxLength == FleetTopology.deadSeenLimit && seen?.overflow == .dropHead,
                "the dashboard's copy is bounded and drops the oldest, never blocking dead-lettering")
        let queries = fleet.queues.first { $0.name == "patchfleet.coordinator.queries" }
        #expect(queries?.messageTTL == 60_000, "unanswered questions expire instead of piling up")
        #expect(fleet.exchanges.allSatisfy(\.durable) && fleet.queues.allSatisfy(\.durable))
    }

    @Test func workQueuesAreQuorumWithLimitsAndAtLeastOnceDeadLettering() throws {
        let custom = FleetTopology(prefix: "t", deliveryLimit: 3)
        for name in [custom.jobsQueue, custom.resultsQueue] + Role.allCases.map(custom.taskQueue) {
            let queue = try #require(custom.queues.first { $0.name == name })
            #expect(queue.arguments == [
                "x-queue-type": .string("quorum"),
                "x-dead-letter-exchange": .string("t.dead"),
                "x-dead-letter-strategy": .string("at-least-once"),
                "x-delivery-limit": .int64(3),
                "x-overflow": .string("reject-publish"),
            ])
        }
        let dead = try #require(custom.queues.first { $0.name == "t.dead-letters" })
        #expect(dead.arguments == ["x-queue-type": .string("quorum")])
    }

    @Test func delayQueuesReturnToTheirExchange() throws {
        let queue = try #require(fleet.queues.first { $0.name == "patchfleet.delay.tasks.300s" })
        #expect(queue.messageTTL == 300_000)
        #expect(queue.deadLetterExchange == "patchfleet.tasks")
        #expect(queue.deadLetterRoutingKey == nil)  // the original key is kept
        let binding = try #require(fleet.bindings.first { $0.queue == "patchfleet.delay.results.5s" })
        #expect(binding.exchange == "patchfleet.delay")
        #expect(binding.arguments["x-pf-delay-target"]?.stringValue == "results")
        #expect(binding.arguments["x-pf-delay-bucket"]?.stringValue == "5s")
    }

    @Test func controlBindings() {
        let keys = fleet.bindings.filter { $0.queue == fleet.jobsQueue }.map(\.routingKey)
        #expect(keys == ["job.submit", "job.cancel", "job.pause", "job.resume"])
    }

    @Test func delaysRoundUpToABucket() {
        let buckets = DelayBuckets.standard
        #expect(buckets.bucket(for: 0) == nil)
        #expect(buckets.bucket(for: -3) == nil)
        #expect(buckets.bucket(for: 0.1) == 5)
        #expect(buckets.bucket(for: 5) == 5)
        #expect(buckets.bucket(for: 5.01) == 15)
        #expect(buckets.bucket(for: 61) == 300)
        #expect(buckets.bucket(for: 3_600) == 900)
        #expect(DelayBuckets([]) == nil)
        #expect(DelayBuckets([0, 5]) == nil)
        #expect(DelayBuckets([60, 5, 5])?.seconds == [5, 60])
    }

    @Test func longDelaysGoThroughTheLargestBucketAndAreRedelayed() throws {
        let task = Fixtures.taskMessage()
        let wakeAt = Fixtures.now.adding(seconds: 3_600)
        let delayed = fleet.delayed(try fleet.task(task, try Fixtures.encodedTask()), by: 3_600, notBefore: wakeAt)
        #expect(delayed.message.properties.headers?["x-pf-delay-bucket"]?.stringValue == "900s")
        let envelope = try WireDecoder().decode(delayed.message).envelope
        // Back after 900 s: 2,700 s still to wait, then nothing.
        #expect(envelope.remainingDelay(at: Fixtures.now.adding(seconds: 900)) == 2_700)
        #expect(envelope.remainingDelay(at: wakeAt) == nil)
    }

    @Test func everyCommandHasOneRoute() {
        let routes = Dictionary(grouping: CommandKind.allCases, by: \.route)
        #expect(routes[.worker(.drain)] == [.observeCluster, .enterMaintenance, .vmAction])
        #expect(routes[.worker(.deploy)] == [.deployUpdates, .pollCompliance, .rebootHost, .waitForHost])
        #expect(routes[.worker(.rebalance)] == [.exitMaintenance, .checkHealth, .failbackVM])
        #expect(routes[.timer] == [.wakeAt])
    }

    @Test func delayedKeepsTheRoutingKeyAndNotBefore() throws {
        let task = Fixtures.taskMessage()
        let publication = try fleet.task(task, try Fixtures.encodedTask())
        #expect(publication.routingKey == "deploy")
        let delayed = fleet.delayed(publication, by: 12, notBefore: Fixtures.now)
        #expect(delayed.exchange == "patchfleet.delay")
        #expect(delayed.routingKey == "deploy")
        #expect(delayed.message.properties.headers?["x-pf-delay-bucket"]?.stringValue == "15s")
        #expect(delayed.message.properties.headers?["x-pf-delay-target"]?.stringValue == "tasks")
        #expect(try WireDecoder().decode(delayed.message).envelope.notBefore == Fixtures.now)
        #expect(fleet.delayed(publication, by: 0).exchange == "patchfleet.tasks")
    }
}
