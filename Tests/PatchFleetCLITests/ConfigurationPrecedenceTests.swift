import Foundation
import PatchFleetTestSupport
import Testing

/// `patchfleet config` run as a process: the broker settings come from the
/// flag, else the environment, else the configuration file, else the
/// default, and no password ever reaches the output.
@Suite("Configuration: file, environment, flags")
struct ConfigurationPrecedenceTests {
    /// The test runner's own broker URL must not leak into these runs.
    static let clean = ["PATCHFLEET_AMQP_URL": "", "PATCHFLEET_CONFIG": "", "PATCHFLEET_BROKER_PREFIX": ""]

    static func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pf-config-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func config(_ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        try await runCommand([patchfleetExecutable(), "config"] + arguments, environment: clean.merging(environment) { $1 })
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() async throws {
        let path = try Self.file("""
            broker:
              url: amqp://fileuser:filesecret@127.0.0.1:5999/%2f
              prefix: filefleet
            """)
        defer { unlink(path) }

        let none = try await Self.config([])
        #expect(none.contains("guest:***@127.0.0.1:5682") && none.contains("(default)"), "\(none)")

        let fromFile = try await Self.config(["--config", path])
        #expect(fromFile.contains("fileuser:***@127.0.0.1:5999") && fromFile.contains("(file)"), "\(fromFile)")
        #expect(fromFile.contains("broker.prefix  filefleet  (file)"), "\(fromFile)")

        let fromEnvFile = try await Self.config([], environment: ["PATCHFLEET_CONFIG": path])
        #expect(fromEnvFile.contains("fileuser:***@"), "$PATCHFLEET_CONFIG names the file: \(fromEnvFile)")

        let env = ["PATCHFLEET_AMQP_URL": "amqp://envuser:envsecret@127.0.0.1:5998/%2f", "PATCHFLEET_BROKER_PREFIX": "envfleet"]
        let fromEnv = try await Self.config(["--config", path], environment: env)
        #expect(fromEnv.contains("envuser:***@127.0.0.1:5998") && fromEnv.contains("(environment)"), "\(fromEnv)")
        #expect(fromEnv.contains("broker.prefix  envfleet  (environment)"), "\(fromEnv)")

        let fromFlag = try await Self.config(["--config", path, "--url", "amqp://flaguser:flagsecret@127.0.0.1:5997/%2f",
                                              "--prefix", "flagfleet"], environment: env)
        #expect(fromFlag.contains("flaguser:***@127.0.0.1:5997") && fromFlag.contains("broker.prefix  flagfleet  (flag)"), "\(fromFlag)")

        for output in [none, fromFile, fromEnvFile, fromEnv, fromFlag] {
            #expect(!output.contains("secret"), "a password was printed: \(output)")
        }
    }

    @Test func theBrokerURLCanComeFromASecretFile() async throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("pf-url-\(UUID().uuidString)").path
        try "amqps://svc-patchfleet:s3cr3t-pw@broker.invalid:5671/prod\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let path = try Self.file("broker:\n  urlFile: \(secret)\n")
        defer { unlink(path); unlink(secret) }
        let output = try await Self.config(["--config", path])
        #expect(output.contains("amqps://svc-patchfleet:***@broker.invalid:5671/prod"), "\(output)")
        #expect(!output.contains("s3cr3t"), "the secret was printed: \(output)")
    }

