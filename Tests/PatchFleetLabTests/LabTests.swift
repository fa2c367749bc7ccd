import AMQP
import Foundation
import PatchFleetCore
@testable import PatchFleetLab
import PatchFleetSimulator
import Testing

/// The lab served over the real private broker, reached through LabClient
/// as a worker process would.
@Suite("Lab over AMQP", .timeLimit(.minutes(2)))
struct LabTests {
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    static let lab = LabConfiguration(inventory: Inventory(
        clusters: [Cluster(name: "C1")],
        hosts: [Host(name: "H1", cluster: "C1", memoryMB: 65536), Host(name: "H2", cluster: "C1", memoryMB: 65536)],
        vms: [VM(name: "vm-a", memoryMB: 4096, host: "H1"), VM(name: "vm-b", memoryMB: 4096, host: "H1")],
        collections: [DeviceCollection(name: "Hosts", members: ["H1", "H2"])]))

    /// A lab on a queue of its own (declared), not yet serving, and a
    /// connection for its client.
    static func lab(queue: String) async throws -> (LabServer, SimulatedDatacenter, server: AMQPConnection, client: AMQPConnection) {
        let serverConnection = try await AMQPConnection.connect(url: Self.url)
        let clientConnection = try await AMQPConnection.connect(url: Self.url)
        let datacenter = SimulatedDatacenter(configuration: Self.lab,
                                             clock: ScaledWallClock(start: Instant(secondsSinceEpoch: 1_800_000_000), timeScale: 50_000))
        let server = LabServer(datacenter: datacenter, connection: serverConnection, queue: queue)
        try await serverConnection.declare(LabServer.queueSpec(queue))
        return (server, datacenter, serverConnection, clientConnection)
    }

    /// Runs `body` against a lab served on a queue of its own.
    func withLab(timeout: Duration = .seconds(10),
                 _ body: @Sendable (LabClient, SimulatedDatacenter) async throws -> Void) async throws {
        let queue = "test.lab.\(UUID().uuidString.prefix(8))"
        let (server, datacenter, serverConnection, clientConnection) = try await Self.lab(queue: queue)
        let serving = Task { try await server.run() }
        let client = try await LabClient.connect(connection: clientConnection, requestQueue: queue, timeout: timeout)
        do {
            try await body(client, datacenter)
        } catch {
            serving.cancel()
            throw error
        }
        serving.cancel()
        _ = try? await serving.value
        try await serverConnection.deleteQueue(queue)
        await serverConnection.close()
        await clientConnection.close()
    }

    @Test func workersSeeOneDatacenterThroughTheLab() async throws {
        try await withLab { client, datacenter in
            #expect(try await client.listClusters().map(\.name) == ["C1"])
            #expect(try await client.listVMs(host: "H1").map(\.name).sorted() == ["vm-a", "vm-b"])
            try await client.liveMigrate(vm: "vm-a", to: "H2")
            #expect(datacenter.inventory.vm(named: "vm-a")?.host == "H2")  // the change happened in the lab
            try await client.enterMaintenance(host: "H2", migrateRunningVMs: true)
            #expect(try await client.host(named: "H2").status == .maintenance)
            #expect(try await client.collectionMembers("Hosts") == ["H1", "H2"])
            let snapshot = try await client.snapshot()
            #expect(snapshot.history.contains { if case .vmMoved(vm: "vm-a", _, to: "H2", _) = $0.change { true } else { false } })
        }
    }

    /// A cluster observation is one call for just its hosts' VMs (the
    /// lab used to be asked host by host, or for the whole datacenter).
    @Test func theVMsOfSeveralHostsComeInOneCall() async throws {
        try await withLab { client, _ in
            try await client.liveMigrate(vm: "vm-b", to: "H2")
            let before = try await client.stats()["listVMs"] ?? 0
            #expect(try await client.listVMs(onHosts: ["H1", "H2"]).map(\.name).sorted() == ["vm-a", "vm-b"])
            #expect(try await client.stats()["listVMs"] == before + 1, "two hosts, one call")
            #expect(try await client.listVMs(onHosts: ["H2"]).map(\.name) == ["vm-b"])
            #expect(try await client.listVMs(onHosts: ["H3"]).isEmpty)
            #expect(try await client.listVMs(onHosts: []).isEmpty)
        }
    }

    /// A worker's look at a cluster (its hosts and their VMs) is one call.
    @Test func aClusterIsReadInOneCall() async throws {
        try await withLab { client, _ in
            try await client.liveMigrate(vm: "vm-b", to: "H2")
            let before = try await client.stats()
            let snapshot = try await client.clusterSnapshot(cluster: "C1")
            #expect(snapshot.hosts.map(\.name) == ["H1", "H2"])
            #expect(snapshot.vms.map { "\($0.name)@\($0.host)" }.sorted() == ["vm-a@H1", "vm-b@H2"])
            let after = try await client.stats()
            #expect(after["clusterSnapshot", default: 0] == before["clusterSnapshot", default: 0] + 1)
            #expect(after["listHosts"] == before["listHosts"] && after["listVMs"] == before["listVMs"], "one call, not two")
        }
    }

