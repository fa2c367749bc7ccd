/// One moment of a host's saga: a phase change, or a step started within a
/// phase (each VM move of a drain or failback is its own step). Recorded by
/// `HostSaga.reduce` itself, so the timeline is exactly what the saga did,
/// on the saga's clock, and replays identically.
public struct SagaTimelineEntry: Codable, Sendable, Hashable {
    public var at: Instant
    /// The phase the saga is in from this moment on.
    public var phase: SagaPhase
    /// The step started at this moment (the command issued), if any.
    public var step: CommandKind?
    /// The VM the step is about, for VM steps.
    public var vm: String?
    /// The step, or how the saga ended, in words.
    public var detail: String?

    public init(at: Instant, phase: SagaPhase, step: CommandKind? = nil, vm: String? = nil, detail: String? = nil) {
        self.at = at
        self.phase = phase
        self.step = step
        self.vm = vm
        self.detail = detail
    }
}

extension CommandBody {
    /// The VM a VM step is about.
    var timelineVM: String? {
        switch self {
        case .vmAction(let request): request.vm
        case .failbackVM(let request): request.vm
        default: nil
        }
    }

    /// The step in words, for the run report.
    var timelineDetail: String {
        switch self {
        case .observeCluster: "observe the cluster"
        case .enterMaintenance(let request): request.drained ? "maintenance mode (host verified empty)" : "cordon (no new VMs)"
        case .vmAction(let request): "\(request.action.kind.rawValue) \(request.vm)\(request.action.target.map { " to \($0)" } ?? "")"
        case .deployUpdates(let request): "deploy \(request.updateIds.joined(separator: ", "))"
        case .pollCompliance: "poll compliance"
        case .rebootHost: "reboot"
        case .waitForHost: "wait for the host to answer"
        case .exitMaintenance: "exit maintenance"
        case .checkHealth: "check health"
        case .failbackVM(let request): "move \(request.vm) home from \(request.expectedHost) to \(request.home) (Rule 3)"
        case .wakeAt(let request):
            switch request.purpose {
            case "poll": "poll compliance until the deployed updates are installed"
            case "retry": "wait, then retry"
            default: request.purpose
            }
        }
    }

    /// Steps worth a line of their own even without a phase change: each VM
    /// move, and the real maintenance mode once the drain verified the host
    /// empty. Poll/wait alternation is left out: it is noise in a timeline.
    var startsTimelineStep: Bool {
        switch self {
        case .vmAction, .failbackVM, .enterMaintenance: true
        default: false
        }
    }
}

extension SagaStep {
    /// Appends what this application of the reducer changed to the
    /// timeline: a phase change, a notable step, an ending, or a control
    /// (pause, resume, cancel) that changed the saga.
    mutating func recordTimeline(from before: HostSagaState, control: EventBody?) {
        guard state.timeline != nil else { return }  // a saga stored before timelines: left without one
        let issued = commands.last?.body
        if state.phase == .done, before.phase != .done, let outcome = state.outcome {
            state.timeline?.append(SagaTimelineEntry(at: now, phase: .done,
                                                     detail: "\(outcome.kind.rawValue)\(outcome.reason.map { ": \($0)" } ?? "")"))
        } else if state.phase != before.phase || issued?.startsTimelineStep == true {
            var detail = timelineDetail ?? issued?.timelineDetail
            // A retry wait says what failed: the reason is the step's story.
            if state.phase == .retryWait, let error = state.lastError {
                detail = "retry \(state.retries) of \(state.policy.maxRetriesPerHost) after: \(error)"
            }
            let entry = SagaTimelineEntry(at: now, phase: state.phase, step: issued?.kind, vm: issued?.timelineVM, detail: detail)
            state.timeline?.append(entry)
        } else if let control, state != before {
            let word = switch control {
            case .pause: "job paused: the next step waits"
            case .resume: "job resumed"
            case .cancel: "job cancelled"
            default: "control"
            }
            let entry = SagaTimelineEntry(at: now, phase: state.phase, detail: word)
            state.timeline?.append(entry)
        }
    }
}
