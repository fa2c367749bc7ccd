import PatchFleetCore

/// Turns the envelope's error object (a PowerShell ErrorRecord, flattened by
/// `ConvertTo-PFError`) into a BackendError, keeping the original message.
///
/// Precedence: an explicit PatchFleet code thrown by our own scripts
/// (`PF-Fail`), then a known VMM error id, then the ErrorRecord's category.
public enum ErrorRecordMapping {
    /// VMM error ids PatchFleet knows the meaning of. VMM puts the id first in
    /// FullyQualifiedErrorId ("1730,Microsoft.SystemCenter...MoveVMCmdlet")
    /// and at the end of the message ("(Error ID: 1730)"). Taken from VMM's
    /// published error texts; not verified against a live server here.
    public static let vmmErrorIds: [String: BackendError.Code] = [
        "801": .notFound,           // cannot find the object
        "1730": .invalidState,      // VM not in a state in which the action is valid
        "10698": .migrationFailed,  // the virtual machine could not be live migrated
        "2912": .unreachable,       // internal error contacting the host (WinRM/WMI)
        "2916": .unreachable,       // host not responding (WinRM)
    ]

    public static func map(_ error: JSONValue, host: String, operation: String) -> BackendError {
        let message = error["message"].string.flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(operation) on \(host) failed without a message"
        let category = error["category"].enumName(PowerShellEnums.errorCategory) ?? "NotSpecified"
        let errorId = error["errorId"].string ?? ""
        let vmmId = vmmErrorId(errorId: errorId, message: message)
        if let explicit = error["code"].string.flatMap(BackendError.Code.init(rawValue:)) {
            return BackendError(explicit, message, backendCode: vmmId)
        }
        if let vmmId, let code = vmmErrorIds[vmmId] {
            return BackendError(code, message, backendCode: vmmId)
        }
        // A missing module says ResourceUnavailable, but the fix is an
        // installation on the management host, not waiting for a host.
        if errorId.hasPrefix("Modules_") || errorId.hasPrefix("CommandNotFoundException") {
            return BackendError(.internalError, message)
        }
        let hresult = error["hresult"].string.flatMap { $0 == "0x80131500" || $0.isEmpty ? nil : $0 }
        return BackendError(code(forCategory: category), message, backendCode: vmmId ?? hresult)
    }

    public static func code(forCategory category: String) -> BackendError.Code {
        switch category {
        case "ObjectNotFound": .notFound
        case "InvalidOperation", "InvalidResult", "NotEnabled": .invalidState
        case "ResourceUnavailable", "ConnectionError": .unreachable
        case "ResourceBusy", "ResourceExists", "DeadlockDetected": .conflict
        case "OperationTimeout": .timeout
        case "LimitsExceeded", "QuotaExceeded": .insufficientCapacity
        default: .internalError
        }
    }

    /// "1730,Microsoft..." or "... (Error ID: 1730)" -> "1730".
    static func vmmErrorId(errorId: String, message: String) -> String? {
        let head = errorId.prefix { $0.isNumber }
        if !head.isEmpty, errorId.dropFirst(head.count).first == "," { return String(head) }
        guard let range = message.range(of: "Error ID: ") else { return nil }
        let digits = message[range.upperBound...].prefix { $0.isNumber }
        return digits.isEmpty ? nil : String(digits)
    }
}
