import AMQP
import Foundation
import PatchFleetCore
import PatchFleetTestSupport
@testable import PatchFleetWire
import Testing

/// docs/schemas/*.schema.json against the code, both ways: what the code
/// writes is valid and uses every field and value the schemas declare; what
/// the schemas accept or refuse, the code accepts or refuses.
@Suite("Published JSON Schemas")
struct SchemaSyncTests {
    let library: SchemaLibrary

    init() throws {
        library = try PublishedSchemas.library()
    }

    @Test func theValidatorRefusesWhatIsWrong() throws {
        let root = try PublishedSchemas.root("job-submission.schema.json", library)
        let good = try FullExamples.body(FullExamples.encode(FullExamples.submissions[0]))
        #expect(library.validate(good, against: root).isValid)

        // A wrong type, deep in the document: refused, naming the field.
        guard case .object(var top) = good, case .object(var job)? = top["job"], case .object(var policy)? = job["policy"] else {
            Issue.record("not an object")
            return
        }
        policy["maxUnavailablePerCluster"] = .string("two")
        job["policy"] = .object(policy)
        top["job"] = .object(job)
        let wrongType = library.validate(.object(top), against: root)
        #expect(!wrongType.isValid)
        #expect(wrongType.errors.contains { $0.hasPrefix("job.policy.maxUnavailablePerCluster must be integer, found string") },
                "\(wrongType.errors)")

        // Not an object at all; an unknown key; a missing one.
        #expect(!library.validate(.array([]), against: root).isValid)
        top["schema"] = nil
        top["jobs"] = .array([])
        let errors = library.validate(.object(top), against: root).errors
        #expect(errors.contains { $0.contains("jobs is not a known property") }, "\(errors)")
        #expect(errors.contains { $0.contains("lacks required property schema") }, "\(errors)")

        // A keyword the validator does not implement is an error, never skipped.
        var strange = SchemaLibrary()
        strange.add(.object(["type": .string("object"), "patternProperties": .object([:])]), path: "/tmp/strange.schema.json")
        let result = strange.validate(.object([:]), against: try strange.root("/tmp/strange.schema.json"))
        #expect(result.errors.contains { $0.contains("'patternProperties', which this validator does not implement") }, "\(result.errors)")
    }

    /// (a) Every message type, every optional field set, every enum case:
    /// valid against its schema, read strictly (no field the schema lacks).
    /// (b) Every property and every enum/const value the schema declares is
    /// written for some example: a field removed from the code fails here.
    @Test func everyMessageTheCodeWritesMatchesItsSchemaAndUsesAllOfIt() throws {
        for (file, bodies) in try FullExamples.bodies() {
            let root = try PublishedSchemas.root(file, library)
            var used = SchemaCoverage()
            for body in bodies {
                let result = library.validate(body, against: root, strict: true)
                #expect(result.isValid, "\(file): \(result.errors)")
                used.formUnion(result.coverage)
            }
            let declared = try library.declarations(from: root)
            let neverWritten = declared.properties.subtracting(used.properties).sorted()
            #expect(neverWritten.isEmpty, "\(file) declares properties the code never writes: \(neverWritten)")
            let neverUsed = declared.values.subtracting(used.values).sorted()
            #expect(neverUsed.isEmpty, "\(file) allows values the code never writes: \(neverUsed)")
        }
    }

    /// Every schema file is a published message's (or the job inside a
    /// submission), and every published message has examples above, so the
    /// coverage and mutation tests reach all of them.
    @Test func everyPublishedSchemaIsExercised() throws {
        let published = Set(MessageSchema.allCases.compactMap(PublishedSchemas.file(for:)))
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: PublishedSchemas.directory.path)
            .filter { $0.hasSuffix(".schema.json") })
        #expect(files == published.union([PublishedSchemas.jobSpecFile]), "files no message is published as, or published messages without a file")
        let exercised = try FullExamples.bodies()
        #expect(Set(exercised.map(\.file)) == published, "published schemas without examples")
        #expect(exercised.allSatisfy { !$0.bodies.isEmpty })
    }

    /// A status answer's `outcomes` names every outcome a host can have, as the coordinator counts them.
    @Test func theStatusOutcomesAreTheHostOutcomes() throws {
        let outcomes = try library.node(at: try library.location("job-status.schema.json#/definitions/job/properties/outcomes/properties",
                                                                from: PublishedSchemas.directory.appendingPathComponent("x").path))
        #expect(Set((outcomes.objectValue ?? [:]).keys) == Set(HostOutcome.Kind.allCases.map(\.rawValue)))
    }

    /// The defaults the job schema states are the ones `Policy()` has.
    @Test func theStatedDefaultsAreTheCodes() throws {
        let policy = try library.node(at: try library.location("job-spec.schema.json#/definitions/policy/properties",
                                                              from: PublishedSchemas.directory.appendingPathComponent("x").path))
        let defaults = try JSONValue.parse(WireCoding.encode(Policy()))
        let estimates = try JSONValue.parse(WireCoding.encode(DurationEstimates()))
        guard case .object(let properties) = policy, case .object(let values) = defaults else {
            Issue.record("unexpected shapes")
            return
        }
        #expect(Set(properties.keys) == Set(values.keys).union(["maintenanceWindow"]), "every policy option, no more")
        for (name, property) in properties {
            if name == "maintenanceWindow" {
                #expect(property["default"] == nil && values[name] == nil, "no window by default")
            } else if name == "estimates" {
                for (field, schema) in property["properties"]?.objectValue ?? [:] {
                    #expect(schema["default"] == estimates[field], "estimates.\(field): schema \(String(describing: schema["default"])), code \(String(describing: estimates[field]))")
                }
            } else {
                #expect(property["default"] == values[name], "\(name): schema \(String(describing: property["default"])), code \(String(describing: values[name]))")
            }
        }
        // And `{}` is the default policy, as the schema says.
        let empty = try JobSpecLoader.load(#"{"schemaVersion":1,"id":"j","targets":{"hosts":["h"]},"updates":{"updateIds":["KB1"]}}"#)
        #expect(empty.policy == Policy())
    }

    /// The schemas refuse what the code refuses and accept what it accepts,
    /// for every small change to every example: a field removed, a key added
    /// (closed objects: a problem; open ones: ignored; maps: read), a wrong type, another
    /// string, an empty string, other numbers (the value's neighbours among
    /// them), an empty array.
    @Test func theSchemasAcceptAndRefuseWhatTheCodeDoes() throws {
        var disagreements: [String] = []
        var gapsSeen: Set<String> = []
        var checked = 0
        for (file, bodies) in try FullExamples.bodies() {
            let root = try PublishedSchemas.root(file, library)
            for body in bodies {
                #expect(CodeVerdict.accepts(file, try body.data()), "the unchanged example must be accepted: \(file)")
                for mutation in Mutation.all(of: body) {
                    checked += 1
                    let schemaSays = library.validate(mutation.document, against: root).isValid
                    let codeSays = CodeVerdict.accepts(file, try mutation.document.data())
                    guard schemaSays != codeSays else { continue }
                    if schemaSays, let gap = Self.knownGaps.first(where: { mutation.path.hasSuffix($0.key) }) {
                        gapsSeen.insert(gap.key)
                        continue
                    }
                    disagreements.append("\(file) \(mutation): the schema \(schemaSays ? "accepts" : "refuses"), the code \(codeSays ? "accepts" : "refuses")")
                }
            }
        }
        #expect(checked > 1000, "\(checked) variations checked")
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.joined(separator: "\n"))")
        #expect(gapsSeen == Set(Self.knownGaps.keys), "a known gap no longer shows: \(Set(Self.knownGaps.keys).subtracting(gapsSeen))")
    }

    /// Rules across fields that JSON Schema (draft-07) cannot state: the
    /// schema says them in words, the coordinator answers them with `job.rejected`.
    static let knownGaps: [String: String] = [
        "policy.maintenanceWindow.end": "must be after maintenanceWindow.start",
    ]
}

