/// One thing wrong with a job, at a path a person can find in their file.
public struct ValidationProblem: Codable, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path) \(message)" }
}

/// Checks a job spec and reports every problem at once, so a submitter fixes
/// their file in one round trip instead of one error per attempt.
public enum JobSpecValidator {
    public static func validate(_ spec: JobSpec) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        func fail(_ path: String, _ message: String) { problems.append(ValidationProblem(path: path, message: message)) }

        if spec.schemaVersion != JobSpec.currentSchemaVersion {
            fail("schemaVersion", "must be \(JobSpec.currentSchemaVersion) (this reader does not know version \(spec.schemaVersion))")
        }
        if spec.id.allSatisfy(\.isWhitespace) { fail("id", "must not be empty") }

        let targetKinds = [spec.targets.collection != nil, spec.targets.clusters != nil, spec.targets.hosts != nil]
            .filter { $0 }.count
        if targetKinds != 1 { fail("targets", "must name exactly one of collection, clusters or hosts") }
        if let clusters = spec.targets.clusters, clusters.isEmpty { fail("targets.clusters", "must not be empty") }
        if let hosts = spec.targets.hosts, hosts.isEmpty { fail("targets.hosts", "must not be empty") }
        if let collection = spec.targets.collection, collection.isEmpty { fail("targets.collection", "must not be empty") }

