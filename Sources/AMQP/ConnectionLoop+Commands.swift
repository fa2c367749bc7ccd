import CRabbitMQ
import Foundation

/// Running the commands that other threads enqueue (loop thread only).
extension ConnectionLoop {
    /// Runs a batch of commands in order. A run of acks for one consumer that
    /// covers every delivery it holds up to the highest tag becomes a single
    /// `basic.ack(multiple)`: one frame instead of many, same effect.
    func handle(batch commands: [LoopCommand]) {
        var i = 0
        while i < commands.count, !isClosed {
            if case let .settle(origin, _, .ack, _) = commands[i] {
                var end = i + 1
                while end < commands.count, case let .settle(o, _, .ack, _) = commands[end], o == origin { end += 1 }
                if end - i > 1, ackAsOne(commands[i..<end], origin: origin) {
                    i = end
                    continue
                }
            }
            handle(commands[i])
            i += 1
        }
    }

    private func ackAsOne(_ run: ArraySlice<LoopCommand>, origin: DeliveryOrigin) -> Bool {
        guard let conn = connection, let id = consumerIDByChannel[origin.channel], let state = consumers[id],
              state.generation == origin.generation else { return false }
        var tags = Set<UInt64>()
        for case let .settle(_, tag, _, _) in run { tags.insert(tag) }
        guard let highest = tags.max(), tags.isSubset(of: state.unsettledTags),
              state.unsettledTags.lazy.filter({ $0 <= highest }).count == tags.count else { return false }
        let status = amqp_basic_ack(conn, origin.channel, highest, 1)
        guard status == AMQP_STATUS_OK.rawValue else {
            connectionLost(statusError(status))
            for case let .settle(_, _, _, done) in run { done(.success(false)) }
            return true
        }
        state.unsettledTags.subtract(tags)
        for tag in tags { state.request.ledger.settled(tag) }
        for case let .settle(_, _, _, done) in run { done(.success(true)) }
        closeConsumerChannelIfIdle(state)
        return true
    }

    func handle(_ command: LoopCommand) {
        if case .close(let done) = command {
            shutDown(error: nil)
            done(.success(()))
            return
        }
        guard connection != nil else {
            // Disconnected: keep broker calls and publishes for after the
            // reconnect; settlements are void (the broker redelivers).
            switch command {
            case .publish(let p): waitingPublishes.append(p)
            case .settle(_, _, _, let done): done(.success(false))
            case .cancelConsumer(let id, let done):
                if let state = consumers.removeValue(forKey: id) {
                    consumerIDByChannel[state.channel] = nil
                    state.request.continuation.finish()
                }
                done?(.success(()))
            default: deferredCommands.append(command)
            }
            return
        }
        switch command {
        case let .declare(declaration, done):
            runBrokerCall(done) { () throws(AMQPError) in try perform(declaration) }
        case let .deleteQueue(name, done):
            runBrokerCall(done) { () throws(AMQPError) in
                let count = try deleteQueue(name)
                topology.record(.queueDeleted(name))
                return count
            }
        case let .deleteExchange(name, done):
            runBrokerCall(done) { () throws(AMQPError) in
                let arena = CArena()
                amqp_exchange_delete(connection, Self.controlChannel, arena.bytes(name), 0)
                try checkReply("exchange.delete", channel: Self.controlChannel)
                topology.record(.exchangeDeleted(name))
            }
        case let .purgeQueue(name, done):
            runBrokerCall(done) { () throws(AMQPError) in
                let arena = CArena()
                let ok = amqp_queue_purge(connection, Self.controlChannel, arena.bytes(name))
                try checkReply("queue.purge", channel: Self.controlChannel)
                return Int(ok?.pointee.message_count ?? 0)
            }
        case .publish(let p):
            send(p)
        case let .consume(request, done):
            let state = ConsumerState(request: request, channel: allocateConsumerChannel())
            do {
                try startConsumer(state)
                consumers[request.id] = state
                consumerIDByChannel[state.channel] = request.id
                done(.success(()))
            } catch {
                request.continuation.finish(throwing: error)
                done(.failure(error))
                afterBrokerCallFailure(error, channel: state.channel)
            }
        case let .cancelConsumer(id, done):
            cancelConsumer(id)
            done?(.success(()))
        case let .settle(origin, tag, settlement, done):
            done(.success(settle(origin, tag: tag, settlement)))
        case .close:
            break  // handled above
        }
    }

    /// Runs a synchronous broker call, reports its result, and repairs the
    /// control channel or the connection if the call broke either.
    private func runBrokerCall<T>(_ done: Completion<T>, _ body: () throws(AMQPError) -> T) {
        do {
            done(.success(try body()))
        } catch {
            done(.failure(error))
            afterBrokerCallFailure(error)
        }
    }

    /// After a failed call on `channel`: a channel exception closed that
    /// channel (reopen it if it is the control channel); a connection-level
    /// failure means the connection is gone.
    private func afterBrokerCallFailure(_ error: AMQPError, channel: UInt16 = ConnectionLoop.controlChannel) {
        if error.isChannelLevel {
            guard channel == Self.controlChannel else { return }
            do throws(AMQPError) { try reopenControlChannel() } catch { connectionLost(error) }
        } else if error.isTransient {
            connectionLost(error)
        }
    }

