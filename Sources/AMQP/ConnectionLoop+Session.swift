import CAMQPShim
import CRabbitMQ
import Foundation

/// Opening, losing and re-establishing the broker connection (loop thread only).
extension ConnectionLoop {
    /// Opens the socket, logs in, opens the fixed channels, replays the recorded
    /// topology and restarts every consumer. Throws the first error.
    func establish() throws(AMQPError) {
        guard let conn = amqp_new_connection() else { throw .library("amqp_new_connection returned NULL") }
        connection = conn
        // Without these, a broker that accepts TCP but never answers (still
        // booting, or frozen) would hang the loop thread in the handshake.
        var handshakeTimeout = timeval(seconds: configuration.connectionTimeout)
        _ = amqp_set_handshake_timeout(conn, &handshakeTimeout)
        var rpcTimeout = timeval(seconds: configuration.rpcTimeout)
        _ = amqp_set_rpc_timeout(conn, &rpcTimeout)
        try openSocket(conn)
        try login(conn)

        try openChannel(Self.controlChannel)
        try openChannel(Self.publishChannel)
        amqp_confirm_select(conn, Self.publishChannel)
        try checkReply("confirm.select", channel: Self.publishChannel)

        for declaration in topology.declarations {
            do {
                try perform(declaration, record: false)
            } catch where error.isChannelLevel {
                // The broker now refuses a declaration it once took (someone
                // redeclared the queue differently): keep going, say so.
                logger.error("re-declaring \(declaration) after reconnect failed: \(error)")
                try reopenControlChannel()
            }
        }
        for state in consumers.values.sorted(by: { $0.request.id < $1.request.id }) where !state.cancelled {
            do {
                try startConsumer(state)
            } catch where error.isChannelLevel {
                dropConsumer(state, error: error)
            }
        }
    }

    private func openSocket(_ conn: amqp_connection_state_t) throws(AMQPError) {
        let c = configuration
        let socket: OpaquePointer
        if let tls = c.tls {
            guard let s = amqp_ssl_socket_new(conn) else { throw .tlsConfiguration("cannot create a TLS socket") }
            socket = s
            if let ca = tls.caCertificateFile {
                let rc = amqp_ssl_socket_set_cacert(s, ca)
                guard rc == AMQP_STATUS_OK.rawValue else {
                    throw .tlsConfiguration("cannot load CA certificate file '\(ca)': \(libraryErrorString(rc))")
                }
            }
            if let cert = tls.certificateFile, let key = tls.keyFile {
                let rc = amqp_ssl_socket_set_key(s, cert, key)
                guard rc == AMQP_STATUS_OK.rawValue else {
                    throw .tlsConfiguration("cannot load client certificate '\(cert)' / key '\(key)': \(libraryErrorString(rc))")
                }
            }
            amqp_ssl_socket_set_verify_peer(s, tls.verifyPeer ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(s, tls.verifyHostname ? 1 : 0)
        } else {
            guard let s = amqp_tcp_socket_new(conn) else { throw .library("amqp_tcp_socket_new returned NULL") }
            socket = s
        }
        var timeout = timeval(seconds: c.connectionTimeout)
        let rc = amqp_socket_open_noblock(socket, c.host, Int32(c.port), &timeout)
        guard rc == AMQP_STATUS_OK.rawValue else {
            throw .connectionFailed(host: c.host, port: c.port, reason: libraryErrorString(rc))
        }
    }

    private func login(_ conn: amqp_connection_state_t) throws(AMQPError) {
        let c = configuration
        let arena = CArena()
        var properties = AMQPFieldTable()
        properties["product"] = .string("swift AMQP (librabbitmq)")
        // Merged with librabbitmq's own. Without them RabbitMQ never says a
        // queue's consumer was cancelled (its queue deleted) or that the
        // connection is blocked by a resource alarm.
        properties["capabilities"] = .table([
            "consumer_cancel_notify": .bool(true), "connection.blocked": .bool(true),
            "publisher_confirms": .bool(true), "basic.nack": .bool(true),
        ])
        if let name = c.connectionName { properties["connection_name"] = .string(name) }
        var table = arena.table(properties)
        let reply = camqp_login_plain(conn, c.vhost, Int32(c.channelMax), Int32(c.frameMax), Int32(c.heartbeat),
                                      &table, c.user, c.password)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.connectionClose:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let text = close.reply_text.string
            if close.reply_code == 403 { throw .authenticationFailed(user: c.user, reason: text) }
            throw .loginRefused(code: Int(close.reply_code), text: text)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            // RabbitMQ answers bad credentials by closing the connection during
            // the handshake; librabbitmq then reports a socket or method error.
            let status = reply.library_error
            if status == AMQP_STATUS_CONNECTION_CLOSED.rawValue || status == AMQP_STATUS_SOCKET_ERROR.rawValue
                || status == AMQP_STATUS_WRONG_METHOD.rawValue || status == AMQP_STATUS_SOCKET_CLOSED.rawValue {
                throw .authenticationFailed(
                    user: c.user,
                    reason: "the broker closed the connection during login (\(libraryErrorString(status))); "
                        + "check the user name, password and the user's access to vhost '\(c.vhost)'")
            }
            throw .loginRefused(code: 0, text: libraryErrorString(status))
        default:
            throw .loginRefused(code: 0, text: "unexpected login reply")
        }
    }

    func openChannel(_ channel: UInt16) throws(AMQPError) {
        guard let conn = connection else { throw .connectionLost("not connected") }
        amqp_channel_open(conn, channel)
        try checkReply("channel.open", channel: channel)
    }

