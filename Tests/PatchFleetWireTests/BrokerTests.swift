import AMQP
import Foundation
import PatchFleetCore
import PatchFleetWire
import Testing

@Suite("Fleet topology on the real broker", .timeLimit(.minutes(2)))
struct BrokerTests {
    let decoder = WireDecoder()

    @Test func declaringTwiceIsIdempotentAndEveryRoleGetsItsTasks() async throws {
        try await TestBroker.withFleet { fleet, connection in
            // Every process declares at start: a second declaration must agree.
            try await connection.declare(fleet.topology)
            for role in Role.allCases {
                let body = try #require(Fixtures.commandBodies.first { $0.kind.route == .worker(role) })
                let task = TaskMessage(Fixtures.command(body))
                let envelope = task.envelope(messageId: "task-\(role)")
                let message = try WireEncoder.encode(task, envelope: envelope)
                let publication = try fleet.task(task, message)
                try await connection.publish(publication.message, exchange: publication.exchange,
                                             routingKey: publication.routingKey, mandatory: true)
                let delivery = try await receiveOne(connection, from: fleet.taskQueue(role))
                #expect(try decoder.decode(delivery) == .task(task, envelope))
                delivery.ack()
            }
            for role in Role.allCases {
                #expect(try await connection.declare(fleet.queues.first { $0.name == fleet.taskQueue(role) }!).messageCount == 0)
            }
        }
    }

    @Test func submissionsAndControlsReachTheCoordinator() async throws {
        try await TestBroker.withFleet { fleet, connection in
            let submission = JobSubmission(job: Fixtures.job)
            let submit = fleet.submission(try WireEncoder.encode(submission, envelope: submission.envelope(messageId: "s-1")))
            try await connection.publish(submit.message, exchange: submit.exchange, routingKey: submit.routingKey, mandatory: true)
            let control = JobControlRequest(jobId: "job-1", action: .cancel)
            let cancel = fleet.control(control, try WireEncoder.encode(control, envelope: control.envelope(messageId: "c-1")))
            try await connection.publish(cancel.message, exchange: cancel.exchange, routingKey: cancel.routingKey, mandatory: true)
            let first = try await receiveOne(connection, from: fleet.jobsQueue)
            guard case .jobSubmission(let received, _) = try decoder.decode(first) else {
                Issue.record("expected the submission first")
                return
            }
            #expect(received == submission)
            first.ack()
            let second = try await receiveOne(connection, from: fleet.jobsQueue)
            #expect(second.routingKey == "job.cancel")
            second.ack()
        }
    }

    @Test func rejectedTaskIsDeadLetteredWithItsReason() async throws {
        try await TestBroker.withFleet { fleet, connection in
            let task = Fixtures.taskMessage(.enterMaintenance(MaintenanceRequest(host: "hv01")))
            let message = try WireEncoder.encode(task, envelope: task.envelope(messageId: "poison-1"))
            let publication = try fleet.task(task, message)
            try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
            let delivery = try await receiveOne(connection, from: fleet.taskQueue(.drain))
            delivery.nack(requeue: false)

            let dead = try await receiveOne(connection, from: fleet.deadQueue)
            #expect(dead.properties.messageId == "poison-1")
            guard case .array(let deaths)? = dead.properties.headers?["x-death"], case .table(let death)? = deaths.first else {
                Issue.record("no x-death on the dead letter: \(String(describing: dead.properties.headers))")
                return
            }
            #expect(death["reason"]?.stringValue == "rejected")
            #expect(death["queue"]?.stringValue == fleet.taskQueue(.drain))
            #expect(death["exchange"]?.stringValue == fleet.tasksExchange)
            // Still a well-formed task: it can be inspected or replayed.
            #expect(try decoder.decode(dead).envelope.messageId == "poison-1")
            dead.ack()
        }
    }

    @Test func undecodableMessageIsDeadLetteredWithTheDecodersReason() async throws {
        try await TestBroker.withFleet { fleet, connection in
            try await connection.publish(AMQPMessage("not json", properties: AMQPProperties(messageId: "junk-1")),
                                         exchange: fleet.controlExchange, routingKey: "job.submit", mandatory: true)
            let delivery = try await receiveOne(connection, from: fleet.jobsQueue)
            do throws(WireError) {
                _ = try decoder.decode(delivery)
                Issue.record("decoded junk")
            } catch {
                let dead = fleet.deadLetter(delivery, queue: fleet.jobsQueue, reason: error.description)
                try await connection.publish(dead.message, exchange: dead.exchange, routingKey: dead.routingKey,
                                             mandatory: dead.mandatory)
                delivery.ack()
            }
            let dead = try await receiveOne(connection, from: fleet.deadQueue)
            #expect(dead.properties.messageId == "junk-1")
            #expect(dead.routingKey == "job.submit")
            #expect(dead.properties.headers?["x-pf-dead-reason"]?.stringValue?.hasPrefix("message body is not a JSON object") == true)
            #expect(dead.properties.headers?["x-pf-dead-queue"]?.stringValue == fleet.jobsQueue)
            dead.ack()
        }
    }

