import Foundation
import PatchFleetCore

/// The body's own statement of what it is: `schema` and `schemaVersion` sit
/// next to the message's fields, so a body stored, logged or forwarded
/// without its AMQP properties still says how to read it.
enum SchemaKeys: String, CodingKey {
    case schema, schemaVersion
}

/// Encodes a message with its schema fields added.
struct SchemaTagged<M: WireMessage>: Encodable {
    let message: M
    let version: Int

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: SchemaKeys.self)
        try container.encode(M.schema.rawValue, forKey: .schema)
        try container.encode(version, forKey: .schemaVersion)
        try message.encode(to: encoder)
    }
}

/// Reads only the schema fields: first the body must be a JSON object, then
/// it must say what it is, before anything else is read from it.
struct SchemaProbe: Decodable {
    let schema: String?
    let schemaVersion: Int?
}
