import PatchFleetCore

/// The invariants of ARCHITECTURE.md ("Invariants") and the rules of the job's policy.
public enum Invariant: String, Codable, Sendable, CaseIterable {
    case clusterUnavailabilityLimit
    case drainWithoutCapacity
    case vmLost
    case vmLeftOffUnreported
    case rebootWithRunningVMs
    /// A host rebooted while merely cordoned (paused), not in the manager's maintenance mode.
    case rebootOutsideMaintenance
    case vmSentToUnavailableHost
    case endedForeignMaintenance
    case hostLeftInMaintenanceWithoutReason
    case hostNotTerminal
    case memoryOvercommitted
    case settleDelay
    case rule1NonHighlyAvailableVMs
    case rule2StoppedHighlyAvailableVMs
    case rule3Failback
    case standaloneHostPatched
    case runDidNotSettle
}

public struct InvariantViolation: Codable, Sendable, Hashable, CustomStringConvertible {
    public var invariant: Invariant
    public var at: Instant?
    public var detail: String
    public var description: String {
        "\(invariant.rawValue)\(at.map { " at \($0)" } ?? ""): \(detail)"
    }
}

/// Replays a datacenter history from the initial inventory and checks, at
/// every recorded instant, what PatchFleet did. Changes by other actors
/// (someone moving or deleting a VM) are applied but never blamed on PatchFleet.
public struct InvariantChecker: Sendable {
    public var policy: Policy

    public init(policy: Policy) {
        self.policy = policy
    }

    /// Checks a whole simulation run, including the driver's own findings.
    public func check(_ run: SimulationRun) -> [InvariantViolation] {
        check(initial: run.initialInventory, history: run.history, final: run.finalInventory, report: run.report)
            + run.driverProblems.map { InvariantViolation(invariant: .runDidNotSettle, at: run.endedAt, detail: $0) }
    }

    public func check(initial: Inventory, history: [HistoryRecord], final: Inventory, report: JobReport) -> [InvariantViolation] {
        var replay = Replay(inventory: initial, policy: policy, report: report)
        for record in history {
            replay.apply(record)
        }
        return replay.violations + replay.finalChecks(final: final)
    }
}

/// The checker's running picture of the datacenter.
struct Replay {
    var inventory: Inventory
    let policy: Policy
    let report: JobReport
    let reported: Set<String>
    var violations: [InvariantViolation] = []
    /// Hosts in a maintenance PatchFleet started (until PatchFleet ends it).
    var ours: Set<String> = []
    var lastReturn: [String: Instant] = [:]
    /// VM -> the host PatchFleet drained it from (Rule 3).
    var drainedFrom: [String: String] = [:]
    var movedByOthers: Set<String> = []
    var deletedByOthers: Set<String> = []
    /// VMs as they were before the run (the replay's inventory moves on).
    let initialVMs: [VM]

    init(inventory: Inventory, policy: Policy, report: JobReport) {
        self.inventory = inventory
        self.policy = policy
        self.report = report
        self.reported = report.reportedVMs
        self.initialVMs = inventory.vms
    }

    mutating func violate(_ invariant: Invariant, _ at: Instant, _ detail: String) {
        violations.append(InvariantViolation(invariant: invariant, at: at, detail: detail))
    }

    func hostIndex(_ name: String) -> Int? { inventory.hosts.firstIndex { $0.name == name } }
    func vmIndex(_ name: String) -> Int? { inventory.vms.firstIndex { $0.name == name } }

