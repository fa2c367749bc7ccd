import Foundation
import PatchFleetCore
import PatchFleetProgress
import PatchFleetWire

/// Turns the event stream into what a person follows, and at the end a
/// per-host summary. Two displays:
/// - plain lines, one per change, when standard output is not a terminal
///   (a pipe, a CI log) or for the whole fleet (`watch` without a job);
/// - on a terminal, for one job: progress bars per cluster with the host in
///   flight and its step, redrawn in place, and the lines that matter (a
///   host's outcome, the job's state) printed above them.
struct ProgressPrinter {
    /// Nil: every job (watch without a job), never ending on its own.
    let jobId: String?
    var started = Date()
    var hosts: [String: HostStateChange] = [:]
    /// Non-nil: bars on a terminal.
    private var bars: (board: ProgressBoard, screen: TerminalScreen)?

    init(jobId: String?, terminal: TerminalFacts = .standardOutput()) {
        self.jobId = jobId
        if let jobId, terminal.isInteractive {
            bars = (ProgressBoard(jobId: jobId), TerminalScreen(frame: ProgressFrame(width: terminal.columns, color: terminal.color)))
        }
    }

    /// Bars need every host of the job up front (a cluster's total); the
    /// caller asks the coordinator once the job is known.
    var wantsHostList: Bool { bars != nil && hosts.isEmpty }
    var showsBars: Bool { bars != nil }

    func concerns(_ id: String?) -> Bool { jobId == nil || id == jobId }

    mutating func remember(_ host: HostStateChange) {
        hosts[host.host] = host
        bars?.board.remember(host)
    }

    /// Draws the bars now (after `remember`ing the hosts); nothing in plain mode.
    mutating func redraw() { show([], permanent: false) }

    mutating func handle(_ event: FleetEvent) -> Int32? {
        bars?.board.apply(event)
        let elapsed = String(format: "%6.1fs", Date().timeIntervalSince(started))
        switch event.event {
        case .host(let change) where concerns(change.jobId):
            hosts[change.host] = change
            let outcome = change.outcome.map { " -> \($0.kind.rawValue.uppercased())\($0.reason.map { ": \($0)" } ?? "")" } ?? ""
            let job = jobId == nil ? "\(change.jobId)  " : ""
            let line = "\(elapsed)  \(job)\((change.cluster ?? "(standalone)").padding(toLength: 10, withPad: " ", startingAt: 0)) "
                + "\(change.host.padding(toLength: 11, withPad: " ", startingAt: 0)) \(change.phase.rawValue)\(outcome)"
            // On a terminal the bars show the steps; only endings get a line.
            show([line], permanent: change.outcome != nil)
        case .job(let change) where concerns(change.jobId):
            show(["\(elapsed)  job \(change.jobId) \(change.state.rawValue)\(change.reason.map { ": \($0)" } ?? "")"])
            guard jobId != nil else { return nil }
            switch change.state {
            case .succeeded: printSummary(); return 0
            case .failed, .cancelled: printSummary(); return 1
            default: return nil
            }
        case .jobRejected(let rejection) where concerns(rejection.jobId):
            show(["job \(rejection.jobId ?? "(unnamed)") was rejected:"] + rejection.problems.map { "  - \($0)" })
            return jobId == nil ? nil : 2
        default:
            break
        }
        return nil
    }

    /// Plain: print the lines. Bars: print them above the redrawn bars
    /// (unless they are only steps, which the bars already show).
    private mutating func show(_ lines: [String], permanent: Bool = true) {
        guard var bars else {
            for line in lines { print(line) }
            return
        }
        // The window may have been resized since the last frame.
        bars.screen.frame.width = max(TerminalFacts.columns(ProcessInfo.processInfo.environment), 40)
        bars.screen.draw(bars.screen.frame.lines(bars.board, elapsedSeconds: Date().timeIntervalSince(started)),
                         above: permanent ? lines : [])
        self.bars = bars
    }

    func printSummary() {
        print("\nPer-host outcome:")
        for change in hosts.values.sorted(by: { ($0.cluster ?? "~", $0.host) < ($1.cluster ?? "~", $1.host) }) {
            let outcome = change.outcome?.kind.rawValue ?? change.phase.rawValue
            let held = change.outcome?.inMaintenance == true ? " [left in maintenance for a person]" : ""
            print("  \((change.cluster ?? "(none)").padding(toLength: 10, withPad: " ", startingAt: 0))"
                  + "\(change.host.padding(toLength: 11, withPad: " ", startingAt: 0))"
                  + "\(outcome.padding(toLength: 9, withPad: " ", startingAt: 0))\(change.reason ?? "")\(held)")
        }
    }
}
