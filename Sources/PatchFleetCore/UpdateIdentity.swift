import Foundation

/// Deployed update ids come as KB article ids ("KB5031364", "5031364") or
/// update GUIDs; the client reports both, the GUID inside its own
/// `CCM_SoftwareUpdate.UpdateID` ("Site_<site GUID>/SUM_<update GUID>").
/// One normal form for comparing.
public enum UpdateIdentity {
    public static func normalize(_ id: String) -> String {
        var text = id.trimmingCharacters(in: .whitespaces).lowercased()
        if text.hasPrefix("site_"), let sum = text.range(of: "/sum_", options: .backwards) { text = String(text[sum.upperBound...]) }
        if text.hasPrefix("kb") { text.removeFirst(2) }
        if text.hasPrefix("{") && text.hasSuffix("}") { text = String(text.dropFirst().dropLast()) }
        return text
    }
}
