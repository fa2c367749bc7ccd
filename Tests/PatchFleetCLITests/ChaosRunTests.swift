import Foundation
import PatchFleetTestSupport
import Testing

/// The short fault-injection run of `deploy/local/chaos.sh`, on a broker of
/// its own (it is restarted mid-run, which the shared test broker must not
/// be): workers and the coordinator SIGKILLed and restarted, the broker
/// restarted, backends failing; every invariant checked at the end.
@Suite("Fault-injection run (short)", .timeLimit(.minutes(5)))
struct ChaosRunTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let broker = ["PATCHFLEET_BROKER_NAME": "chaos-test", "PATCHFLEET_BROKER_PORT": "5698"]

    @Test func workersCoordinatorAndBrokerKilledMidJobAndEveryInvariantHolds() async throws {
        let script = Self.repo.appendingPathComponent("deploy/local/broker.sh").path
        _ = try await runCommand(["/bin/bash", script, "start"], environment: Self.broker)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-test-\(UUID().uuidString.prefix(8))").path
        let chaos = try ChildProcess(patchfleetExecutable(), [
            "chaos", "--seed", "3", "--clusters", "4", "--hosts-per-cluster", "4", "--workers-per-role", "1",
            "--time-scale", "1000", "--fault-interval", "2", "--broker-restarts", "1", "--broker-script", script,
            "--timeout", "240", "--run-directory", directory, "--url", "amqp://guest:guest@127.0.0.1:5698/%2f",
        ], log: "chaos-test", environment: Self.broker)
        let status = await chaos.exitStatus()
        let output = chaos.output()
        _ = try? await runCommand(["/bin/bash", script, "stop"], environment: Self.broker)
        #expect(status == 0, "\(output)")
        #expect(output.split(separator: "\n").last == "violations=0", "\(output)")
        #expect(output.contains("broker restart"), "the broker was restarted mid-job: \(output)")
        #expect(output.contains("SIGKILL"), "processes were killed mid-job: \(output)")
        #expect(output.contains("patched: "), "\(output)")
        if status == 0 { try? FileManager.default.removeItem(atPath: directory) }
    }
}
