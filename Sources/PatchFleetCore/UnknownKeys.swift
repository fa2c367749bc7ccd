import Foundation
import Yams

/// Finds keys a job file sets that PatchFleet does not know. A misspelt
/// option ("maxUnavailablePerClustr") would otherwise be ignored silently and
/// its default used: exactly the surprise a patch run must not have.
enum UnknownKeys {
    static let known: [String: Set<String>] = [
        "": ["schemaVersion", "id", "targets", "updates", "policy"],
        "targets": ["collection", "clusters", "hosts"],
        "updates": ["updateList", "updateIds", "deploymentCollection"],
        "policy": Set(Policy.CodingKeys.allCases.map(\.rawValue)),
        "policy.maintenanceWindow": ["start", "end"],
        "policy.estimates": Set(DurationEstimates.CodingKeys.allCases.map(\.rawValue)),
    ]
    static let overrideKeys: Set<String> = ["name", "tag", "fallback"]

    static func problems(in text: String, json: Bool) -> [ValidationProblem] {
        let parsed: Any?
        if json {
            parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8))
        } else {
            parsed = try? Yams.load(yaml: text)
        }
        guard let root = parsed as? [String: Any] else { return [] }
        var problems: [ValidationProblem] = []
        for (path, allowed) in known.sorted(by: { $0.key < $1.key }) {
            guard let object = lookup(path, in: root) else { continue }
            for key in object.keys.sorted() where !allowed.contains(key) {
                problems.append(ValidationProblem(path: path.isEmpty ? key : "\(path).\(key)", message: "is not a known option"))
            }
        }
        let overrides = (lookup("policy", in: root)?["vmOverrides"] as? [Any]) ?? []
        for (index, entry) in overrides.enumerated() {
            guard let object = entry as? [String: Any] else { continue }
            for key in object.keys.sorted() where !overrideKeys.contains(key) {
                problems.append(ValidationProblem(path: "policy.vmOverrides[\(index)].\(key)", message: "is not a known option"))
            }
        }
        return problems
    }

    static func lookup(_ path: String, in root: [String: Any]) -> [String: Any]? {
        guard !path.isEmpty else { return root }
        var current: [String: Any]? = root
        for component in path.split(separator: ".") {
            current = current?[String(component)] as? [String: Any]
        }
        return current
    }
}
