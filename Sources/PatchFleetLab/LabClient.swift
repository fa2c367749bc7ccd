import AMQP
import Foundation
import PatchFleetCore
import PatchFleetSimulator
import Synchronization

/// The simulated datacenter as a worker sees it: both backend protocols,
/// each call a request to the lab process with a per-call timeout. Broker
/// trouble and an absent lab surface as `BackendError` (.unreachable,
/// .timeout) naming the operation, like an unreachable VMM server would.
public final class LabClient: VirtualizationBackend, UpdateBackend {
    private let connection: AMQPConnection
    private let requestQueue: String
    private let replyQueue: String
    private let timeout: Duration
    private let waiting = PendingReplies()
    /// Set when the lab answered that it does not know `clusterSnapshot`.
    private let labLacksClusterSnapshot = Atomic<Bool>(false)
    private let replies: Task<Void, Never>

    /// Declares this client's private reply queue and starts reading it.
    public static func connect(connection: AMQPConnection, requestQueue: String = "patchfleet.lab",
                               timeout: Duration = .seconds(30)) async throws -> LabClient {
        let replyQueue = "\(requestQueue).reply.\(UUID().uuidString.prefix(12))"
        try await connection.declare(QueueSpec(replyQueue, durable: false, exclusive: true, autoDelete: true))
        let consumer = try await connection.consume(queue: replyQueue, prefetch: 1_000)
        return LabClient(connection: connection, requestQueue: requestQueue, replyQueue: replyQueue, timeout: timeout,
                         consumer: consumer)
    }

    private init(connection: AMQPConnection, requestQueue: String, replyQueue: String, timeout: Duration,
                 consumer: AMQPConsumer) {
        self.connection = connection
        self.requestQueue = requestQueue
        self.replyQueue = replyQueue
        self.timeout = timeout
        let waiting = self.waiting
        replies = Task {
            do {
                for try await delivery in consumer {
                    delivery.ack()
                    guard let id = delivery.properties.correlationId,
                          let continuation = waiting.take(id) else { continue }  // late: already timed out
                    let response = (try? JSONDecoder().decode(LabResponse.self, from: delivery.body))
                        ?? LabResponse(error: BackendError(.internalError, "the lab sent an unreadable answer"))
                    continuation.resume(returning: response)
                }
            } catch {}
        }
    }

    deinit { replies.cancel() }

    /// Sends one request and waits for its answer or the timeout.
    func call(_ request: LabRequest) async throws(BackendError) -> LabResponse {
        let id = UUID().uuidString
        let body: Data
        do { body = try WireCoding.encode(request) } catch {
            throw BackendError(.internalError, "cannot encode lab request: \(error)")
        }
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let message = AMQPMessage(body: body, properties: AMQPProperties(
            contentType: "application/json", correlationId: id, replyTo: replyQueue,
            // A request nobody serves in time expires instead of acting late.
            expiration: String(milliseconds), type: LabRequest.schema))
        let op = request.op.rawValue
        let response = await withCheckedContinuation { (continuation: CheckedContinuation<LabResponse, Never>) in
            waiting.add(id, continuation)
            let waiting = self.waiting, connection = self.connection, queue = requestQueue, timeout = self.timeout
            let timer = Task {
                do {
                    try await connection.publish(message, exchange: "", routingKey: queue, mandatory: true)
                } catch {
                    let why = if case AMQPError.unroutable = error { "the lab is not running (no queue '\(queue)')" } else { "\(error)" }
                    waiting.take(id)?
                        .resume(returning: LabResponse(error: BackendError(.unreachable, "cannot reach the lab for '\(op)': \(why)")))
                    return
                }
                // Cancelled when the reply comes first (see `PendingReplies`).
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                waiting.take(id)?
                    .resume(returning: LabResponse(error: BackendError(.timeout, "the lab did not answer '\(op)' within \(timeout)")))
            }
            waiting.attach(timer, to: id)
        }
        if let error = response.error { throw error }
        return response
    }

