import CRabbitMQ
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One broker connection and the thread that owns it.
///
/// librabbitmq is not thread-safe, so every call into it happens on this
/// object's dedicated thread. Other threads talk to it only through `enqueue`,
/// which appends a command to a locked inbox and, if the thread is asleep in
/// `poll`, wakes it through a pipe. The thread alternates between running
/// commands and reading frames; reading (even with a zero timeout) is also
/// where librabbitmq sends due heartbeats and notices a silent peer, and the
/// thread never sleeps longer than a quarter of the heartbeat interval.
final class ConnectionLoop: @unchecked Sendable {
    // MARK: State shared with other threads (always under a lock)

    private struct Inbox {
        var commands: [LoopCommand] = []
        var sleeping = false
        var finished = false
    }

    private let inbox = Mutex(Inbox())
    private let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    private let subscribers = Mutex<[Int: AsyncStream<AMQPConnectionEvent>.Continuation]>([:])
    private let subscriberIDs = Atomic<Int>(0)
    let reconnects = Atomic<Int>(0)

    // MARK: State owned by the loop thread (never touched elsewhere)

    let configuration: AMQPConfiguration
    let recovery: RecoveryPolicy
    let logger: Logger
    var connection: amqp_connection_state_t?
    var topology = RecordedTopology()
    var confirms = ConfirmTracker<PendingConfirm>()
    /// Publishes accepted while disconnected, sent after the reconnect.
    var waitingPublishes: [OutboundPublish] = []
    /// Broker calls accepted while disconnected, run after the reconnect.
    var deferredCommands: [LoopCommand] = []
    var consumers: [Int: ConsumerState] = [:]
    var consumerIDByChannel: [UInt16: Int] = [:]
    var nextConsumerChannel: UInt16 = ConnectionLoop.firstConsumerChannel
    var channelGeneration: UInt64 = 0
    var reconnectAttempt = 0
    /// When the connection was last (re-)established, and after how many
    /// attempts: a connection lost soon after goes on with the backoff
    /// instead of starting it over (a broker that closes every connection
    /// right after it opens would otherwise be retried every 0.2 s forever).
    var establishedAt: Double?
    var attemptsBeforeEstablished = 0
    /// The broker blocked this connection (a memory or disk alarm): it
    /// reads nothing from us until it unblocks, so publishes wait here
    /// instead of filling the socket and stalling this thread in a send.
    var isBlocked = false
    /// Monotonic time of the next reconnect attempt; set only while disconnected.
    var nextAttemptAt: Double?
    var isClosed = false

    /// Declarations and other synchronous calls.
    static let controlChannel: UInt16 = 1
    /// Publishes, in confirm mode.
    static let publishChannel: UInt16 = 2
    /// Each consumer gets its own channel from here on, so prefetch is per consumer.
    static let firstConsumerChannel: UInt16 = 3
    /// Header carrying the confirm sequence number of a mandatory publish, so a
    /// returned message can be matched to its publish (acks do not say which).
    static let publishSequenceHeader = "x-publish-seq"

