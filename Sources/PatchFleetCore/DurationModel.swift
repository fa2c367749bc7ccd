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
