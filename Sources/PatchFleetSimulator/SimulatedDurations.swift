/// How long things take in the simulated datacenter (virtual seconds), before
/// the time-scale factor. Defaults follow the field: a 10 GbE live migration
/// moves about 1 GB/s, installs take 15-60 minutes, reboots 5-10 minutes.
public struct SimulatedDurations: Codable, Sendable, Hashable {
    public var liveMigrationMBPerSecond: Double = 1000
    public var quickMigrationMBPerSecond: Double = 400
    public var migrationOverheadSeconds: Double = 5
    public var coldMoveSeconds: Double = 10
    public var saveStateSeconds: Double = 15
    public var shutDownSeconds: Double = 30
    public var startSeconds: Double = 20
    /// Entering (cordon) or leaving maintenance mode.
    public var maintenanceSeconds: Double = 5
    public var installMinSeconds: Double = 900
    public var installMaxSeconds: Double = 3600
    public var rebootMinSeconds: Double = 300
    public var rebootMaxSeconds: Double = 600
    /// Answer time of a plain backend call.
    public var callLatencySeconds: Double = 2
    /// How long a call hangs before a timeout fault answers.
    public var timeoutSeconds: Double = 120
    /// Share of successful installs that leave a pending reboot.
    public var pendingRebootProbability: Double = 0.8
    /// Multiplies every duration: 1 is realistic, 1/60 makes an hour a minute.
    public var timeScale: Double = 1

    public init() {}

    /// Every backend call and every datacenter action answers at once: the
    /// benchmarks and the tests that measure or drive PatchFleet, not the
    /// datacenter.
    public static var instant: SimulatedDurations {
        var d = SimulatedDurations()
        d.liveMigrationMBPerSecond = 1e12
        d.quickMigrationMBPerSecond = 1e12
        d.migrationOverheadSeconds = 0
        d.coldMoveSeconds = 0
        d.saveStateSeconds = 0
        d.shutDownSeconds = 0
        d.startSeconds = 0
        d.maintenanceSeconds = 0
        d.installMinSeconds = 0
        d.installMaxSeconds = 0
        d.rebootMinSeconds = 0
        d.rebootMaxSeconds = 0
        d.callLatencySeconds = 0
        return d
    }

    enum CodingKeys: String, CodingKey {
        case liveMigrationMBPerSecond, quickMigrationMBPerSecond, migrationOverheadSeconds, coldMoveSeconds
        case saveStateSeconds, shutDownSeconds, startSeconds, maintenanceSeconds, installMinSeconds, installMaxSeconds
        case rebootMinSeconds, rebootMaxSeconds, callLatencySeconds, timeoutSeconds, pendingRebootProbability, timeScale
    }

    public init(from decoder: Decoder) throws {
        let d = SimulatedDurations()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func v(_ key: CodingKeys, _ fallback: Double) throws -> Double { try c.decodeIfPresent(Double.self, forKey: key) ?? fallback }
        liveMigrationMBPerSecond = try v(.liveMigrationMBPerSecond, d.liveMigrationMBPerSecond)
        quickMigrationMBPerSecond = try v(.quickMigrationMBPerSecond, d.quickMigrationMBPerSecond)
        migrationOverheadSeconds = try v(.migrationOverheadSeconds, d.migrationOverheadSeconds)
        coldMoveSeconds = try v(.coldMoveSeconds, d.coldMoveSeconds)
        saveStateSeconds = try v(.saveStateSeconds, d.saveStateSeconds)
        shutDownSeconds = try v(.shutDownSeconds, d.shutDownSeconds)
        startSeconds = try v(.startSeconds, d.startSeconds)
        maintenanceSeconds = try v(.maintenanceSeconds, d.maintenanceSeconds)
        installMinSeconds = try v(.installMinSeconds, d.installMinSeconds)
        installMaxSeconds = try v(.installMaxSeconds, d.installMaxSeconds)
        rebootMinSeconds = try v(.rebootMinSeconds, d.rebootMinSeconds)
        rebootMaxSeconds = try v(.rebootMaxSeconds, d.rebootMaxSeconds)
        callLatencySeconds = try v(.callLatencySeconds, d.callLatencySeconds)
        timeoutSeconds = try v(.timeoutSeconds, d.timeoutSeconds)
        pendingRebootProbability = try v(.pendingRebootProbability, d.pendingRebootProbability)
        timeScale = try v(.timeScale, d.timeScale)
    }
}