        if spec.updates.updateList == nil && (spec.updates.updateIds ?? []).isEmpty {
            fail("updates", "must name an updateList or at least one update id")
        }
        problems += validate(spec.policy)
        return problems
    }

    public static func validate(_ policy: Policy, path: String = "policy") -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        func atLeast<T: Comparable & CustomStringConvertible>(_ value: T, _ minimum: T, _ name: String) {
            if value < minimum { problems.append(ValidationProblem(path: "\(path).\(name)", message: "must be >= \(minimum)")) }
        }
        func positive(_ value: Double, _ name: String) {
            if !(value > 0) { problems.append(ValidationProblem(path: "\(path).\(name)", message: "must be > 0")) }
        }
        atLeast(policy.maxUnavailablePerCluster, 1, "maxUnavailablePerCluster")
        atLeast(policy.maxParallelClusters, 1, "maxParallelClusters")
        atLeast(policy.maxFailedHosts, 1, "maxFailedHosts")
        atLeast(policy.maxRetriesPerHost, 0, "maxRetriesPerHost")
        atLeast(policy.maxRebootsPerHost, 1, "maxRebootsPerHost")
        atLeast(policy.retryBackoffSeconds, 0, "retryBackoffSeconds")
        atLeast(policy.settleDelaySeconds, 0, "settleDelaySeconds")
        positive(policy.rebootTimeoutSeconds, "rebootTimeoutSeconds")
        positive(policy.taskTimeoutSeconds, "taskTimeoutSeconds")
        positive(policy.installTimeoutSeconds, "installTimeoutSeconds")
        positive(policy.drainTimeoutSeconds, "drainTimeoutSeconds")
        positive(policy.vmMigrationTimeoutSeconds, "vmMigrationTimeoutSeconds")
        positive(policy.pollIntervalSeconds, "pollIntervalSeconds")
        positive(policy.estimates.liveMigrationMBPerSecond, "estimates.liveMigrationMBPerSecond")
        if !(0...90).contains(policy.capacityHeadroomPercent) {
            problems.append(ValidationProblem(path: "\(path).capacityHeadroomPercent", message: "must be between 0 and 90"))
        }
        problems += validateChain(policy.migrationFallback, path: "\(path).migrationFallback")
        for (index, override) in policy.vmOverrides.enumerated() {
            let overridePath = "\(path).vmOverrides[\(index)]"
            if (override.name == nil) == (override.tag == nil) {
                problems.append(ValidationProblem(path: overridePath, message: "must name exactly one of name or tag"))
            }
            problems += validateChain(override.fallback, path: "\(overridePath).fallback")
        }
        if let window = policy.maintenanceWindow, !(window.end > window.start) {
            problems.append(ValidationProblem(path: "\(path).maintenanceWindow.end", message: "must be after maintenanceWindow.start"))
        }
        return problems
    }

    /// A chain must try something and may only give up (holdHost) at its end:
    /// steps after holdHost could never run, which is always a mistake.
    static func validateChain(_ chain: [DrainMethod], path: String) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        if chain.isEmpty { problems.append(ValidationProblem(path: path, message: "must not be empty")) }
        if let hold = chain.firstIndex(of: .holdHost), hold != chain.count - 1 {
            problems.append(ValidationProblem(path: "\(path)[\(hold)]", message: "holdHost must be the last step"))
        }
        if Set(chain).count != chain.count {
            problems.append(ValidationProblem(path: path, message: "must not repeat a step"))
        }
        return problems
    }

    /// Checks the names a job uses against an inventory: unknown collections,
    /// clusters, hosts and update lists are reported (all of them).
    public static func validate(_ spec: JobSpec, against inventory: Inventory) -> [ValidationProblem] {
        var problems = validate(spec)
        let hostNames = HostNameIndex(inventory.hosts)
        if let collection = spec.targets.collection {
            if let members = inventory.collections.first(where: { $0.name == collection })?.members {
                problems += collectionProblems(collection, members: members, hostNames)
            } else {
                problems.append(ValidationProblem(path: "targets.collection", message: "names unknown collection '\(collection)'"))
            }
        }
        for (index, cluster) in (spec.targets.clusters ?? []).enumerated()
        where !inventory.clusters.contains(where: { $0.name == cluster }) {
            problems.append(ValidationProblem(path: "targets.clusters[\(index)]", message: "names unknown cluster '\(cluster)'"))
        }
        for (index, host) in (spec.targets.hosts ?? []).enumerated() {
            switch hostNames.lookup(host) {
            case .found: continue
            case .unknown:
                problems.append(ValidationProblem(path: "targets.hosts[\(index)]", message: "names unknown host '\(host)'"))
            case .ambiguous(let names):
                problems.append(ValidationProblem(path: "targets.hosts[\(index)]", message:
                    "names '\(host)', which could be any of \(names.joined(separator: ", ")); give the full name"))
            }
        }
        if let list = spec.updates.updateList {
            if let known = inventory.updateLists.first(where: { $0.name == list }) {
                // An empty list (a software update group whose updates all
                // expired) would patch nothing and report every host done.
                if known.updateIds.isEmpty && (spec.updates.updateIds ?? []).isEmpty {
                    problems.append(ValidationProblem(path: "updates.updateList", message: "update list '\(list)' has no updates to install"))
                }
            } else {
                problems.append(ValidationProblem(path: "updates.updateList", message: "names unknown update list '\(list)'"))
            }
        }
        return problems
    }

    /// A collection (Configuration Manager's, listing NetBIOS names) targets
    /// the hosts the virtualization manager knows under those names. A
    /// member it does not know cannot be drained, so it is never patched
    /// quietly or left out quietly: the job is refused, naming it.
    static func collectionProblems(_ collection: String, members: [String], _ hostNames: HostNameIndex) -> [ValidationProblem] {
        guard !members.isEmpty else {
            return [ValidationProblem(path: "targets.collection", message: "collection '\(collection)' has no members")]
        }
        var unknown: [String] = [], ambiguous: [String] = []
        for member in members {
            switch hostNames.lookup(member) {
            case .found: continue
            case .unknown: unknown.append(member)
            case .ambiguous(let names): ambiguous.append("\(member) (any of \(names.joined(separator: ", ")))")
            }
        }
        var problems: [ValidationProblem] = []
        if !unknown.isEmpty {
            problems.append(ValidationProblem(path: "targets.collection", message:
                "collection '\(collection)' lists \(unknown.count) member(s) the virtualization manager does not know as hosts: "
                + "\(listed(unknown)); patch them outside PatchFleet or take them out of the collection"))
        }
        if !ambiguous.isEmpty {
            problems.append(ValidationProblem(path: "targets.collection", message:
                "collection '\(collection)' lists member(s) whose short name matches several hosts: \(listed(ambiguous))"))
        }
        return problems
    }

    /// At most twenty names, then how many more.
    static func listed(_ names: [String]) -> String {
        names.count <= 20 ? names.joined(separator: ", ")
            : names.prefix(20).joined(separator: ", ") + " and \(names.count - 20) more"
    }
}
