import Foundation
import PatchFleetCore
import PatchFleetProgress
import PatchFleetWire
import Testing

/// The bars `submit` and `watch` draw on a terminal, frame by frame, for a
/// sequence of events.
@Suite struct ProgressFrameTests {
    static let at = Instant(secondsSinceEpoch: 1_800_000_000)

    static func host(_ name: String, _ cluster: String?, _ phase: SagaPhase, _ outcome: HostOutcome? = nil) -> FleetEvent {
        FleetEvent(at: at, .host(HostStateChange(jobId: "wave1", host: name, cluster: cluster, phase: phase, outcome: outcome,
                                                 reason: outcome?.reason)))
    }

    static func board() -> ProgressBoard {
        var board = ProgressBoard(jobId: "wave1")
        // What the coordinator said when asked: every host, all pending.
        for (name, cluster) in [("SEA-H1", "Seattle"), ("SEA-H2", "Seattle"), ("DUB-H1", "Dublin"), ("BR-01", nil)] {
            board.remember(HostStateChange(jobId: "wave1", host: name, cluster: cluster, phase: .pending))
        }
        board.apply(FleetEvent(at: at, .job(JobStateChange(jobId: "wave1", state: .running))))
        return board
    }

    @Test func framesFollowTheEvents() {
        var board = Self.board()
        let frame = ProgressFrame(width: 80, color: false)
        #expect(frame.lines(board, elapsedSeconds: 5) == [
            "job wave1 running · 0/4 hosts done · 5s",
            "Dublin     [░░░░░░░░░░░░░░░░░░░░] 0/1    waiting",
            "Seattle    [░░░░░░░░░░░░░░░░░░░░] 0/2    waiting",
            "standalone [░░░░░░░░░░░░░░░░░░░░] 0/1    waiting",
        ])

        board.apply(Self.host("SEA-H1", "Seattle", .draining))
        board.apply(Self.host("BR-01", nil, .done, HostOutcome(kind: .held, reason: "standalone host")))
        board.apply(Self.host("DUB-H1", "Dublin", .polling))
        var lines = frame.lines(board, elapsedSeconds: 75)
        #expect(lines[0] == "job wave1 running · 1/4 hosts done · 1m15s")
        #expect(lines[1] == "Dublin     [░░░░░░░░░░░░░░░░░░░░] 0/1    DUB-H1 polling")
        #expect(lines[2] == "Seattle    [░░░░░░░░░░░░░░░░░░░░] 0/2    SEA-H1 draining")
        #expect(lines[3] == "standalone [████████████████████] 1/1    done · 1 held")

        board.apply(Self.host("SEA-H1", "Seattle", .done, HostOutcome(kind: .patched, reason: nil)))
        board.apply(Self.host("SEA-H2", "Seattle", .rebooting))
        lines = frame.lines(board, elapsedSeconds: 3_725)
        #expect(lines[0] == "job wave1 running · 2/4 hosts done · 1h02m05s")
        #expect(lines[2] == "Seattle    [██████████░░░░░░░░░░] 1/2    SEA-H2 rebooting")
        // Another job's event changes nothing.
        let before = board
        board.apply(FleetEvent(at: Self.at, .host(HostStateChange(jobId: "other", host: "X", cluster: "Seattle", phase: .draining))))
        #expect(board == before)
    }

    @Test func everyLineFitsTheTerminalAndColourIsOptional() {
        var board = Self.board()
        board.apply(Self.host("SEA-H1", "Seattle", .draining))
        board.apply(Self.host("SEA-H2", "Seattle", .exitingMaintenance))
        let narrow = ProgressFrame(width: 44, color: false).lines(board, elapsedSeconds: 1)
        #expect(narrow.allSatisfy { $0.count <= 44 }, "\(narrow)")
        #expect(narrow[2].hasSuffix("…"), "the in-flight hosts are cut, not wrapped: \(narrow[2])")
        #expect(!narrow.joined().contains("\u{1B}"), "no colour: no escape codes")

        board.apply(Self.host("SEA-H1", "Seattle", .done, HostOutcome(kind: .failed, reason: "install failed")))
        let coloured = ProgressFrame(width: 100, color: true).lines(board, elapsedSeconds: 1)
        #expect(coloured[0].hasPrefix("\u{1B}[1m"))
        #expect(coloured[2].contains("\u{1B}[31m█"), "a failed host turns its cluster's bar red: \(coloured[2])")
        #expect(coloured.allSatisfy { Self.visible($0).count <= 100 })
    }

    /// A line as the terminal shows it: escape sequences take no room.
    static func visible(_ line: String) -> String {
        line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
    }
}
