import PatchFleetCore
@testable import PatchFleetWire
import Testing

@Suite("Routing keys")
struct RoutingKeyTests {
    @Test(arguments: [
        ("hv01", "hv01"),
        ("dc1.prod", "dc1%2Eprod"),
        ("web*", "web%2A"),
        ("#all", "%23all"),
        ("VM Hosts in Building 44", "VM%20Hosts%20in%20Building%2044"),
        ("100%", "100%25"),
        ("~", "%7E"),
        ("hôte", "h%C3%B4te"),
        ("under_score-dash", "under_score-dash"),
    ])
    func namesBecomeOneSafeWord(name: String, word: String) {
        #expect(RoutingKey.word(name) == word)
        #expect(!word.contains(".") && !word.contains("*") && !word.contains("#"))
        #expect(RoutingKey.name(fromWord: word) == name)
    }

    @Test func absentNamesAreTilde() {
        #expect(RoutingKey.word(nil) == "~")
        #expect(RoutingKey.word("") == "~")
        #expect(RoutingKey.name(fromWord: "~") == nil)
    }

    @Test func eventRoutingKeys() {
        let keys = Fixtures.events.map(\.routingKey)
        #expect(keys == [
            "job.job-1.running",
            "host.dc1%2Eprod.hv01.draining",
            "host.~.hv09.held",
            "job.job-1.rejected",
        ])
    }

    @Test func overlongKeysAreRefusedAtPublish() throws {
        let event = FleetEvent(at: Fixtures.now, .job(JobStateChange(jobId: String(repeating: ".", count: 90), state: .running)))
        let message = try WireEncoder.encode(event, envelope: event.envelope(messageId: "e"))
        #expect(throws: WireError.self) { try FleetTopology().event(event, message) }
    }
}
