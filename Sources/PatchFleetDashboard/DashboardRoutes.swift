import Foundation
import Hummingbird
import Logging
import PatchFleetObservability

/// The dashboard's routes, added to the coordinator's HTTP server:
///
///     GET /                        the page (HTML, inline CSS and JS)
///     GET /api/jobs                recent jobs with per-outcome counts
///     GET /api/jobs/{id}           one job: clusters, hosts, who needs attention
///     GET /api/dead-letters        dead-letter queue depth and recent reasons
///     GET /api/stream?job={id}     server-sent events: a snapshot whenever it changes
///
/// Read-only: nothing here changes a job (cancel, pause and resume stay
/// with `patchfleet` and the AMQP control exchange, where who may do it is
/// checked). With a token every route needs it; `/metrics` and the probes
/// stay open for Prometheus and the kubelet.
public struct Dashboard: Sendable {
    let data: DashboardData
    let token: AccessToken?
    let logger: Logger
    /// How often a stream checks for changes, and sends a comment line to
    /// keep proxies from closing a quiet connection.
    let pollInterval: Duration
    let keepAliveInterval: Duration
    /// Extra pages (the run report), by job id.
    let reportPage: (@Sendable (String) async throws -> String?)?

    public init(data: DashboardData, token: AccessToken?, logger: Logger, pollInterval: Duration = .seconds(1),
                keepAliveInterval: Duration = .seconds(15), reportPage: (@Sendable (String) async throws -> String?)? = nil) {
        self.data = data
        self.token = token
        self.logger = logger
        self.pollInterval = pollInterval
        self.keepAliveInterval = keepAliveInterval
        self.reportPage = reportPage
    }

    /// - Parameter stopping: ends open event streams when the server stops.
    public func addRoutes(to router: Router<BasicRequestContext>, stopping: StopFlag = StopFlag()) {
        let group: RouterGroup<BasicRequestContext>
        if let token {
            group = router.group().add(middleware: AccessTokenMiddleware(token: token))
        } else {
            group = router.group()
        }
        let data = data
        group.get("/") { _, _ in Self.respond(DashboardPage.html, type: "text/html; charset=utf-8") }
        group.get("/api/jobs") { _, _ in try Self.json(await data.jobs()) }
        group.get("/api/jobs/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            guard let job = try await data.job(id) else { return Self.respond("no job '\(id)'\n", status: .notFound) }
            return try Self.json(job)
        }
        group.get("/api/dead-letters") { _, _ in try Self.json(await data.snapshot(job: nil).deadLetters) }
        if let reportPage {
            group.get("/jobs/:id/report") { _, context -> Response in
                let id = try context.parameters.require("id")
                guard let page = try await reportPage(id) else { return Self.respond("no job '\(id)'\n", status: .notFound) }
                return Self.respond(page, type: "text/html; charset=utf-8")
            }
        }
        let poll = pollInterval, keepAlive = keepAliveInterval, logger = logger
        group.get("/api/stream") { request, _ -> Response in
            let job = request.uri.queryParameters["job"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await Self.stream(data: data, job: job, poll: poll, keepAlive: keepAlive, stopping: stopping,
                                      logger: logger, into: &writer)
            })
        }
    }

    /// Sends the snapshot at once, then each time it differs, until the
    /// browser goes away (the write fails) or the server stops (`stopping`;
    /// the browser's EventSource reconnects to whoever serves next).
    static func stream(data: DashboardData, job: String?, poll: Duration, keepAlive: Duration, stopping: StopFlag,
                       logger: Logger, into writer: inout any ResponseBodyWriter) async throws {
        var last: DashboardSnapshot?
        var quietSince = ContinuousClock.now
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        while !Task.isCancelled && !stopping.isSet {
            do {
                let snapshot = try await data.snapshot(job: job)
                if snapshot != last {
                    let text = String(decoding: try encoder.encode(snapshot), as: UTF8.self)
                    try await writer.write(ByteBuffer(string: "event: snapshot\ndata: \(text)\n\n"))
                    last = snapshot
                    quietSince = ContinuousClock.now
                }
            } catch let error as CancellationError {
                throw error
            } catch {
                // The store is busy or gone for a moment: say so on the page, keep the stream.
                logger.debug("dashboard snapshot failed: \(error)")
                try await writer.write(ByteBuffer(string: "event: problem\ndata: \(Self.oneLine("\(error)"))\n\n"))
            }
            if ContinuousClock.now - quietSince >= keepAlive {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                quietSince = ContinuousClock.now
            }
            try await Task.sleep(for: poll)
        }
        try await writer.finish(nil)
    }

    static func oneLine(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ") }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func respond(_ text: String, type: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        // The page is ours alone: no framing by other sites, no foreign scripts.
        headers[.contentSecurityPolicy] = "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
