import Synchronization

extension AMQPConnection {
    /// Runs broker calls that matter only if the broker is there (cleanup at
    /// shutdown: deleting a run's queues), waiting at most `seconds`. While
    /// disconnected, a broker call waits for the reconnect (right for a
    /// worker riding out a broker restart), and with the broker gone for good
    /// it would wait forever: a process stopping after its broker died hung
    /// in its cleanup. Returns whether `work` finished in time; if not, it
    /// goes on in the background until the reconnect or `close()`.
    @discardableResult
    public func bestEffort(within seconds: Double, _ work: @escaping @Sendable (AMQPConnection) async -> Void) async -> Bool {
        let outcome = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        // A deadline the clock can hold (`.seconds(.infinity)` traps): a day.
        let seconds = seconds.isFinite ? min(max(0, seconds), 86_400) : 86_400
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            outcome.withLock { $0 = continuation }
            // Taken out under the lock, resumed outside it: once, by whichever comes first.
            let resume: @Sendable (Bool) -> Void = { finished in
                let pending = outcome.withLock { pending in
                    defer { pending = nil }
                    return pending
                }
                pending?.resume(returning: finished)
            }
            let deadline = Task {
                try? await Task.sleep(for: .seconds(seconds))
                resume(false)
            }
            Task {
                await work(self)
                resume(true)
                deadline.cancel()
            }
        }
    }
}
