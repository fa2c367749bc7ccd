import PatchFleetCore

/// One saga state change to apply atomically with its inbox row and outbox.
public struct SagaTransition: Sendable, Hashable {
    /// The id of the message that caused it, recorded in the inbox so a
    /// redelivery is recognised. Nil for coordinator-internal transitions
    /// (scheduler starts, timers), which have no message to dedupe.
    public var inboxMessageId: String?
    public var sagaId: String
    /// The store version (`StoredSaga.version`) the new state was computed from.
    public var expectedVersion: Int
    public var newState: HostSagaState
    public var outbox: [OutboxMessage]
    /// When it happened: the inbox row's received time and the saga's updatedAt.
    public var at: Instant

    public init(inboxMessageId: String?, sagaId: String, expectedVersion: Int, newState: HostSagaState,
                outbox: [OutboxMessage] = [], at: Instant) {
        self.inboxMessageId = inboxMessageId
        self.sagaId = sagaId
        self.expectedVersion = expectedVersion
        self.newState = newState
        self.outbox = outbox
        self.at = at
    }

    /// The transition from a stored saga to its next state.
    public init(from stored: StoredSaga, to newState: HostSagaState, inboxMessageId: String?,
                outbox: [OutboxMessage] = [], at: Instant) {
        self.init(inboxMessageId: inboxMessageId, sagaId: stored.id, expectedVersion: stored.version,
                  newState: newState, outbox: outbox, at: at)
    }
}

/// What `apply` did with one transition. Only `.applied` wrote anything.
public enum ApplyResult: Sendable, Hashable {
    /// Written; the saga's store version is now `newVersion`.
    case applied(newVersion: Int)
    /// The inbox already holds this message id: an earlier delivery was
    /// applied, so this one changes nothing (ack it and move on).
    case duplicate
    /// The saga moved on since the caller read it; nothing was written.
    /// Re-read the saga, re-run the reducer and apply again.
    case staleVersion(current: Int)
}
