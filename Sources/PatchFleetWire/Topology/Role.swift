import PatchFleetCore

/// The worker roles: one task queue each, so each can be scaled on its own
/// queue depth and given only the backend credentials it needs.
public enum Role: String, Codable, Sendable, CaseIterable {
    /// Virtualization backend, before patching: observe, maintenance mode, VM moves.
    case drain
    /// Update backend: deploy, poll compliance, reboot and wait for the host.
    case deploy
    /// Virtualization backend, after patching: exit maintenance, health, failback.
    case rebalance
}

/// Where a saga command goes.
public enum CommandRoute: Sendable, Hashable {
    /// A worker of this role runs it (tasks exchange, routing key = role name).
    case worker(Role)
    /// The coordinator's own timer: nothing runs it. The coordinator sends the
    /// answer (`timerFired`) to itself through a delay queue, so a wait costs a
    /// queue entry, not a sleeping worker, and fires even if every worker is gone.
    case timer
}

extension CommandKind {
    /// Which role runs which command. Grouped by backend and by the moment of
    /// the host's cycle: reboots live with deploy because the update backend
    /// issues them (ConfigMgr restarts) and the remediation loop (install,
    /// reboot, wait, poll again) stays on one queue; VM actions (including the
    /// restarts after patching) are drain's because they are the same backend
    /// calls with the same timeouts.
    public var route: CommandRoute {
        switch self {
        case .observeCluster, .enterMaintenance, .vmAction: .worker(.drain)
        case .deployUpdates, .pollCompliance, .rebootHost, .waitForHost: .worker(.deploy)
        case .exitMaintenance, .checkHealth, .failbackVM: .worker(.rebalance)
        case .wakeAt: .timer
        }
    }
}