    init(configuration: AMQPConfiguration, recovery: RecoveryPolicy, logger: Logger) {
        self.configuration = configuration
        self.recovery = recovery
        self.logger = logger
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "cannot create the AMQP wake-up pipe: errno \(errno)")
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        close(wakeReadFD)
        close(wakeWriteFD)
    }

    // MARK: Talking to the loop from any thread

    /// Starts the thread; `initialConnect` learns whether the first connect worked.
    func start(initialConnect: @escaping Completion<Void>) {
        let thread = Thread { [self] in self.run(initialConnect: initialConnect) }
        thread.name = "amqp \(configuration.host):\(configuration.port)"
        thread.stackSize = Self.stackSize(frameMax: configuration.frameMax)
        thread.start()
    }

    /// librabbitmq 0.11 decodes a message's header tables recursively, with
    /// no limit on nesting (0.14 added one), on this thread, before any
    /// of our code sees the message. A frame of `frameMax` bytes nests at
    /// most frameMax / 7 tables (a one-letter key, 'F', a 4-byte length),
    /// and a level takes about 140 bytes of C stack (a 1 MiB thread
    /// overflowed between 5,000 and 10,000 levels): 64 bytes of stack per
    /// frame byte (448 per level) on top of the thread's own 8 MiB means a
    /// forged header can cost memory, never crash the process. Stack pages
    /// are only committed as they are used.
    static func stackSize(frameMax: Int) -> Int { (8 << 20) + 64 * frameMax }

    func enqueue(_ command: LoopCommand) {
        enqueue(contentsOf: CollectionOfOne(command))
    }

    func enqueue<C: Collection>(contentsOf commands: C) where C.Element == LoopCommand {
        let wake: Bool? = inbox.withLock { state in
            if state.finished { return nil }
            state.commands.append(contentsOf: commands)
            defer { state.sleeping = false }
            return state.sleeping
        }
        switch wake {
        case nil: for c in commands { Self.fail(c, with: .closed) }
        case true?: var byte: UInt8 = 1; _ = write(wakeWriteFD, &byte, 1)
        case false?: break
        }
    }

    func subscribe() -> AsyncStream<AMQPConnectionEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: AMQPConnectionEvent.self)
        let id = subscriberIDs.add(1, ordering: .relaxed).newValue
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.removeValue(forKey: id) } }
        return stream
    }

    func emit(_ event: AMQPConnectionEvent) {
        let targets = subscribers.withLock { Array($0.values) }
        for t in targets {
            t.yield(event)
            if event == .closed { t.finish() }
        }
    }

    // MARK: The loop thread

    private func run(initialConnect: Completion<Void>) {
        do {
            try establish()
            establishedAt = monotonicNow()
            attemptsBeforeEstablished = 1
            initialConnect(.success(()))
            emit(.connected)
        } catch {
            teardownConnection()
            finish()
            initialConnect(.failure(error))
            return
        }
        while !isClosed {
            handle(batch: takeCommands())
            if isClosed { break }
            if connection != nil {
                pumpFrames()
            } else if let at = nextAttemptAt, monotonicNow() >= at {
                attemptReconnect()
            }
            if !isClosed { sleepUntilActivity() }
        }
        finish()
    }

    private func takeCommands() -> [LoopCommand] {
        inbox.withLock { state in
            defer { state.commands.removeAll(keepingCapacity: true) }
            return state.commands
        }
    }

    /// Waits in `poll` for broker data, a new command or the next timer, unless
    /// there is already work (buffered frames or queued commands).
    private func sleepUntilActivity() {
        if let conn = connection, amqp_frames_enqueued(conn) != 0 || amqp_data_in_buffer(conn) != 0 { return }
        let goToSleep = inbox.withLock { state -> Bool in
            guard state.commands.isEmpty else { return false }
            state.sleeping = true
            return true
        }
        guard goToSleep else { return }
        var fds = [pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
        var timeoutMS: Int32 = 1000
        if let conn = connection {
            fds.append(pollfd(fd: amqp_get_sockfd(conn), events: Int16(POLLIN), revents: 0))
            if configuration.heartbeat > 0 { timeoutMS = Int32(min(1000, configuration.heartbeat * 250)) }
            // TLS may hold decrypted bytes that poll cannot see: look again soon.
            if configuration.tls != nil { timeoutMS = min(timeoutMS, 20) }
        } else if let at = nextAttemptAt {
            timeoutMS = Int32(max(0, min(1000, (at - monotonicNow()) * 1000)))
        }
        _ = poll(&fds, nfds_t(fds.count), timeoutMS)
        inbox.withLock { $0.sleeping = false }
        var drain = [UInt8](repeating: 0, count: 64)
        while read(wakeReadFD, &drain, drain.count) > 0 {}
    }

    /// Marks the loop finished: later commands fail with `.closed` at once.
    private func finish() {
        let leftovers = inbox.withLock { state -> [LoopCommand] in
            state.finished = true
            defer { state.commands.removeAll() }
            return state.commands
        }
        for c in leftovers { Self.fail(c, with: .closed) }
    }

    static func fail(_ command: LoopCommand, with error: AMQPError) {
        switch command {
        case .declare(_, let done): done(.failure(error))
        case .deleteQueue(_, let done): done(.failure(error))
        case .deleteExchange(_, let done): done(.failure(error))
        case .purgeQueue(_, let done): done(.failure(error))
        case .publish(let p): p.completion(.failure(error))
        case .consume(let request, let done):
            request.continuation.finish(throwing: error)
            done(.failure(error))
        case .cancelConsumer(_, let done): done?(.success(()))
        case .settle(_, _, _, let done): done(.success(false))
        case .close(let done): done(.success(()))
        }
    }
}

/// Seconds on a monotonic clock (immune to wall-clock changes).
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A consumer as the loop thread tracks it.
final class ConsumerState {
    let request: ConsumerRequest
    let channel: UInt16
    /// Generation of the channel incarnation its deliveries came from.
    var generation: UInt64 = 0
    /// Delivery tags handed out and not yet settled on the current incarnation.
    var unsettledTags = Set<UInt64>()
    /// Cancelled by the application: no new deliveries; the channel closes
    /// once the last handed-out delivery is settled.
    var cancelled = false
    /// The tag the broker knows this incarnation by: the requested one and
    /// the channel generation, so a delivery read for an earlier
    /// incarnation on the same channel number is never taken for this one.
    var brokerTag = ""

    init(request: ConsumerRequest, channel: UInt16) {
        self.request = request
        self.channel = channel
    }
}
