import Foundation
import PatchFleetCore
import PatchFleetTestSupport
import Testing

/// The fleet over amqps:// (issue 6, item 6): a broker of its own with a TLS
/// listener on a throwaway CA made here with openssl, and a coordinator and
/// worker processes given only the amqps:// URL (verifying the server
/// against that CA) patch a host to its end.
///
/// The broker's ports: `PATCHFLEET_TLS_FLEET_BROKER_PORT` (plain; TLS is the
/// next port), default 5696, so parallel checkouts can keep apart.
@Suite("Fleet over TLS", .serialized, .timeLimit(.minutes(3)))
struct FleetOverTLSTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func aCoordinatorAndWorkersOverAmqpsRunAJobToItsEnd() async throws {
        let port = Int(ProcessInfo.processInfo.environment["PATCHFLEET_TLS_FLEET_BROKER_PORT"] ?? "") ?? 5696
        let certificates = FileManager.default.temporaryDirectory.appendingPathComponent("patchfleet-fleet-tls-\(getpid())")
        try FileManager.default.createDirectory(at: certificates, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: certificates) }
        _ = try await runCommand(["/bin/bash", "-c", """
            set -e; cd '\(certificates.path)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=PatchFleet fleet test CA' 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' 2>/dev/null
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.cnf
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.cnf 2>/dev/null
            chmod 644 server.key
            """])
        let broker = ["/bin/bash", Self.repoRoot.appendingPathComponent("deploy/local/broker.sh").path]
        let environment = ["PATCHFLEET_BROKER_NAME": "fleet-tls-test", "PATCHFLEET_BROKER_PORT": String(port),
                           "PATCHFLEET_BROKER_TLS_PORT": String(port + 1), "PATCHFLEET_BROKER_TLS_DIR": certificates.path]
        // Restart: a broker left from an earlier run would hold that run's certificates.
        _ = try await runCommand(broker + ["restart"], environment: environment)
        var failure: (any Error)?
        do {
            let url = "amqps://guest:guest@localhost:\(port + 1)/%2f?cacertfile=\(certificates.path)/ca.pem"
            let fleet = try await FleetHarness.start(timeScale: 2_000, url: url) { job in
                job.targets = JobTargets(hosts: ["SEA-H3"])
            }
            try await fleet.submit()
            // Every connection the broker has is a TLS one (the fleet's: the plain port is unused).
            let connections = try await runCommand(broker + ["ctl", "list_connections", "--silent", "ssl"], environment: environment)
            let flags = connections.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(flags.count >= 4 && flags.allSatisfy { $0 == "true" }, "coordinator, 3 workers and the test, all TLS: \(connections)")
            let finished = try #require(try await fleet.nextJobEvent { [.succeeded, .failed, .cancelled].contains($0.state) })
            #expect(finished.state == .succeeded)
            let report = try await fleet.report()
            #expect(report.host("SEA-H3")?.outcome?.kind == .patched, "\(report.hosts)")
            #expect(fleet.violations(report).isEmpty, "\(fleet.violations(report))")
            try await fleet.stop()
        } catch {
            failure = error
        }
        _ = try? await runCommand(broker + ["stop"], environment: environment)
        if let failure { throw failure }
    }
}
