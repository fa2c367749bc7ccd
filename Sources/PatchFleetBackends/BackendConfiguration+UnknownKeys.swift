import Foundation
import PatchFleetCore
import Yams

extension BackendConfiguration {
    /// Keys the file sets that no option has: a misspelt
    /// "maxConcurentCalls" would otherwise be ignored and its default used.
    public static func unknownKeys(in text: String) -> [ValidationProblem] {
        guard let root = (try? Yams.load(yaml: text)) as? [String: Any] else { return [] }
        var problems: [ValidationProblem] = []
        func check(_ object: Any?, _ allowed: Set<String>, _ path: String) {
            guard let object = object as? [String: Any] else { return }
            for key in object.keys.sorted() where !allowed.contains(key) {
                problems.append(ValidationProblem(path: path.isEmpty ? key : "\(path).\(key)", message: "is not a known option"))
            }
        }
        let target = Set(SSHTarget.CodingKeys.allCases.map(\.rawValue))
        check(root, ["sshPath", "datacenters"], "")
        for (name, dc) in ((root["datacenters"] as? [String: Any]) ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = "datacenters.\(name)"
            check(dc, ["virtualization", "updates"], path)
            let dc = dc as? [String: Any]
            let v = dc?["virtualization"] as? [String: Any], u = dc?["updates"] as? [String: Any]
            check(v, ["kind", "target", "vmmServer", "clusters", "failback", "jobPolling"], "\(path).virtualization")
            check(v?["target"], target, "\(path).virtualization.target")
            check(v?["jobPolling"], ["intervalSeconds", "timeoutSeconds"], "\(path).virtualization.jobPolling")
            check(u, ["kind", "target", "siteCode", "limitingCollection", "clientAccess", "hostTarget", "source"], "\(path).updates")
            check(u?["target"], target, "\(path).updates.target")
            check(u?["hostTarget"], target, "\(path).updates.hostTarget")
        }
        return problems
    }
}
