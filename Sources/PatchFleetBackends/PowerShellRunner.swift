import Foundation
import Logging
import PatchFleetCore

/// Runs generated scripts on one Windows management host over SSH and turns
/// the reply into a JSON value or a BackendError naming the host.
public struct PowerShellRunner: Sendable {
    public let target: SSHTarget
    /// `ssh` (looked up in PATH) or an absolute path; tests pass the fake.
    public let sshPath: String
    /// Extra environment for the ssh process (tests use it to steer the fake).
    public let environment: [String: String]
    let limiter: ConcurrencyLimiter
    let logger: Logger

    public init(target: SSHTarget, sshPath: String = "ssh", environment: [String: String] = [:],
                logger: Logger = Logger(label: "patchfleet.backends.ssh")) {
        self.target = target
        self.sshPath = sshPath
        self.environment = environment
        self.logger = logger
        let key = "\(target.user)@\(target.host):\(target.port ?? 22)"
        self.limiter = ConcurrencyLimiter.shared(for: key, limit: target.maxConcurrentCalls)
    }

    /// Runs `script`; `operation` names the call in errors and logs.
    public func run(_ script: PowerShellScript, operation: String,
                    timeoutSeconds: Double? = nil) async throws(BackendError) -> JSONValue {
        let outcome = await limiter.withSlot { await self.spawn(script.text, timeoutSeconds ?? target.callTimeoutSeconds) }
        return try interpret(outcome, operation: operation, timeoutSeconds: timeoutSeconds ?? target.callTimeoutSeconds)
    }

    private func spawn(_ text: String, _ timeout: Double) async -> Result<ChildProcess.Outcome, ChildProcess.SpawnFailure> {
        // Cancelled while waiting for a slot: do not start ssh at all.
        if Task.isCancelled { return .success(ChildProcess.Outcome(termination: .cancelled, stdout: [], stderr: [], elapsedSeconds: 0)) }
        var askPass: String?
        if target.passwordFile != nil {
            do { askPass = try AskPass.install() } catch {
                return .failure(.init(errno: 0, message: "cannot install the askpass helper: \(error)"))
            }
        }
        let line = SSHCommandLine.build(target: target, script: text, askPassPath: askPass)
        var stdinPath: String?
        if let stdin = line.stdin {
            // A private temp file rather than a pipe: no writer thread, no
            // SIGPIPE if ssh dies early.
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("patchfleet-\(UUID().uuidString).ps1").path
            guard FileManager.default.createFile(atPath: path, contents: Data(stdin.utf8), attributes: [.posixPermissions: 0o600]) else {
                return .failure(.init(errno: 0, message: "cannot write the script file \(path)"))
            }
            stdinPath = path
        }
        defer { if let stdinPath { try? FileManager.default.removeItem(atPath: stdinPath) } }
        var env = environment
        for (key, value) in line.environment { env[key] = value }
        let request = ChildProcess.Request(executable: sshPath, arguments: line.arguments, environment: env,
                                           stdinPath: stdinPath, timeoutSeconds: timeout,
                                           maxStdoutBytes: target.maxOutputBytes)
        return await ChildProcess.run(request)
    }

    func interpret(_ result: Result<ChildProcess.Outcome, ChildProcess.SpawnFailure>, operation: String,
                   timeoutSeconds: Double) throws(BackendError) -> JSONValue {
        let host = target.host
        let outcome: ChildProcess.Outcome
        switch result {
        case .failure(let failure):
            throw BackendError(.internalError, "\(operation) on \(host): \(failure.message)")
        case .success(let value):
            outcome = value
        }
        let stderr = String(decoding: outcome.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        logger.debug("powershell call", metadata: [
            "host": "\(host)", "operation": "\(operation)", "termination": "\(outcome.termination)",
            "seconds": "\(String(format: "%.2f", outcome.elapsedSeconds))",
        ])
        switch outcome.termination {
        case .timedOut:
            throw BackendError(.timeout, "\(operation) on \(host) timed out after \(String(format: "%g", timeoutSeconds)) s (ssh killed)")
        case .cancelled:
            throw BackendError(.internalError, "\(operation) on \(host) was cancelled (ssh killed)")
        case .outputTooLarge:
            throw BackendError(.internalError, "\(operation) on \(host): reply larger than \(target.maxOutputBytes) bytes")
        case .signaled(let signal):
            throw BackendError(.internalError, "\(operation) on \(host): ssh killed by signal \(signal)")
        case .exited(255):
            // ssh's own failure: no connection, authentication, host key.
            throw BackendError(.unreachable, "\(operation): cannot reach \(host) over ssh: \(stderr.isEmpty ? "exit status 255" : stderr)")
        case .exited(let status):
            if let envelope = Self.envelope(in: outcome.stdout) {
                if envelope["ok"].bool == true { return envelope["result"] }
                throw ErrorRecordMapping.map(envelope["error"], host: host, operation: operation)
            }
            let stdout = String(decoding: outcome.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let detail = [stderr.isEmpty ? nil : "stderr: \(stderr.prefix(500))", status == 0 ? nil : "exit status \(status)"]
                .compactMap { $0 }.joined(separator: "; ")
            if stdout.isEmpty {
                throw BackendError(.internalError, "\(operation) on \(host): no output from PowerShell" + (detail.isEmpty ? "" : " (\(detail))"))
            }
            throw BackendError(.internalError, "\(operation) on \(host): output is not a PatchFleet JSON reply: \(stdout.prefix(300))"
                                + (detail.isEmpty ? "" : " (\(detail))"))
        }
    }

    /// The reply document: the whole output, or failing that the last line
    /// that parses as `{"ok":...}` (a module may have written a banner or
    /// Write-Host text before it).
    static func envelope(in stdout: [UInt8]) -> JSONValue? {
        func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
            guard let value = try? JSONValue.parse(Data(bytes)), value["ok"].bool != nil else { return nil }
            return value
        }
        if let whole = parse(stdout) { return whole }
        for line in stdout.split(separator: UInt8(ascii: "\n")).reversed() {
            let trimmed = line.drop { $0 == 0xEF || $0 == 0xBB || $0 == 0xBF || $0 == 32 }  // BOM, spaces
            if trimmed.first == UInt8(ascii: "{"), let value = parse(trimmed) { return value }
        }
        return nil
    }
}
