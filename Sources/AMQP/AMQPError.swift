/// Every failure the AMQP layer reports. Each case names what went wrong in
/// words an operator can act on, and keeps the broker's or library's own text.
public enum AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection URL could not be understood; the string says which part.
    case invalidURL(String)
    /// A TLS file (CA, certificate, key) could not be loaded.
    case tlsConfiguration(String)
    /// The TCP (or TLS) connection to the broker could not be opened.
    case connectionFailed(host: String, port: Int, reason: String)
    /// The broker refused the credentials (AMQP 403 ACCESS_REFUSED).
    case authenticationFailed(user: String, reason: String)
    /// The broker refused the login for another reason (e.g. 530 NOT_ALLOWED for an unknown vhost).
    case loginRefused(code: Int, text: String)
    /// The connection dropped (socket error, broker restart) while the operation was pending.
    case connectionLost(String)
    /// No frame arrived from the broker within two heartbeat intervals.
    case heartbeatTimeout
    /// The broker closed a channel with an exception (e.g. 404 NOT_FOUND, 406 PRECONDITION_FAILED).
    case channelClosed(code: Int, text: String)
    /// The broker closed the whole connection with an exception.
    case connectionClosedByBroker(code: Int, text: String)
    /// The broker nacked a published message: it did not take responsibility for it.
    case publishNacked
    /// A `mandatory` message could not be routed to any queue and was returned.
    case unroutable(exchange: String, routingKey: String, code: Int, text: String)
    /// The broker cancelled a consumer (its queue was deleted, or it failed over).
    case consumerCancelledByBroker(queue: String)
    /// The connection was closed by this program; no further operations are possible.
    case closed
    /// An operation did not complete in time.
    case timeout(String)
    /// librabbitmq reported an error that fits no case above.
    case library(String)

    public var description: String {
        switch self {
        case .invalidURL(let why): return "invalid AMQP URL: \(why)"
        case .tlsConfiguration(let why): return "TLS configuration error: \(why)"
        case let .connectionFailed(host, port, reason): return "cannot connect to \(host):\(port): \(reason)"
        case let .authenticationFailed(user, reason): return "authentication failed for user '\(user)': \(reason)"
        case let .loginRefused(code, text): return "login refused by broker (\(code)): \(text)"
        case .connectionLost(let why): return "connection lost: \(why)"
        case .heartbeatTimeout: return "connection lost: no heartbeat from the broker within two intervals"
        case let .channelClosed(code, text): return "channel closed by broker (\(code)): \(text)"
        case let .connectionClosedByBroker(code, text): return "connection closed by broker (\(code)): \(text)"
        case .publishNacked: return "the broker nacked the published message"
        case let .unroutable(exchange, key, code, text):
            return "message to exchange '\(exchange)' with routing key '\(key)' was unroutable (\(code) \(text))"
        case .consumerCancelledByBroker(let queue): return "the broker cancelled the consumer on queue '\(queue)'"
        case .closed: return "the connection is closed"
        case .timeout(let what): return "timed out: \(what)"
        case .library(let what): return "librabbitmq error: \(what)"
        }
    }

    /// True for failures that a reconnect may cure (as opposed to wrong configuration).
    public var isTransient: Bool {
        switch self {
        case .connectionFailed, .connectionLost, .heartbeatTimeout, .connectionClosedByBroker, .timeout: return true
        default: return false
        }
    }
}
