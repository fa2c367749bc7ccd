#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Runs one child (ssh) with posix_spawn, pipes and a poll loop.
///
/// Not Foundation.Process: its waitUntilExit can hang on Linux. The child is
/// the leader of its own process group so a timeout or a cancelled task
/// kills it together with anything it started (ProxyCommand, askpass).
enum ChildProcess {
    enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case outputTooLarge
        case cancelled
    }

    struct Outcome: Sendable {
        var termination: Termination
        var stdout: [UInt8]
        var stderr: [UInt8]
        var elapsedSeconds: Double
    }

    struct SpawnFailure: Error, Sendable {
        var errno: Int32
        var message: String
    }

    struct Request: Sendable {
        var executable: String
        var arguments: [String]
        /// Added to (or replacing in) the inherited environment.
        var environment: [String: String]
        /// File opened as the child's stdin; /dev/null when nil.
        var stdinPath: String?
        var timeoutSeconds: Double
        var maxStdoutBytes: Int
        var maxStderrBytes: Int = 64 << 10
    }

    /// Blocking work runs on its own thread, never on the cooperative pool.
    static func run(_ request: Request) async -> Result<Outcome, SpawnFailure> {
        let cancel = CancelSignal()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Outcome, SpawnFailure>, Never>) in
                let thread = Thread { continuation.resume(returning: runBlocking(request, cancelFD: cancel.readFD)) }
                thread.name = "patchfleet-ssh"
                thread.start()
            }
        } onCancel: {
            cancel.fire()
        }
    }

    static func runBlocking(_ request: Request, cancelFD: Int32) -> Result<Outcome, SpawnFailure> {
        let start = monotonicSeconds()
        guard let out = makePipe(), let err = makePipe() else {
            return .failure(SpawnFailure(errno: errno, message: "pipe: \(String(cString: strerror(errno)))"))
        }
        let spawned = spawn(request, stdoutWrite: out.write, stderrWrite: err.write)
        close(out.write)  // the child has its copies; EOF must come from it alone
        close(err.write)
        defer { close(out.read); close(err.read) }
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let failure): return .failure(failure)
        }

        let deadline = start + request.timeoutSeconds
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var fds = [pollfd(fd: out.read, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: err.read, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: cancelFD, events: Int16(POLLIN), revents: 0)]
        var abort: Termination?
        var buffer = [UInt8](repeating: 0, count: 65536)

        while abort == nil && (fds[0].fd >= 0 || fds[1].fd >= 0) {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { abort = .timedOut; break }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining * 1000, 1000).rounded(.up)))
            if ready < 0 && errno == EINTR { continue }
            if fds[2].revents != 0 { abort = .cancelled; break }
            for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if index == 0 {
                        stdout += buffer[0..<count]
                        if stdout.count > request.maxStdoutBytes { abort = .outputTooLarge }
                    } else if stderr.count < request.maxStderrBytes {
                        stderr += buffer[0..<min(count, request.maxStderrBytes - stderr.count)]
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    fds[index].fd = -1  // EOF: poll ignores negative descriptors
                }
            }
        }

        let termination: Termination
        if let abort {
            killGroup(pid)
            termination = abort
        } else {
            // Both pipes closed; the child may still linger (it should not).
            termination = waitForExit(pid, until: deadline) ?? { killGroup(pid); return .timedOut }()
        }
        return .success(Outcome(termination: termination, stdout: stdout, stderr: stderr,
                                elapsedSeconds: monotonicSeconds() - start))
    }

    // MARK: Spawning

    private static func spawn(_ request: Request, stdoutWrite: Int32, stderrWrite: Int32) -> Result<pid_t, SpawnFailure> {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, request.stdinPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutWrite, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrWrite, 2)

        // Own process group (kill it whole); default signal mask and SIGPIPE
        // disposition whatever the parent runtime set.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment = ProcessInfo.processInfo.environment
        for (key, value) in request.environment { environment[key] = value }
        let argv = ([request.executable] + request.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = request.executable.contains("/")
            ? posix_spawn(&pid, request.executable, &actions, &attributes, argv, envp)
            : posix_spawnp(&pid, request.executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            return .failure(SpawnFailure(errno: rc, message: "cannot start \(request.executable): \(String(cString: strerror(rc)))"))
        }
        return .success(pid)
    }

    /// Close-on-exec from birth where the platform allows (pipe2 on Linux):
    /// concurrent spawns must not inherit each other's pipes, or an inherited
    /// write end keeps our reader from ever seeing EOF.
    static func makePipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        #if os(Linux)
        guard linuxPipe2(&fds, O_CLOEXEC) == 0 else { return nil }
        #else
        guard pipe(&fds) == 0 else { return nil }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        #endif
        return (fds[0], fds[1])
    }

    // MARK: Reaping

    private static func waitForExit(_ pid: pid_t, until deadline: Double) -> Termination? {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { return decode(status) }
            if rc < 0 && errno != EINTR { return .exited(-1) }
            if monotonicSeconds() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// SIGTERM to the group, a short grace, then SIGKILL; always reaps.
    private static func killGroup(_ pid: pid_t) {
        kill(-pid, SIGTERM)
        if waitForExit(pid, until: monotonicSeconds() + 2) != nil {
            kill(-pid, SIGKILL)  // stragglers in the group
            return
        }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    private static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A self-pipe: task cancellation writes one byte, the poll loop wakes up.
final class CancelSignal: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() {
        let fds = ChildProcess.makePipe()
        readFD = fds?.read ?? -1
        writeFD = fds?.write ?? -1
    }

    func fire() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}

#if os(Linux)
/// glibc's pipe2(2), which the Glibc module does not export.
@_silgen_name("pipe2")
private func linuxPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
#endif
