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

/// A child process started with posix_spawnp (Foundation's Process can miss
/// a child's exit on Linux and hang), stdin from /dev/null, stdout and stderr
/// into a log file.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String

    /// `path` is looked up on PATH when it has no slash; `environment` adds to
    /// (or overrides) this process's environment. `ownGroup`: the child leads
    /// a process group of its own, so `killGroup` reaches everything it started
    /// (a shell script's pipelines and background jobs).
    public init(_ path: String, _ arguments: [String], log: String, environment: [String: String] = [:],
                ownGroup: Bool = false) throws {
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(log)-\(UUID().uuidString.prefix(6)).log").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let env = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + env).forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, path, &actions, &attributes, argv, env)
        guard rc == 0 else { throw CommandFailed(description: "cannot run \(path): errno \(rc)") }
        self.pid = pid
    }

    public func kill(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// Signals the child's whole process group (started with `ownGroup`).
    public func killGroup(_ signal: Int32) { Glibc.kill(-pid, signal) }

    /// Waits for the exit on a thread of its own (never blocking the
    /// cooperative pool, which has as many threads as cores: a blocked pool
    /// stalls every other test); returns the exit status, or 128 + the signal.
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread { continuation.resume(returning: self.wait()) }.start()
        }
    }

    /// Waits for the exit, blocking the calling thread.
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    public func output() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs a command to completion; returns its output, or throws with it if
/// the command failed. The wait happens off the cooperative pool.
public func runCommand(_ argv: [String], environment: [String: String] = [:]) async throws -> String {
    let child = try ChildProcess(argv[0], Array(argv.dropFirst()), log: "cmd", environment: environment)
    let status = await child.exitStatus()
    let output = child.output()
    unlink(child.logPath)
    guard status == 0 else {
        throw CommandFailed(description: "\(argv.joined(separator: " ")) failed (\(status)): \(output)")
    }
    return output
}
