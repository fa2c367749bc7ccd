import Foundation
import Hummingbird

/// The dashboard's shared secret, read from a file (never from a flag or
/// the environment, so it shows in no process list or manifest).
///
/// Accepted from a person's browser and from scripts alike:
/// - `Authorization: Bearer TOKEN` (scripts, curl);
/// - `Authorization: Basic` with any user and TOKEN as the password (the
///   browser asks once and resends it, EventSource included);
/// - `?token=TOKEN` once, which sets an HttpOnly, SameSite=Strict cookie so
///   the page's own requests and its event stream carry it afterwards.
public struct AccessToken: Sendable {
    let secret: String
    public static let cookieName = "patchfleet_dashboard"

    public init(secret: String) throws(AccessTokenError) {
        guard secret.count >= 16 else {
            throw AccessTokenError("the dashboard token must be at least 16 characters (openssl rand -hex 24 makes one)")
        }
        self.secret = secret
    }

    public static func load(path: String) throws(AccessTokenError) -> AccessToken {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AccessTokenError("cannot read the dashboard token file \(path): \(error.localizedDescription)")
        }
        return try AccessToken(secret: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    public enum Presented: Equatable, Sendable {
        case none, valid(setCookie: Bool), invalid
    }

    /// What the request presents, checked in constant time.
    public func check(headers: HTTPFields, query: String?) -> Presented {
        var candidates: [(String, Bool)] = []
        if let authorization = headers[.authorization] {
            if authorization.hasPrefix("Bearer ") {
                candidates.append((String(authorization.dropFirst(7)), false))
            } else if authorization.hasPrefix("Basic "),
                      let data = Data(base64Encoded: String(authorization.dropFirst(6))),
                      let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") {
                candidates.append((String(pair[pair.index(after: colon)...]), false))
            }
        }
        if let cookies = headers[.cookie] {
            for part in cookies.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(Self.cookieName + "=") {
                    candidates.append((String(pair.dropFirst(Self.cookieName.count + 1)), false))
                }
            }
        }
        if let query, let token = URLComponents(string: "?" + query)?.queryItems?.first(where: { $0.name == "token" })?.value {
            candidates.append((token, true))
        }
        guard !candidates.isEmpty else { return .none }
        for (candidate, fromQuery) in candidates where Self.constantTimeEqual(candidate, secret) {
            return .valid(setCookie: fromQuery)
        }
        return .invalid
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}

public struct AccessTokenError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Guards every route behind it with the token; 401 with a Basic challenge
/// so a browser asks for it.
public struct AccessTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: AccessToken

    public init(token: AccessToken) { self.token = token }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        switch token.check(headers: request.headers, query: request.uri.query) {
        case .valid(let setCookie):
            var response = try await next(request, context)
            if setCookie {
                response.headers[.setCookie] = "\(AccessToken.cookieName)=\(token.secret); Path=/; HttpOnly; SameSite=Strict"
            }
            return response
        case .none, .invalid:
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Basic realm=\"PatchFleet\", charset=\"UTF-8\""
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .unauthorized, headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "a dashboard token is required (Bearer, Basic password, or ?token=)\n")))
        }
    }
}
