import PatchFleetCore

/// A job-level action a submitter takes mid-run.
public struct ScheduledControl: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case pause, resume, cancel
    }
    public var atSeconds: Double
    public var action: Action
    public init(atSeconds: Double, action: Action) {
        self.atSeconds = atSeconds
        self.action = action
    }
}

/// Everything one simulated run is made of. With the same scenario (and
/// scheduler) a run is exactly reproducible.
public struct SimulationScenario: Codable, Sendable {
    public var seed: UInt64
    public var lab: LabConfiguration
    public var job: JobSpec
    public var start: Instant
    public var controls: [ScheduledControl]
    /// Deliver some answers twice, as a broker redelivery would: the copy is
    /// stale by then and must change nothing.
    public var duplicateAnswers: Bool

    public init(seed: UInt64, lab: LabConfiguration, job: JobSpec, start: Instant = Instant(secondsSinceEpoch: 1_800_000_000),
                controls: [ScheduledControl] = [], duplicateAnswers: Bool = false) {
        self.seed = seed
        self.lab = lab
        self.job = job
        self.start = start
        self.controls = controls
        self.duplicateAnswers = duplicateAnswers
    }
}

/// What a run produced: the report, the final sagas, and the datacenter's
/// history for the invariant checker.
public struct SimulationRun: Sendable {
    public var scenario: SimulationScenario
    public var report: JobReport
    public var sagas: [HostSagaState]
    public var initialInventory: Inventory
    public var finalInventory: Inventory
    public var history: [HistoryRecord]
    public var startedAt: Instant
    public var endedAt: Instant
    /// Things the driver itself saw go wrong (a saga stuck, the step limit hit).
    public var driverProblems: [String]
    public var commandsIssued: Int
    public var staleAnswersIgnored: Int
}
