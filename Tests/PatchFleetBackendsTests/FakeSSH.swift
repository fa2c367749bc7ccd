import Foundation
import Testing
import PatchFleetCore
@testable import PatchFleetBackends

/// One test's fake `ssh`: its own rules, call log and state in a fresh
/// temporary directory, so tests run in parallel without sharing anything.
struct FakeSSH {
    struct Rule: Encodable {
        var match: [String] = []
        var host: String?
        var when: [String: String]?
        var set: [String: String]?
        var reply: String?
        var replies: [String]?
        var stdout: String?
        var exit: Int?
        var stderr: String?
        var sleep: Double?
    }

    struct Call: Decodable {
        var argv: [String]
        var host: String
        var script: String
        var body: String
        var viaStdin: Bool
        var env: [String: String?]
        var askpassOutput: String?
        var rule: Int?
        /// The fake's process id, to check that a killed call's process is gone.
        var pid: Int32?
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let executable = fixtures.appendingPathComponent("fake-ssh").path

    let directory: URL
    var rulesURL: URL { directory.appendingPathComponent("rules.json") }
    var logURL: URL { directory.appendingPathComponent("calls.jsonl") }

    init(_ rules: [Rule]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-ssh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONEncoder().encode(["rules": rules]).write(to: rulesURL)
    }

    /// A shared rules file under Fixtures (the stateful patch cycle).
    init(rulesFile name: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-ssh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(contentsOf: Self.fixtures.appendingPathComponent(name)).write(to: rulesURL)
    }

    var environment: [String: String] {
        ["FAKE_SSH_RULES": rulesURL.path, "FAKE_SSH_LOG": logURL.path,
         "FAKE_SSH_STATE": directory.appendingPathComponent("state.json").path]
    }

    func runner(_ target: SSHTarget = .test()) -> PowerShellRunner {
        PowerShellRunner(target: target, sshPath: Self.executable, environment: environment)
    }

    func calls() throws -> [Call] {
        guard let text = try? String(contentsOf: logURL, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Call.self, from: Data($0.utf8)) }
    }

    /// Bodies of every call, in order.
    func bodies() throws -> [String] { try calls().map(\.body) }
}

extension FakeSSH.Rule {
    static func on(_ match: String..., reply: String, when: [String: String]? = nil, set: [String: String]? = nil) -> Self {
        Self(match: match, when: when, set: set, reply: reply)
    }
    static func on(_ match: String..., replies: [String]) -> Self { Self(match: match, replies: replies) }
}

extension SSHTarget {
    /// Each test gets its own host name so the per-target limiter is its own.
    static func test(_ host: String = "mgmt-\(UUID().uuidString.prefix(8)).contoso.com", timeout: Double = 20,
                     maxConcurrentCalls: Int = 4) -> SSHTarget {
        SSHTarget(host: host, user: "CONTOSO\\svc-patchfleet", identityFile: "/etc/patchfleet/id_ed25519",
                  hostKeyChecking: .yes, connectTimeoutSeconds: 10, callTimeoutSeconds: timeout,
                  maxConcurrentCalls: maxConcurrentCalls)
    }
}

extension JobPolling {
    /// Polls fast; the generous timeout is for a loaded machine, where each
    /// fake ssh call (a Python process) can take a second or more.
    static let fast = JobPolling(intervalSeconds: 0.01, timeoutSeconds: 120)
}

/// Expects each fragment in a generated script, naming any that is missing
/// (the scripts cannot run here: what they say is what is checked).
func expectScript(_ script: String, contains fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    for fragment in fragments {
        #expect(script.contains(fragment), "missing from the script: \(fragment)", sourceLocation: sourceLocation)
    }
}

/// Runs a throwing call and returns its BackendError (nil if it succeeded).
func backendError(_ body: () async throws -> Void) async -> BackendError? {
    do { try await body() } catch let error as BackendError { return error } catch {
        Issue.record("not a BackendError: \(error)")
    }
    return nil
}
