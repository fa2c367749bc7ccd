import Foundation
import PatchFleetCore

/// Maps the client's reply to a ComplianceReport of exactly the requested
/// update ids, in the caller's spelling. An id the client does not know yet
/// (no scan since the deployment arrived) is pending, never installed.
enum ComplianceMapping {
    static func report(requested: [String], reply: JSONValue) -> ComplianceReport {
        let updates = reply["updates"].elements
        let store = reply["store"].elements
        var installed: [String] = [], pending: [String] = [], failed: [UpdateFailure] = []
        var rebootFromStates = false
        // An install under way (just started by this poll, or in states
        // 2-7 and 11) must finish before a restart: reporting the restart
        // now would have the saga restart the host in the middle of it.
        var installing = (reply["started"].int ?? 0) > 0
        for id in requested {
            let key = UpdateIdentity.normalize(id)
            if let update = updates.first(where: { matches($0["articleId"], $0["updateId"], key) }) {
                let state = update["evaluationState"].int.flatMap(EvaluationState.init(rawValue:))
                if let raw = update["evaluationState"].int, (2...7).contains(raw) || raw == 11 { installing = true }
                let compliant = update["complianceState"].int == 1
                switch state?.meaning {
                case .installedPendingReboot?:
                    installed.append(id)
                    rebootFromStates = true
                case .installed?:
                    installed.append(id)
                case .failed?:
                    failed.append(UpdateFailure(updateId: id, code: hex(update["errorCode"].int ?? 0),
                                                message: "\(update["name"].string ?? id): EvaluationState 13 (error)"))
                case .pending?, nil:
                    if compliant { installed.append(id) } else { pending.append(id) }
                }
            } else if let entry = store.first(where: { matches($0["article"], $0["uniqueId"], key) }),
                      entry["status"].string?.caseInsensitiveCompare("Installed") == .orderedSame {
                installed.append(id)
            } else {
                pending.append(id)
            }
        }
        let reboot = reply["reboot"]
        let pendingReboot = !installing
            && (rebootFromStates || reboot["rebootPending"].bool == true || reboot["hardRebootPending"].bool == true)
        return ComplianceReport(installed: installed, pending: pending, failed: failed, pendingReboot: pendingReboot)
    }

    private static func matches(_ article: JSONValue, _ guid: JSONValue, _ key: String) -> Bool {
        [article, guid].contains { $0.string.map(UpdateIdentity.normalize) == key }
    }

    /// HRESULTs arrive as signed 32-bit ints (-2147023436): print them the
    /// way Microsoft documents them (0x800705B4).
    static func hex(_ code: Int) -> String {
        String(format: "0x%08X", UInt32(truncatingIfNeeded: code))
    }
}
