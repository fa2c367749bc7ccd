import PatchFleetCore
import PatchFleetSimulator
import PatchFleetTestSupport
import Synchronization
import Testing
@testable import PatchFleetWorker

/// A cluster observation looks a host up only when it has to: a remembered
/// cluster is asked for directly, and trusted only if its fresh host list
/// names the host (a host moved to another cluster is looked up again).
@Suite struct ClusterHintsTests {
    /// The simulated datacenter, with host lookups counted and hosts that
    /// can be moved to another cluster by hand (the simulator never does).
    final class MovableHosts: ForwardingVirtualizationBackend {
        let base: any VirtualizationBackend
        let lookups = Atomic<Int>(0)
        let movedTo = Mutex<[String: String]>([:])
        /// Clusters the manager no longer knows: asking for them is an error.
        let removed = Mutex<Set<String>>([])
        /// Clusters the manager does not answer for in time.
        let slow = Mutex<Set<String>>([])

        init(_ datacenter: SimulatedDatacenter) { base = datacenter }

        private func relabel(_ host: Host) -> Host {
            var host = host
            if let cluster = movedTo.withLock({ $0[host.name] }) { host.cluster = cluster }
            return host
        }

        func listHosts(cluster: String?) async throws(BackendError) -> [Host] {
            if let cluster, removed.withLock({ $0.contains(cluster) }) {
                throw BackendError(.notFound, "Unable to find a host cluster named '\(cluster)'")
            }
            if let cluster, slow.withLock({ $0.contains(cluster) }) {
                throw BackendError(.timeout, "Get-SCVMHostCluster '\(cluster)' did not answer in time")
            }
            return try await base.listHosts(cluster: nil).map(relabel).filter { cluster == nil || $0.cluster == cluster }
        }

        func host(named name: String) async throws(BackendError) -> Host {
            lookups.add(1, ordering: .relaxed)
            return relabel(try await base.host(named: name))
        }
    }

    /// An executor over the simulated datacenter seen through `MovableHosts`.
    static func executor() -> (MovableHosts, CommandExecutor) {
        let datacenter = CommandExecutorTests.datacenter()
        let backend = MovableHosts(datacenter)
        return (backend, CommandExecutor(virtualization: backend, updates: datacenter,
                                         timing: CommandExecutorTests.executor(datacenter).timing))
    }

    @Test func aRememberedClusterSparesTheLookupAndAMovedHostIsLookedUpAgain() async throws {
        let (backend, executor) = Self.executor()

        let first = try await executor.observeCluster(of: "H1")
        #expect(first.hosts.map(\.name).sorted() == ["H1", "H2", "H3"])
        #expect(backend.lookups.load(ordering: .relaxed) == 1, "first sight: the host is looked up")

        let again = try await executor.observeCluster(of: "H2")
        #expect(again == first, "the same cluster, seen the same")
        #expect(backend.lookups.load(ordering: .relaxed) == 1, "H2 was seen in C's host list: no lookup")

        backend.movedTo.withLock { $0["H2"] = "D" }
        let moved = try await executor.observeCluster(of: "H2")
        #expect(moved.hosts.map(\.name) == ["H2"], "H2 is alone in D now, and its snapshot says so")
        #expect(moved.hosts.first?.cluster == "D")
        #expect(backend.lookups.load(ordering: .relaxed) == 2, "C's list no longer names H2: looked up again")
        #expect(try await executor.observeCluster(of: "H1").hosts.map(\.name).sorted() == ["H1", "H3"])
    }

    @Test func aHintOfAClusterThatIsGoneIsDroppedAndTheHostLookedUp() async throws {
        let (backend, executor) = Self.executor()
        _ = try await executor.observeCluster(of: "H1")
        // The cluster is renamed: C is gone, its hosts are in E.
        backend.movedTo.withLock { $0 = ["H1": "E", "H2": "E", "H3": "E"] }
        backend.removed.withLock { $0 = ["C"] }
        let renamed = try await executor.observeCluster(of: "H1")
        #expect(renamed.hosts.map(\.name).sorted() == ["H1", "H2", "H3"])
        #expect(renamed.hosts.allSatisfy { $0.cluster == "E" })
        #expect(backend.lookups.load(ordering: .relaxed) == 2, "the failed hinted read fell back to a lookup")
        _ = try await executor.observeCluster(of: "H3")
        #expect(backend.lookups.load(ordering: .relaxed) == 2, "and the new cluster is the hint from then on")
    }

    /// A manager that knows a standalone host by its FQDN, asked by its short name.
    final class ShortNames: ForwardingVirtualizationBackend {
        let base: any VirtualizationBackend
        let askedFor = Mutex<[Set<String>]>([])
        init(_ base: any VirtualizationBackend) { self.base = base }

        func host(named name: String) async throws(BackendError) -> Host {
            try await base.host(named: name.contains(".") ? name : name + ".contoso.com")
        }

        func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
            askedFor.withLock { $0.append(hosts) }
            return try await base.listVMs(onHosts: hosts)
        }
    }

    /// A standalone host's VMs are asked for by the name the manager gives
    /// it, not the (short) name the saga used: else it looks empty.
    @Test func aStandaloneHostsVMsAreAskedForByTheManagersName() async throws {
        let datacenter = SimulatedDatacenter(
            configuration: LabConfiguration(inventory: Inventory(
                hosts: [Host(name: "S1.contoso.com", cluster: nil, memoryMB: 65536)],
                vms: [VM(name: "app", memoryMB: 4096, host: "S1.contoso.com")])),
            clock: VirtualClock(start: CommandExecutorTests.start))
        let backend = ShortNames(datacenter)
        let executor = CommandExecutor(virtualization: backend, updates: datacenter,
                                       timing: CommandExecutorTests.executor(datacenter).timing)
        let snapshot = try await executor.observeCluster(of: "S1")
        #expect(snapshot.vms.map(\.name) == ["app"])
        #expect(backend.askedFor.withLock { $0 } == [["S1.contoso.com"]])
    }

    /// A manager that does not answer is the answer: the observation fails
    /// at once (no lookup that would wait again) and the hint stays.
    @Test func aHintedReadThatTimesOutFailsWithoutALookupAndKeepsTheHint() async throws {
        let (backend, executor) = Self.executor()
        _ = try await executor.observeCluster(of: "H1")
        backend.slow.withLock { $0 = ["C"] }
        await #expect(throws: BackendError.self) { _ = try await executor.observeCluster(of: "H2") }
        do {
            _ = try await executor.observeCluster(of: "H2")
        } catch {
            #expect(error.code == .timeout)
        }
        #expect(backend.lookups.load(ordering: .relaxed) == 1, "no lookup after a timeout")
        backend.slow.withLock { $0 = [] }
        _ = try await executor.observeCluster(of: "H3")
        #expect(backend.lookups.load(ordering: .relaxed) == 1, "the hint survived the timeout")
    }
}