/// One small change to a document, at a path.
struct Mutation: CustomStringConvertible {
    let path: String
    let change: String
    let document: JSONValue

    var description: String { "\(path.isEmpty ? "(document)" : path): \(change)" }

    enum Step {
        case key(String)
        case index(Int)
    }

    static func all(of root: JSONValue) -> [Mutation] {
        var out: [Mutation] = []
        func visit(_ value: JSONValue, _ steps: [Step]) {
            let path = Self.path(steps)
            func add(_ change: String, _ replacement: JSONValue?) {
                out.append(Mutation(path: path, change: change, document: replacing(root, at: steps, with: replacement)))
            }
            if !steps.isEmpty {
                if case .key = steps.last! { add("removed", nil) }
                if case .object = value { add("replaced by a string", .string("wrong")) } else { add("replaced by an object", .object(["wrong": .bool(true)])) }
            }
            switch value {
            case .object(let members):
                var extended = members
                extended["unexpectedKey"] = .string("x")
                add("unknown key added", .object(extended))
                // And one like its siblings (in a map such as `outcomes`, a well-typed entry).
                if let sibling = members.sorted(by: { $0.key < $1.key }).first?.value {
                    extended["unexpectedKey"] = sibling
                    add("unknown key added, valued like a sibling", .object(extended))
                }
                for (key, member) in members.sorted(by: { $0.key < $1.key }) { visit(member, steps + [.key(key)]) }
            case .array(let items):
                if !items.isEmpty { add("emptied", .array([])) }
                for (index, item) in items.enumerated() { visit(item, steps + [.index(index)]) }
            case .string:
                add("another string", .string("notAValue"))
                add("empty string", .string(""))
            case .number(let value):
                // Fixed values, and the neighbours of the value (a bound the
                // examples sit on is then probed from both sides).
                var seen: Set<Double> = [value]
                for n in [-1, 0, 0.5, 1_000_000, value - 1, value + 1] where seen.insert(n).inserted {
                    add("\(JSONValue.number(n))", .number(n))
                }
            case .bool, .null:
                break
            }
        }
        visit(root, [])
        return out
    }

    static func path(_ steps: [Step]) -> String {
        steps.reduce("") { path, step in
            switch step {
            case .key(let key): path.isEmpty ? key : "\(path).\(key)"
            case .index(let index): "\(path)[\(index)]"
            }
        }
    }

    /// `root` with the value at `steps` replaced (nil: removed).
    static func replacing(_ root: JSONValue, at steps: [Step], with replacement: JSONValue?) -> JSONValue {
        guard let first = steps.first else { return replacement ?? .null }
        let rest = Array(steps.dropFirst())
        switch (root, first) {
        case (.object(var members), .key(let key)):
            if rest.isEmpty, replacement == nil {
                members[key] = nil
            } else if let member = members[key] {
                members[key] = replacing(member, at: rest, with: replacement)
            }
            return .object(members)
        case (.array(var items), .index(let index)):
            if rest.isEmpty, replacement == nil {
                items.remove(at: index)
            } else {
                items[index] = replacing(items[index], at: rest, with: replacement)
            }
            return .array(items)
        default:
            return root
        }
    }
}
