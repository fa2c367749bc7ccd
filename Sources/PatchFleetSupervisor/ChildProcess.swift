import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawnp (Foundation's Process can miss
/// a child's exit on Linux and hang), stdin from /dev/null, stdout and stderr
/// into a log file.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String

    /// `path` is looked up on PATH when it has no slash; `environment` adds to
    /// (or overrides) this process's environment. The log is a new file in
    /// the temporary directory named after `log`. `ownGroup`: the child leads
    /// a process group of its own, so `killGroup` reaches everything it started
    /// (a shell script's pipelines and background jobs).
    public convenience init(_ path: String, _ arguments: [String], log: String, environment: [String: String] = [:],
                            ownGroup: Bool = false) throws {
        try self.init(path, arguments, logPath: FileManager.default.temporaryDirectory
            .appendingPathComponent("\(log)-\(UUID().uuidString.prefix(6)).log").path, environment: environment, ownGroup: ownGroup)
    }

    public init(_ path: String, _ arguments: [String], logPath: String, environment: [String: String] = [:],
                ownGroup: Bool = false) throws {
        self.logPath = logPath
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
        guard rc == 0 else { throw SpawnError(description: "cannot run \(path): \(String(cString: strerror(rc)))") }
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

    /// Whether the process has ended, without reaping it (so `exitStatus()`
    /// still reads its status): an ended child is a zombie until waited for.
    public var hasExited: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        // "pid (comm) S ...": the state letter follows the command name.
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    public func output() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

/// This process's own executable, to start more of the same (the demo's
/// coordinator and workers are `patchfleet` too).
public func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
