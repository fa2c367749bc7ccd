import Foundation

/// PowerShell-specific readings of JSON values.
extension JSONValue {
    /// A date written either as ISO 8601 (`PF-Date`, PowerShell 7) or as
    /// Windows PowerShell 5.1's `/Date(1700000000000)/` (milliseconds since
    /// the epoch, optionally followed by a `+hhmm` offset that only says which
    /// zone the value was displayed in: the milliseconds are already UTC).
    public var date: Date? {
        guard let text = string else { return nil }
        if text.hasPrefix("/Date(") || text.hasPrefix("\\/Date(") {
            let digits = text.drop { $0 != "(" }.dropFirst().prefix { $0 == "-" || $0.isNumber }
            return Int64(digits).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = withFraction.date(from: Self.trimFraction(text)) { return d }
        return ISO8601DateFormatter().date(from: text)
    }

    /// .NET's round-trip format has 7 fractional digits; Foundation's parser
    /// wants at most 3.
    private static func trimFraction(_ text: String) -> String {
        guard let dot = text.firstIndex(of: "."),
              let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) else { return text }
        let fraction = text[text.index(after: dot)..<end].prefix(3)
        return String(text[..<dot]) + "." + fraction + text[end...]
    }

    /// An enum value by name. Scripts convert enums with `[string]`, but
    /// PowerShell 5.1 serializes an unconverted enum as its number, so the
    /// caller passes the .NET enum's numeric table. An unknown number stays
    /// visible as "#<n>" instead of silently becoming a default.
    public func enumName(_ table: [Int: String]) -> String? {
        switch self {
        case .string(let s):
            if let n = Int(s) { return table[n] ?? "#\(n)" }
            return s
        case .number:
            guard let n = int else { return nil }
            return table[n] ?? "#\(n)"
        default:
            return nil
        }
    }
}

/// Numeric tables of .NET enums the backends read (documented values).
public enum PowerShellEnums {
    /// System.Management.Automation.ErrorCategory.
    public static let errorCategory: [Int: String] = [
        0: "NotSpecified", 1: "OpenError", 2: "CloseError", 3: "DeviceError", 4: "DeadlockDetected",
        5: "InvalidArgument", 6: "InvalidData", 7: "InvalidOperation", 8: "InvalidResult", 9: "InvalidType",
        10: "MetadataError", 11: "NotImplemented", 12: "NotInstalled", 13: "ObjectNotFound",
        14: "OperationStopped", 15: "OperationTimeout", 16: "SyntaxError", 17: "ParserError",
        18: "PermissionDenied", 19: "ResourceBusy", 20: "ResourceExists", 21: "ResourceUnavailable",
        22: "ReadError", 23: "WriteError", 24: "FromStdErr", 25: "SecurityError", 26: "ProtocolError",
        27: "ConnectionError", 28: "AuthenticationError", 29: "LimitsExceeded", 30: "QuotaExceeded",
        31: "NotEnabled",
    ]
}
