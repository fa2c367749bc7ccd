import AMQP
import Foundation
import PatchFleetTestSupport
import Testing

/// The private broker that `deploy/local/test.sh` starts, and helpers to start
/// and break a second, throwaway one for the recovery tests.
enum TestBroker {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shared broker's URL (set by test.sh; defaults to broker.sh's default).
    static var url: String {
        ProcessInfo.processInfo.environment["PATCHFLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5682/%2f"
    }

    static func connect(heartbeat: Int = 10, recovery: RecoveryPolicy = .default) async throws -> AMQPConnection {
        var config = try AMQPConfiguration(url: url)
        config.heartbeat = heartbeat
        return try await AMQPConnection.connect(config, recovery: recovery)
    }

    static func uniqueName(_ prefix: String) -> String {
        "test.\(prefix).\(UUID().uuidString.prefix(8))"
    }
}

/// A broker instance of its own, which a test may stop, restart and freeze
/// without disturbing the tests that share the main one.
struct DisposableBroker {
    let name: String
    let port: Int
    /// Extra settings for broker.sh (e.g. the TLS listener's port and files).
    var environment: [String: String] = [:]

    var url: String { "amqp://guest:guest@127.0.0.1:\(port)/%2f" }

    @discardableResult
    func run(_ verb: String) async throws -> String {
        let script = TestBroker.repoRoot.appendingPathComponent("deploy/local/broker.sh").path
        let env = environment.merging(["PATCHFLEET_BROKER_NAME": name, "PATCHFLEET_BROKER_PORT": String(port)]) { $1 }
        return try await runCommand(["/bin/bash", script, verb], environment: env)
    }
}

/// Collects values from concurrent tasks.
actor Collector<T: Sendable> {
    private(set) var items: [T] = []
    func append(_ item: T) { items.append(item) }
    var count: Int { items.count }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass.
func eventually(within seconds: Double, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}
