/// One host's line in the job report.
public struct HostReport: Codable, Sendable, Hashable {
    public var host: String
    public var cluster: String?
    public var phase: SagaPhase
    public var outcome: HostOutcome?
    public var preexistingMaintenance: Bool
    public var startedAt: Instant?
    public var finishedAt: Instant?
    public var notes: [SagaNote]

    public init(_ saga: HostSagaState) {
        host = saga.host
        cluster = saga.cluster
        phase = saga.phase
        outcome = saga.outcome
        preexistingMaintenance = saga.preexistingMaintenance
        startedAt = saga.startedAt
        finishedAt = saga.finishedAt
        notes = saga.notes
    }
}

/// The per-host outcome of a job: what every accepted job ends with.
public struct JobReport: Codable, Sendable, Hashable {
    public var jobId: String
    public var hosts: [HostReport]

    public init(jobId: String, sagas: [HostSagaState]) {
        self.jobId = jobId
        self.hosts = sagas.map(HostReport.init).sorted { ($0.cluster ?? "~", $0.host) < ($1.cluster ?? "~", $1.host) }
    }

    /// Every host reached a terminal state.
    public var isComplete: Bool { hosts.allSatisfy { $0.outcome != nil } }

    public func count(_ kind: HostOutcome.Kind) -> Int {
        hosts.filter { $0.outcome?.kind == kind }.count
    }

    /// Every VM named in any note: the "reported" set the invariants check against.
    public var reportedVMs: Set<String> {
        Set(hosts.flatMap { $0.notes.compactMap(\.vm) })
    }

    public func host(_ name: String) -> HostReport? { hosts.first { $0.host == name } }
}
