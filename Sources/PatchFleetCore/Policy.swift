/// Rule 1: what to do with non-highly-available VMs running on a clustered
/// host (maintenance mode would save them and cut their users off).
public enum NonHighlyAvailableVMPolicy: String, Codable, Sendable, CaseIterable {
    /// Do not touch the host; report it for a person (default).
    case hold
    /// Accept saved state during the patch; the VMs are started again afterwards.
    case saveState
    /// Shut them down gracefully; they are started again afterwards.
    case shutDown
}

/// Rule 2: stopped or saved highly-available VMs are not moved by maintenance mode.
public enum StoppedHighlyAvailableVMPolicy: String, Codable, Sendable, CaseIterable {
    /// Move them to another node so they stay startable while the host is down (default).
    case move
    /// Leave them on the host (reported).
    case leave
}

/// Rule 3: VMs are not moved back after maintenance unless we do it.
public enum FailbackPolicy: String, Codable, Sendable, CaseIterable {
    /// Move every VM we moved away back to its recorded host, capacity permitting (default).
    case original
    /// Leave VMs where the drain put them.
    case none
}

/// Standalone hosts cannot live-migrate: maintenance would save their VMs.
public enum StandaloneHostPolicy: String, Codable, Sendable, CaseIterable {
    /// Put them on a holding list for separate handling (default).
    case hold
    /// Patch them anyway, saving their running VMs for the duration.
    case patch
}

/// What happens to a host whose install/reboot failed after every retry.
public enum FailurePolicy: String, Codable, Sendable, CaseIterable {
    /// Leave it in maintenance with the reason on record for a person (default).
    case hold
    /// Bring it back into service unpatched (reported as failed).
    case resume
}

/// One step of a VM's drain fallback chain.
public enum DrainMethod: String, Codable, Sendable, CaseIterable {
    case liveMigrate, quickMigrate, saveState, shutDown
    /// Give up on this VM: compensate the drain and hold the host.
    case holdHost
}

/// A per-VM fallback chain, matched by VM name or by tag.
public struct VMOverride: Codable, Sendable, Hashable {
    public var name: String?
    public var tag: String?
    public var fallback: [DrainMethod]
    public init(name: String? = nil, tag: String? = nil, fallback: [DrainMethod]) {
        self.name = name
        self.tag = tag
        self.fallback = fallback
    }
}

public struct MaintenanceWindow: Codable, Sendable, Hashable {
    public var start: Instant
    public var end: Instant
    public init(start: Instant, end: Instant) {
        self.start = start
        self.end = end
    }
}

/// Figures the scheduler uses to predict how long a host takes. Deliberately
/// on the pessimistic side: a prediction that is too short lets a host start
/// that then overruns the maintenance window.
public struct DurationEstimates: Codable, Sendable, Hashable {
    public var liveMigrationMBPerSecond: Double
    public var perVMOverheadSeconds: Double
    public var installSeconds: Double
    public var rebootSeconds: Double
    public var healthCheckSeconds: Double

    public init(liveMigrationMBPerSecond: Double = 250, perVMOverheadSeconds: Double = 15,
                installSeconds: Double = 3600, rebootSeconds: Double = 600, healthCheckSeconds: Double = 60) {
        self.liveMigrationMBPerSecond = liveMigrationMBPerSecond
        self.perVMOverheadSeconds = perVMOverheadSeconds
        self.installSeconds = installSeconds
        self.rebootSeconds = rebootSeconds
        self.healthCheckSeconds = healthCheckSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case liveMigrationMBPerSecond, perVMOverheadSeconds, installSeconds, rebootSeconds, healthCheckSeconds
    }

    public init(from decoder: Decoder) throws {
        let d = DurationEstimates()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        liveMigrationMBPerSecond = try c.value(.liveMigrationMBPerSecond, default: d.liveMigrationMBPerSecond)
        perVMOverheadSeconds = try c.value(.perVMOverheadSeconds, default: d.perVMOverheadSeconds)
        installSeconds = try c.value(.installSeconds, default: d.installSeconds)
        rebootSeconds = try c.value(.rebootSeconds, default: d.rebootSeconds)
        healthCheckSeconds = try c.value(.healthCheckSeconds, default: d.healthCheckSeconds)
    }
}

