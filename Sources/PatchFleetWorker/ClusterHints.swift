import PatchFleetCore
import Synchronization

/// Which cluster each host was last seen in. Only a hint for where to look:
/// `CommandExecutor.observeCluster` trusts it only when the cluster's own
/// host list, read fresh, names the host.
final class ClusterHints: Sendable {
    private let clusters = Mutex<[String: String]>([:])

    func cluster(of host: String) -> String? { clusters.withLock { $0[host] } }

    func remember(_ hosts: [Host]) {
        clusters.withLock { known in
            for host in hosts { known[host.name] = host.cluster }
        }
    }

    func forget(_ host: String) { _ = clusters.withLock { $0.removeValue(forKey: host) } }
}