    mutating func apply(_ record: HistoryRecord) {
        let ourDoing = record.actor == .patchfleet
        switch record.change {
        case .hostStatus(let host, let from, let to):
            if ourDoing && from == .up && (to == .maintenance || to == .draining || to == .paused) {
                drainStarts(host, at: record.at)
                ours.insert(host)
            }
            if ourDoing && to == .up && from != .up {
                if !ours.contains(host) {
                    violate(.endedForeignMaintenance, record.at, "PatchFleet ended a \(from.rawValue) on \(host) that it did not start")
                }
                ours.remove(host)
                if let cluster = inventory.host(named: host)?.cluster { lastReturn[cluster] = record.at }
            }
            if let index = hostIndex(host) { inventory.hosts[index].status = to }
            checkUnavailability(around: host, at: record.at)
        case .migrationRequested(let vm, _, let to, let method):
            if ourDoing, let target = inventory.host(named: to), !target.canReceiveVMs {
                violate(.vmSentToUnavailableHost, record.at,
                        "\(vm) sent (\(method)) to \(to), which is \(target.status.rawValue)\(target.healthy ? "" : ", unhealthy")")
            }
        case .vmMoved(let vm, let from, let to, _):
            guard let index = vmIndex(vm) else { return }
            inventory.vms[index].host = to
            if record.actor == .external {
                movedByOthers.insert(vm)
            } else if ours.contains(from), drainedFrom[vm] == nil {
                drainedFrom[vm] = from
            }
            checkMemory(on: to, at: record.at)
        case .vmPower(let vm, let host, _, let to):
            guard let index = vmIndex(vm) else { return }
            inventory.vms[index].power = to
            if to.consumesMemory { checkMemory(on: host, at: record.at) }
        case .vmDeleted(let vm, let host):
            inventory.vms.removeAll { $0.name == vm }
            if record.actor == .external {
                deletedByOthers.insert(vm)
            } else {
                violate(.vmLost, record.at, "PatchFleet deleted \(vm) on \(host)")
            }
        case .rebootRequested(let host, let running):
            if let status = inventory.host(named: host)?.status, status != .maintenance {
                violate(.rebootOutsideMaintenance, record.at, "reboot of \(host) requested while it was \(status.rawValue), not in maintenance mode")
            }
            if !running.isEmpty {
                violate(.rebootWithRunningVMs, record.at, "reboot of \(host) requested while \(running.joined(separator: ", ")) ran on it")
            }
            if policy.stoppedHighlyAvailableVMs == .move {
                let left = inventory.vms(on: host).filter { $0.highlyAvailable && !$0.power.consumesMemory && !reported.contains($0.name) }
                if !left.isEmpty {
                    violate(.rule2StoppedHighlyAvailableVMs, record.at,
                            "\(host) rebooted with unreported stopped HA VM(s) still on it: \(left.map(\.name).joined(separator: ", "))")
                }
            }
        case .installStarted, .installFinished, .pendingReboot, .addedToCollection, .migrationFailed:
            return
        }
    }

    /// PatchFleet just started a maintenance on `host`: the drain preconditions.
    mutating func drainStarts(_ host: String, at: Instant) {
        guard let info = inventory.host(named: host) else { return }
        let vms = inventory.vms(on: host)
        guard let cluster = info.cluster else {
            if policy.standaloneHosts == .hold {
                violate(.standaloneHostPatched, at, "standalone host \(host) put in maintenance although standaloneHosts is hold")
            }
            return
        }
        if policy.nonHighlyAvailableVMs == .hold {
            let nonHA = vms.filter { $0.power.consumesMemory && !$0.highlyAvailable }
            if !nonHA.isEmpty {
                violate(.rule1NonHighlyAvailableVMs, at, "\(host) put in maintenance with non-HA VM(s) running: \(nonHA.map(\.name).joined(separator: ", "))")
            }
        }
        let needed = vms.filter { vm in
            vm.power.consumesMemory && vm.highlyAvailable
                && policy.fallbackChain(for: vm).contains { $0 == .liveMigrate || $0 == .quickMigrate }
        }.reduce(0) { $0 + $1.memoryMB }
        let room = inventory.hosts(inCluster: cluster)
            .filter { $0.name != host && $0.canReceiveVMs && !ours.contains($0.name) }
            .reduce(0) { $0 + max(0, inventory.freeMemoryMB(on: $1.name)) }
        if needed > room {
            violate(.drainWithoutCapacity, at, "\(host) drained with \(needed) MB of running HA VMs and \(room) MB free on the rest of \(cluster)")
        }
        if policy.maxUnavailablePerCluster == 1, let back = lastReturn[cluster], at.seconds(since: back) < policy.settleDelaySeconds {
            violate(.settleDelay, at, "\(host) started \(Int(at.seconds(since: back))) s after the previous host of \(cluster) returned (settleDelaySeconds: \(Int(policy.settleDelaySeconds)))")
        }
    }

