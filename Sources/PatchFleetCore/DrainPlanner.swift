/// Why a VM is on the drain list; decides what a failure of its step means.
public enum DrainPurpose: String, Codable, Sendable, Hashable {
    /// A running highly-available VM: follows its fallback chain.
    case evacuateRunning
    /// Rule 1: a running non-highly-available VM the policy lets us save or shut down.
    case nonHighlyAvailable
    /// Rule 2: a stopped or saved highly-available VM moved so it stays startable.
    case moveStopped
    /// A standalone host patched under `standaloneHosts: patch`: its VMs are saved.
    case standaloneSave
}

/// One VM to take care of before the host may be patched.
public struct DrainItem: Codable, Sendable, Hashable {
    public var vm: String
    public var memoryMB: Int
    public var purpose: DrainPurpose
    /// Steps to try in order; `step` is the one in progress.
    public var chain: [DrainMethod]
    public var step: Int
    /// Planned destination for migrations and moves.
    public var target: String?

    public init(vm: String, memoryMB: Int, purpose: DrainPurpose, chain: [DrainMethod], target: String?) {
        self.vm = vm
        self.memoryMB = memoryMB
        self.purpose = purpose
        self.chain = chain
        self.step = 0
        self.target = target
    }

    public var currentMethod: DrainMethod? { step < chain.count ? chain[step] : nil }
}

/// Where a VM was before the drain: Rule 3 moves it back here.
public struct RecordedPlacement: Codable, Sendable, Hashable {
    public var vm: String
    public var host: String
    public var power: PowerState
    public init(vm: String, host: String, power: PowerState) {
        self.vm = vm
        self.host = host
        self.power = power
    }
}

/// Why a precheck holds a host without touching it.
public enum HoldCause: String, Codable, Sendable, Hashable {
    case standaloneHost, nonHighlyAvailableVMs, insufficientCapacity
}

/// The precheck's answer for one host.
public enum PrecheckVerdict: Sendable, Hashable {
    /// Drain with this plan.
    case drain(DrainPlan)
    /// Leave the host untouched and put it on the holding list (needs a person).
    case hold(reason: String, cause: HoldCause)
    /// Leave the host untouched; nothing for us to do (e.g. already in maintenance).
    case skip(reason: String, preexistingMaintenance: Bool)
}

public struct DrainPlan: Codable, Sendable, Hashable {
    public var items: [DrainItem]
    public var placement: [RecordedPlacement]
    /// Things the drain will knowingly not do (Rule 2 leave), for the report.
    public var notes: [SagaNote]
    /// Memory the running VMs need elsewhere, and what the other nodes offer with headroom.
    public var requiredMB: Int
    public var availableMB: Int
}

