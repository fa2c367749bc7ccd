import Testing
@testable import AMQP

@Suite("AMQP URL parsing")
struct ConfigurationTests {
    @Test func fullURLIsParsed() throws {
        let c = try AMQPConfiguration(url: "amqp://fleet:s%40cret@broker.example:5673/patch%2ffleet?heartbeat=5&connection_timeout=2500&connection_name=w1")
        #expect(c.host == "broker.example")
        #expect(c.port == 5673)
        #expect(c.user == "fleet")
        #expect(c.password == "s@cret")
        #expect(c.vhost == "patch/fleet")
        #expect(c.heartbeat == 5)
        #expect(c.connectionTimeout == 2.5)
        #expect(c.connectionName == "w1")
        #expect(c.tls == nil)
    }

    @Test func defaultsApplyWhenPartsAreMissing() throws {
        let c = try AMQPConfiguration(url: "amqp://localhost")
        #expect(c.port == 5672)
        #expect(c.vhost == "/")
        #expect(c.user == "guest")
        let tls = try AMQPConfiguration(url: "amqps://localhost/%2f?cacertfile=/ca.pem&certfile=/c.pem&keyfile=/k.pem")
        #expect(tls.port == 5671)
        #expect(tls.vhost == "/")
        #expect(tls.tls == TLSConfiguration(caCertificateFile: "/ca.pem", certificateFile: "/c.pem", keyFile: "/k.pem"))
    }

    @Test(arguments: [
        ("localhost:5672", "no scheme"),
        ("http://localhost", "scheme 'http' is not amqp or amqps"),
        ("amqp://localhost:99999", "out of range"),
        ("amqp://localhost/a/b", "unescaped '/'"),
        ("amqp://localhost?heartbeat=-1", "heartbeat '-1'"),
        ("amqp://localhost?frobnicate=1", "unknown query parameter 'frobnicate'"),
        ("amqp://localhost?cacertfile=/ca.pem", "only applies to amqps"),
        ("amqps://localhost?certfile=/c.pem", "certfile and keyfile must be given together"),
        ("amqps://localhost?verify=maybe", "verify 'maybe'"),
    ])
    func malformedURLsNameTheProblem(url: String, expected: String) {
        do {
            _ = try AMQPConfiguration(url: url)
            Issue.record("'\(url)' was accepted")
        } catch {
            guard case .invalidURL(let why) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(why.contains(expected), "\(why)")
        }
    }

    @Test func passwordsNeverAppearInRedactedForms() throws {
        let c = try AMQPConfiguration(url: "amqp://u:topsecret@h:1/v")
        #expect(!c.redactedURL.contains("topsecret"))
        #expect(!AMQPConfiguration.redacted("amqp://u:topsecret@h/v").contains("topsecret"))
    }
}

@Suite("Publisher-confirm bookkeeping")
struct ConfirmTrackerTests {
    @Test func singleAndMultipleAcksSettleExactlyTheirItems() {
        var t = ConfirmTracker<Int>()
        for i in 1...10 { #expect(t.add(i) == UInt64(i)) }
        #expect(t.settle(tag: 3, multiple: false) == [3])
        #expect(t.settle(tag: 3, multiple: false) == [])  // a duplicate ack settles nothing
        #expect(t.settle(tag: 5, multiple: true) == [1, 2, 4, 5])
        #expect(t.outstanding == 5)
        #expect(t.settle(tag: 9, multiple: false) == [9])
        #expect(t.removeAll() == [6, 7, 8, 10])
        #expect(t.nextSequence == 1)
    }

    @Test func manyInFlightStayLinear() {
        var t = ConfirmTracker<Int>()
        for i in 1...20_000 { _ = t.add(i) }
        var settled = 0
        for tag in stride(from: 100, through: 20_000, by: 100) { settled += t.settle(tag: UInt64(tag), multiple: true).count }
        #expect(settled == 20_000)
        #expect(t.outstanding == 0)
        #expect(t.add(1) == 20_001)
    }

    @Test func updateMarksAnUnconfirmedItem() {
        var t = ConfirmTracker<String>()
        _ = t.add("a"); _ = t.add("b")
        t.update(2) { $0 = "b-returned" }
        t.update(7) { $0 = "never" }
        #expect(t.settle(tag: 2, multiple: true) == ["a", "b-returned"])
    }
}

@Suite("Recorded topology for recovery")
struct RecordedTopologyTests {
    @Test func redeclaringKeepsOrderAndDeletionRemovesBindings() {
        var r = RecordedTopology()
        let ex = ExchangeSpec("x", kind: .direct)
        let q = QueueSpec("q")
        let b = QueueBinding(queue: "q", exchange: "x", routingKey: "k")
        r.record(.exchange(ex)); r.record(.queue(q)); r.record(.binding(b))
        r.record(.exchange(ExchangeSpec("x", kind: .direct, durable: false)))
        r.record(.binding(b))
        #expect(r.declarations.count == 3)
        if case .exchange(let first) = r.declarations[0] { #expect(first.durable == false) } else { Issue.record("exchange moved") }
        r.record(.queueDeleted("q"))
        #expect(r.declarations.count == 1)
    }
}
