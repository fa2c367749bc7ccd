import Foundation
import Logging

/// What `body` returns, or nil once `timeout` has passed first (then `body`
/// is cancelled): how the CLI waits for an answer or a job's end.
func firstResult<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () async throws -> T?) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Logs to stderr at `level` and above: the client commands (submit, watch,
/// demo, chaos) print their own output and keep the logs for trouble.
func bootstrapClientLogging(_ level: Logger.Level = .warning) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