    /// Declares (or undoes) one piece of topology on the control channel and
    /// records it for replay. Returns the queue's counts for a queue.
    @discardableResult
    func perform(_ declaration: TopologyDeclaration, record: Bool = true) throws(AMQPError) -> QueueDeclareResult? {
        let arena = CArena()
        let ch = Self.controlChannel
        var result: QueueDeclareResult?
        switch declaration {
        case .exchange(let e):
            amqp_exchange_declare(connection, ch, arena.bytes(e.name), arena.bytes(e.kind.rawValue), 0,
                                  e.durable ? 1 : 0, e.autoDelete ? 1 : 0, e.internal ? 1 : 0, arena.table(e.arguments))
            try checkReply("exchange.declare \(e.name)", channel: ch)
        case .queue(let q):
            let ok = amqp_queue_declare(connection, ch, arena.bytes(q.name), 0, q.durable ? 1 : 0, q.exclusive ? 1 : 0,
                                        q.autoDelete ? 1 : 0, arena.table(q.arguments))
            try checkReply("queue.declare \(q.name)", channel: ch)
            if let ok = ok?.pointee {
                result = QueueDeclareResult(name: ok.queue.string, messageCount: Int(ok.message_count),
                                            consumerCount: Int(ok.consumer_count))
            }
        case .binding(let b):
            amqp_queue_bind(connection, ch, arena.bytes(b.queue), arena.bytes(b.exchange), arena.bytes(b.routingKey),
                            arena.table(b.arguments))
            try checkReply("queue.bind \(b.queue) to \(b.exchange)", channel: ch)
        case .unbinding(let b):
            amqp_queue_unbind(connection, ch, arena.bytes(b.queue), arena.bytes(b.exchange), arena.bytes(b.routingKey),
                              arena.table(b.arguments))
            try checkReply("queue.unbind \(b.queue) from \(b.exchange)", channel: ch)
        case .queueDeleted(let name):
            _ = try deleteQueue(name)
        case .exchangeDeleted(let name):
            amqp_exchange_delete(connection, ch, arena.bytes(name), 0)
            try checkReply("exchange.delete", channel: ch)
        }
        if record { topology.record(declaration) }
        return result
    }

    private func deleteQueue(_ name: String) throws(AMQPError) -> Int {
        let arena = CArena()
        let ok = amqp_queue_delete(connection, Self.controlChannel, arena.bytes(name), 0, 0)
        try checkReply("queue.delete \(name)", channel: Self.controlChannel)
        return Int(ok?.pointee.message_count ?? 0)
    }

    // MARK: Publishing

    func send(_ publish: OutboundPublish) {
        guard let conn = connection, !isBlocked else {
            waitingPublishes.append(publish)
            return
        }
        var properties = publish.message.properties
        if publish.mandatory {
            var headers = properties.headers ?? [:]
            headers[Self.publishSequenceHeader] = .int64(Int64(confirms.nextSequence))
            properties.headers = headers
        }
        let arena = CArena()
        var cProperties = arena.properties(properties)
        let frameMax = Int(amqp_get_frame_max(conn))
        // The exact check encodes the table into a frame-sized buffer: only
        // for headers that come anywhere near it (the size walk is cheap).
        if (properties.headers?.approximateEncodedSize ?? 0) > (frameMax - 4_096) / 2,
           let problem = Self.headersProblem(&cProperties, frameMax: frameMax) {
            // Refused before anything is on the wire: librabbitmq would send
            // the method frame, then fail on the header frame, and only a new
            // connection could recover from the half-sent message.
            publish.completion(.failure(.library("cannot publish to '\(publish.exchange)' with key '\(publish.routingKey)': \(problem)")))
            return
        }
        let exchange = arena.bytes(publish.exchange)
        let routingKey = arena.bytes(publish.routingKey)
        let status = publish.message.body.withUnsafeBytes { raw -> Int32 in
            let body = amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return amqp_basic_publish(conn, Self.publishChannel, exchange, routingKey, publish.mandatory ? 1 : 0, 0,
                                      &cProperties, body)
        }
        if status == AMQP_STATUS_OK.rawValue {
            _ = confirms.add(PendingConfirm(publish: publish, returned: nil))
        } else if status == AMQP_STATUS_TABLE_TOO_BIG.rawValue || status == AMQP_STATUS_INVALID_PARAMETER.rawValue {
            // This message cannot be encoded. Part of it may already be on the
            // wire, so the connection is restarted, but the message is not retried.
            publish.completion(.failure(.library("cannot publish: \(libraryErrorString(status))")))
            connectionLost(.connectionLost("publish could not be encoded: \(libraryErrorString(status))"))
        } else {
            _ = confirms.add(PendingConfirm(publish: publish, returned: nil))
            connectionLost(statusError(status))
        }
    }

