import Foundation

/// The `Encoder` of one value being written into a `ByteSink`. It exists only
/// while that value's `encode(to:)` runs: everything the value writes goes to
/// the end of the sink, in order, and `finish` closes it when `encode(to:)`
/// returns. That is why nested containers and super-encoders, whose writes
/// may come after the parent's next member, go to Foundation instead.
final class StreamingEncoder: Encoder {
    enum Shape {
        case undecided
        case object
        case array
        case single(written: Bool)
    }

    /// Where this value sits in its parent, for `codingPath` (built only when asked).
    enum Position {
        case root
        case key(CodingKey)
        case index(Int)
    }

    let sink: ByteSink
    private let parent: StreamingEncoder?
    private let position: Position
    private(set) var shape: Shape = .undecided
    /// Where the object's `{` is, and where its members start on the sink's member stack.
    private(set) var objectStart = 0
    private(set) var membersBase = 0
    private(set) var memberCount = 0
    /// Elements written to the array so far.
    private(set) var elementCount = 0

    /// Encoders between this one and the top level.
    let depth: Int
    /// Set once `finish` closed the value: later writes are a misuse.
    private(set) var finished = false

    init(sink: ByteSink, parent: StreamingEncoder?, position: Position) {
        self.sink = sink
        self.parent = parent
        self.position = position
        self.depth = (parent?.depth ?? 0) + 1
    }

    var codingPath: [CodingKey] {
        var path = parent?.codingPath ?? []
        switch position {
        case .root: break
        case .key(let key): path.append(key)
        case .index(let index): path.append(IndexKey(index))
        }
        return path
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch shape {
        case .undecided, .single(written: false):
            // A single-value container asked for and left unused is no value yet.
            shape = .object
            objectStart = sink.bytes.count
            membersBase = sink.memberStack.count
            sink.append(UInt8(ascii: "{"))
        case .object:
            // A second request (a subclass and its superclass encoding into
            // one encoder) adds members to the same object, as in Foundation.
            break
        case .array, .single:
            sink.misuse(EncodingError.invalidValue(
                "keyed container", .init(codingPath: codingPath, debugDescription: "asked for a keyed container after another kind")))
        }
        return KeyedEncodingContainer(ObjectWriter<Key>(encoder: self))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        switch shape {
        case .undecided, .single(written: false):
            shape = .array
            sink.append(UInt8(ascii: "["))
        case .array:
            break
        case .object, .single:
            sink.misuse(EncodingError.invalidValue(
                "unkeyed container", .init(codingPath: codingPath, debugDescription: "asked for an unkeyed container after another kind")))
        }
        return ArrayWriter(encoder: self)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        switch shape {
        case .undecided:
            shape = .single(written: false)
        case .single:
            break
        case .object, .array:
            sink.misuse(EncodingError.invalidValue(
                "single value container", .init(codingPath: codingPath, debugDescription: "asked for a single value container after another kind")))
        }
        return SingleValueWriter(encoder: self)
    }

    /// Closes the value once its `encode(to:)` returned. False for a
    /// top-level value that wrote nothing: Foundation's error to raise.
    func finish(topLevel: Bool) -> Bool {
        finished = true
        switch shape {
        case .undecided, .single(written: false):
            // Foundation writes an empty object for a nested value that encodes nothing.
            if topLevel { return false }
            sink.append("{}")
        case .object:
            sink.closeObject(start: objectStart, membersFrom: membersBase)
        case .array:
            sink.append(UInt8(ascii: "]"))
        case .single(written: true):
            break
        }
        return true
    }

    // MARK: Writes, for the containers

    /// Writes one `"key":value` member of this object.
    @inline(__always)
    func member(_ key: some CodingKey, _ writeValue: () throws -> Void) rethrows {
        if finished { misuseAfterFinish() }
        if memberCount > 0 { sink.append(UInt8(ascii: ",")) }
        let start = sink.bytes.count
        // Escaped or non-ASCII keys do not sort (or merge) by their bytes: Foundation's case.
        if !sink.writeKey(key.stringValue) { sink.handToFoundation = true }
        let keyLength = sink.bytes.count - start - 2
        sink.append(UInt8(ascii: ":"))
        try writeValue()
        sink.memberStack.append(ObjectMember(start: start, keyLength: keyLength, end: sink.bytes.count))
        memberCount += 1
    }

    /// Writes one element of this array.
    @inline(__always)
    func element(_ writeValue: () throws -> Void) rethrows {
        if finished { misuseAfterFinish() }
        if elementCount > 0 { sink.append(UInt8(ascii: ",")) }
        try writeValue()
        elementCount += 1
    }

