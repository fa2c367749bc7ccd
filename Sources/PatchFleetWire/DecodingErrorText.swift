import Foundation

/// Turns Foundation's decoding errors into `WireError`s naming the field path
/// (`command.body.updateIds[2]`), the way a person would write it.
enum DecodingErrorText {
    static func wireError(_ error: any Error) -> WireError {
        guard let decoding = error as? DecodingError else { return .notJSON(detail: "\(error)") }
        switch decoding {
        case .keyNotFound(let key, let context):
            return .missingField(path: path(context.codingPath + [key]))
        case .valueNotFound(let type, let context):
            return .invalidField(path: path(context.codingPath), reason: "must be \(typeName(type)), found null")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return .notJSON(detail: "the top level must be an object") }
            return .invalidField(path: path(context.codingPath), reason: "must be \(typeName(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .notJSON(detail: underlying(context) ?? context.debugDescription)
            }
            return .invalidField(path: path(context.codingPath), reason: "is invalid: \(context.debugDescription)")
        @unknown default:
            return .notJSON(detail: "\(error)")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out.isEmpty ? "(top level)" : out
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        default:
            String(describing: type).hasPrefix("Array") ? "an array"
                : String(describing: type).hasPrefix("Dictionary") ? "an object" : "\(type)"
        }
    }

    /// The parser's own words ("Unexpected character 'x' at line 1, column 3")
    /// are more useful than "The given data was not valid JSON".
    private static func underlying(_ context: DecodingError.Context) -> String? {
        guard let error = context.underlyingError else { return nil }
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text.map { "\(context.debugDescription) (\($0))" }
    }
}