/// How a job treats hosts and VMs. Every field has a default, so `{}` is a
/// valid (and safe) policy; see docs/saga.md for the rule each one implements.
public struct Policy: Codable, Sendable, Hashable {
    public var maxUnavailablePerCluster: Int = 1
    public var maxParallelClusters: Int = 4
    public var nonHighlyAvailableVMs: NonHighlyAvailableVMPolicy = .hold
    public var stoppedHighlyAvailableVMs: StoppedHighlyAvailableVMPolicy = .move
    public var failback: FailbackPolicy = .original
    public var standaloneHosts: StandaloneHostPolicy = .hold
    public var onFailure: FailurePolicy = .hold
    /// Failed hosts (after retries) that stop the rest of their cluster.
    public var maxFailedHosts: Int = 1
    /// Retries of a failing step (install, reboot wait, backend call) per host.
    public var maxRetriesPerHost: Int = 2
    /// First retry delay; doubled on every further retry.
    public var retryBackoffSeconds: Double = 60
    /// Reboots allowed per host before "stuck in pending reboot" is a failure.
    public var maxRebootsPerHost: Int = 3
    public var rebootTimeoutSeconds: Double = 1800
    public var installTimeoutSeconds: Double = 7200
    public var drainTimeoutSeconds: Double = 3600
    /// Bound on one VM's migration attempt before its fallback chain moves on.
    public var vmMigrationTimeoutSeconds: Double = 900
    public var pollIntervalSeconds: Double = 60
    /// Saga-level timeout: how long a task may go unanswered (on top of the
    /// step's own timeout, for VM moves and reboot waits) before the saga
    /// counts it as a timed-out attempt. Fires from the coordinator's clock,
    /// so it holds even when every worker is gone.
    public var taskTimeoutSeconds: Double = 900
    /// Default fallback chain for running highly-available VMs. Quick
    /// migration and saved state cut users off, so the default goes straight
    /// from live migration to holding the host.
    public var migrationFallback: [DrainMethod] = [.liveMigrate, .holdHost]
    public var vmOverrides: [VMOverride] = []
    /// Share of every target host's memory kept free when planning a drain.
    public var capacityHeadroomPercent: Int = 10
    /// Wait after a host returns before the next host of its cluster starts.
    public var settleDelaySeconds: Double = 300
    public var maintenanceWindow: MaintenanceWindow?
    public var dryRun: Bool = false
    public var estimates: DurationEstimates = DurationEstimates()

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxUnavailablePerCluster, maxParallelClusters, nonHighlyAvailableVMs, stoppedHighlyAvailableVMs,
             failback, standaloneHosts, onFailure, maxFailedHosts, maxRetriesPerHost, retryBackoffSeconds,
             maxRebootsPerHost, rebootTimeoutSeconds, installTimeoutSeconds, drainTimeoutSeconds,
             vmMigrationTimeoutSeconds, pollIntervalSeconds, taskTimeoutSeconds, migrationFallback, vmOverrides,
             capacityHeadroomPercent, settleDelaySeconds, maintenanceWindow, dryRun, estimates
    }

    public init(from decoder: Decoder) throws {
        let d = Policy()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxUnavailablePerCluster = try c.value(.maxUnavailablePerCluster, default: d.maxUnavailablePerCluster)
        maxParallelClusters = try c.value(.maxParallelClusters, default: d.maxParallelClusters)
        nonHighlyAvailableVMs = try c.value(.nonHighlyAvailableVMs, default: d.nonHighlyAvailableVMs)
        stoppedHighlyAvailableVMs = try c.value(.stoppedHighlyAvailableVMs, default: d.stoppedHighlyAvailableVMs)
        failback = try c.value(.failback, default: d.failback)
        standaloneHosts = try c.value(.standaloneHosts, default: d.standaloneHosts)
        onFailure = try c.value(.onFailure, default: d.onFailure)
        maxFailedHosts = try c.value(.maxFailedHosts, default: d.maxFailedHosts)
        maxRetriesPerHost = try c.value(.maxRetriesPerHost, default: d.maxRetriesPerHost)
        retryBackoffSeconds = try c.value(.retryBackoffSeconds, default: d.retryBackoffSeconds)
        maxRebootsPerHost = try c.value(.maxRebootsPerHost, default: d.maxRebootsPerHost)
        rebootTimeoutSeconds = try c.value(.rebootTimeoutSeconds, default: d.rebootTimeoutSeconds)
        installTimeoutSeconds = try c.value(.installTimeoutSeconds, default: d.installTimeoutSeconds)
        drainTimeoutSeconds = try c.value(.drainTimeoutSeconds, default: d.drainTimeoutSeconds)
        vmMigrationTimeoutSeconds = try c.value(.vmMigrationTimeoutSeconds, default: d.vmMigrationTimeoutSeconds)
        pollIntervalSeconds = try c.value(.pollIntervalSeconds, default: d.pollIntervalSeconds)
        taskTimeoutSeconds = try c.value(.taskTimeoutSeconds, default: d.taskTimeoutSeconds)
        migrationFallback = try c.value(.migrationFallback, default: d.migrationFallback)
        vmOverrides = try c.value(.vmOverrides, default: d.vmOverrides)
        capacityHeadroomPercent = try c.value(.capacityHeadroomPercent, default: d.capacityHeadroomPercent)
        settleDelaySeconds = try c.value(.settleDelaySeconds, default: d.settleDelaySeconds)
        maintenanceWindow = try c.decodeIfPresent(MaintenanceWindow.self, forKey: .maintenanceWindow)
        dryRun = try c.value(.dryRun, default: d.dryRun)
        estimates = try c.value(.estimates, default: d.estimates)
    }

    /// The fallback chain for one VM: first override by name, then by tag,
    /// then the policy default. Names win over tags because they are the more
    /// specific statement of intent.
    public func fallbackChain(for vm: VM) -> [DrainMethod] {
        if let byName = vmOverrides.first(where: { $0.name == vm.name }) { return byName.fallback }
        if let byTag = vmOverrides.first(where: { $0.tag.map(vm.tags.contains) ?? false }) { return byTag.fallback }
        return migrationFallback
    }
}
