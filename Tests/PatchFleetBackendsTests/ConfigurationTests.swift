import Foundation
import PatchFleetCore
import Testing
@testable import PatchFleetBackends

@Suite("Backend configuration")
struct ConfigurationTests {
    static let example = FakeSSH.fixtures.appendingPathComponent("backends.example.yaml")

    @Test func exampleLoadsAndValidates() throws {
        let config = try BackendConfiguration.load(contentsOf: Self.example)
        #expect(config.problems().isEmpty)
        let b44 = try #require(config.datacenters["b44"])
        #expect(b44.virtualization.kind == .vmm)
        #expect(b44.virtualization.target.user == "CONTOSO\\svc-patchfleet")
        #expect(b44.virtualization.target.hostKeyChecking == .yes)
        #expect(b44.updates.target.passwordFile == "/etc/patchfleet/secrets/cm01.password")
        #expect(b44.updates.target.callTimeoutSeconds == 300)  // default
        #expect(config.datacenters["b12"]?.virtualization.clusters == ["CL12A", "CL12B"])
        #expect(config.datacenters["b12"]?.updates.hostTarget?.host == "")
    }

    @Test func theDocumentedExampleIsTheTestedOne() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/backends.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let example = try String(contentsOf: Self.example, encoding: .utf8)
        #expect(text.contains("```yaml\n" + example + "```"))
    }

    @Test func jsonToo() throws {
        let json = #"{"datacenters":{"x":{"virtualization":{"kind":"vmm","target":{"host":"vmm01","user":"u","identityFile":"/k"}},"updates":{"siteCode":"PS1","kind":"configMgr","target":{"host":"cm01","user":"u","identityFile":"/k"}}}}}"#
        let config = try BackendConfiguration.load(json)
        #expect(config.sshPath == "ssh" && config.problems().isEmpty)
    }

    @Test func everyProblemIsNamed() throws {
        let yaml = """
        sshPath: " "
        datacenters:
          bad:
            virtualization:
              kind: failoverCluster
              vmmServer: vmm01
              target: { host: "-oProxyCommand=evil", user: "", identityFile: relative/key, passwordFile: /p, port: 70000, maxConcurrentCalls: 0 }
              jobPolling: { intervalSeconds: 0, timeoutSeconds: -1 }
            updates:
              kind: configMgr
              siteCode: PS12
              clientAccess: directSSH
              target: { host: "cm01 ", user: svc }
        """
        let problems = try BackendConfiguration.load(yaml).problems().map(\.description)
        let expected = [
            "sshPath must not be empty",
            "datacenters.bad.virtualization.target.host must be a host name or address (no leading '-', spaces or '@')",
            "datacenters.bad.virtualization.target.user must not be empty",
            "datacenters.bad.virtualization.target.port must be between 1 and 65535",
            "datacenters.bad.virtualization.target.passwordFile cannot be combined with identityFile",
            "datacenters.bad.virtualization.target.identityFile must be an absolute path",
            "datacenters.bad.virtualization.target.maxConcurrentCalls must be >= 1",
            "datacenters.bad.virtualization.clusters must name at least one cluster",
            "datacenters.bad.virtualization.vmmServer applies to vmm only",
            "datacenters.bad.virtualization.jobPolling.intervalSeconds must be > 0",
            "datacenters.bad.virtualization.jobPolling.timeoutSeconds must be >= intervalSeconds",
            "datacenters.bad.updates.target.host must be a host name or address (no leading '-', spaces or '@')",
            "datacenters.bad.updates.target.identityFile or passwordFile must be set",
            "datacenters.bad.updates.siteCode must be a three-character ConfigMgr site code (letters and digits)",
            "datacenters.bad.updates.hostTarget is required with clientAccess directSSH",
        ]
        #expect(problems == expected)
    }

    @Test func misspeltOptionsAreReported() throws {
        let yaml = """
        sshPth: /usr/bin/ssh
        datacenters:
          b44:
            virtualization:
              kind: vmm
              vmmSrever: vmm01
              target: { host: vmm01, user: u, identityFile: /k, maxConcurentCalls: 2 }
            updates: { kind: configMgr, siteCode: PS1, target: { host: cm01, user: u, identityFile: /k }, extra: 1 }
        """
        #expect(BackendConfiguration.unknownKeys(in: yaml).map(\.description) == [
            "sshPth is not a known option",
            "datacenters.b44.virtualization.vmmSrever is not a known option",
            "datacenters.b44.virtualization.target.maxConcurentCalls is not a known option",
            "datacenters.b44.updates.extra is not a known option",
        ])
        let example = try String(contentsOf: Self.example, encoding: .utf8)
        #expect(BackendConfiguration.unknownKeys(in: example).isEmpty)
    }

    @Test func secretFilesMustBePrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pf-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = dir.appendingPathComponent("key")
        try Data("k".utf8).write(to: key)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key.path)
        let target = SSHTarget(host: "h", user: "u", identityFile: key.path)
        let open = BackendConfiguration.problems(target, path: "t", checkFiles: true).map(\.description)
        #expect(open == ["t.identityFile \(key.path) is readable by others (mode 644); use chmod 600"])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        #expect(BackendConfiguration.problems(target, path: "t", checkFiles: true).isEmpty)
        let missing = SSHTarget(host: "h", user: "u", identityFile: dir.appendingPathComponent("nope").path)
        #expect(BackendConfiguration.problems(missing, path: "t", checkFiles: true).count == 1)
    }

    @Test func factoryBuildsTheDatacentersBackends() throws {
        let config = try BackendConfiguration.load(contentsOf: Self.example)
        let b44 = try BackendFactory.make(config, datacenter: "b44")
        #expect(b44.label == "vmm+configmgr")
        #expect(b44.virtualization is VMMBackend && b44.updates is ConfigMgrBackend)
        let b12 = try BackendFactory.make(config, datacenter: "b12")
        #expect(b12.label == "failoverCluster+configmgr")
        #expect((b12.updates as? ConfigMgrBackend)?.clientAccess != .viaSiteServer)
        #expect(throws: BackendError.self) { try BackendFactory.make(config, datacenter: "nowhere") }
    }
}
