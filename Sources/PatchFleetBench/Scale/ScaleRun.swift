import Foundation
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetStore
import PatchFleetWire
import PatchFleetWorker

/// One job on the real coordinator engine and its SQLite store, in this
/// process: the outbox is drained by a loop that carries out each task with
/// the worker's own `CommandExecutor` against a zero-latency datacenter and
/// hands the results back to the engine in batches, as the coordinator
/// service does with a queue's worth of results. No broker: the `fleet`
/// suite measures that path; this one measures what grows with the fleet.
struct ScaleRun {
    let shape: FleetShape
    let directory: String

    struct Figures {
        var hosts: Int
        var vms: Int
        var seconds: Double
        var engineSeconds: Double
        var decisions: Int
        var schedulerSeconds: Double
        var rounds: Int
        var outcome: String
    }

    func run() async throws -> Figures {
        let inventory = shape.inventory()
        let backend = IndexedDatacenter(inventory)
        let path = "\(directory)/scale-\(shape.hosts).sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let store = try SQLiteSagaStore(path: path)
        let clock = ManualClock(start: 1_800_000_000)
        let scheduler = TimedScheduler()
        let topology = FleetTopology(prefix: "scale")
        let engine = CoordinatorEngine(store: store, topology: topology, virtualization: backend, updates: backend,
                                       updateLists: inventory.updateLists, now: { clock.now }, scheduler: scheduler)
        let executor = CommandExecutor(virtualization: backend, updates: backend,
                                       timing: ExecutorTiming(now: { clock.secondsValue }, sleep: { _ in }, pollSeconds: 1))
        let spec = shape.job(id: "scale-\(shape.hosts)")
        let started = monotonicSeconds()
        var engineSeconds = 0.0
        func timed<T>(_ body: () async throws -> T) async rethrows -> T {
            let t0 = monotonicSeconds()
            defer { engineSeconds += monotonicSeconds() - t0 }
            return try await body()
        }
        guard case .accepted = await timed({ await engine.submit(JobSubmission(job: spec), messageId: "submit-\(spec.id)") }) else {
            throw BenchError("the scale job was not accepted")
        }
        var rounds = 0
        while true {
            let pending = try await timed { try await store.pendingOutbox(limit: 20_000, readyAt: clock.now) }
            if pending.isEmpty {
                if let job = try await store.job(id: spec.id), job.state.isTerminal { break }
                clock.advance(by: 1)
                await timed { await engine.tick() }
                continue
            }
            rounds += 1
            var results: [(result: ResultMessage, messageId: String)] = []
            for entry in pending {
                if entry.exchange == topology.tasksExchange {
                    let task = try WireCoding.decode(TaskMessage.self, from: entry.body)
                    let answer = await executor.execute(task.command)
                    results.append((ResultMessage(answering: task.command, taskMessageId: entry.id, at: clock.now, answer),
                                    "result:\(entry.id)"))
                } else if entry.exchange == topology.resultsExchange {
                    results.append((try WireCoding.decode(ResultMessage.self, from: entry.body), entry.id))
                }
            }
            clock.advance(by: 0.01)
            try await timed {
                _ = try await store.markPublished(ids: pending.map(\.id), at: clock.now)
                // At most a results queue's prefetch worth per transaction, as the service does.
                for start in stride(from: 0, to: results.count, by: 64) {
                    _ = await engine.apply(batch: Array(results[start..<min(start + 64, results.count)]))
                }
                await engine.tick()
            }
        }
        let report = try await store.job(id: spec.id)?.report
        return Figures(hosts: shape.hosts, vms: inventory.vms.count, seconds: monotonicSeconds() - started,
                       engineSeconds: engineSeconds, decisions: scheduler.decisions, schedulerSeconds: scheduler.seconds,
                       rounds: rounds, outcome: report.map { r in "patched \(r.count(.patched))/\(shape.hosts)" } ?? "no report")
    }
}
