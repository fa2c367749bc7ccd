import Foundation
import PatchFleetCore

/// JSON for stored values: the wire dialect (sorted keys, stable bytes).
enum StoreJSON {
    static func encode<T: Encodable>(_ value: T, what: @autoclosure () -> String) throws(SagaStoreError) -> Data {
        do {
            return try WireCoding.encode(value)
        } catch {
            throw .encodingFailed(what: what(), detail: "\(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, table: String, key: String) throws(SagaStoreError) -> T {
        do {
            return try WireCoding.decode(type, from: data)
        } catch {
            throw .corruptRow(table: table, key: key, detail: "cannot decode \(T.self): \(error)")
        }
    }
}
