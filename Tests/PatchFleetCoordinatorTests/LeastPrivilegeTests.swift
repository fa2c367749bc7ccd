import AMQP
import Foundation
import PatchFleetCoordinator
import PatchFleetCore
import PatchFleetSimulator
import PatchFleetStore
import PatchFleetTestSupport
import PatchFleetWire
import PatchFleetWorker
import Testing

/// deploy/rabbitmq/definitions.json, loaded into the test broker with
/// `deploy/local/broker.sh load-definitions`: each role's broker user can do
/// its part and is refused (403 ACCESS_REFUSED) the rest. The coordinator and
/// the worker are the real services, in this process, each on a connection as
/// its own user; the job comes from `patchfleet submit` as the submitter's
/// user, and the observer's user follows the events and runs `patchfleet status`.
@Suite("Least-privilege broker users")
struct LeastPrivilegeTests {
    static let topology = FleetTopology()  // the names the definitions are written for

    /// Without a broker: the file's shape, and its regexes against the
    /// topology's real names, so a new exchange or queue cannot be forgotten.
    @Test func theDefinitionsHoldNoPasswordAndOnlyTheCoordinatorConfiguresTheTopology() throws {
        let definitions = try BrokerDefinitions(contentsOf: BrokerDefinitions.file)
        #expect(definitions.vhosts == ["patchfleet"])
        #expect(Set(definitions.users) == Set(BrokerDefinitions.roles), "one user per role")
        #expect(definitions.secretFields.isEmpty, "no password in the file: \(definitions.secretFields)")
        #expect(definitions.taggedUsers.isEmpty, "no management tags: \(definitions.taggedUsers)")
        let names = Self.topology.exchanges.map(\.name) + Self.topology.queues.map(\.name)
        for name in names {
            #expect(try definitions.allows("pf-coordinator", .configure, name), "the coordinator declares \(name)")
            for user in ["pf-worker", "pf-submitter", "pf-observer"] {
                #expect(try !definitions.allows(user, .configure, name), "\(user) may not configure \(name)")
            }
        }
        let tasksQueues = Set(Role.allCases.map(Self.topology.taskQueue))
        for name in names {
            #expect(try definitions.allows("pf-worker", .read, name) == tasksQueues.contains(name), "pf-worker reading \(name)")
        }
        // Questions: the observer and the submitter may ask (write on the
        // query exchange, their own reply queues), only the coordinator reads
        // the questions and answers them (through the default exchange).
        let fleet = Self.topology
        let replyQueue = "\(fleet.prefix).reply.0a1b2c3d"
        for user in ["pf-observer", "pf-submitter"] {
            #expect(try definitions.allows(user, .write, fleet.queryExchange), "\(user) asks")
            #expect(try definitions.allows(user, .configure, replyQueue), "\(user) declares its answer queue")
            #expect(try definitions.allows(user, .read, replyQueue), "\(user) reads its answers")
            #expect(try !definitions.allows(user, .write, "amq.default"), "\(user) cannot answer for the coordinator")
        }
        #expect(try !definitions.allows("pf-worker", .write, fleet.queryExchange))
        #expect(try definitions.allows("pf-coordinator", .read, fleet.queryExchange), "the coordinator binds its queue to the query exchange")
        #expect(try definitions.allows("pf-coordinator", .write, fleet.queriesQueue), "and may bind that queue")
        #expect(try definitions.allows("pf-coordinator", .write, "amq.default"), "it answers on reply_to")
        for user in BrokerDefinitions.roles {
            #expect(try definitions.allows(user, .read, fleet.queriesQueue) == (user == "pf-coordinator"), "\(user) reading the questions")
        }
    }

    @Test func eachRoleDoesItsPartAndIsRefusedTheRest() async throws {
        let broker = try await LoadedDefinitions.load()
        var connections: [AMQPConnection] = []
        var failure: (any Error)?
        do {
            func connect(_ role: String) async throws -> AMQPConnection {
                let connection = try await broker.connect(role)
                connections.append(connection)
                return connection
            }
            let coordinator = try await connect("pf-coordinator"), worker = try await connect("pf-worker")
            let submitter = try await connect("pf-submitter"), observer = try await connect("pf-observer")
            // The coordinator owns the topology: it declares all of it.
            try await coordinator.declare(Self.topology.topology)
            let job = try Self.job()
            try await refusals(worker: worker, submitter: submitter, observer: observer, job: job)
            // Then each does its part, on the same connections (a refusal
            // closes one channel, never the connection).
            try await patchAHost(job, broker: broker, coordinator: coordinator, worker: worker, observer: observer)
        } catch {
            failure = error
        }
        for connection in connections { await connection.close() }
        await broker.remove()
        if let failure { throw failure }
    }

