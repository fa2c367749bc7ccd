import PatchFleetCore

/// How long and how often to poll an asynchronous backend job (VMM job,
/// cluster drain). Tests use milliseconds; production uses seconds.
public struct JobPolling: Codable, Sendable, Hashable {
    public var intervalSeconds: Double
    public var timeoutSeconds: Double

    public init(intervalSeconds: Double = 5, timeoutSeconds: Double = 3600) {
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sleeps one interval; a cancelled task surfaces as a BackendError.
    func pause(_ what: String) async throws(BackendError) {
        do { try await Task.sleep(nanoseconds: UInt64(max(0, intervalSeconds) * 1e9)) } catch {
            throw BackendError(.internalError, "\(what): polling cancelled")
        }
    }
}

/// Host names as the managers print them: VMM says "hv01.contoso.com", a job
/// may say "HV01" (`HostName.matches`, the rule the job's targets resolve by).
func sameHost(_ a: String, _ b: String) -> Bool { HostName.matches(a, b) }
