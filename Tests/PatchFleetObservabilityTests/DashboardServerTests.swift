import CoreMetrics
import Foundation
import Logging
import PatchFleetCore
import PatchFleetDashboard
import PatchFleetObservability
import PatchFleetStore
import PatchFleetSupervisor
import PatchFleetTestSupport
import Synchronization
import Testing

/// The HTTP side over a real socket, read with curl: probes, metrics, the
/// dashboard's API and its event stream, and the token.
@Suite("Dashboard and probes over HTTP", .timeLimit(.minutes(2)))
struct DashboardServerTests {
    final class Flag: Sendable {
        let problem = Mutex<String?>(nil)
    }

    /// Serves `dashboard` next to the probes on a free port for the body's duration.
    static func serving(_ dashboard: Dashboard?, readiness: Flag = Flag(),
                        _ body: @Sendable (String) async throws -> Void) async throws {
        let registry = FleetMetricsRegistry.bootstrap()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = ObservabilityServer(address: HTTPAddress(host: "127.0.0.1", port: 0), registry: registry,
                                         logger: Logger(label: "test"), readiness: { readiness.problem.withLock { $0 } },
                                         extraRoutes: { router, stopping in dashboard?.addRoutes(to: router, stopping: stopping) })
        let task = Task { try await server.run(onListening: { continuation.yield($0) }) }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        try await body("http://127.0.0.1:\(port)")
    }

    static func curl(_ arguments: [String]) async throws -> String {
        try await runCommand(["curl", "-s", "--max-time", "10"] + arguments)
    }

