import AMQP
import Foundation
import PatchFleetWire
import Testing

/// The decoder corpus: inputs that once broke a decoder, or nearly did
/// (found by the fuzz tests and by reading the code), kept so they stay
/// refused with a clear reason. One JSON object per line in
/// Corpus/decoder-corpus.jsonl: `body`, optional `headers` and `type`, and
/// `expect`, a text the error must contain.
@Suite("Decoder corpus")
struct CorpusTests {
    struct Case: Decodable {
        var name: String
        var body: String
        var headers: [String: String]?
        var type: String?
        var expect: String
    }

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Corpus/decoder-corpus.jsonl")

    static func cases() throws -> [Case] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Case.self, from: Data($0.utf8))
        }
    }

    @Test func everyCaseIsRefusedWithAReasonThatNamesIt() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 15)
        for corpusCase in cases {
            var properties = AMQPProperties(contentType: "application/json", messageId: "corpus-\(corpusCase.name)")
            properties.type = corpusCase.type
            if let headers = corpusCase.headers {
                var table = AMQPFieldTable()
                for (name, value) in headers { table[name] = .string(value) }
                properties.headers = table
            }
            do {
                let decoded = try WireDecoder().decode(body: Data(corpusCase.body.utf8), properties: properties)
                Issue.record("\(corpusCase.name): accepted as \(decoded)")
            } catch {
                #expect(error.description.contains(corpusCase.expect), "\(corpusCase.name): \(error.description)")
            }
        }
    }
}