    @Test func mistakesInTheFileAreNamed() async throws {
        let misspelt = try Self.file("broker:\n  uri: amqp://x@127.0.0.1/%2f\n")
        let unknownSection = try Self.file("brokers:\n  url: amqp://x@127.0.0.1/%2f\n")
        let notYAML = try Self.file("broker: [unclosed\n")
        defer { for path in [misspelt, unknownSection, notYAML] { unlink(path) } }
        for (path, expected) in [(misspelt, "unknown key 'broker.uri'"), (unknownSection, "unknown section 'brokers'"),
                                 (notYAML, "is not valid YAML")] {
            do {
                _ = try await Self.config(["--config", path])
                Issue.record("\(path) was accepted")
            } catch let failure as CommandFailed {
                #expect(failure.description.contains(expected), "\(failure.description)")
            }
        }
        do {
            _ = try await Self.config(["--config", "/nonexistent/patchfleet.yaml"])
            Issue.record("a missing file was accepted")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("cannot read the configuration file /nonexistent/patchfleet.yaml"))
        }
    }

    /// Command sections follow the same order: here the file's value is bad,
    /// the environment's is bad, and the flag's is good, so which error (if
    /// any) the worker stops with shows which source won.
    @Test func workerAndCoordinatorSettingsFollowTheSameOrder() async throws {
        let path = try Self.file("""
            broker:
              url: amqp://guest:guest@127.0.0.1:1/%2f
            worker:
              concurrency: 0
              roles: [drain, deploy]
            """)
        defer { unlink(path) }
        func worker(_ arguments: [String], environment: [String: String] = [:]) async -> String {
            do {
                return try await runCommand([patchfleetExecutable(), "worker", "--config", path] + arguments,
                                            environment: Self.clean.merging(environment) { $1 })
            } catch {
                return "\(error)"
            }
        }
        let fromFile = await worker([])
        #expect(fromFile.contains("--concurrency must be >= 1 (got 0)"), "\(fromFile)")
        let fromEnv = await worker([], environment: ["PATCHFLEET_WORKER_CONCURRENCY": "-3"])
        #expect(fromEnv.contains("--concurrency must be >= 1 (got -3)"), "\(fromEnv)")
        // The flag wins; the worker then goes on to the broker of the file (port 1: refused).
        let fromFlag = await worker(["--concurrency", "2"], environment: ["PATCHFLEET_WORKER_CONCURRENCY": "-3"])
        #expect(!fromFlag.contains("--concurrency must be"), "\(fromFlag)")
        #expect(fromFlag.contains("127.0.0.1:1"), "it tried the file's broker: \(fromFlag)")

        let typo = try Self.file("worker:\n  concurency: 2\n")
        defer { unlink(typo) }
        do {
            _ = try await runCommand([patchfleetExecutable(), "worker", "--config", typo], environment: Self.clean)
            Issue.record("a misspelt key was accepted")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("unknown key 'worker.concurency'"), "\(failure.description)")
        }

        let coordinator = try Self.file("coordinator:\n  catalog: /nonexistent/catalog.yaml\n")
        defer { unlink(coordinator) }
        do {
            _ = try await runCommand([patchfleetExecutable(), "coordinator", "--config", coordinator], environment: Self.clean)
            Issue.record("a coordinator without a store started")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("the coordinator needs its store"), "\(failure.description)")
        }
    }

    /// The observability and lab options refuse bad values with their name,
    /// before anything connects; a dashboard reachable from other machines
    /// needs a token.
    @Test func badObservabilityAndLabValuesAreNamed() async throws {
        func refusal(_ arguments: [String]) async -> String {
            do {
                let output = try await runCommand([patchfleetExecutable()] + arguments, environment: Self.clean)
                return "accepted: \(output)"
            } catch {
                return "\(error)"
            }
        }
        let address = await refusal(["worker", "--http-address", "nonsense", "--url", "amqp://guest:guest@127.0.0.1:1/%2f"])
        #expect(address.contains("--http-address: 'nonsense' is not HOST:PORT"), "\(address)")
        let format = await refusal(["worker", "--log-format", "xml", "--url", "amqp://guest:guest@127.0.0.1:1/%2f"])
        #expect(format.contains("--log-format must be text or json (got 'xml')"), "\(format)")
        let lab = await refusal(["worker", "--lab-timeout-seconds", "0", "--url", "amqp://guest:guest@127.0.0.1:1/%2f"])
        #expect(lab.contains("--lab-timeout-seconds must be > 0"), "\(lab)")
        let open = await refusal(["coordinator", "--store", "/nonexistent/s.sqlite", "--catalog", "/nonexistent/c.yaml",
                                  "--http-address", "0.0.0.0:0"])
        #expect(open.contains("reachable from other machines: give --dashboard-token-file"), "\(open)")
        let token = try Self.file("short")
        defer { unlink(token) }
        let weak = await refusal(["coordinator", "--store", "/nonexistent/s.sqlite", "--catalog", "/nonexistent/c.yaml",
                                  "--http-address", "0.0.0.0:0", "--dashboard-token-file", token])
        #expect(weak.contains("at least 16 characters"), "\(weak)")
    }
}
