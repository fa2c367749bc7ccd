import Synchronization

/// Which of a consumer's deliveries the application has actually read from
/// the sequence, shared by the consumer's iterator and the connection thread.
///
/// Deliveries are pushed into the sequence's buffer as they arrive. When the
/// consumer is cancelled, the ones still sitting unread in that buffer must
/// go back to the queue at once (another consumer can take them), and the
/// iterator must then skip them; likewise, after a reconnect the buffered
/// deliveries of the old channel are void (the broker redelivers them).
final class DeliveryLedger: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var read = Set<UInt64>()
        var revoked = Set<UInt64>()
    }

    private let state = Mutex(State())

    /// The iterator is about to hand `delivery` to the application: false if
    /// it must be skipped (revoked, or from a channel incarnation that is gone).
    func claim(_ delivery: AMQPDelivery) -> Bool {
        state.withLock { s in
            guard delivery.origin.generation == s.generation else { return false }
            if s.revoked.remove(delivery.deliveryTag) != nil { return false }
            s.read.insert(delivery.deliveryTag)
            return true
        }
    }

    /// A new channel incarnation: whatever was buffered before is void.
    func reset(generation: UInt64) {
        state.withLock { s in
            s.generation = generation
            s.read.removeAll()
            s.revoked.removeAll()
        }
    }

    /// The delivery was settled: forget it.
    func settled(_ tag: UInt64) {
        _ = state.withLock { $0.read.remove(tag) }
    }

    /// Of `unsettled`, the tags the application never read; they are marked
    /// so the iterator skips them. The caller gives them back to the broker.
    func revokeUnread(_ unsettled: Set<UInt64>) -> Set<UInt64> {
        state.withLock { s in
            let unread = unsettled.subtracting(s.read)
            s.revoked.formUnion(unread)
            return unread
        }
    }
}
