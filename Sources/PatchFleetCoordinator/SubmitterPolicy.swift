import Foundation
import PatchFleetCore
import Yams

/// Who may patch what. A job's submitter is the AMQP `user_id` property of
/// its message: RabbitMQ refuses a `user_id` that is not the publishing
/// connection's own user, so the coordinator can trust it. With a policy
/// configured, a job is accepted only if its user is listed and every host
/// it would patch is in a cluster (or, standalone, has a name) the user's
/// patterns allow, and a collection target matches too. Pause, resume and
/// cancel need the same rights over every host of the job.
///
/// ```yaml
/// submitters:
///   - user: pf-submitter          # the change system: everything
///     clusters: ["*"]
///     collections: ["*"]
///     standaloneHosts: ["*"]
///   - user: ops-dublin
///     clusters: ["Dublin", "DUB-*"]
/// ```
public struct SubmitterPolicy: Sendable, Equatable {
    public struct Grant: Codable, Sendable, Equatable {
        public var user: String
        public var clusters: [String]?
        public var collections: [String]?
        public var standaloneHosts: [String]?
    }

    public var grants: [Grant]

    public init(grants: [Grant]) { self.grants = grants }

    struct File: Codable { var submitters: [Grant] }

    public static func load(path: String) throws -> SubmitterPolicy {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PolicyError("cannot read the submitter policy \(path): \(error.localizedDescription)")
        }
        do {
            let file = try YAMLDecoder().decode(File.self, from: text)
            return SubmitterPolicy(grants: file.submitters)
        } catch {
            throw PolicyError("the submitter policy \(path) is not valid: \(error)")
        }
    }

    public struct PolicyError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The problems that keep `user` from patching `targets` (empty: allowed).
    public func problems(user: String?, spec: JobSpec, targets: [TargetHost]) -> [ValidationProblem] {
        guard let user, !user.isEmpty else {
            return [ValidationProblem(path: "user_id", message: "the message carries no AMQP user_id property; this coordinator only accepts jobs from known users (set user_id to the broker user you connect as)")]
        }
        let mine = grants.filter { $0.user == user }
        guard !mine.isEmpty else {
            return [ValidationProblem(path: "user_id", message: "broker user '\(user)' may not submit or control jobs on this fleet")]
        }
        func allowed(_ name: String, _ patterns: KeyPath<Grant, [String]?>) -> Bool {
            mine.contains { grant in (grant[keyPath: patterns] ?? []).contains { Self.matches(name, pattern: $0) } }
        }
        var problems: [ValidationProblem] = []
        if let collection = spec.targets.collection, !allowed(collection, \.collections) {
            problems.append(ValidationProblem(path: "targets.collection", message: "broker user '\(user)' may not patch collection '\(collection)'"))
        }
        var refusedClusters: [String] = [], refusedHosts: [String] = []
        for target in targets {
            if let cluster = target.cluster {
                if !allowed(cluster, \.clusters), !refusedClusters.contains(cluster) { refusedClusters.append(cluster) }
            } else if !mine.contains(where: { grant in (grant.standaloneHosts ?? []).contains { Self.matches(host: target.host, pattern: $0) } }) {
                refusedHosts.append(target.host)
            }
        }
        if !refusedClusters.isEmpty {
            problems.append(ValidationProblem(path: "targets", message: "broker user '\(user)' may not patch cluster(s) \(refusedClusters.sorted().joined(separator: ", "))"))
        }
        if !refusedHosts.isEmpty {
            problems.append(ValidationProblem(path: "targets", message: "broker user '\(user)' may not patch standalone host(s) \(refusedHosts.sorted().joined(separator: ", "))"))
        }
        return problems
    }

    /// A standalone host's pattern against VMM's name for it, usually an
    /// FQDN: a pattern with no dot ("HV05", "BRANCH-*") is a short name and
    /// is matched against the name's first label too, the way an operator
    /// writes hosts; one with a dot ("hv05.contoso.com", "*.dublin.*")
    /// against the whole name only.
    static func matches(host: String, pattern: String) -> Bool {
        if matches(host, pattern: pattern) { return true }
        guard !pattern.contains("."), let short = host.split(separator: ".", maxSplits: 1).first, short.count < host.count else {
            return false
        }
        return matches(String(short), pattern: pattern)
    }

    /// Shell-style globs: `*` any run of characters, `?` one; case-insensitive
    /// (cluster and host names are, in Windows).
    static func matches(_ name: String, pattern: String) -> Bool {
        let n = Array(name.lowercased()), p = Array(pattern.lowercased())
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            if let known = memo[i * (p.count + 1) + j] { return known }
            let result: Bool
            if j == p.count {
                result = i == n.count
            } else if p[j] == "*" {
                result = match(i, j + 1) || (i < n.count && match(i + 1, j))
            } else {
                result = i < n.count && (p[j] == "?" || p[j] == n[i]) && match(i + 1, j + 1)
            }
            memo[i * (p.count + 1) + j] = result
            return result
        }
        return match(0, 0)
    }
}