    /// A lab from before `clusterSnapshot` cannot read the request and says
    /// so; the client then asks for the hosts and their VMs separately, and
    /// from then on asks for them separately at once.
    @Test func anOlderLabIsAskedForTheHostsAndTheirVMsSeparately() async throws {
        let queue = "test.lab.older.\(UUID().uuidString.prefix(8))"
        let (server, _, serverConnection, clientConnection) = try await Self.lab(queue: queue)
        let consumer = try await serverConnection.consume(queue: queue, prefetch: 1)
        // What an older lab answers to an operation it cannot decode, word
        // for word (a literal: the client must recognise labs already deployed).
        let olderAnswer = "malformed lab request: cannot decode 'op'"
        let olderLab = Task {
            var operations: [String] = []
            for try await delivery in consumer {
                delivery.ack()
                let op = (try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any])?["op"] as? String ?? "?"
                operations.append(op)
                let response = op == "clusterSnapshot"
                    ? LabResponse(error: BackendError(.internalError, olderAnswer))
                    : await server.handle(try JSONDecoder().decode(LabRequest.self, from: delivery.body))
                try await serverConnection.publish(
                    AMQPMessage(body: try WireCoding.encode(response),
                                properties: AMQPProperties(correlationId: delivery.properties.correlationId)),
                    exchange: "", routingKey: delivery.properties.replyTo ?? "")
                if operations.count == 5 { return operations }
            }
            return operations
        }
        func cleanUp() async {
            olderLab.cancel()
            _ = try? await serverConnection.deleteQueue(queue)
            await serverConnection.close()
            await clientConnection.close()
        }
        do {
            let client = try await LabClient.connect(connection: clientConnection, requestQueue: queue, timeout: .seconds(10))
            for _ in 0 ..< 2 {
                let snapshot = try await client.clusterSnapshot(cluster: "C1")
                #expect(snapshot.hosts.map(\.name) == ["H1", "H2"])
                #expect(snapshot.vms.map(\.name).sorted() == ["vm-a", "vm-b"])
            }
            #expect(try await olderLab.value == ["clusterSnapshot", "listHosts", "listVMs", "listHosts", "listVMs"],
                    "asked once, then separately at once")
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    /// A reply cancels its call's timeout task: a busy worker does not keep
    /// a sleeping task per call for the whole timeout.
    @Test func aReplyCancelsTheTimeoutOfItsCall() async {
        let pending = PendingReplies()
        let timeout = Task { _ = try? await Task.sleep(for: .seconds(3_600)) }
        _ = await withCheckedContinuation { (continuation: CheckedContinuation<LabResponse, Never>) in
            pending.add("call-1", continuation)
            pending.attach(timeout, to: "call-1")
            pending.take("call-1")?.resume(returning: LabResponse())
        }
        #expect(timeout.isCancelled)
        #expect(pending.take("call-1") == nil, "settled once")
        // A reply faster than the timeout task's attachment: cancelled on attach.
        let late = Task { _ = try? await Task.sleep(for: .seconds(3_600)) }
        pending.attach(late, to: "call-2")
        #expect(late.isCancelled)
    }

    @Test func concurrentCallsAreAllAnswered() async throws {
        try await withLab { client, _ in
            let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 { group.addTask { try await client.listHosts(cluster: "C1").count } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(answers == Array(repeating: 2, count: 40))
        }
    }

    @Test func backendErrorsKeepTheBackendsOwnMessage() async throws {
        try await withLab { client, _ in
            do {
                try await client.liveMigrate(vm: "no-such-vm", to: "H2")
                Issue.record("migrating an unknown VM succeeded")
            } catch let error as BackendError {
                #expect(error.code == .notFound)
                #expect(error.message.contains("no-such-vm"), "\(error.message)")
            }
        }
    }

    @Test func aLabThatIsNotRunningIsUnreachableAndASilentOneTimesOut() async throws {
        let connection = try await AMQPConnection.connect(url: Self.url)
        let absent = try await LabClient.connect(connection: connection, requestQueue: "test.lab.absent.\(UUID().uuidString.prefix(8))",
                                                 timeout: .seconds(2))
        do {
            _ = try await absent.listClusters()
            Issue.record("a call to a lab with no queue succeeded")
        } catch {
            #expect(error.code == .unreachable)
            #expect(error.message.contains("the lab is not running"))
        }
        // A queue exists but nobody serves it: the call times out (and the request expires).
        let silentQueue = "test.lab.silent.\(UUID().uuidString.prefix(8))"
        try await connection.declare(LabServer.queueSpec(silentQueue))
        let silent = try await LabClient.connect(connection: connection, requestQueue: silentQueue, timeout: .milliseconds(500))
        do {
            _ = try await silent.pendingReboot(host: "H1")
            Issue.record("a call nobody served succeeded")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message.contains("pendingReboot"))
        }
        try await connection.deleteQueue(silentQueue)
        await connection.close()
    }
}
