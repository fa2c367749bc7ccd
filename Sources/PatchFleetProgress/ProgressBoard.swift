import PatchFleetCore
import PatchFleetWire

/// Where one job's hosts stand, from its events (and the coordinator's
/// answer about them): what `submit` and `watch` draw as progress bars.
/// A plain value so the frame can be tested on a sequence of events.
public struct ProgressBoard: Sendable, Hashable {
    public let jobId: String
    /// The job's last state word (`accepted`, `running`, `succeeded`, ...).
    public var jobState: String?
    public private(set) var hosts: [String: HostStateChange] = [:]

    public init(jobId: String) { self.jobId = jobId }

    public mutating func remember(_ host: HostStateChange) {
        guard host.jobId == jobId else { return }
        hosts[host.host] = host
    }

    public mutating func apply(_ event: FleetEvent) {
        switch event.event {
        case .host(let change): remember(change)
        case .job(let change) where change.jobId == jobId: jobState = change.state.rawValue
        case .jobRejected(let rejection) where rejection.jobId == jobId: jobState = "rejected"
        default: break
        }
    }

    /// One cluster's line: its hosts, how many are done, which are in flight.
    public struct ClusterProgress: Sendable, Hashable {
        public var name: String
        public var total: Int
        public var done: Int
        /// Done hosts by outcome (`patched`, `held`, ...).
        public var outcomes: [HostOutcome.Kind: Int]
        /// Hosts in flight with their phase, by name.
        public var current: [InFlight]
    }

    public struct InFlight: Sendable, Hashable {
        public var host: String
        public var phase: SagaPhase
    }

    /// Clusters by name, standalone hosts last.
    public var clusters: [ClusterProgress] {
        Dictionary(grouping: hosts.values) { $0.cluster }
            .sorted { ($0.key == nil ? 1 : 0, $0.key ?? "") < ($1.key == nil ? 1 : 0, $1.key ?? "") }
            .map { cluster, hosts in
                let done = hosts.filter { $0.phase == .done }
                return ClusterProgress(
                    name: cluster ?? "standalone", total: hosts.count, done: done.count,
                    outcomes: Dictionary(grouping: done.compactMap(\.outcome?.kind)) { $0 }.mapValues(\.count),
                    current: hosts.filter { $0.phase != .done && $0.phase != .pending }.sorted { $0.host < $1.host }
                        .map { InFlight(host: $0.host, phase: $0.phase) })
            }
    }

    public var doneCount: Int { hosts.values.filter { $0.phase == .done }.count }
}
