import Foundation

/// A JSON document as a tree, for checking documents against the published
/// JSON Schemas (docs/schemas). Numbers are doubles, as in JSON Schema, where
/// 1 and 1.0 are the same integer.
public enum JSONValue: Sendable, Hashable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    public static func parse(_ text: String) throws -> JSONValue { try parse(Data(text.utf8)) }

    /// What a YAML parser (Yams.load) returns: maps, sequences and scalars.
    public init(yaml object: Any?) throws {
        // The dynamic type decides: on some platforms an Int casts to Bool.
        if let object, type(of: object) == Bool.self, let b = object as? Bool {
            self = .bool(b)
            return
        }
        switch object {
        case nil, is NSNull: self = .null
        case let i as Int: self = .number(Double(i))
        case let d as Double: self = .number(d)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(try a.map { try JSONValue(yaml: $0) })
        case let m as [String: Any]: self = .object(try m.mapValues { try JSONValue(yaml: $0) })
        case let m as [AnyHashable: Any]:
            var members: [String: JSONValue] = [:]
            for (key, value) in m {
                guard let name = key.base as? String else { throw SchemaError("a YAML key is not a string: \(key)") }
                members[name] = try JSONValue(yaml: value)
            }
            self = .object(members)
        default:
            throw SchemaError("cannot represent \(String(describing: object)) (\(type(of: object!))) as JSON")
        }
    }

    /// The encoded bytes, keys sorted.
    public func data() throws -> Data {
        try JSONSerialization.data(withJSONObject: foundationObject, options: [.sortedKeys, .fragmentsAllowed])
    }

    var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let b): b
        case .number(let n): n.isFinite && n == n.rounded() && abs(n) < 1e15 ? Int(n) as Any : n as Any
        case .string(let s): s
        case .array(let a): a.map(\.foundationObject)
        case .object(let o): o.mapValues(\.foundationObject)
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): String(b)
        case .number(let n): n.isFinite && n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): "\"\(s)\""
        case .array(let a): "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): "{" + o.keys.sorted().map { "\"\($0)\":\(o[$0]!)" }.joined(separator: ",") + "}"
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n == n.rounded() ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

public struct SchemaError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where a keyword sits: a document (by path) and a JSON pointer into it.
public struct SchemaLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let document: String
    public let pointer: String

    public init(document: String, pointer: String) {
        self.document = document
        self.pointer = pointer
    }

    func appending(_ tokens: String...) -> SchemaLocation {
        SchemaLocation(document: document, pointer: pointer + tokens.map {
            "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
        }.joined())
    }

    public var description: String { "\(URL(fileURLWithPath: document).lastPathComponent)#\(pointer)" }
    public static func < (a: SchemaLocation, b: SchemaLocation) -> Bool { a.description < b.description }
}

/// One property a schema object declares, or one value an `enum`/`const` allows, at its location.
public struct SchemaItem: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let location: SchemaLocation
    public let name: String
    public var description: String { "\(location) \(name)" }
    public static func < (a: SchemaItem, b: SchemaItem) -> Bool { (a.location, a.name) < (b.location, b.name) }
}

/// What a schema declares, or what valid documents used of it.
public struct SchemaCoverage: Sendable, Equatable {
    public var properties: Set<SchemaItem> = []
    public var values: Set<SchemaItem> = []

    public init() {}

    public mutating func formUnion(_ other: SchemaCoverage) {
        properties.formUnion(other.properties)
        values.formUnion(other.values)
    }
}

public struct SchemaResult: Sendable {
    public var errors: [String] = []
    /// The properties present and the enum/const values matched, on the
    /// paths through the schema that the document passed.
    public var coverage = SchemaCoverage()
    public var isValid: Bool { errors.isEmpty }
}