    /// Why the message's headers cannot go out in one frame (nil: they can).
    /// The other properties are short strings (255 bytes at most each), so
    /// the headers must leave room for them in the content header frame.
    static func headersProblem(_ properties: inout amqp_basic_properties_t, frameMax: Int) -> String? {
        guard properties._flags & (1 << 13) != 0 else { return nil }
        let budget = max(0, frameMax - 4_096)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(budget, 1), alignment: 8)
        defer { buffer.deallocate() }
        var offset = 0
        let status = amqp_encode_table(amqp_bytes_t(len: budget, bytes: buffer), &properties.headers, &offset)
        guard status != AMQP_STATUS_OK.rawValue else { return nil }
        return status == AMQP_STATUS_TABLE_TOO_BIG.rawValue
            ? "its headers take more than the \(budget) bytes a \(frameMax)-byte frame leaves them"
            : "its headers cannot be encoded (\(libraryErrorString(status)))"
    }

    // MARK: Consuming

    private func allocateConsumerChannel() -> UInt16 {
        // Reuse the lowest channel number no consumer holds.
        var channel = Self.firstConsumerChannel
        while consumerIDByChannel[channel] != nil { channel += 1 }
        nextConsumerChannel = max(nextConsumerChannel, channel + 1)
        return channel
    }

    /// Opens the consumer's channel, sets its prefetch and starts consuming.
    func startConsumer(_ state: ConsumerState) throws(AMQPError) {
        channelGeneration += 1
        state.generation = channelGeneration
        state.unsettledTags.removeAll()
        state.request.ledger.reset(generation: channelGeneration)
        try openChannel(state.channel)
        let arena = CArena()
        let r = state.request
        amqp_basic_qos(connection, state.channel, 0, r.prefetch, 0)
        try checkReply("basic.qos", channel: state.channel)
        state.brokerTag = "\(r.tag).\(channelGeneration)"
        amqp_basic_consume(connection, state.channel, arena.bytes(r.queue), arena.bytes(state.brokerTag), 0, 0,
                           r.exclusive ? 1 : 0, arena.table(r.arguments))
        try checkReply("basic.consume on \(r.queue)", channel: state.channel)
    }

    /// Ends a consumer the broker will no longer serve (its queue is gone).
    /// `closeChannel`: the channel is still open (the broker cancelled the
    /// consumer, not the channel) and is closed before its number is given
    /// to another consumer, which would otherwise open it a second time.
    func dropConsumer(_ state: ConsumerState, error: AMQPError, closeChannel: Bool = false) {
        logger.error("AMQP consumer on queue '\(state.request.queue)' stopped: \(error)")
        consumers[state.request.id] = nil
        consumerIDByChannel[state.channel] = nil
        state.request.continuation.finish(throwing: error)
        if closeChannel, let conn = connection {
            let reply = amqp_channel_close(conn, state.channel, 200)
            if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION { connectionLost(statusError(reply.library_error)) }
        }
    }

    private func cancelConsumer(_ id: Int) {
        guard let state = consumers[id], !state.cancelled else { return }
        state.cancelled = true
        let arena = CArena()
        amqp_basic_cancel(connection, state.channel, arena.bytes(state.brokerTag))
        do {
            try checkReply("basic.cancel", channel: state.channel)
        } catch {
            if error.isTransient { connectionLost(error); return }
        }
        state.request.continuation.finish()
        // Deliveries still unread in the sequence's buffer go back to the
        // queue now, instead of waiting for this connection to close.
        for tag in state.request.ledger.revokeUnread(state.unsettledTags).sorted() {
            let status = amqp_basic_reject(connection, state.channel, tag, 1)
            guard status == AMQP_STATUS_OK.rawValue else { connectionLost(statusError(status)); return }
            state.unsettledTags.remove(tag)
        }
        closeConsumerChannelIfIdle(state)
    }

    private func closeConsumerChannelIfIdle(_ state: ConsumerState) {
        guard state.cancelled, state.unsettledTags.isEmpty, let conn = connection else { return }
        consumers[state.request.id] = nil
        consumerIDByChannel[state.channel] = nil
        let reply = amqp_channel_close(conn, state.channel, 200)
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION { connectionLost(statusError(reply.library_error)) }
    }

    /// Acks, nacks or rejects one delivery. Returns false when the delivery's
    /// channel incarnation is gone: the broker has requeued it already.
    private func settle(_ origin: DeliveryOrigin, tag: UInt64, _ settlement: Settlement) -> Bool {
        guard let conn = connection, let id = consumerIDByChannel[origin.channel], let state = consumers[id],
              state.generation == origin.generation,
              // A second settle of one delivery would be an unknown tag to the
              // broker, which then closes the channel: refuse it here.
              state.unsettledTags.contains(tag) else { return false }
        let status: Int32
        switch settlement {
        case .ack: status = amqp_basic_ack(conn, origin.channel, tag, 0)
        case .nack(let requeue): status = amqp_basic_nack(conn, origin.channel, tag, 0, requeue ? 1 : 0)
        case .reject(let requeue): status = amqp_basic_reject(conn, origin.channel, tag, requeue ? 1 : 0)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            connectionLost(statusError(status))
            return false
        }
        state.unsettledTags.remove(tag)
        state.request.ledger.settled(tag)
        closeConsumerChannelIfIdle(state)
        return true
    }
}
