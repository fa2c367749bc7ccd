import AMQP
import ArgumentParser
import Dispatch
import Foundation
import Logging
import PatchFleetCore
import PatchFleetLab
import PatchFleetSimulator

/// `patchfleet lab`: serves the simulated datacenter to every worker process
/// over AMQP request/reply, in real time sped up by `--time-scale`.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Serve a simulated datacenter to the fleet's workers (AMQP request/reply).",
        discussion: """
            Workers reach the lab as real workers reach a VMM or ConfigMgr server: one remote call per
            backend operation, with a timeout. On SIGINT or SIGTERM the lab writes its state and history
            to --snapshot (if given) and exits 0.
            Example:
              patchfleet lab --inventory docs/examples/inventory.yaml --time-scale 120 --snapshot lab.json
            """)

    @Option(help: "The lab: inventory plus simulator faults and durations (YAML or JSON).")
    var inventory: String
    @Option(help: "Simulated seconds per wall-clock second.")
    var timeScale: Double = 60
    @OptionGroup var fleet: FleetOptions
    @Option(help: "The queue the lab serves.")
    var queue = "patchfleet.lab"
    @Option(help: "Write the datacenter's state and history as JSON here on exit.")
    var snapshot: String?

    func validate() throws {
        guard timeScale > 0 else { throw ValidationError("--time-scale must be > 0 (got \(timeScale))") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "patchfleet.lab")
        let lab: LabConfiguration
        do { lab = try LabConfiguration.load(contentsOf: URL(fileURLWithPath: inventory)) } catch {
            throw ValidationError("cannot load the inventory \(inventory): \(error)")
        }
        let clock = ScaledWallClock(start: Instant(secondsSinceEpoch: Date().timeIntervalSince1970), timeScale: timeScale)
        let datacenter = SimulatedDatacenter(configuration: lab, clock: clock)
        let connection = try await AMQPConnection.connect(try fleet.amqpConfiguration(try fleet.settings()), logger: logger)
        let server = LabServer(datacenter: datacenter, connection: connection, queue: queue, logger: logger)
        logger.notice("lab serving \(lab.inventory.hosts.count) hosts and \(lab.inventory.vms.count) VMs on queue '\(queue)' at \(timeScale)x")

        let serving = Task { try await server.run() }
        let stop = SignalWaiter(signals: [SIGINT, SIGTERM])
        await stop.wait()
        serving.cancel()
        _ = try? await serving.value
        if let snapshot {
            try datacenter.writeSnapshot(to: URL(fileURLWithPath: snapshot))
            logger.notice("lab state and history written to \(snapshot)")
        }
        await connection.close()
    }
}

/// Waits for the first of some signals (their default action is disabled).
/// The dispatch sources live for the rest of the process: the signals stay
/// ignored, so a source freed early would leave SIGTERM doing nothing at all.
final class SignalWaiter: Sendable {
    /// The signals as they arrive (Sendable: child tasks may wait on it).
    let stream: AsyncStream<Int32>

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        let made: [any DispatchSourceSignal] = signals.map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            return source
        }
        SignalSources.shared.keep(made)
    }

    func wait() async {
        for await _ in stream { return }
    }
}

/// Holds the signal sources for the life of the process. Unchecked Sendable:
/// the array is only touched under the lock, and the sources themselves are
/// never used again once resumed.
private final class SignalSources: @unchecked Sendable {
    static let shared = SignalSources()
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []

    func keep(_ more: [any DispatchSourceSignal]) {
        lock.withLock { sources.append(contentsOf: more) }
    }
}
