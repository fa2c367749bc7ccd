/// A failure reported by a backend. `message` is the backend's own text,
/// verbatim: PatchFleet never turns an error into "success with nothing done"
/// nor into a message a person cannot search for.
public struct BackendError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable, CaseIterable {
        case notFound, invalidState, insufficientCapacity, migrationFailed, installFailed
        case timeout, unreachable, conflict, internalError
    }

    public var code: Code
    public var message: String
    /// The backend's own error code (e.g. "0x80070643"), when it has one.
    public var backendCode: String?

    public init(_ code: Code, _ message: String, backendCode: String? = nil) {
        self.code = code
        self.message = message
        self.backendCode = backendCode
    }

    public var description: String {
        backendCode.map { "\(code.rawValue): \(message) (\($0))" } ?? "\(code.rawValue): \(message)"
    }
}
