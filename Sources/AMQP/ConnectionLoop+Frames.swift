import CRabbitMQ
import Foundation

/// Reading and dispatching what the broker sends (loop thread only).
extension ConnectionLoop {
    /// Reads every frame available now without blocking. Reading is also where
    /// librabbitmq sends due heartbeats and detects a silent peer.
    func pumpFrames() {
        var handled = 0
        // Bounded, so that queued commands (acks, publishes) are not starved.
        while let conn = connection, handled < 512 {
            var frame = amqp_frame_t()
            var noWait = timeval(tv_sec: 0, tv_usec: 0)
            let status = amqp_simple_wait_frame_noblock(conn, &frame, &noWait)
            if status == AMQP_STATUS_TIMEOUT.rawValue { break }
            guard status == AMQP_STATUS_OK.rawValue else {
                connectionLost(statusError(status))
                return
            }
            dispatch(frame)
            handled += 1
        }
        if let conn = connection { amqp_maybe_release_buffers(conn) }
    }

    private func dispatch(_ frame: amqp_frame_t) {
        guard frame.frame_type == AMQPFrameType.method else { return }
        let method = frame.payload.method
        let channel = frame.channel
        switch method.id {
        case AMQPMethod.basicDeliver:
            let d = method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            // Copy the method's fields now: reading the content reuses its memory.
            let tag = d.delivery_tag, redelivered = d.redelivered != 0
            let exchange = d.exchange.string, routingKey = d.routing_key.string, consumerTag = d.consumer_tag.string
            guard let (properties, body) = readContent(channel: channel) else { return }
            deliver(channel: channel, tag: tag, redelivered: redelivered, exchange: exchange, routingKey: routingKey,
                    consumerTag: consumerTag, properties: properties, body: body)
        case AMQPMethod.basicAck where channel == Self.publishChannel:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            for pending in confirms.settle(tag: ack.delivery_tag, multiple: ack.multiple != 0) {
                if let returned = pending.returned {
                    pending.publish.completion(.failure(returned))
                } else {
                    pending.publish.completion(.success(()))
                }
            }
        case AMQPMethod.basicNack where channel == Self.publishChannel:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            for pending in confirms.settle(tag: nack.delivery_tag, multiple: nack.multiple != 0) {
                pending.publish.completion(.failure(pending.returned ?? .publishNacked))
            }
        case AMQPMethod.basicReturn:
            let r = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let error = AMQPError.unroutable(exchange: r.exchange.string, routingKey: r.routing_key.string,
                                             code: Int(r.reply_code), text: r.reply_text.string)
            guard let (properties, _) = readContent(channel: channel) else { return }
            if let seq = properties.headers?[Self.publishSequenceHeader]?.intValue {
                confirms.update(UInt64(seq)) { $0.returned = error }
            }
        case AMQPMethod.basicCancel:
            // The broker cancelled a consumer: its queue was deleted or failed over.
            if let id = consumerIDByChannel[channel], let state = consumers[id] {
                dropConsumer(state, error: .consumerCancelledByBroker(queue: state.request.queue), closeChannel: true)
            }
        case AMQPMethod.channelClose:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            channelClosedByBroker(channel, error: .channelClosed(code: Int(close.reply_code), text: close.reply_text.string))
        case AMQPMethod.connectionClose:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let error = AMQPError.connectionClosedByBroker(code: Int(close.reply_code), text: close.reply_text.string)
            if let conn = connection {
                var ok = amqp_connection_close_ok_t(dummy: 0)
                _ = amqp_send_method(conn, 0, AMQPMethod.connectionCloseOk, &ok)
            }
            connectionLost(error)
        case AMQPMethod.connectionBlocked:
            let blocked = method.decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            logger.warning("broker blocked publishing on this connection: \(blocked.reason.string); publishes wait until it unblocks")
            isBlocked = true
            emit(.blocked(reason: blocked.reason.string))
        case AMQPMethod.connectionUnblocked:
            logger.notice("broker unblocked this connection")
            isBlocked = false
            emit(.unblocked)
            sendWaitingPublishes()
        default:
            logger.debug("ignoring AMQP method 0x\(String(method.id, radix: 16)) on channel \(channel)")
        }
    }

    /// Reads the content header and body frames that follow a deliver or return.
    private func readContent(channel: UInt16) -> (AMQPProperties, Data)? {
        guard let conn = connection else { return nil }
        var message = amqp_message_t()
        let reply = amqp_read_message(conn, channel, &message, 0)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            connectionLost(reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                ? statusError(reply.library_error) : .library("unexpected frame while reading message content"))
            return nil
        }
        defer { amqp_destroy_message(&message) }
        return (AMQPProperties(message.properties), message.body.data)
    }

    private func deliver(channel: UInt16, tag: UInt64, redelivered: Bool, exchange: String, routingKey: String,
                         consumerTag: String, properties: AMQPProperties, body: Data) {
        guard let id = consumerIDByChannel[channel], let state = consumers[id], state.brokerTag == consumerTag else {
            // Read after its consumer's channel was closed (queued by
            // librabbitmq during a cancel), or meant for the consumer that
            // had this channel number before: the broker requeued it when
            // that channel closed. Anything sent on a closed channel is a
            // connection error, so nothing is.
            logger.debug("delivery \(tag) on channel \(channel) for consumer '\(consumerTag)' left to the broker (its channel is gone)")
            return
        }
        guard !state.cancelled else {
            // Being cancelled, its channel still open: give the message back.
            if let conn = connection { _ = amqp_basic_reject(conn, channel, tag, 1) }
            return
        }
        var properties = properties
        // The sequence header is ours, added for mandatory publishes: hide it.
        if properties.headers?[Self.publishSequenceHeader] != nil {
            properties.headers?[Self.publishSequenceHeader] = nil
            if properties.headers?.isEmpty == true { properties.headers = nil }
        }
        state.unsettledTags.insert(tag)
        let delivery = AMQPDelivery(
            body: body, properties: properties, exchange: exchange, routingKey: routingKey,
            redelivered: redelivered, deliveryTag: tag, consumerTag: consumerTag,
            origin: DeliveryOrigin(channel: channel, generation: state.generation), loop: self)
        state.request.continuation.yield(delivery)
    }

    /// A channel exception arrived outside any call (e.g. a publish to a missing
    /// exchange, or an ack with an unknown tag). Acknowledge it and restore the channel.
    private func channelClosedByBroker(_ channel: UInt16, error: AMQPError) {
        guard let conn = connection else { return }
        logger.warning("broker closed AMQP channel \(channel): \(error)")
        var ok = amqp_channel_close_ok_t(dummy: 0)
        _ = amqp_send_method(conn, channel, AMQPMethod.channelCloseOk, &ok)
        do throws(AMQPError) {
            switch channel {
            case Self.publishChannel:
                // Messages after the faulty one were discarded by the broker.
                for pending in confirms.removeAll() { pending.publish.completion(.failure(pending.returned ?? error)) }
                try openChannel(Self.publishChannel)
                amqp_confirm_select(conn, Self.publishChannel)
                try checkReply("confirm.select", channel: Self.publishChannel)
            case Self.controlChannel:
                try reopenControlChannel()
            default:
                guard let id = consumerIDByChannel[channel], let state = consumers[id] else { return }
                do {
                    try startConsumer(state)  // unsettled deliveries were requeued by the broker
                } catch where error.isChannelLevel {
                    dropConsumer(state, error: error)
                }
            }
        } catch {
            connectionLost(error)
        }
    }
}
