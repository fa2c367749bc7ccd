import AMQP
import Synchronization

/// Hands a consumer's deliveries out in batches: everything that arrived
/// while the previous batch was being handled (at most the queue's
/// prefetch), or the next one to arrive. The coordinator applies a batch of
/// results in one store transaction; under load the batch grows by itself,
/// idle it is one delivery with no added wait. One reader at a time.
final class DeliveryBatches: Sendable {
    private struct State {
        var buffer: [AMQPDelivery] = []
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
    }
    private let state = Mutex(State())

    /// Reads the consumer until it ends (or throws); then `next` returns nil
    /// once the buffer is empty.
    func pump(_ consumer: AMQPConsumer) async throws {
        defer { wake { $0.finished = true } }
        for try await delivery in consumer {
            wake { $0.buffer.append(delivery) }
        }
    }

    func next(max: Int) async -> [AMQPDelivery]? {
        while true {
            let (batch, finished) = state.withLock { s -> ([AMQPDelivery], Bool) in
                let count = min(max, s.buffer.count)
                defer { s.buffer.removeFirst(count) }
                return (Array(s.buffer.prefix(count)), s.finished)
            }
            if !batch.isEmpty { return batch }
            if finished { return nil }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if !s.buffer.isEmpty || s.finished { return true }
                    s.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    private func wake(_ change: (inout State) -> Void) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            change(&s)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}
