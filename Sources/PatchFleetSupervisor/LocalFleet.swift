import AMQP
import Foundation
import PatchFleetWire
import Synchronization

/// A fleet of `patchfleet` processes on this machine, on a prefix of its own:
/// what `patchfleet demo`, `patchfleet chaos` and `patchfleet-bench fleet` run. Each process is
/// started with its arguments remembered, waited for until its log says it
/// serves, and can be killed and started again (the chaos run does both).
/// Tasks and results are signed with a throwaway keyring, as in production.
public final class LocalFleet: Sendable {
    public let directory: String
    public let url: String
    public let topology: FleetTopology
    public let timeScale: Double
    /// The `patchfleet` executable the members run.
    public let executable: String
    private struct Member {
        var arguments: [String]
        var ready: String
        var process: ChildProcess
        var starts: Int
    }
    private let members = Mutex<[String: Member]>([:])

    public var snapshot: String { "\(directory)/lab.json" }
    public var labQueue: String { "\(topology.prefix).lab" }
    public var keyring: String { "\(directory)/keyring.yaml" }
    public var store: String { "\(directory)/coordinator.sqlite" }
    public var names: [String] { members.withLock { $0.keys.sorted() } }

    /// `executable`: `patchfleet` itself by default (the demo and chaos run
    /// more of themselves); the bench passes the path of its sibling binary.
    public init(directory: String, url: String, topology: FleetTopology, timeScale: Double,
                executable: String = currentExecutable()) {
        self.executable = executable
        self.directory = directory
        self.url = url
        self.topology = topology
        self.timeScale = timeScale
    }

    private var common: [String] { ["--url", url, "--prefix", topology.prefix, "--keyring", keyring] }

    public func startLab(inventory: String) async throws {
        try await launch("lab", ["lab", "--inventory", inventory, "--time-scale", String(timeScale), "--queue", labQueue,
                                 "--snapshot", snapshot, "--url", url], ready: "lab serving")
    }

    public func startCoordinator(catalog: String, extra: [String] = []) async throws {
        try writeKeyring()
        try await launch("coordinator", ["coordinator", "--store", store, "--catalog", catalog, "--time-scale", String(timeScale),
                                         "--lab-queue", labQueue] + extra + common, ready: "coordinator running")
    }

    public func startWorkers(perRole: Int, concurrency: Int = 4) async throws {
        try writeKeyring()
        for role in Role.allCases {
            for index in 1...perRole {
                try await launch("worker-\(role.rawValue)-\(index)",
                                 ["worker", "--roles", role.rawValue, "--concurrency", String(concurrency), "--time-scale", String(timeScale),
                                  // Metrics and probes on a port of the kernel's choosing: the log says which.
                                  "--lab-queue", labQueue, "--http-address", "127.0.0.1:0"] + common, ready: "worker serving")
            }
        }
    }

    private func writeKeyring() throws {
        guard !FileManager.default.fileExists(atPath: keyring) else { return }
        try Keyring.newSecret().write(toFile: "\(directory)/fleet.key", atomically: true, encoding: .utf8)
        try "signing: fleet\nkeys:\n  - id: fleet\n    secretFile: fleet.key\n".write(toFile: keyring, atomically: true, encoding: .utf8)
    }

    private func launch(_ name: String, _ arguments: [String], ready text: String) async throws {
        let starts = members.withLock { ($0[name]?.starts ?? 0) + 1 }
        let log = starts == 1 ? "\(directory)/\(name).log" : "\(directory)/\(name).\(starts).log"
        let process = try ChildProcess(executable, arguments, logPath: log, environment: ["PATCHFLEET_CONFIG": ""])
        members.withLock { $0[name] = Member(arguments: arguments, ready: text, process: process, starts: starts) }
        // Readiness: the log line, within a minute (a broker restart may be under way).
        for _ in 0..<1200 {
            if process.output().contains(text) { return }
            if process.hasExited {
                throw SpawnError(description: "\(name) stopped before it was ready (log \(log)):\n\(process.output())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SpawnError(description: "\(name) not ready after 60 s (log \(log))")
    }

    /// The process id of a running member, for the bench's CPU accounting.
    /// What `name` has logged so far (its current start).
    public func output(of name: String) -> String {
        members.withLock { $0[name]?.process }?.output() ?? ""
    }

    public func pid(of name: String) -> pid_t? {
        members.withLock { $0[name]?.process.pid }
    }

    /// Sends `signal` and waits for the exit; returns its status.
    @discardableResult
    public func kill(_ name: String, _ signal: Int32) async -> Int32? {
        guard let process = members.withLock({ $0[name]?.process }) else { return nil }
        process.kill(signal)
        return await process.exitStatus()
    }

    /// Starts `name` again with the arguments it had.
    public func restart(_ name: String) async throws {
        guard let member = members.withLock({ $0[name] }) else { return }
        try await launch(name, member.arguments, ready: member.ready)
    }

    /// How a stop went.
    public struct StopReport: Sendable {
        /// The processes that did not exit 0, each with its log.
        public var unclean: [String]
        /// The cleanup (deleting the run's queues and exchanges, each
        /// best effort) came back within its 15 s. False: the broker did not
        /// answer (gone), so further cleanup on it would only wait out its
        /// own deadline too.
        public var brokerCleaned: Bool
    }

    /// SIGTERM to every process (the lab first, so its snapshot covers the
    /// whole run), waits for each; then deletes the fleet's queues and
    /// exchanges, waiting at most 15 s for a broker that may be gone.
    @discardableResult
    public func stop(connection: AMQPConnection) async -> StopReport {
        let all = members.withLock { table in
            defer { table = [:] }
            return table
        }
        var unclean: [String] = []
        for name in all.keys.sorted(by: { ($0 != "lab" ? 1 : 0, $0) < ($1 != "lab" ? 1 : 0, $1) }) {
            let process = all[name]!.process
            process.kill(SIGTERM)
            let status = await process.exitStatus()
            if status != 0 { unclean.append("\(name) exited with \(status); its log: \(process.logPath)") }
        }
        for line in unclean { print("fleet: \(line)") }
        // The run's queues and exchanges, if the broker is still there.
        let topology = self.topology, labQueue = self.labQueue
        let cleaned = await connection.bestEffort(within: 15) { connection in
            for queue in topology.queues { _ = try? await connection.deleteQueue(queue.name) }
            for exchange in topology.exchanges { try? await connection.deleteExchange(exchange.name) }
            _ = try? await connection.deleteQueue(labQueue)
        }
        if !cleaned { print("fleet: deleting the run's queues and exchanges did not finish within 15 s (is the broker gone?); they may be left on it") }
        return StopReport(unclean: unclean, brokerCleaned: cleaned)
    }
}
