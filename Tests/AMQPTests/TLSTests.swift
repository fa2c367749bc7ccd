import AMQP
import Foundation
import PatchFleetTestSupport
import Testing

/// amqps:// against a broker with a TLS listener, using a throwaway CA made
/// here with openssl: the server is verified, and a wrong CA is refused.
@Suite("AMQP over TLS", .serialized, .timeLimit(.minutes(3)))
struct TLSTests {
    static let certificates: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patchfleet-tls-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    static let tlsPort = 5695
    static let broker = DisposableBroker(
        name: "amqp-tls-test", port: 5694,
        environment: ["PATCHFLEET_BROKER_TLS_PORT": String(tlsPort), "PATCHFLEET_BROKER_TLS_DIR": certificates.path])

    /// Swift Testing makes one suite instance per test: set up once per process.
    static let setUp = OnceSetUp {
        let dir = certificates.path
        if !FileManager.default.fileExists(atPath: "\(dir)/server.pem") {
            _ = try await runCommand(["/bin/bash", "-c", """
                set -e; cd '\(dir)'
                openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=PatchFleet test CA' 2>/dev/null
                openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' 2>/dev/null
                printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.cnf
                openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.cnf 2>/dev/null
                openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj '/CN=Some other CA' 2>/dev/null
                chmod 644 server.key
                """])
        }
        // Restart so the listener uses this run's certificates.
        try await broker.run("restart")
    }

    init() async throws { try await Self.setUp.run() }

    @Test func verifiedTLSConnectionCarriesMessages() async throws {
        let url = "amqps://guest:guest@localhost:\(Self.tlsPort)/%2f?cacertfile=\(Self.certificates.path)/ca.pem"
        let conn = try await AMQPConnection.connect(url: url, recovery: .disabled)
        let queue = TestBroker.uniqueName("tls")
        try await conn.declare(QueueSpec(queue, durable: false))
        try await conn.publish(AMQPMessage("over tls"), exchange: "", routingKey: queue, mandatory: true)
        let consumer = try await conn.consume(queue: queue)
        var it = consumer.makeAsyncIterator()
        let delivery = try #require(try await it.next())
        #expect(String(decoding: delivery.body, as: UTF8.self) == "over tls")
        delivery.ack()
        await consumer.cancel()
        try await conn.deleteQueue(queue)
        await conn.close()
    }

    @Test func aBrokerSignedByAnotherCAIsRefused() async throws {
        let url = "amqps://guest:guest@localhost:\(Self.tlsPort)/%2f?cacertfile=\(Self.certificates.path)/other-ca.pem"
        do {
            _ = try await AMQPConnection.connect(url: url, recovery: .disabled)
            Issue.record("connected although the broker's certificate is not signed by the given CA")
        } catch let error as AMQPError {
            guard case .connectionFailed(_, let port, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(port == Self.tlsPort)
            #expect(reason.lowercased().contains("ssl"), "\(reason)")
        }
    }

    @Test func aMissingCAFileIsAConfigurationError() async throws {
        let url = "amqps://guest:guest@localhost:\(Self.tlsPort)/%2f?cacertfile=/nonexistent/ca.pem"
        do {
            _ = try await AMQPConnection.connect(url: url, recovery: .disabled)
            Issue.record("connected with a missing CA file")
        } catch let error as AMQPError {
            guard case .tlsConfiguration(let why) = error else { Issue.record("got \(error)"); return }
            #expect(why.contains("/nonexistent/ca.pem"))
        }
    }
}

/// Runs an async set-up once per process and replays its result after.
actor OnceSetUp {
    private let body: @Sendable () async throws -> Void
    private var outcome: Result<Void, Error>?

    init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }

    func run() async throws {
        if let outcome { return try outcome.get() }
        do {
            try await body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
            throw error
        }
    }
}
