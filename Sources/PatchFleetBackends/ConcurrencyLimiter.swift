import Synchronization

/// At most `limit` calls in flight; the rest wait in FIFO order.
actor ConcurrencyLimiter {
    private let limit: Int
    private var inFlight = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if inFlight < limit {
            inFlight += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            inFlight -= 1
        } else {
            waiters.removeFirst().resume()  // hand the slot over directly
        }
    }

    func withSlot<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await acquire()
        let value = await body()
        release()
        return value
    }

    /// One limiter per target (user@host:port), shared by every backend and
    /// runner in the process that talks to it.
    static func shared(for key: String, limit: Int) -> ConcurrencyLimiter {
        registry.withLock { table in
            if let existing = table[key] { return existing }
            let created = ConcurrencyLimiter(limit: limit)
            table[key] = created
            return created
        }
    }

    private static let registry = Mutex<[String: ConcurrencyLimiter]>([:])
}