    private func perform(_ request: LabRequest) async throws(BackendError) {
        _ = try await call(request)
    }

    // MARK: VirtualizationBackend

    public func listClusters() async throws(BackendError) -> [Cluster] {
        try await call(LabRequest(.listClusters)).value(\.clusters, for: .listClusters)
    }

    public func listHosts(cluster: String?) async throws(BackendError) -> [PatchFleetCore.Host] {
        try await call(LabRequest(.listHosts, cluster: cluster)).value(\.hosts, for: .listHosts)
    }

    public func listVMs(host: String?) async throws(BackendError) -> [VM] {
        try await call(LabRequest(.listVMs, host: host)).value(\.vms, for: .listVMs)
    }

    /// Just these hosts' VMs, in one call: the whole datacenter's VMs per
    /// cluster observation had the lab encoding every VM (at 2,000 hosts,
    /// most of its time), and a call per host multiplied the round trips
    /// (`patchfleet-bench fleet`).
    public func listVMs(onHosts hosts: Set<String>) async throws(BackendError) -> [VM] {
        // Filtered here too: a lab from before `hosts` ignores it and answers every VM.
        try await call(LabRequest(.listVMs, hosts: hosts.sorted())).value(\.vms, for: .listVMs).filter { hosts.contains($0.host) }
    }

    /// A cluster's hosts and their VMs in one call: a worker observes the
    /// cluster before every VM it moves, and each call is a request and a
    /// reply through the broker (`patchfleet-bench fleet`: 36 -> 30 calls per
    /// host saga). A lab from before this call answers that it cannot read
    /// the request; then the hosts and their VMs are asked for separately.
    public func clusterSnapshot(cluster: String) async throws(BackendError) -> ClusterSnapshot {
        // Asked once: an older lab stays older for this client's life.
        if labLacksClusterSnapshot.load(ordering: .relaxed) { return try await hostsThenTheirVMs(cluster: cluster) }
        let response: LabResponse
        do {
            response = try await call(LabRequest(.clusterSnapshot, cluster: cluster))
        } catch where Self.isUnknownToAnOlderLab(error) {
            labLacksClusterSnapshot.store(true, ordering: .relaxed)
            return try await hostsThenTheirVMs(cluster: cluster)
        }
        let hosts = try response.value(\.hosts, for: .clusterSnapshot)
        let names = Set(hosts.map(\.name))
        return ClusterSnapshot(hosts: hosts, vms: try response.value(\.vms, for: .clusterSnapshot).filter { names.contains($0.host) })
    }

    /// How a lab that does not know an operation answers (it cannot decode the request).
    static func isUnknownToAnOlderLab(_ error: BackendError) -> Bool {
        error.code == .internalError && error.message.hasPrefix(LabServer.malformedRequestPrefix)
    }

    public func host(named name: String) async throws(BackendError) -> PatchFleetCore.Host {
        try await call(LabRequest(.host, host: name)).value(\.host, for: .host)
    }

    public func hostHealth(_ host: String) async throws(BackendError) -> HostHealth {
        try await call(LabRequest(.hostHealth, host: host)).value(\.health, for: .hostHealth)
    }

    public func enterMaintenance(host: String, migrateRunningVMs: Bool) async throws(BackendError) {
        try await perform(LabRequest(.enterMaintenance, host: host, migrateRunningVMs: migrateRunningVMs))
    }

    public func exitMaintenance(host: String) async throws(BackendError) {
        try await perform(LabRequest(.exitMaintenance, host: host))
    }

    public func liveMigrate(vm: String, to host: String) async throws(BackendError) {
        try await perform(LabRequest(.liveMigrate, vm: vm, to: host))
    }

    public func quickMigrate(vm: String, to host: String) async throws(BackendError) {
        try await perform(LabRequest(.quickMigrate, vm: vm, to: host))
    }

    public func moveVM(vm: String, to host: String) async throws(BackendError) {
        try await perform(LabRequest(.moveVM, vm: vm, to: host))
    }

