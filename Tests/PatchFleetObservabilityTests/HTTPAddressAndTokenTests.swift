import Foundation
import Hummingbird
import PatchFleetObservability
import Testing

@Suite("HTTP address and dashboard token")
struct HTTPAddressAndTokenTests {
    @Test func addressesParseAndSayWhetherTheyAreLoopback() throws {
        let v4 = try HTTPAddress(parsing: "127.0.0.1:9470")
        #expect(v4.host == "127.0.0.1" && v4.port == 9470 && v4.isLoopback)
        let any = try HTTPAddress(parsing: "0.0.0.0:9471")
        #expect(!any.isLoopback)
        let v6 = try HTTPAddress(parsing: "[::1]:80")
        #expect(v6.host == "::1" && v6.port == 80 && v6.isLoopback && v6.description == "[::1]:80")
    }

    @Test(arguments: ["9470", ":9470", "host:", "host:http", "host:70000", "[::1]9470"])
    func malformedAddressesAreRefusedWithTheirText(_ text: String) {
        #expect {
            _ = try HTTPAddress(parsing: text)
        } throws: { error in
            "\(error)".contains("'\(text)'")
        }
    }

    @Test func theTokenIsAcceptedAsBearerBasicPasswordCookieOrQueryOnly() throws {
        let token = try AccessToken(secret: "s3cret-token-0123456789")
        var headers = HTTPFields()
        #expect(token.check(headers: headers, query: nil) == .none)
        headers[.authorization] = "Bearer s3cret-token-0123456789"
        #expect(token.check(headers: headers, query: nil) == .valid(setCookie: false))
        headers[.authorization] = "Bearer s3cret-token-012345678"
        #expect(token.check(headers: headers, query: nil) == .invalid)
        headers[.authorization] = "Basic " + Data("anyone:s3cret-token-0123456789".utf8).base64EncodedString()
        #expect(token.check(headers: headers, query: nil) == .valid(setCookie: false))
        headers[.authorization] = "Basic " + Data("s3cret-token-0123456789:wrong".utf8).base64EncodedString()
        #expect(token.check(headers: headers, query: nil) == .invalid, "the token is the password, not the user")
        var cookie = HTTPFields()
        cookie[.cookie] = "other=1; \(AccessToken.cookieName)=s3cret-token-0123456789"
        #expect(token.check(headers: cookie, query: nil) == .valid(setCookie: false))
        #expect(token.check(headers: HTTPFields(), query: "job=x&token=s3cret-token-0123456789") == .valid(setCookie: true))
        #expect(token.check(headers: HTTPFields(), query: "token=nope") == .invalid)
    }

    @Test func aShortTokenIsRefused() {
        #expect(throws: AccessTokenError.self) { _ = try AccessToken(secret: "short") }
    }
}
