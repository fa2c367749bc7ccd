import AMQP
import Foundation
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
    func run(_ verb: String) throws -> String {
        let script = TestBroker.repoRoot.appendingPathComponent("deploy/local/broker.sh").path
        let env = environment.merging(["PATCHFLEET_BROKER_NAME": name, "PATCHFLEET_BROKER_PORT": String(port)]) { $1 }
        return try runCommand(["/bin/bash", script, verb], environment: env)
    }
}

/// Runs a command to completion and returns its output. Uses posix_spawn and
/// waitpid directly: Foundation's Process.waitUntilExit can miss the exit of
/// a child on Linux and hang.
func runCommand(_ argv: [String], environment: [String: String] = [:]) throws -> String {
    let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-\(UUID().uuidString).log").path
    defer { unlink(outputPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
    guard rc == 0 else { throw BrokerScriptError(message: "cannot run \(argv[0]): errno \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    guard exitCode == 0 else {
        throw BrokerScriptError(message: "\(argv.joined(separator: " ")) failed (\(exitCode)): \(output)")
    }
    return output
}

struct BrokerScriptError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
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
