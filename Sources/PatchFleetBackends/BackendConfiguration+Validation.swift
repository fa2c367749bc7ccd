import Foundation
import PatchFleetCore

extension BackendConfiguration {
    /// Every problem, each at the path a person finds in their file. With
    /// `checkFiles`, secret files must exist and not be readable by others.
    public func problems(checkFiles: Bool = false) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        func fail(_ path: String, _ message: String) { problems.append(ValidationProblem(path: path, message: message)) }
        if sshPath.allSatisfy(\.isWhitespace) { fail("sshPath", "must not be empty") }
        if datacenters.isEmpty { fail("datacenters", "must name at least one datacenter") }
        for (name, dc) in datacenters.sorted(by: { $0.key < $1.key }) {
            let v = "datacenters.\(name).virtualization", u = "datacenters.\(name).updates"
            problems += Self.problems(dc.virtualization.target, path: "\(v).target", checkFiles: checkFiles)
            switch dc.virtualization.kind {
            case .vmm:
                if dc.virtualization.vmmServer?.isEmpty == true { fail("\(v).vmmServer", "must not be empty") }
                if dc.virtualization.clusters != nil { fail("\(v).clusters", "applies to failoverCluster only") }
            case .failoverCluster:
                if (dc.virtualization.clusters ?? []).isEmpty { fail("\(v).clusters", "must name at least one cluster") }
                if dc.virtualization.vmmServer != nil { fail("\(v).vmmServer", "applies to vmm only") }
            }
            if let polling = dc.virtualization.jobPolling {
                if !(polling.intervalSeconds > 0) { fail("\(v).jobPolling.intervalSeconds", "must be > 0") }
                if !(polling.timeoutSeconds >= polling.intervalSeconds) { fail("\(v).jobPolling.timeoutSeconds", "must be >= intervalSeconds") }
            }
            if dc.updates.kind == .windowsUpdate {
                // The target is a template: each host's own name goes in.
                problems += Self.problems(dc.updates.target, path: "\(u).target", checkFiles: checkFiles, template: true)
                for (key, set) in [("siteCode", dc.updates.siteCode != nil), ("limitingCollection", dc.updates.limitingCollection != nil),
                                   ("clientAccess", dc.updates.clientAccess != nil), ("hostTarget", dc.updates.hostTarget != nil)] where set {
                    fail("\(u).\(key)", "applies to configMgr only")
                }
                continue
            }
            problems += Self.problems(dc.updates.target, path: "\(u).target", checkFiles: checkFiles)
            if dc.updates.source != nil { fail("\(u).source", "applies to windowsUpdate only") }
            let siteCode = dc.updates.siteCode ?? ""
            if siteCode.count != 3 || !siteCode.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                fail("\(u).siteCode", "must be a three-character ConfigMgr site code (letters and digits)")
            }
            switch (dc.updates.clientAccess ?? .viaSiteServer, dc.updates.hostTarget) {
            case (.directSSH, nil): fail("\(u).hostTarget", "is required with clientAccess directSSH")
            case (.directSSH, let template?):
                problems += Self.problems(template, path: "\(u).hostTarget", checkFiles: checkFiles, template: true)
            case (.viaSiteServer, _?): fail("\(u).hostTarget", "applies to clientAccess directSSH only")
            case (.viaSiteServer, nil): break
            }
        }
        return problems
    }

    static func problems(_ t: SSHTarget, path: String, checkFiles: Bool, template: Bool = false) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        func fail(_ key: String, _ message: String) { problems.append(ValidationProblem(path: "\(path).\(key)", message: message)) }
        if !template {
            if t.host.isEmpty { fail("host", "must not be empty") }
            else if t.host.hasPrefix("-") || t.host.contains(where: { $0.isWhitespace || $0 == "@" }) {
                fail("host", "must be a host name or address (no leading '-', spaces or '@')")
            }
        }
        if t.user.isEmpty { fail("user", "must not be empty") }
        if t.user.hasPrefix("-") { fail("user", "must not start with '-'") }
        if let port = t.port, !(1...65535).contains(port) { fail("port", "must be between 1 and 65535") }
        switch (t.identityFile, t.passwordFile) {
        case (nil, nil): fail("identityFile", "or passwordFile must be set")
        case (_?, _?): fail("passwordFile", "cannot be combined with identityFile")
        default: break
        }
        for (key, file) in [("identityFile", t.identityFile), ("passwordFile", t.passwordFile), ("knownHostsFile", t.knownHostsFile)] {
            guard let file else { continue }
            if !file.hasPrefix("/") { fail(key, "must be an absolute path"); continue }
            guard checkFiles else { continue }
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file) else {
                fail(key, "\(file) does not exist or cannot be read")
                continue
            }
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
            if key != "knownHostsFile" && mode & 0o077 != 0 {
                fail(key, "\(file) is readable by others (mode \(String(mode, radix: 8))); use chmod 600")
            }
        }
        if t.connectTimeoutSeconds < 1 { fail("connectTimeoutSeconds", "must be >= 1") }
        if !(t.callTimeoutSeconds > 0) { fail("callTimeoutSeconds", "must be > 0") }
        if t.maxConcurrentCalls < 1 { fail("maxConcurrentCalls", "must be >= 1") }
        if t.maxOutputBytes < 1024 { fail("maxOutputBytes", "must be >= 1024") }
        return problems
    }
}