    func reopenControlChannel() throws(AMQPError) {
        try openChannel(Self.controlChannel)
    }

    /// Turns librabbitmq's reply to the last synchronous call into a typed
    /// error. A channel exception is acknowledged (close-ok) so the channel
    /// number can be reused; a connection exception is acknowledged likewise.
    func checkReply(_ operation: String, channel: UInt16) throws(AMQPError) {
        guard let conn = connection else { throw .connectionLost("not connected") }
        let reply = amqp_get_rpc_reply(conn)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.channelClose:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let error = AMQPError.channelClosed(code: Int(close.reply_code), text: close.reply_text.string)
            var ok = amqp_channel_close_ok_t(dummy: 0)
            _ = amqp_send_method(conn, channel, AMQPMethod.channelCloseOk, &ok)
            throw error
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQPMethod.connectionClose:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t(dummy: 0)
            _ = amqp_send_method(conn, 0, AMQPMethod.connectionCloseOk, &ok)
            throw .connectionClosedByBroker(code: Int(close.reply_code), text: close.reply_text.string)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw statusError(reply.library_error)
        default:
            throw .library("no reply to \(operation)")
        }
    }

    func statusError(_ status: Int32) -> AMQPError {
        if status == AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue { return .heartbeatTimeout }
        return .connectionLost(libraryErrorString(status))
    }

    func teardownConnection() {
        guard let conn = connection else { return }
        amqp_destroy_connection(conn)
        connection = nil
    }

    /// The connection is gone: settle what depended on it, then either schedule
    /// a reconnect or, with recovery off, close for good.
    func connectionLost(_ error: AMQPError) {
        guard connection != nil else { return }
        logger.warning("AMQP connection to \(configuration.redactedURL) lost: \(error)")
        teardownConnection()
        channelGeneration += 1
        var republish: [OutboundPublish] = []
        for pending in confirms.removeAll() {
            if pending.publish.onConnectionLoss == .republish, pending.returned == nil {
                republish.append(pending.publish)
            } else {
                pending.publish.completion(.failure(pending.returned ?? error))
            }
        }
        waitingPublishes = republish + waitingPublishes
        for state in consumers.values { state.unsettledTags.removeAll() }
        emit(.disconnected(error))
        guard recovery.enabled else {
            shutDown(error: error)
            return
        }
        isBlocked = false
        // Up for less than the longest delay: the broker took the connection
        // and dropped it again, so the backoff goes on from where it was.
        let now = monotonicNow()
        let flapping = establishedAt.map { now - $0 < recovery.maxDelay } ?? false
        reconnectAttempt = flapping ? attemptsBeforeEstablished + 1 : 1
        nextAttemptAt = now + recovery.delay(attempt: reconnectAttempt)
    }

    func attemptReconnect() {
        do {
            try establish()
        } catch {
            teardownConnection()
            logger.info("AMQP reconnect attempt \(reconnectAttempt) to \(configuration.redactedURL) failed: \(error)")
            reconnectAttempt += 1
            nextAttemptAt = monotonicNow() + recovery.delay(attempt: reconnectAttempt)
            return
        }
        logger.notice("AMQP connection to \(configuration.redactedURL) re-established after \(reconnectAttempt) attempt(s)")
        reconnects.add(1, ordering: .relaxed)
        emit(.reconnected(attempts: reconnectAttempt))
        establishedAt = monotonicNow()
        attemptsBeforeEstablished = reconnectAttempt
        reconnectAttempt = 0
        nextAttemptAt = nil
        let commands = deferredCommands
        deferredCommands.removeAll()
        for c in commands { handle(c) }
        sendWaitingPublishes()
    }

    /// Sends, in order, the publishes that waited for a connection or for
    /// the broker to unblock this one (`send` keeps any that must wait on).
    func sendWaitingPublishes() {
        let waiting = waitingPublishes
        waitingPublishes.removeAll()
        for publish in waiting { send(publish) }
    }

    /// Final close: cancels consumers, closes the connection politely if it is
    /// up, and fails whatever was still waiting.
    func shutDown(error: AMQPError?) {
        if let conn = connection {
            for state in consumers.values where !state.cancelled {
                let arena = CArena()
                amqp_basic_cancel(conn, state.channel, arena.bytes(state.brokerTag))
                _ = amqp_get_rpc_reply(conn)
            }
            _ = amqp_connection_close(conn, 200)
            teardownConnection()
        }
        let failure = error ?? .closed
        for state in consumers.values {
            if let error { state.request.continuation.finish(throwing: error) } else { state.request.continuation.finish() }
        }
        consumers.removeAll()
        consumerIDByChannel.removeAll()
        for pending in confirms.removeAll() { pending.publish.completion(.failure(failure)) }
        for p in waitingPublishes { p.completion(.failure(failure)) }
        waitingPublishes.removeAll()
        for c in deferredCommands { Self.fail(c, with: failure) }
        deferredCommands.removeAll()
        isClosed = true
        emit(.closed)
    }
}

extension AMQPError {
    /// A failure that closed one channel but left the connection up.
    var isChannelLevel: Bool {
        if case .channelClosed = self { return true }
        return false
    }
}

extension timeval {
    init(seconds: Double) {
        let whole = max(0, seconds.rounded(.down))
        self.init(tv_sec: Int(whole), tv_usec: Int((max(0, seconds) - whole) * 1_000_000))
    }
}
