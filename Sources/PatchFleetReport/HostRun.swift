import PatchFleetCore

/// One host's run: its steps with their durations, what was installed,
/// which VMs left and came back, and every rule that held or skipped something.
public struct HostRun: Codable, Sendable, Hashable {
    public var host: String
    public var cluster: String?
    /// Where the saga stands (`done` once it ended).
    public var phase: SagaPhase
    public var outcome: HostOutcome.Kind?
    /// Why it ended as it did (every outcome but `patched` has one).
    public var reason: String?
    /// Held in a maintenance PatchFleet started, for a person.
    public var leftInMaintenance: Bool
    /// In maintenance before the job: left as it was.
    public var preexistingMaintenance: Bool
    public var startedAt: Instant?
    public var finishedAt: Instant?
    /// False for a saga stored before timelines were recorded: `steps` is then
    /// one span from start to end, and the report says so.
    public var timelineRecorded: Bool
    public var steps: [StepRun]
    public var updatesDeployed: [String]
    public var updatesInstalled: [String]
    public var reboots: Int
    public var retries: Int
    /// VMs the drain moved off the host (Rule 2 moves of stopped VMs included).
    public var movedOut: [VMMove]
    /// Of those, the ones moved back home afterwards (Rule 3).
    public var movedBack: [VMMove]
    /// VMs saved or shut down on the host and started again afterwards.
    public var turnedOff: [TurnedOffVM]
    /// Rules that held, skipped or left something, with the reason (Rules 1-3,
    /// standalone hosts, hosts already in maintenance, scheduler skips).
    public var rules: [String]
    public var notes: [SagaNote]

    init(_ saga: HostSagaState, lastChange: Instant) {
        host = saga.host
        cluster = saga.cluster
        phase = saga.phase
        outcome = saga.outcome?.kind
        reason = saga.outcome?.reason
        leftInMaintenance = saga.outcome?.inMaintenance ?? false
        preexistingMaintenance = saga.preexistingMaintenance
        startedAt = saga.startedAt
        finishedAt = saga.finishedAt
        timelineRecorded = saga.timeline != nil
        steps = StepRun.steps(of: saga, lastChange: lastChange)
        updatesInstalled = saga.installedUpdates ?? []
        reboots = saga.reboots
        retries = saga.retries
        movedOut = saga.moved.map(VMMove.init)
        movedBack = (saga.returnedHome ?? []).map(VMMove.init)
        turnedOff = saga.turnedOff
        notes = saga.notes
        rules = HostRun.rules(saga)
        // Deployed means the deploy step was reached, not merely planned.
        updatesDeployed = steps.contains { $0.step == .deployUpdates } ? saga.updateIds : []
    }

    /// Why a VM moved out is not back home, in words: its own note if the
    /// saga wrote one, else what follows from how the host ended.
    public func whyNotBack(_ vm: String) -> String? {
        guard movedOut.contains(where: { $0.vm == vm }), !movedBack.contains(where: { $0.vm == vm }) else { return nil }
        if let note = notes.last(where: { $0.vm == vm }) { return note.message }
        if leftInMaintenance { return "stays where the drain put it while the host is held in maintenance" }
        if outcome == nil { return "not yet: the host is not back in service" }
        return "not moved back (\(outcome?.rawValue ?? "unknown"))"
    }

    public var durationSeconds: Double? {
        guard let startedAt else { return nil }
        guard let end = finishedAt ?? steps.last?.endsAt else { return nil }
        return end.seconds(since: startedAt)
    }

    /// The notes and reasons that are a rule's doing, in words.
    static func rules(_ saga: HostSagaState) -> [String] {
        var rules: [String] = []
        if let outcome = saga.outcome, outcome.kind == .skipped || outcome.kind == .held, let reason = outcome.reason {
            rules.append("\(outcome.kind.rawValue): \(reason)")
        }
        for note in saga.notes where note.message.contains("Rule ") {
            rules.append(note.vm.map { "\($0): \(note.message)" } ?? note.message)
        }
        return rules
    }
}

/// A VM moved between hosts.
public struct VMMove: Codable, Sendable, Hashable {
    public var vm: String
    /// Its recorded host before the drain (Rule 3's "home").
    public var home: String
    /// Where the drain put it.
    public var movedTo: String
    public var wasRunning: Bool

    init(_ moved: MovedVM) {
        vm = moved.vm
        home = moved.home
        movedTo = moved.movedTo
        wasRunning = moved.wasRunning
    }
}
