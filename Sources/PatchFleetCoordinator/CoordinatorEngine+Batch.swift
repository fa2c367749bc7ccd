import PatchFleetCore
import PatchFleetStore
import PatchFleetWire

extension CoordinatorEngine {
    /// Applies several results in ONE store transaction: one commit (one
    /// fsync) for the batch instead of one per result, the coordinator's
    /// largest cost per saga step in `patchfleet-bench fleet`. Every result
    /// keeps its own inbox row, so dedupe is per message as before, and two
    /// results of one saga in a batch chain (the second applies to the state
    /// the first left). Whatever the batch cannot settle (a stale version, a
    /// failed commit) is applied again one by one, exactly as `apply` does.
    public func apply(batch: [(result: ResultMessage, messageId: String)]) async -> [ResultOutcome] {
        var outcomes = [ResultOutcome?](repeating: nil, count: batch.count)
        var latest: [String: StoredSaga] = [:]
        var transitions: [SagaTransition] = []
        var positions: [Int] = []
        var before: [HostSagaState] = []  // each transition's old state, for the metrics
        for (position, item) in batch.enumerated() {
            let sagaId = item.result.event.sagaId
            let stored: StoredSaga
            var fromCache = false
            if let known = latest[sagaId] {
                stored = known
            } else if let known = cachedSaga(sagaId, job: item.result.task.jobId) {
                // The tick's copy spares a read and a decode; if another
                // writer moved the saga on, the store refuses the stale
                // version and the result is applied again one by one below.
                stored = known
                fromCache = true
            } else {
                do {
                    guard let read = try await store.saga(id: sagaId) else { continue }  // refused by `apply` below
                    stored = read
                } catch { continue }
            }
            var event = item.result.event
            event.now = now()
            let (next, commands) = HostSaga.reduce(stored.state, event)
            if next == stored.state && commands.isEmpty {
                // Only the store's own copy may call a result stale (a
                // cached copy may predate the command this result answers):
                // otherwise it is applied one by one below, on a fresh read.
                if !fromCache { outcomes[position] = .stale }
                continue
            }
            guard let outbox = try? messages(for: commands, from: stored.state, to: next, causation: item.messageId) else { continue }
            transitions.append(SagaTransition(inboxMessageId: item.messageId, sagaId: sagaId, expectedVersion: stored.version,
                                              newState: next, outbox: outbox, at: event.now))
            positions.append(position)
            before.append(stored.state)
            latest[sagaId] = StoredSaga(state: next, version: stored.version + 1, updatedAt: event.now)
        }
        var finished = false
        if !transitions.isEmpty, let results = try? await store.apply(transitions) {
            for (index, (result, transition)) in zip(results, transitions).enumerated() {
                let position = positions[index]
                switch result {
                case .applied(let version):
                    outcomes[position] = .applied
                    metrics.transition(from: before[index], to: transition.newState, at: transition.at)
                    finished = finished || transition.newState.isDone
                    remember(StoredSaga(state: transition.newState, version: version, updatedAt: transition.at))
                case .duplicate:
                    outcomes[position] = .duplicate
                case .staleVersion:
                    break  // one by one below
                }
            }
        }
        for position in batch.indices where outcomes[position] == nil {
            outcomes[position] = await apply(batch[position].result, messageId: batch[position].messageId)
        }
        if finished { await tickSoon() }
        return outcomes.map { $0! }
    }
}