    /// Status code and body.
    static func get(_ url: String, _ extra: [String] = []) async throws -> (Int, String) {
        let output = try await curl(extra + ["-w", "\n%{http_code}", url])
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func exampleStore() async throws -> (InMemorySagaStore, JobRecord) {
        let (record, run) = try DashboardModelTests.exampleRun()
        let store = InMemorySagaStore()
        var running = record
        running.state = .running
        try await store.createJob(running, sagas: run.sagas)
        return (store, running)
    }

    @Test func probesAndMetricsAnswer() async throws {
        let readiness = Flag()
        FleetMetricsRegistry.bootstrap()
        Counter(label: "patchfleet_test_probe_total", dimensions: [("kind", "probe")]).increment(by: 3)
        try await Self.serving(nil, readiness: readiness) { base in
            #expect(try await Self.get(base + "/healthz") == (200, "ok"))
            #expect(try await Self.get(base + "/readyz") == (200, "ready"))
            readiness.problem.withLock { $0 = "broker connection lost (test)" }
            let (status, body) = try await Self.get(base + "/readyz")
            #expect(status == 503 && body.contains("broker connection lost (test)"))
            let (metricsStatus, metrics) = try await Self.get(base + "/metrics")
            #expect(metricsStatus == 200)
            #expect(metrics.contains("patchfleet_test_probe_total{kind=\"probe\"} 3"), "\(metrics)")
            #expect(try await Self.get(base + "/").0 == 404, "no dashboard on a worker")
        }
    }

    @Test func theAPIServesTheJobAndTheTokenGuardsIt() async throws {
        let (store, record) = try await Self.exampleStore()
        let data = DashboardData(store: store, now: { record.updatedAt }, deadLetters: DeadLetterFeed(), deadLetterDepth: { 7 })
        let token = try AccessToken(secret: "dashboard-token-for-tests")
        let dashboard = Dashboard(data: data, token: token, logger: Logger(label: "test"))
        try await Self.serving(dashboard) { base in
            let (denied, _) = try await Self.get(base + "/api/jobs")
            #expect(denied == 401)
            #expect(try await Self.get(base + "/healthz").0 == 200, "probes need no token")
            #expect(try await Self.get(base + "/metrics").0 == 200, "Prometheus needs no token")
            let bearer = ["-H", "Authorization: Bearer dashboard-token-for-tests"]
            let (status, body) = try await Self.get(base + "/api/jobs", bearer)
            #expect(status == 200)
            let jobs = try JSONDecoder().decode([DashboardJobSummary].self, from: Data(body.utf8))
            #expect(jobs.map(\.id) == [record.id])
            let (jobStatus, jobBody) = try await Self.get(base + "/api/jobs/\(record.id)", ["-u", "ops:dashboard-token-for-tests"])
            #expect(jobStatus == 200)
            let job = try JSONDecoder().decode(DashboardJob.self, from: Data(jobBody.utf8))
            #expect(job.attention.map(\.host).contains("DUB-H2"))
            #expect(try await Self.get(base + "/api/jobs/nope", bearer).0 == 404)
            let (page, html) = try await Self.get(base + "/?token=dashboard-token-for-tests", ["-D", "-"])
            #expect(page == 200 && html.contains("<title>PatchFleet</title>"))
            #expect(html.lowercased().contains("set-cookie: \(AccessToken.cookieName)="), "the query token becomes a cookie")
            let (dead, deadBody) = try await Self.get(base + "/api/dead-letters", bearer)
            #expect(dead == 200 && deadBody.contains("\"depth\" : 7"))
        }
    }

    @Test func theEventStreamSendsASnapshotAndThenEachChange() async throws {
        let (store, record) = try await Self.exampleStore()
        let data = DashboardData(store: store, now: { record.updatedAt }, deadLetters: DeadLetterFeed(), freshFor: .zero)
        let dashboard = Dashboard(data: data, token: nil, logger: Logger(label: "test"), pollInterval: .milliseconds(100))
        try await Self.serving(dashboard) { base in
            // A second job arrives while the stream is open.
            let adder = Task {
                try await Task.sleep(for: .milliseconds(1500))
                var spec = record.spec
                spec.id = "second-job"
                try await store.createJob(JobRecord(spec: spec, state: .accepted, submittedAt: record.updatedAt), sagas: [])
            }
            // curl ends the open stream itself after 4 s (exit 28: expected).
            let curl = try ChildProcess("curl", ["-s", "-N", "--max-time", "4", base + "/api/stream?job=\(record.id)"], log: "sse")
            #expect(await curl.exitStatus() == 28)
            let output = curl.output()
            _ = try? await adder.value
            let snapshots = output.components(separatedBy: "event: snapshot\ndata: ").dropFirst()
            #expect(snapshots.count == 2, "one at once, one for the change: \(output.prefix(300))")
            let decoded = try snapshots.map { chunk in
                try JSONDecoder().decode(DashboardSnapshot.self, from: Data(chunk.prefix { $0 != "\n" }.utf8))
            }
            #expect(decoded.first?.job?.summary.id == record.id)
            #expect(decoded.first?.jobs.count == 1 && decoded.last?.jobs.count == 2)
            #expect(decoded.last?.job?.summary.id == record.id, "the stream stays on the job it was asked for")
        }
    }

    @Test func anOpenEventStreamEndsWhenTheServerStops() async throws {
        let (store, record) = try await Self.exampleStore()
        let data = DashboardData(store: store, now: { record.updatedAt }, deadLetters: DeadLetterFeed())
        let dashboard = Dashboard(data: data, token: nil, logger: Logger(label: "test"), pollInterval: .milliseconds(100))
        let registry = FleetMetricsRegistry.bootstrap()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = ObservabilityServer(address: HTTPAddress(host: "127.0.0.1", port: 0), registry: registry,
                                         logger: Logger(label: "test"), readiness: { nil },
                                         extraRoutes: { dashboard.addRoutes(to: $0, stopping: $1) })
        let task = Task { try await server.run(onListening: { continuation.yield($0) }) }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        // A browser that would stay 60 s; the server stops after its first snapshot.
        let curl = try ChildProcess("curl", ["-s", "-N", "--max-time", "60", "http://127.0.0.1:\(port)/api/stream"], log: "sse-stop")
        _ = await eventuallyTrue(within: 10) { curl.output().contains("event: snapshot") }
        task.cancel()
        let status = await curl.exitStatus()
        #expect(curl.output().contains("event: snapshot"), "the stream was open and serving")
        #expect(status != 28, "the stream ended with the server, not at curl's time limit")
        try await task.value
    }
}
