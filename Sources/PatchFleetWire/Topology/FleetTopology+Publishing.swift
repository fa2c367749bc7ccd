import AMQP
import PatchFleetCore

extension FleetTopology {
    /// A job submission to the coordinator.
    public func submission(_ message: AMQPMessage) -> AMQPConnection.Publication {
        AMQPConnection.Publication(message, exchange: controlExchange, routingKey: "job.submit", mandatory: true)
    }

    /// A question to the coordinator (`JobQuery`, with `reply_to`). Mandatory:
    /// with no coordinator topology, the asker hears so at once.
    public func query(_ message: AMQPMessage) -> AMQPConnection.Publication {
        AMQPConnection.Publication(message, exchange: queryExchange, routingKey: Self.queryRoutingKey, mandatory: true)
    }

    /// The answer to a message that named `reply_to` (a question's `JobStatusReply`,
    /// a refused submission's `job.rejected`): to that queue through the default
    /// exchange, `correlation_id` = the asking message's id. Not mandatory:
    /// an asker that has gone took its queue with it, and nobody is waiting.
    public func answer(_ message: AMQPMessage, replyTo: String, correlationId: String) -> AMQPConnection.Publication {
        var message = message
        message.properties.correlationId = correlationId
        return AMQPConnection.Publication(message, exchange: "", routingKey: replyTo)
    }

    public func control(_ control: JobControlRequest, _ message: AMQPMessage) -> AMQPConnection.Publication {
        AMQPConnection.Publication(message, exchange: controlExchange, routingKey: control.action.routingKey,
                                   mandatory: true)
    }

    /// A task to the role that runs it. A `wakeAt` is not a task (see
    /// `CommandRoute.timer`): use `timer(...)`.
    public func task(_ task: TaskMessage, _ message: AMQPMessage) throws(WireError) -> AMQPConnection.Publication {
        guard case .worker(let role) = task.command.body.kind.route else {
            throw .encodingFailed("a \(task.command.body.kind.rawValue) command is the coordinator's timer, not a task")
        }
        // Mandatory: a task no queue takes (topology missing) must fail loudly.
        return AMQPConnection.Publication(message, exchange: tasksExchange, routingKey: role.rawValue, mandatory: true)
    }

    public func result(_ message: AMQPMessage) -> AMQPConnection.Publication {
        AMQPConnection.Publication(message, exchange: resultsExchange, routingKey: Self.resultsRoutingKey, mandatory: true)
    }

    /// Not mandatory: an event nobody listens to is fine.
    public func event(_ event: FleetEvent, _ message: AMQPMessage) throws(WireError) -> AMQPConnection.Publication {
        let key = event.routingKey
        guard key.utf8.count <= RoutingKey.maxBytes else { throw .routingKeyTooLong(key) }
        return AMQPConnection.Publication(message, exchange: eventsExchange, routingKey: key)
    }

    /// The same publication, sent through the delay bucket for `delay`
    /// seconds (rounded up, see `DelayBuckets`). `notBefore` is recorded in
    /// the envelope so a receiver can re-delay a message that is early.
    /// Only tasks and results can be delayed; anything else, or no delay,
    /// comes back unchanged.
    public func delayed(_ publication: AMQPConnection.Publication, by delay: Double,
                        notBefore: Instant? = nil) -> AMQPConnection.Publication {
        guard let seconds = delayBuckets.bucket(for: delay),
              let target = DelayTarget.allCases.first(where: { exchange(for: $0) == publication.exchange })
        else { return publication }
        var message = publication.message
        var headers = message.properties.headers ?? AMQPFieldTable()
        headers[EnvelopeHeader.delayTarget] = .string(target.rawValue)
        headers[EnvelopeHeader.delayBucket] = .string(DelayTarget.bucketName(seconds))
        if let notBefore { headers[EnvelopeHeader.notBefore] = .double(notBefore.secondsSinceEpoch) }
        message.properties.headers = headers
        return AMQPConnection.Publication(message, exchange: delayExchange, routingKey: publication.routingKey,
                                          mandatory: true)
    }

    /// The coordinator's timer: `timerFired` answering `wake`, delivered to the
    /// results queue once `wake.at` has come (`now` is the coordinator's clock).
    public func timer(_ wake: TaskMessage, taskMessageId: String, resultMessageId: String,
                      traceparent: Traceparent?, now: Instant) throws(WireError) -> AMQPConnection.Publication {
        guard case .wakeAt(let request) = wake.command.body else {
            throw .encodingFailed("a \(wake.command.body.kind.rawValue) command is a task, not a timer")
        }
        let answer = ResultMessage(answering: wake.command, taskMessageId: taskMessageId, at: request.at, .timerFired)
        var envelope = answer.envelope(messageId: resultMessageId, traceparent: traceparent,
                                       timestamp: UInt64(max(0, now.secondsSinceEpoch)))
        envelope.notBefore = request.at
        let message = try WireEncoder.encode(answer, envelope: envelope)
        return delayed(result(message), by: request.at.seconds(since: now), notBefore: request.at)
    }
}