/// A validator for exactly the part of JSON Schema (draft-07) that
/// docs/schemas and docs/asyncapi.yaml use. A keyword it does not implement is
/// an error, never skipped: a constraint the tests cannot check must not be
/// written into a published schema.
///
/// Implemented: `$ref` (within a document and to other loaded documents, by
/// relative path), `type`, `enum`, `const`, `properties`, `required`,
/// `additionalProperties`, `items`, `minItems`, `maxItems`, `uniqueItems`,
/// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`,
/// `maxLength`, `pattern`, `format: date-time`, `oneOf`, `anyOf`. Annotations
/// (`title`, `description`, `default`, `examples`, `$comment`, `$schema`,
/// `$id`, `definitions`) are read, not checked.
///
/// `strict`: an object schema (`type: object` with `properties`) that does not
/// say `additionalProperties` is taken as closed. For documents PatchFleet
/// itself writes: every field it writes must be in the schema, even where
/// readers are told to ignore fields they do not know.
public struct SchemaLibrary: Sendable {
    public private(set) var documents: [String: JSONValue] = [:]

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$comment", "$schema", "$id",
                                           "definitions"]
    static let assertions: Set<String> = [
        "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
        "maxLength", "pattern", "format", "oneOf", "anyOf",
    ]

    public init() {}

    /// Every `*.schema.json` in `directory`.
    public init(directory: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".schema.json") }
        for name in names.sorted() {
            try add(file: directory.appendingPathComponent(name))
        }
    }

    public mutating func add(file: URL) throws {
        let value: JSONValue
        do { value = try JSONValue.parse(try Data(contentsOf: file)) } catch {
            throw SchemaError("\(file.lastPathComponent) is not JSON: \(error)")
        }
        add(value, path: file.path)
    }

    public mutating func add(_ document: JSONValue, path: String) {
        documents[URL(fileURLWithPath: path).standardizedFileURL.path] = document
    }

    /// The location `ref` names, read from the document at `base`.
    public func location(_ ref: String, from base: String) throws -> SchemaLocation {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let file = parts[0]
        let pointer = parts.count > 1 ? parts[1] : ""
        let document: String
        if file.isEmpty {
            document = base
        } else {
            document = URL(fileURLWithPath: file, relativeTo: URL(fileURLWithPath: base).deletingLastPathComponent())
                .standardizedFileURL.path
        }
        guard documents[document] != nil else {
            throw SchemaError("$ref \(ref) from \(URL(fileURLWithPath: base).lastPathComponent): no document \(document)")
        }
        let location = SchemaLocation(document: document, pointer: pointer)
        _ = try node(at: location)
        return location
    }

    /// The location of a whole document.
    public func root(_ path: String) throws -> SchemaLocation {
        try location("", from: URL(fileURLWithPath: path).standardizedFileURL.path)
    }

    public func node(at location: SchemaLocation) throws -> JSONValue {
        guard var current = documents[location.document] else { throw SchemaError("no document \(location.document)") }
        guard !location.pointer.isEmpty else { return current }
        guard location.pointer.hasPrefix("/") else { throw SchemaError("pointer \(location.pointer) must start with /") }
        for raw in location.pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let members):
                guard let next = members[token] else { throw SchemaError("\(location) does not exist") }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { throw SchemaError("\(location) does not exist") }
                current = items[index]
            default:
                throw SchemaError("\(location) does not exist")
            }
        }
        return current
    }

    // MARK: Validation

    public func validate(_ instance: JSONValue, against location: SchemaLocation, strict: Bool = false) -> SchemaResult {
        do {
            return try check(try node(at: location), location, instance, path: "", strict: strict)
        } catch {
            return SchemaResult(errors: ["schema error: \(error)"])
        }
    }

    private func check(_ schema: JSONValue, _ at: SchemaLocation, _ x: JSONValue, path: String,
                       strict: Bool) throws -> SchemaResult {
        var result = SchemaResult()
        let here = path.isEmpty ? "(document)" : path
        func fail(_ message: String) { result.errors.append("\(here) \(message) (\(at))") }

        let keywords: [String: JSONValue]
        switch schema {
        case .bool(true): return result
        case .bool(false):
            fail("is not allowed")
            return result
        case .object(let members): keywords = members
        default: throw SchemaError("\(at) is not a schema")
        }
        for key in keywords.keys where !Self.annotations.contains(key) && !Self.assertions.contains(key) {
            throw SchemaError("\(at) uses '\(key)', which this validator does not implement")
        }

        if let ref = keywords["$ref"] {
            guard case .string(let text) = ref else { throw SchemaError("\(at)/$ref is not a string") }
            let beside = Set(keywords.keys).subtracting(Self.annotations).subtracting(["$ref"])
            guard beside.isEmpty else {
                throw SchemaError("\(at) has \(beside.sorted()) beside $ref, which draft-07 ignores")
            }
            let target = try location(text, from: at.document)
            return try check(try node(at: target), target, x, path: path, strict: strict)
        }

        if let type = keywords["type"] {
            let allowed: [String]
            switch type {
            case .string(let one): allowed = [one]
            case .array(let many): allowed = many.compactMap(\.stringValue)
            default: throw SchemaError("\(at)/type is neither a string nor an array")
            }
            let actual = x.typeName
            let matches = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !matches { fail("must be \(allowed.joined(separator: " or ")), found \(actual) \(x)") }
        }
        if let values = keywords["enum"] {
            guard case .array(let options) = values else { throw SchemaError("\(at)/enum is not an array") }
            if options.contains(x) {
                result.coverage.values.insert(SchemaItem(location: at.appending("enum"), name: x.description))
            } else {
                fail("must be one of \(options.map(\.description).joined(separator: ", ")), found \(x)")
            }
        }
        if let value = keywords["const"] {
            if value == x {
                result.coverage.values.insert(SchemaItem(location: at.appending("const"), name: x.description))
            } else {
                fail("must be \(value), found \(x)")
            }
        }

        switch x {
        case .object(let members):
            var declared: [String: JSONValue] = [:]
            if let properties = keywords["properties"] {
                guard case .object(let p) = properties else { throw SchemaError("\(at)/properties is not an object") }
                declared = p
            }
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                if let propertySchema = declared[name] {
                    result.coverage.properties.insert(SchemaItem(location: at.appending("properties"), name: name))
                    let child = try check(propertySchema, at.appending("properties", name), value, path: childPath, strict: strict)
                    result.errors += child.errors
                    result.coverage.formUnion(child.coverage)
                } else if keywords["additionalProperties"] == .bool(false) {
                    result.errors.append("\(childPath) is not a known property (\(at))")
                } else if let additional = keywords["additionalProperties"] {
                    let child = try check(additional, at.appending("additionalProperties"), value, path: childPath, strict: strict)
                    result.errors += child.errors
                    result.coverage.formUnion(child.coverage)
                } else if strict, keywords["properties"] != nil, keywords["type"] == .string("object") {
                    result.errors.append("\(childPath) is not in the schema (strict) (\(at))")
                }
            }
            if let required = keywords["required"] {
                guard case .array(let names) = required else { throw SchemaError("\(at)/required is not an array") }
                for case .string(let name) in names where members[name] == nil {
                    fail("lacks required property \(name)")
                }
            }
        case .array(let items):
            if let itemSchema = keywords["items"] {
                for (index, item) in items.enumerated() {
                    let child = try check(itemSchema, at.appending("items"), item, path: "\(path)[\(index)]", strict: strict)
                    result.errors += child.errors
                    result.coverage.formUnion(child.coverage)
                }
            }
            if let min = try number(keywords, "minItems", at), Double(items.count) < min { fail("must have at least \(Int(min)) item(s)") }
            if let max = try number(keywords, "maxItems", at), Double(items.count) > max { fail("must have at most \(Int(max)) item(s)") }
            if keywords["uniqueItems"] == .bool(true), Set(items).count != items.count { fail("must not repeat an item") }
        case .number(let n):
            if let min = try number(keywords, "minimum", at), n < min { fail("is \(x), less than the minimum \(JSONValue.number(min))") }
            if let max = try number(keywords, "maximum", at), n > max { fail("is \(x), more than the maximum \(JSONValue.number(max))") }
            if let min = try number(keywords, "exclusiveMinimum", at), !(n > min) { fail("is \(x), must be more than \(JSONValue.number(min))") }
            if let max = try number(keywords, "exclusiveMaximum", at), !(n < max) { fail("is \(x), must be less than \(JSONValue.number(max))") }
        case .string(let s):
            let length = Double(s.unicodeScalars.count)
            if let min = try number(keywords, "minLength", at), length < min { fail("must be at least \(Int(min)) character(s)") }
            if let max = try number(keywords, "maxLength", at), length > max { fail("must be at most \(Int(max)) character(s)") }
            if let pattern = keywords["pattern"] {
                guard case .string(let p) = pattern else { throw SchemaError("\(at)/pattern is not a string") }
                let regex = try NSRegularExpression(pattern: p)
                if regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) == nil { fail("does not match \(p)") }
            }
            if let format = keywords["format"] {
                guard format == .string("date-time") else { throw SchemaError("\(at) uses format \(format), not implemented") }
                if !Self.isDateTime(s) { fail("is not an RFC 3339 date-time: \(x)") }
            }
        default:
            break
        }

        for keyword in ["oneOf", "anyOf"] {
            guard let branches = keywords[keyword] else { continue }
            guard case .array(let schemas) = branches else { throw SchemaError("\(at)/\(keyword) is not an array") }
            var passed: [SchemaResult] = []
            var reasons: [String] = []
            for (index, branch) in schemas.enumerated() {
                let outcome = try check(branch, at.appending(keyword, String(index)), x, path: path, strict: strict)
                if outcome.isValid { passed.append(outcome) } else { reasons.append("[\(index)] " + outcome.errors.joined(separator: "; ")) }
            }
            if keyword == "oneOf", passed.count != 1 {
                fail(passed.isEmpty ? "matches none of oneOf: \(reasons.joined(separator: " | "))"
                                    : "matches \(passed.count) branches of oneOf, not exactly one")
            } else if keyword == "anyOf", passed.isEmpty {
                fail("matches none of anyOf: \(reasons.joined(separator: " | "))")
            } else {
                for outcome in passed { result.coverage.formUnion(outcome.coverage) }
            }
        }
        return result
    }

    private func number(_ keywords: [String: JSONValue], _ name: String, _ at: SchemaLocation) throws -> Double? {
        guard let value = keywords[name] else { return nil }
        guard case .number(let n) = value else { throw SchemaError("\(at)/\(name) is not a number") }
        return n
    }

    static func isDateTime(_ text: String) -> Bool {
        let formatter = ISO8601DateFormatter()
        if formatter.date(from: text) != nil { return true }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) != nil
    }

    // MARK: What a schema declares

    /// Every property declared and every `enum`/`const` value allowed, in the
    /// schema at `location` and everything it reaches (`$ref` included).
    public func declarations(from location: SchemaLocation) throws -> SchemaCoverage {
        var coverage = SchemaCoverage()
        var visited: Set<SchemaLocation> = []
        try walk(location, &coverage, &visited)
        return coverage
    }

    private func walk(_ at: SchemaLocation, _ coverage: inout SchemaCoverage, _ visited: inout Set<SchemaLocation>) throws {
        guard visited.insert(at).inserted else { return }
        guard case .object(let keywords) = try node(at: at) else { return }
        if case .string(let ref)? = keywords["$ref"] {
            try walk(try location(ref, from: at.document), &coverage, &visited)
        }
        if case .array(let values)? = keywords["enum"] {
            for value in values { coverage.values.insert(SchemaItem(location: at.appending("enum"), name: value.description)) }
        }
        if let value = keywords["const"] {
            coverage.values.insert(SchemaItem(location: at.appending("const"), name: value.description))
        }
        if case .object(let properties)? = keywords["properties"] {
            for name in properties.keys {
                coverage.properties.insert(SchemaItem(location: at.appending("properties"), name: name))
                try walk(at.appending("properties", name), &coverage, &visited)
            }
        }
        if case .object? = keywords["additionalProperties"] { try walk(at.appending("additionalProperties"), &coverage, &visited) }
        if keywords["items"] != nil { try walk(at.appending("items"), &coverage, &visited) }
        for keyword in ["oneOf", "anyOf"] {
            if case .array(let branches)? = keywords[keyword] {
                for index in branches.indices { try walk(at.appending(keyword, String(index)), &coverage, &visited) }
            }
        }
    }
}