    /// A container kept past its value's `encode(to:)` and written to:
    /// Foundation drops such writes silently; here they fail the encode.
    private func misuseAfterFinish() {
        sink.misuse(EncodingError.invalidValue(
            "late write", .init(codingPath: codingPath, debugDescription: "a container was written to after its value was complete")))
    }

    /// Writes a single value container's value: it stands where this encoder
    /// stands (same parent, same coding path).
    func writeAsItself<T: Encodable>(_ value: T) throws {
        try sink.write(value, parent: parent, position: position)
    }

    /// Claims the single value; a second one is a misuse (Foundation traps on it).
    func claimSingleValue() -> Bool {
        if case .single(written: false) = shape {
            shape = .single(written: true)
            return true
        }
        sink.misuse(EncodingError.invalidValue(
            "single value", .init(codingPath: codingPath, debugDescription: "a single value container was given two values")))
        return false
    }

    /// A container this writer cannot stream: the whole value goes to
    /// Foundation. The returned encoder writes into a sink nobody reads.
    func detachedForFoundation() -> StreamingEncoder {
        sink.handToFoundation = true
        return StreamingEncoder(sink: ByteSink(), parent: self, position: .root)
    }
}

/// The coding key of an array element, for `codingPath`.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }

    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

struct ObjectWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: StreamingEncoder
    var codingPath: [CodingKey] { encoder.codingPath }
    private var sink: ByteSink { encoder.sink }

    init(encoder: StreamingEncoder) { self.encoder = encoder }

    mutating func encodeNil(forKey key: Key) throws { encoder.member(key) { sink.writeNull() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.member(key) { sink.writeBool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.member(key) { sink.writeString(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encoder.member(key) { try sink.writeDouble(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encoder.member(key) { try sink.writeFloat(value) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: Int128, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { encoder.member(key) { sink.writeInteger(value) } }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.member(key) { try sink.write(value, parent: encoder, position: .key(key)) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder.detachedForFoundation().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        encoder.detachedForFoundation().unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { encoder.detachedForFoundation() }
    mutating func superEncoder(forKey key: Key) -> Encoder { encoder.detachedForFoundation() }
}

struct ArrayWriter: UnkeyedEncodingContainer {
    let encoder: StreamingEncoder
    var codingPath: [CodingKey] { encoder.codingPath }
    var count: Int { encoder.elementCount }
    private var sink: ByteSink { encoder.sink }

    init(encoder: StreamingEncoder) { self.encoder = encoder }

    mutating func encodeNil() throws { encoder.element { sink.writeNull() } }
    mutating func encode(_ value: Bool) throws { encoder.element { sink.writeBool(value) } }
    mutating func encode(_ value: String) throws { encoder.element { sink.writeString(value) } }
    mutating func encode(_ value: Double) throws { try encoder.element { try sink.writeDouble(value) } }
    mutating func encode(_ value: Float) throws { try encoder.element { try sink.writeFloat(value) } }
    mutating func encode(_ value: Int) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: Int8) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: Int16) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: Int32) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt8) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt16) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt32) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt64) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: Int128) throws { encoder.element { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt128) throws { encoder.element { sink.writeInteger(value) } }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = encoder.elementCount
        try encoder.element { try sink.write(value, parent: encoder, position: .index(index)) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        encoder.detachedForFoundation().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        encoder.detachedForFoundation().unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { encoder.detachedForFoundation() }
}

struct SingleValueWriter: SingleValueEncodingContainer {
    let encoder: StreamingEncoder
    var codingPath: [CodingKey] { encoder.codingPath }
    private var sink: ByteSink { encoder.sink }

    init(encoder: StreamingEncoder) { self.encoder = encoder }

    mutating func encodeNil() throws { if encoder.claimSingleValue() { sink.writeNull() } }
    mutating func encode(_ value: Bool) throws { if encoder.claimSingleValue() { sink.writeBool(value) } }
    mutating func encode(_ value: String) throws { if encoder.claimSingleValue() { sink.writeString(value) } }
    mutating func encode(_ value: Double) throws { if encoder.claimSingleValue() { try sink.writeDouble(value) } }
    mutating func encode(_ value: Float) throws { if encoder.claimSingleValue() { try sink.writeFloat(value) } }
    mutating func encode(_ value: Int) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: Int8) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: Int16) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: Int32) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt8) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt16) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt32) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt64) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: Int128) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }
    mutating func encode(_ value: UInt128) throws { if encoder.claimSingleValue() { sink.writeInteger(value) } }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if encoder.claimSingleValue() { try encoder.writeAsItself(value) }
    }
}
