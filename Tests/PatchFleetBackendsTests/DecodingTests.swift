import Foundation
import Testing
@testable import PatchFleetBackends

@Suite("PowerShell JSON decoding")
struct DecodingTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    @Test func ps51Dates() throws {
        let v = try parse(#"{"a":"\/Date(1700000000000)\/","b":"/Date(1700000000000+0100)/","c":"/Date(-1000)/"}"#)
        #expect(v["a"].date == Date(timeIntervalSince1970: 1_700_000_000))
        // The offset only says how it was displayed: the instant is the same.
        #expect(v["b"].date == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(v["c"].date == Date(timeIntervalSince1970: -1))
    }

    @Test func isoDatesWithDotNetPrecision() throws {
        let v = try parse(#"{"a":"2023-11-14T22:13:20.1234567Z","b":"2023-11-14T22:13:20Z","c":"2023-11-14T23:13:20.5+01:00"}"#)
        #expect(v["a"].date.map { abs($0.timeIntervalSince1970 - 1_700_000_000.123) < 0.001 } == true)
        #expect(v["b"].date == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(v["c"].date.map { abs($0.timeIntervalSince1970 - 1_700_000_000.5) < 0.001 } == true)
        #expect(JSONValue.string("yesterday").date == nil)
    }

    @Test func numericEnums() {
        let table = ClusterDecoding.nodeState
        #expect(JSONValue.number(2).enumName(table) == "Paused")
        #expect(JSONValue.string("Paused").enumName(table) == "Paused")
        #expect(JSONValue.string("2").enumName(table) == "Paused")
        #expect(JSONValue.number(42).enumName(table) == "#42")  // visible, never a default
        #expect(JSONValue.null.enumName(table) == nil)
        #expect(JSONValue.number(13).enumName(PowerShellEnums.errorCategory) == "ObjectNotFound")
    }

    @Test func arraysInEveryShape() throws {
        #expect(try parse("null").elements.isEmpty)
        #expect(try parse("[]").elements.isEmpty)
        #expect(try parse(#"{"name":"a"}"#).elements.count == 1)  // a lone object: PS unrolled a 1-element array
        #expect(try parse(#"{"value":[{"name":"a"},{"name":"b"}],"Count":2}"#).elements.count == 2)  // PS 5.1 ETS wrapper
        #expect(try parse(#"["a","b"]"#).elements.compactMap(\.string) == ["a", "b"])
    }

    @Test func scalarsAsPowerShellWritesThem() throws {
        let v = try parse(#"{"t":true,"s":"True","n":1,"big":274877906944,"i":"42","k":"CONTOSO\\svc"}"#)
        #expect(v["T"].bool == true)  // case-insensitive like PowerShell
        #expect(v["s"].bool == true)
        #expect(v["n"].bool == true)
        #expect(v["big"].int == 274_877_906_944)
        #expect(v["i"].int == 42)
        #expect(v["k"].string == "CONTOSO\\svc")
        #expect(v["missing"].isNull)
    }

    @Test func evaluationStateTable() {
        #expect(EvaluationState(rawValue: 0) == EvaluationState.none)
        #expect(EvaluationState(rawValue: 7)?.meaning == .pending)
        #expect(EvaluationState(rawValue: 8)?.meaning == .installedPendingReboot)
        #expect(EvaluationState(rawValue: 9)?.meaning == .installedPendingReboot)
        #expect(EvaluationState(rawValue: 10)?.meaning == .installedPendingReboot)
        #expect(EvaluationState(rawValue: 12)?.meaning == .installed)
        #expect(EvaluationState(rawValue: 13)?.meaning == .failed)
        #expect(EvaluationState(rawValue: 23) == .waitForOrchestration)
        #expect(EvaluationState(rawValue: 24) == nil)
        #expect(EvaluationState.allCases.filter(\.installable) == [.none, .available, .error, .waitingRetry])
    }

    @Test func encodedCommandIsBase64UTF16LE() {
        #expect(PowerShellScript.encode("A€") == Data([0x41, 0x00, 0xAC, 0x20]).base64EncodedString())
    }

    @Test func errorMapping() throws {
        func map(_ json: String) throws -> BackendErrorSummary {
            let e = ErrorRecordMapping.map(try parse(json), host: "vmm01", operation: "op")
            return BackendErrorSummary(code: e.code.rawValue, backendCode: e.backendCode, message: e.message)
        }
        #expect(try map(#"{"message":"m","category":"ObjectNotFound"}"#).code == "notFound")
        #expect(try map(#"{"message":"m","category":13}"#).code == "notFound")
        #expect(try map(#"{"message":"m","category":"InvalidOperation"}"#).code == "invalidState")
        #expect(try map(#"{"message":"m","category":"ResourceUnavailable"}"#).code == "unreachable")
        #expect(try map(#"{"message":"m","category":"ResourceBusy"}"#).code == "conflict")
        #expect(try map(#"{"message":"m","category":"OperationTimeout"}"#).code == "timeout")
        #expect(try map(#"{"message":"m (Error ID: 10698)","category":"NotSpecified"}"#) == BackendErrorSummary(code: "migrationFailed", backendCode: "10698", message: "m (Error ID: 10698)"))
        #expect(try map(#"{"message":"m","category":"ObjectNotFound","code":"conflict"}"#).code == "conflict")  // PF-Fail wins
        #expect(try map(#"{"message":"","category":"NotSpecified"}"#).message == "op on vmm01 failed without a message")
        #expect(try map(#"{"message":"m","category":"NotSpecified","hresult":"0x80070643"}"#).backendCode == "0x80070643")
    }
}

struct BackendErrorSummary: Equatable {
    var code: String
    var backendCode: String?
    var message: String
}