    public func saveState(vm: String) async throws(BackendError) { try await perform(LabRequest(.saveState, vm: vm)) }
    public func shutDown(vm: String) async throws(BackendError) { try await perform(LabRequest(.shutDown, vm: vm)) }
    public func start(vm: String) async throws(BackendError) { try await perform(LabRequest(.start, vm: vm)) }

    // MARK: UpdateBackend

    public func collectionMembers(_ collection: String) async throws(BackendError) -> [String] {
        try await call(LabRequest(.collectionMembers, collection: collection)).value(\.members, for: .collectionMembers)
    }

    public func ensureCollection(_ collection: String) async throws(BackendError) {
        try await perform(LabRequest(.ensureCollection, collection: collection))
    }

    public func addHost(_ host: String, toCollection collection: String) async throws(BackendError) {
        try await perform(LabRequest(.addHostToCollection, host: host, collection: collection))
    }

    public func refreshPolicy(host: String) async throws(BackendError) { try await perform(LabRequest(.refreshPolicy, host: host)) }

    public func triggerInstall(host: String, updateIds: [String]) async throws(BackendError) {
        try await perform(LabRequest(.triggerInstall, host: host, updateIds: updateIds))
    }

    public func compliance(host: String, updateIds: [String]) async throws(BackendError) -> ComplianceReport {
        try await call(LabRequest(.compliance, host: host, updateIds: updateIds)).value(\.compliance, for: .compliance)
    }

    public func pendingReboot(host: String) async throws(BackendError) -> Bool {
        try await call(LabRequest(.pendingReboot, host: host)).value(\.pendingReboot, for: .pendingReboot)
    }

    public func reboot(host: String) async throws(BackendError) { try await perform(LabRequest(.reboot, host: host)) }

    /// Calls the lab has served so far, by operation.
    public func stats() async throws(BackendError) -> [String: Int] {
        try await call(LabRequest(.stats)).value(\.calls, for: .stats)
    }

    /// The lab's whole state and history, for invariant checks and summaries.
    public func snapshot() async throws(BackendError) -> LabSnapshot {
        try await call(LabRequest(.snapshot)).value(\.snapshot, for: .snapshot)
    }

    /// The lab's invariant checker over its whole history, for a job's
    /// report and policy: the violations (empty when every invariant held).
    public func checkInvariants(report: JobReport, policy: Policy) async throws(BackendError) -> [InvariantViolation] {
        try await call(LabRequest(.checkInvariants, report: report, policy: policy)).value(\.violations, for: .checkInvariants)
    }
}

/// Callers waiting for a reply, by correlation id. Whoever takes an entry
/// first (the reply, the timeout, or a failed publish) resumes it: once.
/// A reply also cancels the call's timeout task, so a busy worker does not
/// keep a sleeping task per call for the whole timeout (at 1,400 calls/s
/// and a 10 s timeout, 14,000 of them).
final class PendingReplies: Sendable {
    private struct Entry {
        var continuation: CheckedContinuation<LabResponse, Never>
        var timeout: Task<Void, Never>?
    }

    private let table = Mutex<[String: Entry]>([:])

    func add(_ id: String, _ continuation: CheckedContinuation<LabResponse, Never>) {
        table.withLock { $0[id] = Entry(continuation: continuation) }
    }

    /// Keeps the call's timeout task to cancel when the reply comes; if the
    /// call is already settled, cancels it now.
    func attach(_ timeout: Task<Void, Never>, to id: String) {
        let attached = table.withLock { table -> Bool in
            guard table[id] != nil else { return false }
            table[id]?.timeout = timeout
            return true
        }
        if !attached { timeout.cancel() }
    }

    func take(_ id: String) -> CheckedContinuation<LabResponse, Never>? {
        let entry = table.withLock { $0.removeValue(forKey: id) }
        entry?.timeout?.cancel()
        return entry?.continuation
    }
}