    mutating func checkUnavailability(around host: String, at: Instant) {
        guard let cluster = inventory.host(named: host)?.cluster else { return }
        let down = inventory.hosts(inCluster: cluster).filter { ours.contains($0.name) }.map(\.name)
        if down.count > policy.maxUnavailablePerCluster {
            violate(.clusterUnavailabilityLimit, at,
                    "\(down.count) hosts of \(cluster) out of service at once (\(down.sorted().joined(separator: ", "))), limit \(policy.maxUnavailablePerCluster)")
        }
    }

    mutating func checkMemory(on host: String, at: Instant) {
        guard let info = inventory.host(named: host) else { return }
        let used = inventory.usedMemoryMB(on: host)
        if used > info.memoryMB {
            violate(.memoryOvercommitted, at, "\(host) holds \(used) MB of running VMs with \(info.memoryMB) MB")
        }
    }

    func finalChecks(final: Inventory) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func violate(_ invariant: Invariant, _ detail: String) {
            found.append(InvariantViolation(invariant: invariant, at: nil, detail: detail))
        }
        for host in report.hosts {
            guard let outcome = host.outcome else {
                violate(.hostNotTerminal, "\(host.host) ended in phase \(host.phase.rawValue) without an outcome")
                continue
            }
            if outcome.kind != .patched && (outcome.reason ?? "").isEmpty {
                violate(.hostNotTerminal, "\(host.host) is \(outcome.kind.rawValue) without a reason")
            }
        }
        for host in ours.sorted() {
            let outcome = report.host(host)?.outcome
            if outcome?.inMaintenance != true || (outcome?.reason ?? "").isEmpty {
                violate(.hostLeftInMaintenanceWithoutReason, "\(host) left in PatchFleet's maintenance; report says \(outcome.map { "\($0.kind.rawValue): \($0.reason ?? "no reason")" } ?? "nothing")")
            }
        }
        let finalHosts = Set(final.hosts.map(\.name))
        let finalVMs = Dictionary(final.vms.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for vm in initialVMs {
            guard let now = finalVMs[vm.name] else {
                if !deletedByOthers.contains(vm.name) { violate(.vmLost, "\(vm.name) disappeared") }
                continue
            }
            if !finalHosts.contains(now.host) { violate(.vmLost, "\(vm.name) is on unknown host \(now.host)") }
            if vm.power.consumesMemory && !now.power.consumesMemory && !reported.contains(vm.name) {
                violate(.vmLeftOffUnreported, "\(vm.name) was \(vm.power.rawValue) and is \(now.power.rawValue), with no line in the report")
            }
        }
        if policy.failback == .original {
            for (vm, home) in drainedFrom.sorted(by: { $0.key < $1.key }) {
                guard let kind = report.host(home)?.outcome?.kind, kind == .patched || kind == .failed,
                      report.host(home)?.outcome?.inMaintenance == false,
                      !movedByOthers.contains(vm), !deletedByOthers.contains(vm), !reported.contains(vm),
                      let now = finalVMs[vm] else { continue }
                if now.host != home {
                    violate(.rule3Failback, "\(vm) was drained from \(home) and ended on \(now.host) without a line in the report")
                }
            }
        }
        return found
    }
}
