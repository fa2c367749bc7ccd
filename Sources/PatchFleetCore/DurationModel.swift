/// Predicts how long one host takes, from the inventory and the policy's
/// estimates. Used for maintenance-window fit and for the dry-run timeline.
public enum DurationModel {
    /// Fixed cost of precheck, entering and leaving maintenance.
    static let fixedOverheadSeconds: Double = 60

    public static func drainSeconds(host: String, inventory: Inventory, policy: Policy) -> Double {
        let estimates = policy.estimates
        return inventory.vms(on: host)
            .filter { $0.power.consumesMemory && $0.highlyAvailable }
            .reduce(0) { $0 + estimates.perVMOverheadSeconds + Double($1.memoryMB) / estimates.liveMigrationMBPerSecond }
    }

    /// `drainSeconds` of every host holding VMs, in one pass over the VMs
    /// (the same sums in the same order, so the same values): the scheduler
    /// asks for every pending host of a cluster at each decision.
    static func drainSecondsByHost(inventory: Inventory, policy: Policy) -> [String: Double] {
        let estimates = policy.estimates
        var drain: [String: Double] = [:]
        for vm in inventory.vms where vm.power.consumesMemory && vm.highlyAvailable {
            // Added as `drainSeconds` adds (left to right), for equal bits.
            drain[vm.host] = (drain[vm.host] ?? 0) + estimates.perVMOverheadSeconds
                + Double(vm.memoryMB) / estimates.liveMigrationMBPerSecond
        }
        return drain
    }

    public static func predictSeconds(host: String, inventory: Inventory, policy: Policy) -> Double {
        predictSeconds(drainSeconds: drainSeconds(host: host, inventory: inventory, policy: policy), policy: policy)
    }

    static func predictSeconds(drainSeconds drain: Double, policy: Policy) -> Double {
        let estimates = policy.estimates
        let failback = policy.failback == .original ? drain : 0
        return fixedOverheadSeconds + drain + estimates.installSeconds + estimates.rebootSeconds
            + estimates.healthCheckSeconds + failback
    }
}