/// Pure precheck: capacity with headroom, Rule 1, Rule 2, placement for Rule 3.
/// Shared by the saga (on observed facts) and the scheduler/dry run (on the
/// inventory) so both reach the same verdict from the same facts.
public enum DrainPlanner {
    public static func plan(host hostName: String, snapshot: ClusterSnapshot, policy: Policy,
                            excludingTargets excluded: Set<String> = []) -> PrecheckVerdict {
        let inventory = snapshot.inventory
        guard let host = inventory.host(named: hostName) else {
            return .skip(reason: "host '\(hostName)' is not in the inventory", preexistingMaintenance: false)
        }
        switch host.status {
        case .paused, .maintenance, .draining:
            return .skip(reason: "host was already \(host.status.rawValue) before the job; left as it was",
                         preexistingMaintenance: true)
        case .rebooting, .down:
            return .skip(reason: "host is \(host.status.rawValue) at precheck; not touched", preexistingMaintenance: false)
        case .up:
            break
        }
        if !host.healthy {
            return .skip(reason: "host is unhealthy at precheck; not touched", preexistingMaintenance: false)
        }
        let vms = inventory.vms(on: hostName).sorted { $0.name < $1.name }
        let placement = vms.map { RecordedPlacement(vm: $0.name, host: hostName, power: $0.power) }
        let running = vms.filter { $0.power.consumesMemory }

        if host.isStandalone {
            guard policy.standaloneHosts == .patch else {
                return .hold(reason: "standalone host: maintenance would save its \(running.count) running VM(s); held for separate handling (standaloneHosts: hold)", cause: .standaloneHost)
            }
            let items = running.map {
                DrainItem(vm: $0.name, memoryMB: $0.memoryMB, purpose: .standaloneSave, chain: [.saveState, .holdHost], target: nil)
            }
            return .drain(DrainPlan(items: items, placement: placement, notes: [], requiredMB: 0, availableMB: 0))
        }

        // Rule 1: detect non-HA running VMs before anything is touched.
        let nonHA = running.filter { !$0.highlyAvailable }
        if !nonHA.isEmpty && policy.nonHighlyAvailableVMs == .hold {
            return .hold(reason: "Rule 1: non-highly-available VM(s) running: \(nonHA.map(\.name).joined(separator: ", ")); host held (nonHighlyAvailableVMs: hold)", cause: .nonHighlyAvailableVMs)
        }

        // Capacity: can the other in-service nodes hold the running HA VMs with headroom?
        var free = targetCapacity(snapshot: snapshot, excluding: excluded.union([hostName]), headroomPercent: policy.capacityHeadroomPercent)
        let evacuate = running.filter(\.highlyAvailable).sorted { ($0.memoryMB, $1.name) > ($1.memoryMB, $0.name) }
        let required = evacuate.reduce(0) { $0 + $1.memoryMB }
        let available = free.reduce(0) { $0 + max(0, $1.freeMB) }
        var items: [DrainItem] = []
        for vm in evacuate {
            let chain = policy.fallbackChain(for: vm)
            let needsTarget = chain.contains(.liveMigrate) || chain.contains(.quickMigrate)
            var target: String?
            if needsTarget {
                // Worst fit (most free first) spreads the load so failback and
                // the next host's drain both find room.
                guard let index = free.indices.filter({ free[$0].freeMB >= vm.memoryMB })
                    .max(by: { (free[$0].freeMB, free[$1].name) < (free[$1].freeMB, free[$0].name) }) else {
                    return .hold(reason: "insufficient capacity: running highly-available VMs need \(required) MB; the other nodes can take \(available) MB with \(policy.capacityHeadroomPercent)% headroom (VM '\(vm.name)', \(vm.memoryMB) MB, fits nowhere)", cause: .insufficientCapacity)
                }
                free[index].freeMB -= vm.memoryMB
                target = free[index].name
            }
            items.append(DrainItem(vm: vm.name, memoryMB: vm.memoryMB, purpose: .evacuateRunning, chain: chain, target: target))
        }
        for vm in nonHA {
            let method: DrainMethod = policy.nonHighlyAvailableVMs == .shutDown ? .shutDown : .saveState
            items.append(DrainItem(vm: vm.name, memoryMB: vm.memoryMB, purpose: .nonHighlyAvailable, chain: [method, .holdHost], target: nil))
        }

        // Rule 2: stopped/saved HA VMs are not moved by maintenance mode.
        var notes: [SagaNote] = []
        for vm in vms where vm.highlyAvailable && !vm.power.consumesMemory {
            if policy.stoppedHighlyAvailableVMs == .leave {
                notes.append(SagaNote(vm: vm.name, message: "Rule 2: \(vm.power.rawValue) highly-available VM left on the host (stoppedHighlyAvailableVMs: leave)"))
                continue
            }
            // Stopped VMs take no memory now, but must be startable where they go.
            let candidates = free.filter { $0.freeMB >= vm.memoryMB }
            guard let best = candidates.max(by: { ($0.freeMB, $1.name) < ($1.freeMB, $0.name) }) else {
                notes.append(SagaNote(vm: vm.name, message: "Rule 2: no node could start \(vm.power.rawValue) VM after a move; left on the host"))
                continue
            }
            items.append(DrainItem(vm: vm.name, memoryMB: vm.memoryMB, purpose: .moveStopped, chain: [], target: best.name))
        }
        return .drain(DrainPlan(items: items, placement: placement, notes: notes, requiredMB: required, availableMB: available))
    }

    struct TargetRoom: Hashable {
        var name: String
        var freeMB: Int
    }

    /// Free memory per eligible target, after reserving the headroom share.
    static func targetCapacity(snapshot: ClusterSnapshot, excluding: Set<String>, headroomPercent: Int) -> [TargetRoom] {
        let inventory = snapshot.inventory
        return snapshot.hosts
            .filter { $0.canReceiveVMs && !excluding.contains($0.name) }
            .sorted { $0.name < $1.name }
            .map { host in
                let usable = host.memoryMB * (100 - headroomPercent) / 100
                return TargetRoom(name: host.name, freeMB: usable - inventory.usedMemoryMB(on: host.name))
            }
    }
}