    /// A refused message whose headers nearly fill a frame: its reasoned copy
    /// would not fit with ours added, so the copy drops them (saying how many
    /// and how large), keeps the body, and cuts an overlong reason. It used to
    /// fail to publish, restart the connection and come back again and again.
    @Test func aRefusedMessageWithHugeHeadersIsDeadLetteredWithItsBodyAndTheReason() async throws {
        try await TestBroker.withFleet { fleet, connection in
            var message = AMQPMessage("not json either", properties: AMQPProperties(messageId: "huge-1"))
            message.properties.headers = ["x-filler": .string(String(repeating: "f", count: 100_000))]
            try await connection.publish(message, exchange: fleet.controlExchange, routingKey: "job.submit", mandatory: true)
            let delivery = try await receiveOne(connection, from: fleet.jobsQueue)
            let reason = "refused: " + String(repeating: "r", count: 10_000)
            #expect(await connection.deadLetter(delivery, from: fleet.jobsQueue, reason: reason, topology: fleet))
            let dead = try await receiveOne(connection, from: fleet.deadQueue)
            #expect(dead.properties.messageId == "huge-1")
            #expect(String(decoding: dead.body, as: UTF8.self) == "not json either")
            let headers = try #require(dead.properties.headers)
            #expect(headers["x-filler"] == nil)
            #expect(headers[DeadLetterHeader.headersDropped]?.stringValue?.contains("1 header(s)") == true, "\(headers)")
            let carried = try #require(headers[DeadLetterHeader.reason]?.stringValue)
            #expect(carried.hasPrefix("refused: rrr") && carried.hasSuffix("(8009 more characters)"), "\(carried.suffix(40))")
            #expect(connection.reconnectCount == 0)
            dead.ack()
        }
    }

    @Test func delayedTaskAndTimerComeBackAfterTheirBucket() async throws {
        try await TestBroker.withFleet { fleet, connection in
            let task = Fixtures.taskMessage(.pollCompliance(ComplianceRequest(host: "hv01", updateIds: ["KB1"])))
            let message = try WireEncoder.encode(task, envelope: task.envelope(messageId: "later-1"))
            let delayed = fleet.delayed(try fleet.task(task, message), by: 3)
            let now = Instant(secondsSinceEpoch: Date().timeIntervalSince1970)
            let wake = TaskMessage(Fixtures.command(.wakeAt(WakeRequest(at: now.adding(seconds: 2), purpose: "poll"))))
            let timer = try fleet.timer(wake, taskMessageId: "wake-1", resultMessageId: "timer-1", traceparent: .random(), now: now)

            let sent = Date()
            try await connection.publish(delayed.message, exchange: delayed.exchange, routingKey: delayed.routingKey, mandatory: true)
            try await connection.publish(timer.message, exchange: timer.exchange, routingKey: timer.routingKey, mandatory: true)

            async let taskBack = receiveOne(connection, from: fleet.taskQueue(.deploy), within: 30)
            async let timerBack = receiveOne(connection, from: fleet.resultsQueue, within: 30)
            let (backTask, backTimer) = try await (taskBack, timerBack)
            let elapsed = Date().timeIntervalSince(sent)
            // 5 s bucket: never early (allow for clock granularity), no tight upper bound.
            #expect(elapsed >= 4, "came back after \(elapsed) s")
            #expect(backTask.routingKey == "deploy")
            #expect(try decoder.decode(backTask).envelope.messageId == "later-1")
            guard case .result(let result, _) = try decoder.decode(backTimer) else {
                Issue.record("the timer came back as something else")
                return
            }
            #expect(result.event.body == .timerFired)
            backTask.ack()
            backTimer.ack()
        }
    }

    @Test func eventsAreRoutedByTopic() async throws {
        try await TestBroker.withFleet { fleet, connection in
            let watcher = "\(fleet.prefix).watch-held"
            try await connection.declare(QueueSpec(watcher, durable: false, exclusive: true))
            try await connection.bind(QueueBinding(queue: watcher, exchange: fleet.eventsExchange, routingKey: "host.*.*.held"))
            for event in Fixtures.events {
                let publication = try fleet.event(event, try WireEncoder.encode(event, envelope: event.envelope(messageId: "e")))
                try await connection.publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
            }
            let delivery = try await receiveOne(connection, from: watcher)
            #expect(delivery.routingKey == "host.~.hv09.held")
            delivery.ack()
            _ = try await connection.deleteQueue(watcher)
        }
    }
}
