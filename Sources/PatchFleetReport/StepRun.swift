import PatchFleetCore

/// What a step was for, which colours it in the Gantt chart.
public enum StepKind: String, Codable, Sendable, CaseIterable {
    case precheck, drain, install, reboot, retry, resume, failback
    /// A saga stored before timelines were recorded: one span, start to end.
    case unrecorded

    init(_ phase: SagaPhase) {
        switch phase {
        case .pending, .prechecking, .done: self = .precheck
        case .enteringMaintenance, .draining: self = .drain
        case .deploying, .polling: self = .install
        case .rebooting, .waitingForHost: self = .reboot
        case .retryWait: self = .retry
        case .exitingMaintenance, .checkingHealth, .restartingVMs: self = .resume
        case .rebalancing: self = .failback
        }
    }

    /// In words, for legends and tables.
    public var label: String {
        switch self {
        case .precheck: "precheck"
        case .drain: "drain (maintenance, VMs out)"
        case .install: "deploy and install"
        case .reboot: "reboot"
        case .retry: "retry wait"
        case .resume: "back to service"
        case .failback: "VMs home (Rule 3)"
        case .unrecorded: "no timeline recorded"
        }
    }
}

/// One entry of a host's timeline, with when it ended (the next entry's
/// time, or the host's end).
public struct StepRun: Codable, Sendable, Hashable {
    public var at: Instant
    public var endsAt: Instant
    public var phase: SagaPhase
    public var kind: StepKind
    public var step: CommandKind?
    public var vm: String?
    public var detail: String?

    public var durationSeconds: Double { endsAt.seconds(since: at) }

    /// The saga's timeline as spans; the final `done` entry is not a span
    /// (it is the host's outcome). A host still in flight: its last span
    /// runs to the saga's last recorded change.
    static func steps(of saga: HostSagaState, lastChange: Instant) -> [StepRun] {
        guard let start = saga.startedAt else { return [] }
        let end = saga.finishedAt ?? max(lastChange, start)
        guard let timeline = saga.timeline else {
            return [StepRun(at: start, endsAt: end, phase: saga.phase, kind: .unrecorded, step: nil, vm: nil,
                            detail: "this saga was stored before timelines were recorded")]
        }
        let entries = timeline.filter { $0.phase != .done }
        return entries.enumerated().map { index, entry in
            let next = index + 1 < entries.count ? entries[index + 1].at : end
            return StepRun(at: entry.at, endsAt: max(next, entry.at), phase: entry.phase, kind: StepKind(entry.phase),
                           step: entry.step, vm: entry.vm, detail: entry.detail)
        }
    }
}

/// Consecutive steps of one kind merged: the bars of the Gantt chart.
public struct StepBar: Sendable, Hashable {
    public var kind: StepKind
    public var start: Instant
    public var end: Instant
    /// The steps it covers, for the bar's tooltip.
    public var details: [String]

    public static func bars(_ steps: [StepRun]) -> [StepBar] {
        var bars: [StepBar] = []
        for step in steps {
            let detail = step.detail ?? step.phase.rawValue
            if var last = bars.last, last.kind == step.kind {
                last.end = step.endsAt
                last.details.append(detail)
                bars[bars.count - 1] = last
            } else {
                bars.append(StepBar(kind: step.kind, start: step.at, end: step.endsAt, details: [detail]))
            }
        }
        return bars
    }
}
