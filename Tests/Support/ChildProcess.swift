import Foundation

/// The `patchfleet` executable in the build products directory (the test
/// bundle sits beside it); tests that run real processes use it.
public func patchfleetExecutable() -> String {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("patchfleet").path), url.path != "/" {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("patchfleet").path
}

public func eventuallyTrue(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A child process started with posix_spawn (Foundation's Process can miss
/// a child's exit on Linux), its output in a file.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String

    public init(_ path: String, _ arguments: [String], log: String) throws {
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(log)-\(UUID().uuidString.prefix(6)).log").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let env = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + env).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, env)
        guard rc == 0 else { throw CocoaError(.executableLoad) }
        self.pid = pid
    }

    public func kill(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// Waits for the exit; returns the exit status, or 128 + the signal.
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    public func output() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