    static let lab = FleetEndToEndTests.examples.appendingPathComponent("inventory.yaml")

    /// The example job, on one host (SEA-H3) under a job id of its own.
    static func job() throws -> JobSpec {
        var job = try JobSpecLoader.load(contentsOf: FleetEndToEndTests.examples.appendingPathComponent("job.yaml"))
        job.id = "least-privilege-\(UUID().uuidString.prefix(8).lowercased())"
        job.targets = JobTargets(hosts: ["SEA-H3"])
        return job
    }

    private func refusals(worker workerConnection: AMQPConnection, submitter: AMQPConnection, observer: AMQPConnection,
                          job: JobSpec) async throws {
        let fleet = Self.topology
        let submission = fleet.submission(try WireEncoder.encode(JobSubmission(job: job, requestedBy: "pf-submitter")))
        let forgedTask = AMQPMessage(body: Data(#"{"schema":"patchfleet.task"}"#.utf8),
                                     properties: AMQPProperties(contentType: "application/json", type: "patchfleet.task"))

        // A worker cannot submit a job, by any route, nor issue tasks, events or declarations.
        await expectRefused("pf-worker publishing a job to \(fleet.controlExchange)") {
            try await workerConnection.publish(submission)
        }
        await expectRefused("pf-worker publishing a job straight into \(fleet.jobsQueue) (default exchange)") {
            try await workerConnection.publish(submission.message, exchange: "", routingKey: fleet.jobsQueue, mandatory: true)
        }
        await expectRefused("pf-worker publishing a task") {
            try await workerConnection.publish(forgedTask, exchange: fleet.tasksExchange, routingKey: Role.drain.rawValue, mandatory: true)
        }
        await expectRefused("pf-worker publishing a delayed task") {
            try await workerConnection.publish(fleet.delayed(AMQPConnection.Publication(
                forgedTask, exchange: fleet.tasksExchange, routingKey: Role.drain.rawValue, mandatory: true), by: 5))
        }
        await expectRefused("pf-worker publishing an event") {
            try await workerConnection.publish(forgedTask, exchange: fleet.eventsExchange, routingKey: "job.x.succeeded")
        }
        await expectRefused("pf-worker redeclaring \(fleet.controlExchange) as it is") {
            try await workerConnection.declare(fleet.exchanges[0])
        }
        await expectRefused("pf-worker redeclaring \(fleet.taskQueue(.drain)) as it is") {
            try await workerConnection.declare(try #require(fleet.queues.first { $0.name == fleet.taskQueue(.drain) }))
        }
        await expectRefused("pf-worker reading the job submissions") {
            try await consumeAndCancel(workerConnection, fleet.jobsQueue)
        }

        // A submitter cannot issue tasks, by any route, nor answer for a worker or read its queue.
        await expectRefused("pf-submitter publishing a task") {
            try await submitter.publish(forgedTask, exchange: fleet.tasksExchange, routingKey: Role.deploy.rawValue, mandatory: true)
        }
        await expectRefused("pf-submitter publishing a delayed task") {
            try await submitter.publish(fleet.delayed(AMQPConnection.Publication(
                forgedTask, exchange: fleet.tasksExchange, routingKey: Role.deploy.rawValue, mandatory: true), by: 5))
        }
        await expectRefused("pf-submitter publishing a task straight into \(fleet.taskQueue(.deploy)) (default exchange)") {
            try await submitter.publish(forgedTask, exchange: "", routingKey: fleet.taskQueue(.deploy), mandatory: true)
        }
        await expectRefused("pf-submitter publishing a result") {
            try await submitter.publish(forgedTask, exchange: fleet.resultsExchange, routingKey: FleetTopology.resultsRoutingKey,
                                        mandatory: true)
        }
        await expectRefused("pf-submitter reading a task queue") {
            try await consumeAndCancel(submitter, fleet.taskQueue(.deploy))
        }
        let submitterQueue = try await privateQueue(submitter, "submit")
        await expectRefused("pf-submitter binding its queue to \(fleet.tasksExchange)") {
            try await submitter.bind(QueueBinding(queue: submitterQueue, exchange: fleet.tasksExchange, routingKey: Role.deploy.rawValue))
        }

        // An observer can watch and ask, never act.
        await expectRefused("pf-observer publishing a job") { try await observer.publish(submission) }
        let cancel = JobControlRequest(jobId: job.id, action: .cancel, reason: "not mine to cancel")
        await expectRefused("pf-observer cancelling a job") {
            try await observer.publish(fleet.control(cancel, try WireEncoder.encode(cancel)))
        }
        await expectRefused("pf-observer publishing a task") {
            try await observer.publish(forgedTask, exchange: fleet.tasksExchange, routingKey: Role.drain.rawValue, mandatory: true)
        }
        await expectRefused("pf-observer declaring a submitter's queue") {
            try await observer.declare(QueueSpec("\(fleet.prefix).submit.observer", durable: false, exclusive: true, autoDelete: true))
        }
        await expectRefused("pf-observer reading the coordinator's questions") {
            try await consumeAndCancel(observer, fleet.queriesQueue)
        }
    }

    /// The real coordinator and worker services, each on its user's
    /// connection (the worker does not declare the topology), patch a host for
    /// the submitter's `patchfleet submit`, while the observer follows.
    private func patchAHost(_ job: JobSpec, broker: LoadedDefinitions, coordinator coordinatorConnection: AMQPConnection,
                            worker workerConnection: AMQPConnection, observer: AMQPConnection) async throws {
        let fleet = Self.topology
        let lab = try LabConfiguration.load(contentsOf: Self.lab)
        let clock = ScaledWallClock(start: Instant(secondsSinceEpoch: 1_800_000_000), timeScale: 2_000)
        let datacenter = SimulatedDatacenter(configuration: lab, clock: clock)
        let store = InMemorySagaStore()
        let engine = CoordinatorEngine(store: store, topology: fleet, virtualization: datacenter, updates: datacenter,
                                       updateLists: lab.inventory.updateLists, now: { clock.now() })
        let coordinator = CoordinatorService(engine: engine, connection: coordinatorConnection, store: store,
                                             topology: fleet, now: { clock.now() })
        let worker = WorkerService(connection: workerConnection, topology: fleet, roles: Role.allCases, concurrency: 2,
                                   executor: CommandExecutor(virtualization: datacenter, updates: datacenter,
                                                             timing: .wallClock(timeScale: 2_000, pollSeconds: 30)),
                                   declaresTopology: false)
        let coordinating = Task { try await coordinator.run() }
        let working = Task { try await worker.run() }
        var failure: (any Error)?
        do {
            try await submitAndFollow(job, broker: broker, observer: observer)
            #expect(datacenter.history.contains { $0.actor == .patchfleet }, "the worker acted on the datacenter")
        } catch {
            failure = error
        }
        await worker.shutdown()
        await coordinator.shutdown()
        do {
            try await working.value
            try await coordinating.value
        } catch {
            failure = failure ?? error
        }
        if let failure { throw failure }
    }

    private func submitAndFollow(_ job: JobSpec, broker: LoadedDefinitions, observer: AMQPConnection) async throws {
        let fleet = Self.topology
        let watchQueue = try await privateQueue(observer, "watch")
        for key in ["job.#", "host.#"] {
            try await observer.bind(QueueBinding(queue: watchQueue, exchange: fleet.eventsExchange, routingKey: key))
        }
        let watched = try await observer.consume(queue: watchQueue, prefetch: 100)

        // The submitter's own `patchfleet submit`: its queue, bound to the
        // events, the confirmed submission, the job followed to its end.
        let jobFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(job.id).json")
        try JSONEncoder().encode(job).write(to: jobFile)
        defer { try? FileManager.default.removeItem(at: jobFile) }
        let submit = try ChildProcess(patchfleetExecutable(), ["submit", jobFile.path], log: "least-privilege-submit",
                                      environment: ["PATCHFLEET_AMQP_URL": broker.url("pf-submitter")])
        let submitStatus = await submit.exitStatus()
        #expect(submitStatus == 0, "\(submit.output())")
        #expect(submit.output().split(separator: "\n").contains { $0.contains("SEA-H3") && $0.contains("patched") }, "\(submit.output())")
        if submitStatus == 0 {
            let seenByObserver = try await jobEnd(job.id, on: watched)
            #expect(seenByObserver.state == .succeeded, "\(seenByObserver)")
        }

        // The observer's `patchfleet status` asks the coordinator, which
        // answers on the default exchange; its `patchfleet cancel` is refused.
        let asObserver = ["PATCHFLEET_AMQP_URL": broker.url("pf-observer")]
        let status = try await runCommand([patchfleetExecutable(), "status", job.id], environment: asObserver)
        #expect(status.contains("finished"), "\(status)")
        #expect(status.split(separator: "\n").contains { $0.contains("SEA-H3") && $0.contains("patched") }, "\(status)")
        do {
            _ = try await runCommand([patchfleetExecutable(), "cancel", job.id], environment: asObserver)
            Issue.record("pf-observer's patchfleet cancel was allowed")
        } catch let failure as CommandFailed {
            #expect(failure.description.contains("ACCESS_REFUSED"), "\(failure)")
        }
        await watched.cancel()
    }

    /// The end of `jobId` from an event queue, read until it comes.
    private func jobEnd(_ jobId: String, on consumer: AMQPConsumer) async throws -> JobStateChange {
        var iterator = consumer.makeAsyncIterator()
        while let delivery = try await iterator.next() {
            delivery.ack()
            guard case .event(let event, _) = try WireDecoder().decode(delivery), case .job(let change) = event.event,
                  change.jobId == jobId, [.succeeded, .failed, .cancelled].contains(change.state) else { continue }
            return change
        }
        throw CommandFailed(description: "the event queue ended before job \(jobId) did")
    }

    /// A self-deleting queue of the kind the CLI declares (`<prefix>.<purpose>.<id>`).
    private func privateQueue(_ connection: AMQPConnection, _ purpose: String) async throws -> String {
        let name = "\(Self.topology.prefix).\(purpose).\(UUID().uuidString.prefix(8).lowercased())"
        try await connection.declare(QueueSpec(name, durable: false, exclusive: true, autoDelete: true))
        return name
    }

    private func consumeAndCancel(_ connection: AMQPConnection, _ queue: String) async throws {
        let consumer = try await connection.consume(queue: queue, prefetch: 1)
        await consumer.cancel()
    }

    /// The broker must refuse `operation` with 403 ACCESS_REFUSED, closing a
    /// channel, and the call must say so (not hang, not succeed).
    private func expectRefused(_ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                               _ operation: () async throws -> Void) async {
        do {
            try await operation()
            Issue.record("\(what) was allowed", sourceLocation: sourceLocation)
        } catch AMQPError.channelClosed(let code, let text) {
            #expect(code == 403 && text.hasPrefix("ACCESS_REFUSED"), "\(what): \(code) \(text)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what) failed, but not with ACCESS_REFUSED: \(error)", sourceLocation: sourceLocation)
        }
    }
}

extension AMQPConnection {
    fileprivate func publish(_ publication: Publication) async throws {
        try await publish(publication.message, exchange: publication.exchange, routingKey: publication.routingKey,
                          mandatory: publication.mandatory)
    }
}

/// deploy/rabbitmq/definitions.json, read as RabbitMQ will.
struct BrokerDefinitions {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/rabbitmq/definitions.json")
    static let roles = ["pf-coordinator", "pf-worker", "pf-submitter", "pf-observer"]

    enum Permission: String { case configure, write, read }

    let json: [String: Any]

    init(contentsOf url: URL) throws {
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CommandFailed(description: "\(url.path) is not a JSON object")
        }
        self.json = json
    }

    private func list(_ key: String) -> [[String: Any]] { json[key] as? [[String: Any]] ?? [] }

    var vhosts: [String] { list("vhosts").compactMap { $0["name"] as? String } }
    var users: [String] { list("users").compactMap { $0["name"] as? String } }
    var secretFields: [String] {
        list("users").flatMap { user in ["password", "password_hash"].filter { user[$0] != nil }.map { "\(user["name"] ?? "?").\($0)" } }
    }
    var taggedUsers: [String] {
        list("users").filter { ($0["tags"] as? [String])?.isEmpty == false || ($0["tags"] as? String)?.isEmpty == false }
            .compactMap { $0["name"] as? String }
    }

    /// Whether `user`'s regex for `permission` in the vhost matches `name`
    /// (RabbitMQ matches the regex anywhere in the name; ours are anchored).
    func allows(_ user: String, _ permission: Permission, _ name: String) throws -> Bool {
        guard let entry = list("permissions").first(where: { $0["user"] as? String == user }),
              let pattern = entry[permission.rawValue] as? String else {
            throw CommandFailed(description: "no \(permission.rawValue) permission for \(user)")
        }
        let regex = try NSRegularExpression(pattern: pattern)
        return regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    /// The same definitions under names of their own (`-<suffix>` on the
    /// vhost and every user), so a test never touches a `patchfleet` vhost or
    /// `pf-*` users someone loaded into the same broker. Permissions unchanged.
    func renamed(suffix: String) throws -> Data {
        func rename(_ name: Any?) -> String { "\(name as? String ?? "")-\(suffix)" }
        var copy = json
        copy["vhosts"] = list("vhosts").map { v in var v = v; v["name"] = rename(v["name"]); return v }
        copy["users"] = list("users").map { u in var u = u; u["name"] = rename(u["name"]); return u }
        copy["permissions"] = list("permissions").map { p in
            var p = p; p["user"] = rename(p["user"]); p["vhost"] = rename(p["vhost"]); return p
        }
        copy["topic_permissions"] = list("topic_permissions").map { p in
            var p = p; p["user"] = rename(p["user"]); p["vhost"] = rename(p["vhost"]); return p
        }
        return try JSONSerialization.data(withJSONObject: copy, options: [.prettyPrinted, .sortedKeys])
    }
}

/// The definitions loaded into the test broker (the one PATCHFLEET_AMQP_URL
/// names, managed through broker.sh with PATCHFLEET_BROKER_NAME/_PORT), with
/// a throwaway password per user; `remove()` deletes the vhost and the users.
struct LoadedDefinitions {
    let suffix: String
    let base: AMQPConfiguration
    let passwords: [String: String]

    static let script = BrokerDefinitions.file.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("local/broker.sh").path

    var vhost: String { "patchfleet-\(suffix)" }
    func user(_ role: String) -> String { "\(role)-\(suffix)" }

    static func load() async throws -> LoadedDefinitions {
        let environment = ProcessInfo.processInfo.environment
        let base = try AMQPConfiguration(url: FleetEndToEndTests.url)
        // broker.sh reaches its node by name; make sure it is the broker of the URL.
        let scriptPort = environment["PATCHFLEET_BROKER_PORT"] ?? "5682"
        guard scriptPort == String(base.port) else {
            throw CommandFailed(description: "PATCHFLEET_AMQP_URL names port \(base.port) but broker.sh would manage the broker "
                                + "of port \(scriptPort): set PATCHFLEET_BROKER_NAME and PATCHFLEET_BROKER_PORT to the test broker's")
        }
        let suffix = "test-\(UUID().uuidString.prefix(8).lowercased())"
        let definitions = try BrokerDefinitions(contentsOf: BrokerDefinitions.file)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("definitions-\(suffix)")
        let secrets = directory.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("definitions.json")
        try definitions.renamed(suffix: suffix).write(to: file)
        var passwords: [String: String] = [:]
        for role in BrokerDefinitions.roles {
            let password = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            passwords[role] = password
            try Data((password + "\n").utf8).write(to: secrets.appendingPathComponent("\(role)-\(suffix)"))
        }
        let loaded = LoadedDefinitions(suffix: suffix, base: base, passwords: passwords)
        do {
            _ = try await runCommand(["/bin/bash", script, "load-definitions", file.path, secrets.path])
        } catch {
            await loaded.remove()
            throw error
        }
        return loaded
    }

    /// For the `patchfleet` CLI (in its environment, never on its command line).
    func url(_ role: String) -> String {
        "amqp://\(user(role)):\(passwords[role] ?? "")@\(base.host):\(base.port)/\(vhost)"
    }

    func connect(_ role: String) async throws -> AMQPConnection {
        var configuration = base
        configuration.user = user(role)
        configuration.password = passwords[role] ?? ""
        configuration.vhost = vhost
        return try await AMQPConnection.connect(configuration, recovery: .disabled)
    }

    /// Deletes the vhost (with everything in it) and the users; never `/`.
    func remove() async {
        _ = try? await runCommand(["/bin/bash", Self.script, "ctl", "delete_vhost", vhost])
        for role in BrokerDefinitions.roles {
            _ = try? await runCommand(["/bin/bash", Self.script, "ctl", "delete_user", user(role)])
        }
    }
}
