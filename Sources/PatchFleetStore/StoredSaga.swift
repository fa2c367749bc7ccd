import PatchFleetCore

/// A saga as stored, with the store's optimistic-concurrency version.
///
/// `version` is the store's row version: it starts at 0 when the job is
/// created and goes up by one on every applied transition. It is NOT
/// `state.version` (the saga's command generation, which only moves when the
/// saga issues a command: a pause changes the state but not that number),
/// so two writers can never both apply a transition to the same row version.
public struct StoredSaga: Sendable, Hashable {
    public var state: HostSagaState
    public var version: Int
    public var updatedAt: Instant

    public init(state: HostSagaState, version: Int, updatedAt: Instant) {
        self.state = state
        self.version = version
        self.updatedAt = updatedAt
    }

    public var id: String { state.sagaId }
}
