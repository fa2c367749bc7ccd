import Foundation
import Logging
import PatchFleetObservability
import Synchronization
import Testing

@Suite("JSON logs")
struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test func eachLineIsOneObjectWithTheFleetsIdsAsFields() throws {
        let sink = Lines()
        var handler = JSONLogHandler(label: "patchfleet.worker") { line in sink.lines.withLock { $0.append(line) } }
        handler.logLevel = .debug
        var logger = Logger(label: "patchfleet.worker", factory: { _ in handler })
        logger[metadataKey: "job"] = "nov-wave1"
        logger[metadataKey: "host"] = "SEA-H1"
        logger.warning("drain failed: \"quoted\"\nsecond line", metadata: ["cluster": "SEA-CL1", "attempt": .stringConvertible(2)])
        logger.trace("below the level: not written")
        let lines = sink.lines.withLock { $0 }
        try #require(lines.count == 1)
        #expect(lines[0].hasSuffix("\n") && lines[0].dropLast().contains("\n") == false, "one physical line per event")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["logger"] as? String == "patchfleet.worker")
        #expect(object["msg"] as? String == "drain failed: \"quoted\"\nsecond line")
        #expect(object["job"] as? String == "nov-wave1")
        #expect(object["host"] as? String == "SEA-H1")
        #expect(object["cluster"] as? String == "SEA-CL1")
        #expect(object["attempt"] as? String == "2")
        #expect((object["ts"] as? String)?.contains("T") == true)
        #expect((object["source"] as? String)?.contains("JSONLogHandlerTests.swift") == true)
    }
}
